/**
 * `npm run example:aco -- <file.tsp> [--ants N] [--threads N] [--seconds S]
 * [--iterations N] [--seed S] [--sync] [--svg tour.svg] [--curve curve.svg] [--json]`
 *
 * Ant Colony System (Dorigo & Gambardella 1997) on a TSPLIB EUC_2D instance:
 * ants are actors spread over the pool's threads, reading the distance and
 * pheromone matrices in place from the runtime's shared memory pool (lent
 * read-only by the colony actor that owns them). Every tour is improved by
 * 2-opt. Then the same algorithm runs on one thread with no runtime, with the
 * same seed and budget, for the speed-up in tours per second.
 *
 * Bad arguments or a bad file: one line on stderr naming the value, exit 2.
 */
import { writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import { parseArgs } from 'node:util';
import { InvalidArgumentError } from '../src/index.js';
import { runColony } from './aco/colony.js';
import { runPlain, type Budget, type ProgressListener, type RunResult } from './aco/plain.js';
import { curveSvg, tourSvg } from './aco/svg.js';
import { TsplibError, knownOptima, readTsplib, type Instance } from './aco/tsplib.js';

interface Options extends Budget {
  file: string;
  threads: number;
  sync: boolean;
  svg?: string;
  curve?: string;
  json: boolean;
}

/** A whole number in [min, max] from a command-line value, or an InvalidArgumentError naming the option. */
function integer(option: string, text: string | undefined, fallback: number, min: number, max: number): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (text.trim() === '' || !Number.isInteger(value) || value < min || value > max) {
    throw new InvalidArgumentError(option, `an integer from ${min} to ${max}`, text);
  }
  return value;
}

function parseOptions(args: string[]): Options {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      ants: { type: 'string' },
      threads: { type: 'string' },
      seconds: { type: 'string' },
      iterations: { type: 'string' },
      seed: { type: 'string' },
      sync: { type: 'boolean', default: false },
      svg: { type: 'string' },
      curve: { type: 'string' },
      json: { type: 'boolean', default: false },
    },
  });
  if (positionals.length !== 1) throw new InvalidArgumentError('<file.tsp>', 'one TSPLIB file', positionals);
  const seconds = values.seconds === undefined ? 10 : Number(values.seconds);
  if (values.seconds?.trim() === '' || !Number.isFinite(seconds) || seconds <= 0 || seconds > 86_400) {
    throw new InvalidArgumentError('--seconds', 'a number of seconds above 0, at most 86400', values.seconds);
  }
  return {
    file: positionals[0],
    ants: integer('--ants', values.ants, 10, 1, 1024),
    threads: integer('--threads', values.threads, 2, 1, 64),
    seconds,
    iterations: integer('--iterations', values.iterations, Number.POSITIVE_INFINITY, 1, 1e9),
    seed: integer('--seed', values.seed, 1, 0, 2 ** 32 - 1),
    sync: values.sync,
    svg: values.svg,
    curve: values.curve,
    json: values.json,
  };
}

const thousands = (value: number) => Math.round(value).toLocaleString('en');
const toursPerSecond = (run: RunResult) => run.tours / (run.ms / 1000);
const gapPercent = (best: number, optimum: number | undefined) =>
  optimum === undefined ? null : Math.round(((best - optimum) / optimum) * 10_000) / 100;

/** A progress bar on stderr when it is a terminal; nothing otherwise (logs stay clean). */
function progressBar(label: string, options: Options, optimum: number | undefined): { update: ProgressListener; done: () => void } {
  if (!process.stderr.isTTY) return { update: () => undefined, done: () => undefined };
  const update: ProgressListener = ({ iterations, best, ms }) => {
    const share = Math.min(1, Math.max(ms / (options.seconds * 1000), iterations / options.iterations));
    const filled = Math.round(share * 24);
    const gap = gapPercent(best, optimum);
    process.stderr.write(
      `\r${label} [${'#'.repeat(filled)}${'-'.repeat(24 - filled)}] ${(ms / 1000).toFixed(1)} s  iteration ${thousands(iterations)}  best ${best}` +
        `${gap === null ? '' : `  gap ${gap.toFixed(2)}%`}   `,
    );
  };
  return { update, done: () => process.stderr.write('\r\x1b[K') };
}

function summary(label: string, run: RunResult, optimum: number | undefined): string {
  const gap = gapPercent(run.length, optimum);
  return (
    `${label.padEnd(20)} best ${run.length}${gap === null ? '' : ` (gap ${gap.toFixed(2)}%)`}, ${thousands(run.iterations)} iterations, ` +
    `${thousands(run.tours)} tours, ${thousands(toursPerSecond(run))} tours/s, ${(run.ms / 1000).toFixed(2)} s ` +
    `(CPU ${(run.cpuMs / 1000).toFixed(2)} s: ${(run.cpuMs / run.ms).toFixed(2)} cores)`
  );
}

async function main(options: Options): Promise<void> {
  const instance: Instance = readTsplib(options.file);
  const n = instance.x.length;
  const optimum = knownOptima[instance.name] ?? knownOptima[basename(options.file).replace(/\.tsp$/i, '')];
  const budget: Budget = { ants: options.ants, seconds: options.seconds, iterations: options.iterations, seed: options.seed };
  const limit = `${options.seconds} s${Number.isFinite(options.iterations) ? ` or ${options.iterations} iterations` : ''}`;
  console.log(
    `ACS on ${instance.name} (${n} cities, optimum ${optimum ?? 'unknown'}): ${options.ants} ants on ${options.threads} thread(s), ` +
      `${limit}, seed ${options.seed}, ${options.sync ? 'synchronous' : 'asynchronous'}; 2-opt local search on every tour`,
  );

  const bar = progressBar('colony', options, optimum);
  const started = performance.now();
  const colony = await runColony(instance, budget, options.threads, options.sync, bar.update);
  const wallMs = performance.now() - started;
  bar.done();
  console.log(summary(`colony (${options.threads} thread${options.threads === 1 ? '' : 's'})`, colony, optimum));
  console.log(`  tours per thread ${colony.perThread?.map(thousands).join(' / ')}; wall time with start and shutdown ${(wallMs / 1000).toFixed(2)} s`);

  const plainBar = progressBar('plain ', options, optimum);
  const plain = runPlain(instance, budget, plainBar.update);
  plainBar.done();
  console.log(summary('plain (1 thread)', plain, optimum));
  const speedup = toursPerSecond(colony) / toursPerSecond(plain);
  console.log(`speed-up in tours/s: ${speedup.toFixed(2)}x`);

  const title = `${instance.name}: ${colony.length}${optimum === undefined ? '' : ` (optimum ${optimum})`}, ACS + 2-opt, ${options.threads} threads`;
  if (options.svg !== undefined) {
    writeFileSync(options.svg, tourSvg(instance, colony.tour, title));
    console.log(`best tour: ${options.svg}`);
  }
  if (options.curve !== undefined) {
    writeFileSync(options.curve, curveSvg(colony.curve, colony.ms, optimum, `${title}: best length over time`));
    console.log(`convergence curve: ${options.curve}`);
  }
  if (options.json) {
    const result = {
      instance: instance.name,
      cities: n,
      best: colony.length,
      optimum: optimum ?? null,
      gapPercent: gapPercent(colony.length, optimum),
      tour: colony.tour.map((city) => city + 1),
      iterations: colony.iterations,
      toursPerSecond: Math.round(toursPerSecond(colony)),
      ms: Math.round(colony.ms),
      threads: options.threads,
      seed: options.seed,
      ants: options.ants,
      mode: options.sync ? 'sync' : 'async',
      localSearch: '2-opt',
      singleThreadBest: plain.length,
      singleThreadToursPerSecond: Math.round(toursPerSecond(plain)),
      speedup: Math.round(speedup * 100) / 100,
    };
    console.log(JSON.stringify(result));
  }
}

try {
  await main(parseOptions(process.argv.slice(2)));
} catch (error) {
  // Bad input is the user's to fix: the message, no stack. Anything else is a bug: the whole error.
  const code = (error as { code?: unknown }).code;
  if (error instanceof InvalidArgumentError || error instanceof TsplibError || (typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS'))) {
    console.error(`example:aco: ${(error as Error).message}`);
    process.exitCode = 2;
  } else throw error;
}
