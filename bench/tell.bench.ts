/**
 * One-way messages `{ type: 'inc', by: 1 }`, counted on arrival.
 *
 * - tell-cross-thread: the main thread sends N to a counter on another
 *   thread, then asks for the count; the answer comes after all N were
 *   counted (one sender, ordered delivery). microswarm, postMessage, piscina;
 *   microswarm-metrics: rt.metrics() registered and scraped every second.
 * - tell-local: a driver actor sends N to a sibling on its own thread, then
 *   asks it for the count; the main thread times the whole run.
 *   microswarm, nact.
 *
 * Each run is timed whole: opsPerSec = N / elapsed (median of the runs),
 * meanUs = elapsed / N. Every impl gets the same N and message, one untimed
 * warm-up run, then the same number of timed runs, and each count is checked.
 * Impls run back to back, one alive at a time (see ask.bench.ts for why).
 */
import { type Impl, measureCountedRuns, measureEach, type BenchRecord } from './harness.js';
import type { CrossThreadCounter, LocalPair } from './peers/peer.js';

type Peer = { send(count: number): Promise<number>; close(): Promise<void>; note?(): string | undefined };

const crossThread = (counter: Promise<CrossThreadCounter & { description?: string; refused?: number }>, extraNote?: string) =>
  counter.then((peer) => ({
    send: (count: number) => peer.incMany(count),
    close: () => peer.close(),
    note: () =>
      [peer.description, extraNote, peer.refused ? `${peer.refused} tells refused, resent with send()` : undefined].filter(Boolean).join(', ') ||
      undefined,
  }));

const local = (pair: Promise<LocalPair>) => pair.then((peer) => ({ send: (count: number) => peer.run(count), close: () => peer.close() }));

const crossThreadImpls: Impl<Peer>[] = [
  { name: 'microswarm', start: async () => crossThread((await import('./peers/microswarm.js')).startMicroswarmCounter()) },
  {
    name: 'microswarm-nojournal',
    start: async () => crossThread((await import('./peers/microswarm.js')).startMicroswarmCounter({ journalBytes: 0 })),
  },
  {
    name: 'microswarm-metrics',
    start: async () => crossThread((await import('./peers/microswarm.js')).startMicroswarmCounter({ metrics: true })),
  },
  { name: 'postMessage', start: async () => crossThread((await import('./peers/postmessage.js')).startPostMessageCounter()) },
  {
    name: 'piscina',
    // One task per message, `piscinaWindowSize` in flight (Promise.all per
    // window), all of a window held by the worker at once: piscina's best here.
    start: async () => {
      const { piscinaWindowSize, startPiscinaCounter } = await import('./peers/piscina.js');
      return crossThread(startPiscinaCounter({ concurrentTasksPerWorker: piscinaWindowSize }), `window ${piscinaWindowSize} tasks`);
    },
  },
  // ---- microswarm-tracing (issue 13, tracing): an OpenTelemetry SDK with no span processor in every thread, sampling off.
  { name: 'microswarm-tracing', start: async () => crossThread((await import('./peers/microswarm-tracing.js')).startTracedCounter(false)) },
  // ---- end microswarm-tracing
];

const localImpls: Impl<Peer>[] = [
  { name: 'microswarm', start: async () => local((await import('./peers/microswarm.js')).startMicroswarmPair()) },
  { name: 'nact', start: async () => local((await import('./peers/nact.js')).startNactPair()) },
];

export async function run(quick: boolean): Promise<BenchRecord[]> {
  const count = quick ? 50_000 : 200_000;
  const reps = quick ? 3 : 7;
  return [...(await measureCase('tell-cross-thread', crossThreadImpls, count, reps)), ...(await measureCase('tell-local', localImpls, count, reps))];
}

function measureCase(caseName: string, impls: Impl<Peer>[], count: number, reps: number): Promise<BenchRecord[]> {
  return measureEach(
    caseName,
    impls,
    async (peer, impl) => [await measureCountedRuns(caseName, impl, (n) => peer.send(n), { count, reps, note: () => peer.note?.() })],
    // Bounded so that a hang (a lost message) fails this impl, not the run.
    { timeoutMs: 120_000 },
  );
}
