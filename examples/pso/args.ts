/**
 * The command line of `npm run example:pso` (node:util parseArgs). A mistake
 * throws a typed error naming the option and the value received:
 * `InvalidArgumentError` for an unknown option or a stray argument,
 * `InvalidOptionError` for a bad value. examples/pso.ts prints it and exits 2.
 */
import { availableParallelism } from 'node:os';
import { parseArgs } from 'node:util';
import { InvalidArgumentError, InvalidOptionError } from '../../src/index.js';
import { functionNames, type FunctionName } from './functions.js';
import { placements, psoTopologies, type Placement, type PsoTopology } from './run.js';
import { swarmSize } from './spso.js';

/** What the example was asked for. */
export interface PsoArgs {
  /** The functions to run (`--fn all`: the five). */
  fns: FunctionName[];
  dim: number;
  evals: number;
  runs: number;
  topology: PsoTopology;
  threads: number;
  placement: Placement;
  seed: number;
  /** Also run Clerc's SPSO-2006 loop (random informants, asynchronous) on the main thread. */
  reference: boolean;
  json: boolean;
  help: boolean;
}

export const usage = `Usage: npm run example:pso -- [options]

Standard PSO 2006 on a test function, each particle an agent of an rt.swarm.

Options:
  --fn NAME         sphere, rosenbrock, rastrigin, griewank, ackley, or all (default rastrigin)
  --dim D           dimensions, 1 to 1000 (default 30)
  --evals N         evaluations per run, at least the swarm size 10 + floor(2 sqrt(D)) (default 30000)
  --runs R          independent runs, 1 to 1000 (default 50)
  --topology T      ring (lbest, K = 3) or star (gbest) (default ring)
  --threads N       pool threads, 1 to 64 (default: the machine's cores)
  --placement P     run (each run's swarm on one thread) or spread (particles dealt over threads) (default run)
  --seed S          seed, an integer from 0 to 4294967295 (default 1)
  --reference       also run SPSO-2006's own loop (random informants, asynchronous) on the main thread
  --json            print one JSON object as the last line
  --help            this text`;

const options = {
  fn: { type: 'string', default: 'rastrigin' },
  dim: { type: 'string', default: '30' },
  evals: { type: 'string', default: '30000' },
  runs: { type: 'string', default: '50' },
  topology: { type: 'string', default: 'ring' },
  threads: { type: 'string' },
  placement: { type: 'string', default: 'run' },
  seed: { type: 'string', default: '1' },
  reference: { type: 'boolean', default: false },
  json: { type: 'boolean', default: false },
  help: { type: 'boolean', default: false },
} as const;

/** Parses `argv` (without node and the script). */
export function parsePsoArgs(argv: readonly string[]): PsoArgs {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({ args: [...argv], options, strict: true, allowPositionals: false }));
  } catch (error) {
    throw namedError(error, argv);
  }
  const fn = String(values.fn);
  if (fn !== 'all' && !(functionNames as readonly string[]).includes(fn)) {
    throw new InvalidOptionError('--fn', `one of ${functionNames.join(', ')}, all`, fn);
  }
  const dim = integer('--dim', values.dim, 1, 1000);
  const topology = oneOf('--topology', values.topology, psoTopologies);
  return {
    fns: fn === 'all' ? [...functionNames] : [fn as FunctionName],
    dim,
    evals: integer('--evals', values.evals, swarmSize(dim), 1e9, `(the swarm size at D = ${dim})`),
    runs: integer('--runs', values.runs, 1, 1000),
    topology,
    threads: values.threads === undefined ? availableParallelism() : integer('--threads', values.threads, 1, 64),
    placement: oneOf('--placement', values.placement, placements),
    seed: integer('--seed', values.seed, 0, 0xffffffff),
    reference: values.reference === true,
    json: values.json === true,
    help: values.help === true,
  };
}

/**
 * parseArgs names the culprit in its message only: the same as a typed
 * error. A bad value names the option (`--runs -1` reads as a missing value:
 * one starting with a dash is written `--runs=-1`).
 */
function namedError(error: unknown, argv: readonly string[]): Error {
  const message = error instanceof Error ? error.message : String(error);
  const quoted = /'(-[^' ]+|[^']+)/.exec(message)?.[1] ?? argv.join(' ');
  if ((error as { code?: string }).code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
    if (message.includes('does not take'))
      return new InvalidOptionError(quoted, 'given no value', argv.find((a) => a.startsWith(`${quoted}=`))?.slice(quoted.length + 1));
    const value = argv[argv.indexOf(quoted) + 1];
    return new InvalidOptionError(
      quoted,
      value === undefined ? 'given a value' : `given a value (one starting with a dash is written \`${quoted}=${value}\`)`,
      value,
    );
  }
  return new InvalidArgumentError('example:pso', `only the options of --help (${message.split('\n')[0]})`, quoted);
}

function integer(option: string, value: unknown, min: number, max: number, why = ''): number {
  const n = typeof value === 'string' && /^\d+$/.test(value.trim()) ? Number(value) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    throw new InvalidOptionError(option, `an integer from ${min}${why === '' ? '' : ` ${why}`} to ${max}`, value);
  }
  return n;
}

function oneOf<T extends string>(option: string, value: unknown, allowed: readonly T[]): T {
  if (!(allowed as readonly unknown[]).includes(value)) throw new InvalidOptionError(option, `one of ${allowed.join(', ')}`, value);
  return value as T;
}
