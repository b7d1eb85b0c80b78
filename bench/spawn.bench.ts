/**
 * Whole-run cases of the runtime itself (no peer runs the same thing):
 *
 * - spawn-256: on a warm pool (2 threads), spawn 256 counters with
 *   `Promise.all` and wait until each has answered one ask. Value: ms.
 * - skynet-1m: the skynet tree of 1,000,000 leaves (1,111,111 actors),
 *   root's answer checked against 499999500000. Value: ms. Quick mode runs a
 *   100,000-leaf tree (note says so).
 *
 * Published skynet runs for context (not measured here): Akka 1.7-6.4 s,
 * Erlang 0.7-4.4 s, Go 0.2-1 s.
 */
import { Runtime, type ActorRef } from '../src/index.js';
import { guarded, measureWholeRun, wholeRunRecord, type BenchRecord } from './harness.js';

const counterUrl = new URL('./actors/counter.ts', import.meta.url);
const skynetUrl = new URL('./actors/skynet.ts', import.meta.url);

async function spawn256(quick: boolean): Promise<BenchRecord[]> {
  const rt = await Runtime.start({ threads: 2 });
  try {
    // Warm the pool: both threads have loaded the counter module.
    const warm = await Promise.all([0, 1].map((thread) => rt.spawn(counterUrl, { start: 0 }, { thread })));
    await Promise.all(warm.map((ref) => ref.ask({ type: 'get' })));
    await Promise.all(warm.map((ref) => rt.stop(ref)));
    const elapsedMs: number[] = [];
    const reps = quick ? 5 : 20;
    for (let rep = -2; rep < reps; rep++) {
      const start = performance.now();
      const refs: ActorRef[] = await Promise.all(Array.from({ length: 256 }, (_, i) => rt.spawn(counterUrl, { start: i })));
      const answers = await Promise.all(refs.map((ref) => ref.ask({ type: 'get' })));
      const elapsed = performance.now() - start;
      if (answers.some((n, i) => n !== i)) throw new Error('a spawned counter answered wrong');
      if (rep >= 0) elapsedMs.push(elapsed); // two untimed warm-up runs
      await Promise.all(refs.map((ref) => rt.stop(ref))); // untimed
    }
    const record = wholeRunRecord('spawn-256', 'microswarm', elapsedMs, '2 threads, warm pool: 256 spawns, then one ask each');
    return [record];
  } finally {
    await rt.shutdown();
  }
}

async function skynet(quick: boolean): Promise<BenchRecord[]> {
  const size = quick ? 100_000 : 1_000_000;
  const expected = (size * (size - 1)) / 2;
  const rt = await Runtime.start({ threads: 2, maxAgents: 2_000_000 });
  // The tree's spawns are not awaited (actors/skynet.ts): a failed one is
  // published on rt.failures, and fails the case at once rather than leaving
  // the root's ask to time out.
  let failed: (error: Error) => void = () => undefined;
  const failure = new Promise<never>((_, reject) => (failed = reject));
  failure.catch(() => undefined); // raced below; not an unhandled rejection when nothing fails
  rt.failures.subscribe((event) => failed(new Error(`skynet: ${event.actor.toString()} failed: ${event.error.message}`, { cause: event.error })));
  try {
    const record = await measureWholeRun(
      'skynet-1m',
      'microswarm',
      async () => {
        const root = await rt.spawn(skynetUrl, { num: 0, size, div: 10, spread: rt.threads });
        const sum = await Promise.race([root.ask({ type: 'run' }, { timeoutMs: 600_000 }), failure]);
        if (sum !== expected) throw new Error(`skynet sum ${String(sum)}, expected ${expected}`);
      },
      { reps: quick ? 2 : 3, warmup: 1, note: `${size.toLocaleString('en')} leaves, div 10, 2 threads, sum checked` },
    );
    return [record];
  } finally {
    await rt.shutdown({ timeoutMs: 60_000 });
  }
}

export async function run(quick: boolean): Promise<BenchRecord[]> {
  return [
    ...(await guarded('spawn-256', 'microswarm', () => spawn256(quick), { timeoutMs: 120_000 })),
    ...(await guarded('skynet-1m', 'microswarm', () => skynet(quick), { timeoutMs: 600_000 })),
  ];
}
