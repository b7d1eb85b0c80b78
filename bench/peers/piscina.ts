/**
 * The piscina peer: a pool of exactly one thread running a trivial counter
 * task (bench/peers/workers/piscina-counter.mjs).
 *
 * Options, and why:
 * - `minThreads = maxThreads = 1`, `idleTimeout: Infinity`: the default
 *   idleTimeout would end the thread between bursts, and with it the counter.
 * - `atomics`: piscina's default `'sync'` (the worker parks in Atomics.wait
 *   between tasks). That is the right mode for a task pool and the fastest
 *   round trip piscina has, so the peer is measured at its best. microswarm
 *   cannot use it for long-lived actors (it blocks the worker's event loop
 *   between tasks; see ARCHITECTURE.md), which is why the mode is named in
 *   the record's note.
 *
 * - `concurrentTasksPerWorker`: 1 (the default) for sequential round trips;
 *   for tell-cross-thread the case passes `piscinaWindowSize`, so that a whole
 *   window is in flight at the worker instead of one task per round trip.
 *   Measured here (2 cores, 20 K tasks): about 25 K tasks/s with 1, about
 *   100 K/s with 1024, in every `atomics` mode; the round trip of a
 *   sequential run() is about 35-40 us whatever the setting.
 *
 * For tell-cross-thread a "one-way message" is `pool.run({ type: 'inc', by: 1 })`.
 * Tasks are issued `piscinaWindowSize` at a time and each window is awaited
 * with `Promise.all` before the next: an unbounded burst of promises would
 * measure piscina's queue and the GC more than its transport.
 */
import { Piscina } from 'piscina';
import type { CrossThreadCounter } from './peer.js';

const taskUrl = new URL('./workers/piscina-counter.mjs', import.meta.url);

/** Tasks in flight at once in `incMany`. */
export const piscinaWindowSize = 1024;

export interface PiscinaCounterOptions {
  atomics?: 'sync' | 'async' | 'disabled';
  /** Tasks the one thread may hold at once (piscina's default: 1). */
  concurrentTasksPerWorker?: number;
}

export type PiscinaCounter = CrossThreadCounter & { readonly description: string };

export async function startPiscinaCounter(options: PiscinaCounterOptions = {}): Promise<PiscinaCounter> {
  const atomics = options.atomics ?? 'sync';
  const concurrentTasksPerWorker = options.concurrentTasksPerWorker ?? 1;
  const pool = new Piscina({
    filename: taskUrl.href,
    minThreads: 1,
    maxThreads: 1,
    idleTimeout: Infinity,
    atomics,
    concurrentTasksPerWorker,
  });
  // The first run waits for the thread to start and load the task module.
  await pool.run({ type: 'get' });

  const get = (): Promise<number> => pool.run({ type: 'get' }) as Promise<number>;
  return {
    description: `atomics '${atomics}', concurrentTasksPerWorker ${concurrentTasksPerWorker}`,
    get,
    async incMany(count) {
      const window: Array<Promise<unknown>> = [];
      for (let sent = 0; sent < count; ) {
        const end = Math.min(count, sent + piscinaWindowSize);
        window.length = 0;
        for (; sent < end; sent++) window.push(pool.run({ type: 'inc', by: 1 }));
        await Promise.all(window);
      }
      return get();
    },
    async close() {
      await pool.destroy();
    },
  };
}
