/**
 * The Savina micro-benchmarks (Imam & Sarkar, AGERE 2014; the Akka versions
 * of github.com/shamsimam/savina): savina-pingpong, -threadring, -counting,
 * -fjthroughput, -fjcreation, -fib, -big. Sizes are the defaults of the
 * suite's `*Config.java` (bench/peers/savina-shape.ts; printed in each
 * record's note), about a tenth under `BENCH_QUICK=1`.
 *
 * Impls, the same actors and messages in each:
 * - microswarm: a runtime of two threads, actors spread over both
 *   (bench/actors/savina-*.ts say where each lives), so that most messages
 *   cross threads;
 * - microswarm-local: the same runtime, every actor where `ctx.spawn` puts a
 *   child by default (its parent's thread), as a user's actors land unless
 *   placed: the per-message cost without a cross-thread wake-up;
 * - nact: nact actors on the main thread, one actor system per run;
 * - plain: one thread, plain objects and one FIFO queue: the no-runtime floor.
 * Every run builds its actors anew (Savina's runIteration does) and is
 * checked against the answer a correct run gives; value = ms of one whole
 * run, the median of 12 timed runs after one untimed run: Savina's own
 * runner (BenchmarkRunner.java) times 12 iterations and reports their median,
 * so that the first iterations' JIT compilation is not what is read. Impls
 * run one after the other, each alive only while measured.
 */
import { type Impl, measureEach, measureWholeRun, type BenchRecord } from './harness.js';
import { describeSizes, expectedAnswer, savinaDefaults, savinaQuick, type SavinaCase, type SavinaPeer, type SavinaSizes } from './peers/savina-shape.js';

const impls: Impl<SavinaPeer>[] = [
  { name: 'microswarm', start: async () => (await import('./peers/savina-microswarm.js')).startMicroswarmSavina('spread') },
  { name: 'microswarm-local', start: async () => (await import('./peers/savina-microswarm.js')).startMicroswarmSavina('local') },
  { name: 'nact', start: async () => (await import('./peers/savina-nact.js')).startNactSavina() },
  { name: 'plain', start: async () => (await import('./peers/savina-plain.js')).startPlainSavina() },
];

const cases = Object.keys(savinaDefaults) as SavinaCase[];

export async function run(quick: boolean): Promise<BenchRecord[]> {
  const sizes: SavinaSizes = quick ? savinaQuick : savinaDefaults;
  const reps = quick ? 1 : 12; // Savina's iteration count (see the file comment)
  const only = process.env.BENCH_SAVINA?.split(',');
  const records: BenchRecord[] = [];
  for (const caseName of cases.filter((name) => only === undefined || only.includes(name))) {
    const expected = expectedAnswer(caseName, sizes);
    const note = describeSizes(caseName, sizes);
    console.log(`  savina-${caseName}: ${note}`);
    records.push(
      ...(await measureEach(
        `savina-${caseName}`,
        impls,
        async (peer, impl) => [
          await measureWholeRun(
            `savina-${caseName}`,
            impl,
            async () => {
              const answer = await peer.run(caseName, sizes);
              if (answer !== expected) throw new Error(`savina-${caseName}/${impl} answered ${answer}, expected ${expected}`);
            },
            { reps, warmup: 1, note },
          ),
        ],
        { timeoutMs: 600_000 },
      )),
    );
  }
  return records;
}
