/**
 * The memory pool's cases.
 *
 * transfer-64k: hand 64 KB from one actor to an actor on another thread,
 * which reads it. Shape, the same for every impl: two worker threads play
 * ping-pong with one 64 KB buffer; the main thread only starts a run and
 * collects the samples. On every arrival the receiver reads all 64 KB (sums
 * its 16,384 i32 words and checks the sum and a hop count; see
 * bench/actors/memory-ball.ts), writes the next hop count into the first word
 * and hands the buffer back. Impls:
 *   - microswarm: actors on threads 0 and 1 (bench/actors/memory-ping.ts,
 *     memory-pong.ts). The ping actor allocates one region of 64 KiB once and
 *     reuses it; it moves with each message, `tell(msg, { transfer: [handle] })`.
 *     The pool's transfer counter is checked: two transfers per round trip.
 *   - postMessage-clone: a Uint8Array(65536) posted by structured clone over
 *     a MessageChannel between two workers (bench/peers/transfer.ts).
 *   - postMessage-transfer: the same with its ArrayBuffer in the transfer
 *     list; the sender gets it back with the reply before it can reuse it.
 * Per-handoff latency: the ping side timestamps each send with
 * performance.now() on its own thread; one sample per round trip is the time
 * from one send to the next (two handoffs, each including its receiver's
 * read), halved. p50/p99 are over those samples. All three pairs are
 * started and warmed up, then measured in rounds, impls alternating (order
 * rotated each round), so that a noisy stretch of this shared 2-core machine
 * falls on all of them alike; a pair waiting for its turn is idle.
 * Issue targets, reported and not asserted: microswarm >= 20x faster than
 * postMessage-clone, and faster than postMessage-transfer (p50).
 *
 * alloc-free: one `ctx.memory.alloc(64 KiB)` + `free`, timed inside an actor
 * (bench/actors/memory-alloc.ts) in batches of 100 with performance.now();
 * one sample per batch (batch time / 100), p50/p99 over the batches.
 *   - alloc-free: one actor on one thread, the other thread idle.
 *   - alloc-free-contended: two actors on two threads allocating and freeing
 *     at the same time (both start at the same wall-clock instant and run
 *     for the same time); the record pools both threads' samples, the note
 *     gives each thread's p50.
 * Issue target, reported and not asserted: p50 under 1 us on one thread.
 */
import { failedRecord, guarded, quantile, round, withTimeout, type BenchRecord } from './harness.js';
import { kBallWords, fillBall, readBall } from './actors/memory-ball.js';
import type { AllocMsg } from './actors/memory-alloc.js';
import type { HandoffPair } from './peers/transfer.js';

const allocUrl = new URL('./actors/memory-alloc.ts', import.meta.url);

/**
 * The record of a case sampled by the implementation itself: latencies in
 * microseconds, one per operation (or per batch mean). `opsPerSec` is the
 * rate of a sequential caller, 1e6 / mean.
 */
function recordFromSamples(caseName: string, impl: string, samplesUs: ArrayLike<number>, note?: string): BenchRecord {
  const sorted = Array.from(samplesUs).sort((a, b) => a - b);
  let sum = 0;
  for (const value of sorted) sum += value;
  const meanUs = sum / sorted.length;
  const record: BenchRecord = {
    case: caseName,
    impl,
    opsPerSec: round(1e6 / meanUs),
    meanUs: round(meanUs, 3),
    p50Us: round(quantile(sorted, 0.5), 3),
    p99Us: round(quantile(sorted, 0.99), 3),
    samples: sorted.length,
  };
  if (note !== undefined) record.note = note;
  return record;
}

function p50(samplesUs: ArrayLike<number>): number {
  return quantile(
    Array.from(samplesUs).sort((a, b) => a - b),
    0.5,
  );
}

// ------------------------------------------------------------- transfer-64k

interface TransferImpl {
  name: string;
  note: string;
  start(): Promise<HandoffPair & { transfers?(): number }>;
}

const transferImpls: TransferImpl[] = [
  {
    name: 'microswarm',
    note: 'region handle, allocated once and reused',
    start: async () => (await import('./peers/transfer-microswarm.js')).startMicroswarmPair(),
  },
  {
    name: 'postMessage-clone',
    note: 'Uint8Array by structured clone',
    start: async () => (await import('./peers/transfer.js')).startPostMessagePair('clone'),
  },
  {
    name: 'postMessage-transfer',
    note: 'ArrayBuffer in the transfer list',
    start: async () => (await import('./peers/transfer.js')).startPostMessagePair('transfer'),
  },
];

/** What the read alone costs (same loop, this thread): the floor under every impl's handoff. */
function readCostUs(): number {
  const words = new Int32Array(kBallWords);
  fillBall(words);
  words[0] = 7;
  for (let i = 0; i < 2_000; i++) readBall(words, 7);
  const reps = 5_000;
  const start = performance.now();
  for (let i = 0; i < reps; i++) readBall(words, 7);
  return ((performance.now() - start) * 1000) / reps;
}

async function transfer64k(quick: boolean): Promise<BenchRecord[]> {
  const warmupRoundTrips = quick ? 3_000 : 10_000;
  const rounds = quick ? 6 : 8;
  const roundTripsPerRound = quick ? 500 : 4_000;
  const readUs = readCostUs();
  const shape = `2 worker threads, ping-pong, each side reads all 64 KB (read alone ~${readUs.toFixed(1)} us on the main thread)`;

  // Every impl is started and warmed up, then the measured round trips are
  // taken in rounds, impls alternating (order rotated each round), so that a
  // noisy stretch of the shared machine is spread over all of them. Between
  // their turns the pairs are idle: postMessage workers wait in the event
  // loop, microswarm's threads park after spinning for spinUs (50 us).
  interface Live {
    impl: TransferImpl;
    pair?: HandoffPair & { transfers?(): number };
    samples: Float64Array[];
    transfers: number;
    failure?: BenchRecord;
  }
  const live: Live[] = transferImpls.map((impl) => ({ impl, samples: [], transfers: 0 }));
  const attempt = async (entry: Live, what: string, work: () => Promise<void>): Promise<void> => {
    if (entry.failure) return;
    try {
      await withTimeout(work(), 120_000, `transfer-64k/${entry.impl.name} ${what}`);
    } catch (error) {
      entry.failure = failedRecord('transfer-64k', entry.impl.name, error);
      console.error(`  transfer-64k/${entry.impl.name}: ${entry.failure.note}`);
    }
  };
  try {
    for (const entry of live) {
      await attempt(entry, 'start', async () => {
        entry.pair = await entry.impl.start();
        await entry.pair.run(warmupRoundTrips);
      });
    }
    for (let round = 0; round < rounds; round++) {
      for (let k = 0; k < live.length; k++) {
        const entry = live[(round + k) % live.length];
        await attempt(entry, `round ${round}`, async () => {
          const pair = entry.pair as HandoffPair & { transfers?(): number };
          const before = pair.transfers?.() ?? 0;
          entry.samples.push(await pair.run(roundTripsPerRound));
          entry.transfers += (pair.transfers?.() ?? 0) - before;
        });
      }
    }
  } finally {
    for (const entry of live) {
      await attempt(entry, 'teardown', async () => entry.pair?.close());
    }
  }

  return live.map((entry) => {
    if (entry.failure) return entry.failure;
    const count = rounds * roundTripsPerRound;
    const samples = new Float64Array(count);
    entry.samples.forEach((part, i) => samples.set(part, i * roundTripsPerRound));
    let note = `${entry.impl.note}; ${shape}`;
    if (entry.impl.name === 'microswarm') {
      if (entry.transfers !== 2 * count) {
        return failedRecord('transfer-64k', entry.impl.name, new Error(`expected ${2 * count} region transfers, the pool counted ${entry.transfers}`));
      }
      note += `; ${entry.transfers} transfers counted by the pool`;
    }
    return recordFromSamples('transfer-64k', entry.impl.name, samples, note);
  });
}

// --------------------------------------------------------------- alloc-free

async function allocFree(quick: boolean): Promise<BenchRecord[]> {
  const { Runtime } = await import('../src/index.js');
  // The measuring handlers spin for seconds on purpose: no stuck-thread detection here.
  const rt = await Runtime.start({ threads: 2, stuckThreadMs: 0 });
  try {
    const actors = await Promise.all([0, 1].map((thread) => rt.spawn<AllocMsg, Float64Array>(allocUrl, undefined, { thread })));
    const durationMs = quick ? 1_000 : 3_000;
    const warmupMs = quick ? 300 : 1_000;
    const measure = (count: number) => {
      // Both start their timed loops at the same wall-clock instant, after
      // their warm-up (the asks leave a few microseconds apart).
      const startAtEpochMs = Date.now() + warmupMs + 100;
      const msg: AllocMsg = { type: 'measure', bytes: 64 * 1024, batch: 100, warmupMs, startAtEpochMs, durationMs };
      return Promise.all(actors.slice(0, count).map((actor) => actor.ask(msg, { timeoutMs: 60_000 })));
    };
    const [single] = await measure(1);
    const contended = await measure(2);
    const merged = new Float64Array(contended[0].length + contended[1].length);
    merged.set(contended[0]);
    merged.set(contended[1], contended[0].length);
    const perThread = contended.map((samples, thread) => `thread ${thread} p50 ${p50(samples).toFixed(3)} us`).join(', ');
    const leftover = rt.memory.stats().used;
    if (leftover !== 0) throw new Error(`alloc-free left ${leftover} bytes allocated`);
    return [
      recordFromSamples('alloc-free', 'microswarm', single, 'one thread; alloc(64 KiB) + free, batches of 100 timed in the actor'),
      recordFromSamples('alloc-free-contended', 'microswarm', merged, `two threads contending; ${perThread}`),
    ];
  } finally {
    await rt.shutdown();
  }
}

export async function run(quick: boolean): Promise<BenchRecord[]> {
  const transfer = await transfer64k(quick);
  const alloc = await guarded('alloc-free', 'microswarm', () => allocFree(quick), { timeoutMs: 60_000 });
  // A failure of the alloc-free run stands for both of its cases.
  if (alloc.length === 1) alloc.push({ ...alloc[0], case: 'alloc-free-contended' });
  return [...transfer, ...alloc];
}
