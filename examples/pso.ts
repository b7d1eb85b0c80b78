/**
 * `npm run example:pso -- --fn rastrigin --dim 30 --evals 30000 --runs 50 --topology ring|star`:
 * Standard PSO 2006 with every particle an agent of an `rt.swarm` (a ring
 * swarm is lbest PSO, a star swarm gbest), on the five classic test
 * functions, beside the results SPSO-2006 published for D = 30, 30,000
 * evaluations, 50 runs. `--fn all` runs the five; `--reference` adds
 * SPSO-2006's own loop run here on the main thread; `--json` ends with one
 * JSON object. See examples/pso/run.ts for how the runs are organised and
 * examples/actors/particle.ts for how the particles synchronise.
 */
import { InvalidOptionError, Runtime } from '../src/index.js';
import { parsePsoArgs, usage, type PsoArgs } from './pso/args.js';
import { testFunctions } from './pso/functions.js';
import { loopRun } from './pso/loop.js';
import { meanStd, PsoSwarms, type Summary } from './pso/run.js';
import { swarmSize } from './pso/spso.js';

/** SPSO-2006's loop on the same seeds: mean and std of the best values, and its wall time. */
interface Reference {
  mean: number;
  std: number;
  ms: number;
}

/** A value as the table shows it: small ones in exponent form. */
const show = (value: number): string => (value !== 0 && Math.abs(value) < 1e-3 ? value.toExponential(2) : value.toFixed(value < 10 ? 3 : 2));
const meanAndStd = (m: { mean: number; std: number }) => `${show(m.mean)} ± ${show(m.std)}`;

let args: PsoArgs;
try {
  args = parsePsoArgs(process.argv.slice(2));
} catch (error) {
  if (!(error instanceof InvalidOptionError)) throw error;
  console.error(`example:pso: ${error.message}\nRun with --help for the options.`);
  process.exit(2);
}
if (args.help) {
  console.log(usage);
  process.exit(0);
}

function reference(s: Summary): Reference {
  const started = performance.now();
  const bests = Array.from({ length: s.runs }, (_, run) => loopRun('spso2006', s.fn, s.dim, s.evals, [s.seed, run]).best);
  return { ...meanStd(bests), ms: performance.now() - started };
}

const size = swarmSize(args.dim);
const started = performance.now();
const rt = await Runtime.start({ threads: args.threads, maxAgents: args.runs * size + 16, standbyThreads: 0 });
const rows: Array<{ summary: Summary; reference: Reference | undefined }> = [];
const startMs = performance.now() - started;
try {
  const swarms = await PsoSwarms.spawn(rt, { runs: args.runs, dim: args.dim, topology: args.topology, placement: args.placement });
  const informants = args.topology === 'ring' ? 'lbest, informants: itself and its 2 ring neighbours' : 'gbest through the hub, informants: all';
  console.log(
    `SPSO-2006 parameters, D = ${args.dim}, ${args.evals} evaluations a run, ${args.runs} runs, topology ${args.topology} (${informants}); ` +
      `${args.runs} swarms of ${size} particle agents on ${rt.threads} threads (placement ${args.placement}), runtime started in ${startMs.toFixed(0)} ms, agents spawned and linked in ${(performance.now() - started - startMs).toFixed(0)} ms; seed ${args.seed}`,
  );
  const head = [`${'function'.padEnd(11)} ${`agents (${args.topology}): mean ± std`.padEnd(26)} ${'best'.padEnd(10)}`];
  if (args.reference) head.push(`${'SPSO-2006 loop here'.padEnd(24)}`);
  console.log(`${head.join(' ')} ${'published SPSO-2006'.padEnd(20)} ${'ms'.padStart(7)} ${'msgs/s'.padStart(10)}`);
  for (const fn of args.fns) {
    const summary = await swarms.solve(fn, args.evals, args.seed);
    const ref = args.reference ? reference(summary) : undefined;
    rows.push({ summary, reference: ref });
    const cells = [`${fn.padEnd(11)} ${meanAndStd(summary).padEnd(26)} ${show(summary.best).padEnd(10)}`];
    if (ref !== undefined) cells.push(meanAndStd(ref).padEnd(24));
    const published = testFunctions[fn].published;
    console.log(
      `${cells.join(' ')} ${`${published.mean} ± ${published.std}`.padEnd(20)} ${summary.ms.toFixed(0).padStart(7)} ${Math.round(summary.messagesPerSecond).toLocaleString('en-US').padStart(10)}`,
    );
  }
  const ms = rows.reduce((a, r) => a + r.summary.ms, 0);
  const messages = rows.reduce((a, r) => a + r.summary.messages, 0);
  const loopMs = rows.reduce((a, r) => a + (r.reference?.ms ?? 0), 0);
  console.log(
    `${rows.length} x ${args.runs} runs by the agents in ${(ms / 1000).toFixed(1)} s, ${messages.toLocaleString('en-US')} messages between particles` +
      (args.reference ? `; SPSO-2006's loop on the main thread: ${(loopMs / 1000).toFixed(1)} s` : ''),
  );
  await swarms.stop();
} finally {
  await rt.shutdown({ timeoutMs: 1000 });
}

if (args.json) {
  const record = ({ summary: s, reference: ref }: (typeof rows)[number]) => ({
    fn: s.fn,
    dim: s.dim,
    evals: s.evals,
    runs: s.runs,
    topology: s.topology,
    mean: s.mean,
    std: s.std,
    best: s.best,
    ms: Math.round(s.ms),
    position: s.position,
    initialMean: s.initialMean,
    messages: s.messages,
    messagesPerSecond: Math.round(s.messagesPerSecond),
    published: testFunctions[s.fn].published,
    reference: ref === undefined ? null : { mean: ref.mean, std: ref.std, ms: Math.round(ref.ms) },
    threads: args.threads,
    placement: args.placement,
    seed: s.seed,
    results: s.results.map((r) => ({ best: r.best, initial: r.initial, evaluations: r.evaluations })),
  });
  const { dim, evals, runs, topology, threads, seed } = args;
  const ms = Math.round(rows.reduce((a, r) => a + r.summary.ms, 0));
  console.log(
    JSON.stringify(rows.length === 1 ? record(rows[0]) : { fn: 'all', dim, evals, runs, topology, ms, threads, seed, results: rows.map(record) }),
  );
}
