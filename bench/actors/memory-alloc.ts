/**
 * The actor of alloc-free: times `ctx.memory.alloc(bytes)` + `free` on its
 * own thread, in batches.
 *
 * `{ type: 'measure', bytes, batch, warmupMs, startAtEpochMs, durationMs }`:
 * runs untimed batches for `warmupMs` (JIT), waits for the wall-clock instant
 * `startAtEpochMs` (Date.now(): the one clock both threads share, so two of
 * these actors start their timed loops together for the contended case), then
 * runs timed batches for `durationMs`. Answers with a Float64Array: per batch,
 * the mean time of one alloc + free in microseconds (batch time / batch).
 * One performance.now() pair per batch of `batch` operations: timing each
 * operation alone would mostly measure performance.now() itself.
 */
import { defineActor, type MemoryContext } from '../../src/actor.js';

export type AllocMsg = {
  type: 'measure';
  bytes: number;
  batch: number;
  warmupMs: number;
  startAtEpochMs: number;
  durationMs: number;
};

function runBatch(mem: MemoryContext, bytes: number, batch: number): void {
  for (let i = 0; i < batch; i++) mem.free(mem.alloc(bytes));
}

export default defineActor({
  init: () => ({}),
  receive(_state, msg: AllocMsg, ctx) {
    const mem = ctx.memory;
    const warmupEnd = performance.now() + msg.warmupMs;
    while (performance.now() < warmupEnd) runBatch(mem, msg.bytes, msg.batch);
    // Spin rather than sleep: a timer's wake-up jitter would desynchronize
    // the two contending threads by more than a millisecond.
    while (Date.now() < msg.startAtEpochMs);
    const samples: number[] = [];
    const end = performance.now() + msg.durationMs;
    for (;;) {
      const start = performance.now();
      runBatch(mem, msg.bytes, msg.batch);
      const stop = performance.now();
      samples.push(((stop - start) * 1000) / msg.batch);
      if (stop >= end) break;
    }
    return Float64Array.from(samples);
  },
});
