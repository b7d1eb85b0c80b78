/**
 * parallel-speedup: a CPU-bound job split over 256 agents, Savina's
 * Trapezoid (bench/actors/trapezoid.ts; N = 10,000,000 pieces, 1,000,000
 * under BENCH_QUICK=1): each agent integrates its range when asked, the main
 * thread asks all 256 at once and sums. Impls:
 *   - microswarm-1t: a runtime of one thread;
 *   - microswarm-2t: a runtime of two threads (the 256 agents placed by the
 *     default, least loaded: 128 per thread);
 *   - plain: the same 256 ranges in a loop on the main thread.
 * The agents are spawned before the timed runs; value = wall ms of one run
 * (median, after one untimed run); every area is checked against plain's.
 * Issue target, reported and not asserted: microswarm-2t >= 1.8x faster than
 * microswarm-1t on 2 cores.
 */
import { Runtime } from '../src/index.js';
import { type Impl, measureEach, measureWholeRun, type BenchRecord } from './harness.js';
import { integrate, trapezoidRanges, type TrapezoidMsg } from './actors/trapezoid.js';

const caseName = 'parallel-speedup';
const agents = 256;
const workerUrl = new URL('./actors/trapezoid.ts', import.meta.url);

interface Peer {
  area(ranges: TrapezoidMsg[]): Promise<number>;
  close(): Promise<void>;
}

async function startMicroswarm(threads: number): Promise<Peer> {
  const rt = await Runtime.start({ threads });
  try {
    const refs = await Promise.all(Array.from({ length: agents }, () => rt.spawn<TrapezoidMsg, number>(workerUrl, undefined)));
    return {
      async area(ranges) {
        const parts = await Promise.all(refs.map((ref, i) => ref.ask(ranges[i], { timeoutMs: 120_000 })));
        return parts.reduce((sum, part) => sum + part, 0);
      },
      close: () => rt.shutdown(),
    };
  } catch (error) {
    await rt.shutdown().catch(() => undefined);
    throw error;
  }
}

const impls: Impl<Peer>[] = [
  { name: 'microswarm-1t', start: () => startMicroswarm(1) },
  { name: 'microswarm-2t', start: () => startMicroswarm(2) },
  {
    name: 'plain',
    start: async () => ({ area: async (ranges) => ranges.reduce((sum, range) => sum + integrate(range), 0), close: async () => undefined }),
  },
];

export async function run(quick: boolean): Promise<BenchRecord[]> {
  const pieces = quick ? 1_000_000 : 10_000_000;
  const ranges = trapezoidRanges(agents, pieces);
  const expected = ranges.reduce((sum, range) => sum + integrate(range), 0);
  const note = `Trapezoid, ${pieces.toLocaleString('en')} pieces over ${agents} agents`;
  return measureEach(
    caseName,
    impls,
    async (peer, impl) => [
      await measureWholeRun(
        caseName,
        impl,
        async () => {
          const area = await peer.area(ranges);
          if (Math.abs(area - expected) > 1e-9 * Math.abs(expected)) throw new Error(`area ${area}, expected ${expected}`);
        },
        { reps: quick ? 3 : 5, warmup: 1, note },
      ),
    ],
    { timeoutMs: 300_000 },
  );
}
