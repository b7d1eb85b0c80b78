/**
 * Supervision and lifecycle cases (whole runs of the runtime; no peer runs them):
 *
 * - recovery: a pool thread hosting a counter is terminated (rt.killThread);
 *   from the kill to the first answer of the re-hosted counter. Value: ms
 *   (p50 and p99 over the kills), with the warm spare thread in place.
 *   Target under 100 ms. recovery-back-to-back: kills with no pause, so the
 *   spare is still starting (worker start-up and module loading dominate).
 * - checkpoint-4k: ctx.checkpoint() of a 4 KB snapshot inside the actor
 *   (snapshot, encode, write to the pool, publish). Value: us. Target under 100 us.
 *   checkpoint-4k-rt: the same through rt.checkpoint from the main thread.
 * - restart-4k: a restart that restores a 4 KB checkpoint: from the failing
 *   tell to the restored actor's answer (includes two ring hops and the
 *   supervisor's decision on the main thread). Value: us.
 * - cold-start: Runtime.start plus the first spawn answering an ask. Value: ms.
 * - warm-start: one spawn on a running pool, until it answers an ask. Value: us.
 */
import { Runtime, type ActorRef } from '../src/index.js';
import { guarded, wholeRunRecord, type BenchRecord } from './harness.js';

const counterUrl = new URL('./actors/counter.ts', import.meta.url);
const blobUrl = new URL('./actors/blob.ts', import.meta.url);

async function recovery(quick: boolean): Promise<BenchRecord[]> {
  const rt = await Runtime.start({ threads: 2, supervisor: { maxRestarts: Infinity } });
  try {
    const ref = await rt.spawn(counterUrl, { start: 1 }, { thread: 1 });
    await ref.ask({ type: 'get' });
    const ms: number[] = [];
    for (let i = 0; i < (quick ? 5 : 20); i++) {
      // Untimed: a second for Piscina's new spare thread to start and warm up
      // (crashes are rare; back-to-back ones find no warm spare, see notes).
      await new Promise((resolve) => setTimeout(resolve, 1000));
      const start = performance.now();
      await rt.killThread(1);
      await ref.ask({ type: 'get' });
      ms.push(performance.now() - start);
    }
    const cold: number[] = [];
    for (let i = 0; i < (quick ? 2 : 5); i++) {
      const start = performance.now();
      await rt.killThread(1);
      await ref.ask({ type: 'get' });
      cold.push(performance.now() - start);
    }
    return [
      wholeRunRecord('recovery', 'microswarm', ms, '2 threads + 1 warm spare; kill -> re-hosted actor answers (p99 in p99Us)'),
      wholeRunRecord('recovery-back-to-back', 'microswarm', cold, 'kills with no pause: the replacement is a thread still starting'),
    ];
  } finally {
    await rt.shutdown();
  }
}

async function checkpoint(quick: boolean): Promise<BenchRecord[]> {
  // Hundreds of deliberate restarts: no restart limit.
  const rt = await Runtime.start({ threads: 2, supervisor: { maxRestarts: Infinity } });
  try {
    const ref = (await rt.spawn(blobUrl, { bytes: 4096 }, { thread: 1 })) as ActorRef<{ type: 'sum' } | { type: 'fail' }, number>;
    await ref.ask({ type: 'sum' });
    const inThread = (await ref.ask({ type: 'checkpoints', n: quick ? 500 : 5000 } as never)) as unknown as number[];
    const take: number[] = [];
    const restart: number[] = [];
    const reps = quick ? 200 : 2000;
    for (let i = -50; i < reps; i++) {
      const start = performance.now();
      await rt.checkpoint(ref);
      if (i >= 0) take.push(performance.now() - start);
    }
    for (let i = -5; i < reps / 10; i++) {
      const start = performance.now();
      ref.tell({ type: 'fail' });
      const sum = await ref.ask({ type: 'sum' });
      if (sum !== 4096 * 7) throw new Error(`restored state wrong: ${sum}`);
      if (i >= 0) restart.push(performance.now() - start);
    }
    return [
      us(wholeRunRecord('checkpoint-4k', 'microswarm', inThread, 'ctx.checkpoint() of a 4 KB snapshot, in the actor (snapshot, encode, pool write)')),
      us(wholeRunRecord('checkpoint-4k-rt', 'microswarm', take, 'rt.checkpoint of the same, from the main thread (adds a control-task round trip)')),
      us(wholeRunRecord('restart-4k', 'microswarm', restart, 'fail -> restart restoring 4 KB -> answer')),
    ];
  } finally {
    await rt.shutdown();
  }
}

/** A whole-run record whose value is shown in microseconds. */
const us = (r: BenchRecord): BenchRecord => ({ ...r, value: r.p50Us, unit: 'us' });

async function starts(quick: boolean): Promise<BenchRecord[]> {
  const cold: number[] = [];
  for (let i = 0; i < (quick ? 2 : 5); i++) {
    const start = performance.now();
    const rt = await Runtime.start({ threads: 2 });
    const ref = await rt.spawn(counterUrl, { start: 0 });
    await ref.ask({ type: 'get' });
    cold.push(performance.now() - start);
    await rt.shutdown();
  }
  const rt = await Runtime.start({ threads: 2 });
  const warm: number[] = [];
  try {
    for (let i = -20; i < (quick ? 100 : 1000); i++) {
      const start = performance.now();
      const ref = await rt.spawn(counterUrl, { start: 0 });
      await ref.ask({ type: 'get' });
      if (i >= 0) warm.push(performance.now() - start);
      await rt.stop(ref);
    }
  } finally {
    await rt.shutdown();
  }
  return [
    wholeRunRecord('cold-start', 'microswarm', cold, 'Runtime.start (2 threads) + first spawn answering an ask'),
    us(wholeRunRecord('warm-start', 'microswarm', warm, 'one rt.spawn on a running pool + its first ask')),
  ];
}

export async function run(quick: boolean): Promise<BenchRecord[]> {
  return [
    ...(await guarded('recovery', 'microswarm', () => recovery(quick), { timeoutMs: 120_000 })),
    ...(await guarded('checkpoint-4k', 'microswarm', () => checkpoint(quick), { timeoutMs: 120_000 })),
    ...(await guarded('cold-start', 'microswarm', () => starts(quick), { timeoutMs: 120_000 })),
  ];
}
