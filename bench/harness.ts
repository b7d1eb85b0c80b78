/**
 * Shared helpers of the benchmark suites: the record every case produces, the
 * conversions from tinybench results and from timed whole runs, and the
 * guard that turns a failing implementation into a record instead of an
 * aborted run.
 *
 * The rules these helpers serve are in /work/shared/BENCHMARKS.md: a speed is
 * claimed only as a ratio against a peer measured in the same process run.
 */
import { Bench, type Task } from 'tinybench';

/** `BENCH_QUICK=1`: a smoke run (the whole `npm run bench` under 90 s). */
export const quick: boolean = process.env.BENCH_QUICK === '1';

/**
 * One row of `bench/results/latest.json`.
 *
 * Per-operation cases (tinybench) fill the latency fields from the sample
 * distribution. Throughput cases (N one-way messages) give the time per
 * message amortized over a batch. Whole-run cases also set `value`/`unit`.
 *
 * @example
 * { case: 'ask-rtt', impl: 'microswarm', opsPerSec: 41000, meanUs: 24.1, p50Us: 22, p99Us: 61, samples: 20000 }
 */
export interface BenchRecord {
  case: string;
  impl: string;
  opsPerSec: number;
  meanUs: number;
  p50Us: number;
  p99Us: number;
  samples: number;
  value?: number;
  unit?: string;
  note?: string;
}

/** The shape of `bench/results/latest.json`. */
export interface BenchResults {
  machine: { cpus: number; model: string; node: string; platform: string };
  date: string;
  quick: boolean;
  records: BenchRecord[];
}

/**
 * Cases whose figure of merit is throughput (`opsPerSec`, higher is better).
 * Every other case is compared on `value` when it has one (a whole run, lower
 * is better) and otherwise on `p50Us` (per-operation latency, lower is better).
 * A new throughput case must be added here so that its ratio is right.
 */
const throughputCases: ReadonlySet<string> = new Set(['tell-cross-thread', 'tell-local', 'tasks-throughput', 'remote-tell']);

/** What a case's "vs baseline" ratio is computed from. */
export type RatioBasis = 'opsPerSec' | 'value' | 'p50Us';

export function ratioBasis(record: BenchRecord): RatioBasis {
  if (throughputCases.has(record.case)) return 'opsPerSec';
  if (record.value !== undefined) return 'value';
  return 'p50Us';
}

export function isFailed(record: BenchRecord): boolean {
  return record.note?.startsWith('failed:') ?? false;
}

/**
 * How many times faster the baseline is than `record` (> 1: the baseline
 * wins, < 1: `record` wins), on the case's figure of merit. `undefined` when
 * either side failed or a figure is not positive.
 */
export function speedupOfBaseline(baseline: BenchRecord, record: BenchRecord): number | undefined {
  if (isFailed(baseline) || isFailed(record)) return undefined;
  const basis = ratioBasis(baseline);
  const base = basis === 'opsPerSec' ? baseline.opsPerSec : basis === 'value' ? baseline.value : baseline.p50Us;
  const other = basis === 'opsPerSec' ? record.opsPerSec : basis === 'value' ? record.value : record.p50Us;
  if (base === undefined || other === undefined || !(base > 0) || !(other > 0)) return undefined;
  // Throughput: higher is better; latency and whole-run time: lower is better.
  return basis === 'opsPerSec' ? base / other : other / base;
}

/**
 * The record of a tinybench task that ran one operation per iteration.
 *
 * tinybench v6 keeps statistics under `result.latency` (milliseconds) and
 * `result.throughput` (ops/s), only once `result.state` is `completed`.
 * `opsPerSec` is `1000 / latency.mean`, the rate a sequential caller gets;
 * tinybench's `throughput.mean` is a mean of per-sample reciprocals, which
 * overweights the fastest samples.
 */
function recordFromTask(caseName: string, impl: string, task: Task, note?: string): BenchRecord {
  const result = task.result;
  if (result.state === 'errored') throw result.error;
  if (result.state !== 'completed' && result.state !== 'aborted-with-statistics') {
    throw new Error(`tinybench task "${task.name}" ended in state ${result.state}`);
  }
  const { latency } = result;
  const record: BenchRecord = {
    case: caseName,
    impl,
    opsPerSec: round(1000 / latency.mean),
    meanUs: round(latency.mean * 1000),
    p50Us: round(latency.p50 * 1000),
    p99Us: round(latency.p99 * 1000),
    samples: latency.samplesCount,
  };
  if (note !== undefined) record.note = note;
  return record;
}

export interface TimedRunsOptions {
  /** Timed repetitions. */
  reps: number;
  /** Untimed repetitions first, so JIT and thread start-up are not measured. */
  warmup?: number;
}

/** Times `runOnce` `reps` times after `warmup` untimed runs; milliseconds per run. */
async function timeRuns(runOnce: () => Promise<unknown>, options: TimedRunsOptions): Promise<number[]> {
  for (let i = 0; i < (options.warmup ?? 1); i++) await runOnce();
  const elapsedMs: number[] = [];
  for (let i = 0; i < options.reps; i++) {
    const start = performance.now();
    await runOnce();
    elapsedMs.push(performance.now() - start);
  }
  return elapsedMs;
}

/**
 * The record of a case measured as one whole run repeated k times (skynet,
 * spawn-256): `value` is the median run in ms; latency fields describe the
 * runs (p99 across k runs is close to the slowest one); `opsPerSec` is runs
 * per second at the median.
 */
export function wholeRunRecord(caseName: string, impl: string, elapsedMs: number[], note?: string): BenchRecord {
  const sorted = [...elapsedMs].sort((a, b) => a - b);
  const median = quantile(sorted, 0.5);
  const record: BenchRecord = {
    case: caseName,
    impl,
    opsPerSec: round(1000 / median),
    meanUs: round(mean(sorted) * 1000),
    p50Us: round(median * 1000),
    p99Us: round(quantile(sorted, 0.99) * 1000),
    samples: sorted.length,
    value: round(median),
    unit: 'ms',
  };
  if (note !== undefined) record.note = note;
  return record;
}

/**
 * Times a whole run (`runOnce`) `options.reps` times after warm-up and makes
 * its record (see {@link wholeRunRecord}).
 *
 * @example
 * const record = await measureWholeRun('spawn-256', 'microswarm', () => spawnAll(256), { reps: quick ? 3 : 10 });
 */
export async function measureWholeRun(
  caseName: string,
  impl: string,
  runOnce: () => Promise<unknown>,
  options: TimedRunsOptions & { note?: string },
): Promise<BenchRecord> {
  return wholeRunRecord(caseName, impl, await timeRuns(runOnce, options), options.note);
}

/**
 * The record of a throughput case: each of the k runs sends `count` messages
 * and ends when the last one was counted. `opsPerSec = count / median run`,
 * `meanUs = mean run / count`; `p50Us`/`p99Us` are the per-message time,
 * amortized over one run, at the median and p99 of the k runs.
 */
export function throughputRecord(caseName: string, impl: string, count: number, elapsedMs: number[], note?: string): BenchRecord {
  const perMessageUs = elapsedMs.map((ms) => (ms * 1000) / count).sort((a, b) => a - b);
  const medianUs = quantile(perMessageUs, 0.5);
  const record: BenchRecord = {
    case: caseName,
    impl,
    opsPerSec: round(1e6 / medianUs),
    meanUs: round(mean(perMessageUs), 4),
    p50Us: round(medianUs, 4),
    p99Us: round(quantile(perMessageUs, 0.99), 4),
    samples: perMessageUs.length,
  };
  if (note !== undefined) record.note = note;
  return record;
}

/** A record standing for an implementation that could not be measured. */
export function failedRecord(caseName: string, impl: string, error: unknown): BenchRecord {
  return { case: caseName, impl, opsPerSec: 0, meanUs: 0, p50Us: 0, p99Us: 0, samples: 0, note: `failed: ${describeError(error)}` };
}

/**
 * Runs one implementation's measurement; an error or a hang past `timeoutMs`
 * becomes a failed record so that the other implementations still run.
 * `cleanup` (teardown) runs in every case, bounded by the same kind of timer.
 */
export async function guarded(
  caseName: string,
  impl: string,
  measure: () => Promise<BenchRecord[]>,
  options: { timeoutMs: number; cleanup?: () => Promise<unknown> },
): Promise<BenchRecord[]> {
  let records: BenchRecord[];
  try {
    records = await withTimeout(measure(), options.timeoutMs, `${caseName}/${impl}`);
  } catch (error) {
    records = [failedRecord(caseName, impl, error)];
  }
  if (options.cleanup) {
    try {
      await withTimeout(options.cleanup(), 10_000, `${caseName}/${impl} teardown`);
    } catch (error) {
      console.error(`  ${caseName}/${impl}: teardown failed: ${describeError(error)}`);
    }
  }
  for (const record of records) {
    if (isFailed(record)) console.error(`  ${record.case}/${record.impl}: ${record.note}`);
  }
  return records;
}

/** An implementation of a case: `start` sets up its peer (ready to measure), which is closed after the measurement. */
export interface Impl<Peer extends { close(): Promise<unknown> }> {
  name: string;
  start(): Promise<Peer>;
}

/**
 * Measures each implementation in turn, one alive at a time: starts it,
 * measures it, closes it, under {@link guarded} (a failure or a hang past
 * `timeoutMs` is that impl's failed record; the others still run). On a
 * 2-core machine an idle-but-alive peer (a thread that polls) would take CPU
 * from the one being measured.
 */
export async function measureEach<Peer extends { close(): Promise<unknown> }>(
  caseName: string,
  impls: readonly Impl<Peer>[],
  measure: (peer: Peer, impl: string) => Promise<BenchRecord[]>,
  options: { timeoutMs: number },
): Promise<BenchRecord[]> {
  const records: BenchRecord[] = [];
  for (const impl of impls) {
    let peer: Peer | undefined;
    const measured = await guarded(caseName, impl.name, async () => measure((peer = await impl.start()), impl.name), {
      timeoutMs: options.timeoutMs,
      cleanup: async () => peer?.close(),
    });
    records.push(...measured);
  }
  return records;
}

export interface RoundTripOptions {
  /** tinybench's measuring time and warm-up time, in ms. */
  timeMs: number;
  warmupTimeMs: number;
  note?: string;
}

/**
 * Per-op latency of sequential round trips `get()` (tinybench: warm-up, then
 * one sample per round trip), as a record ({@link recordFromTask}). `get`
 * answers with the counter's count: anything else fails the impl.
 */
export async function measureRoundTrips(caseName: string, impl: string, get: () => Promise<number>, options: RoundTripOptions): Promise<BenchRecord> {
  const bench = new Bench({ time: options.timeMs, warmupTime: options.warmupTimeMs, warmupIterations: 100, throws: true });
  let answer: unknown;
  bench.add(impl, async () => {
    answer = await get();
  });
  await bench.run();
  if (typeof answer !== 'number') throw new Error(`expected a number from get, got ${typeof answer}`);
  return recordFromTask(caseName, impl, bench.tasks[0], options.note);
}

/**
 * A throughput case's record ({@link throughputRecord}): `send(count)` sends
 * `count` one-way messages and resolves with the counter read after all of
 * them were counted. One untimed warm-up run, then `reps` timed runs; every
 * count is checked, so a lost message fails the impl. `note` is read after
 * the runs.
 */
export async function measureCountedRuns(
  caseName: string,
  impl: string,
  send: (count: number) => Promise<number>,
  options: { count: number; reps: number; note?: () => string | undefined },
): Promise<BenchRecord> {
  const { count } = options;
  let expected = await send(0);
  const elapsedMs = await timeRuns(
    async () => {
      const counted = await send(count);
      expected += count;
      if (counted !== expected) throw new Error(`counted ${counted}, expected ${expected}: messages were lost`);
    },
    { reps: options.reps, warmup: 1 },
  );
  return throughputRecord(caseName, impl, count, elapsedMs, [`N=${count}`, options.note?.()].filter(Boolean).join('; '));
}

/** Rejects if `promise` has not settled within `ms`; the timer does not keep the process alive. */
export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  // Created here so its stack points at the caller, not at the timer.
  const timeoutError = new Error(`${what} did not finish within ${ms} ms`);
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(timeoutError), ms);
    timer.unref();
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

export function describeError(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return (typeof code === 'string' ? `${code}: ` : '') + error.message.split('\n')[0];
  }
  return String(error);
}

/** Linear interpolation between closest ranks, on an ascending array. */
export function quantile(sortedAscending: readonly number[], q: number): number {
  if (sortedAscending.length === 0) return Number.NaN;
  const position = (sortedAscending.length - 1) * q;
  const lower = Math.floor(position);
  const upper = Math.ceil(position);
  const weight = position - lower;
  return sortedAscending[lower] * (1 - weight) + sortedAscending[upper] * weight;
}

function mean(values: readonly number[]): number {
  let sum = 0;
  for (const value of values) sum += value;
  return sum / values.length;
}

/** Rounds to `digits` decimals (default 2); JSON and tables need no more. */
export function round(value: number, digits = 2): number {
  if (!Number.isFinite(value)) return value;
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}
