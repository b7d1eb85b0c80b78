/**
 * ask-rtt: one request and its reply between the main thread and a counter on
 * another thread, sequential. `{ type: 'get' }` answered with the count, for
 * every impl; tinybench times each round trip (per-op p50/p99).
 *
 * Impls run back to back in this process, each set up, warmed up (tinybench
 * warm-up phase), measured and torn down before the next starts: on a
 * 2-core machine an idle-but-alive peer (a thread that polls) would take CPU
 * from the one being measured.
 */
import { type Impl, measureEach, measureRoundTrips, type BenchRecord } from './harness.js';
import type { CrossThreadCounter } from './peers/peer.js';

const caseName = 'ask-rtt';

const impls: Impl<CrossThreadCounter & { description?: string }>[] = [
  { name: 'microswarm', start: async () => (await import('./peers/microswarm.js')).startMicroswarmCounter() },
  { name: 'microswarm-nojournal', start: async () => (await import('./peers/microswarm.js')).startMicroswarmCounter({ journalBytes: 0 }) },
  { name: 'microswarm-metrics', start: async () => (await import('./peers/microswarm.js')).startMicroswarmCounter({ metrics: true }) },
  { name: 'postMessage', start: async () => (await import('./peers/postmessage.js')).startPostMessageCounter() },
  { name: 'piscina', start: async () => (await import('./peers/piscina.js')).startPiscinaCounter() },
  { name: 'comlink', start: async () => (await import('./peers/comlink.js')).startComlinkCounter() },
  // ---- microswarm-tracing (issue 13, tracing): an OpenTelemetry SDK with no span processor in every thread, sampling off / every span recorded.
  { name: 'microswarm-tracing', start: async () => (await import('./peers/microswarm-tracing.js')).startTracedCounter(false) },
  { name: 'microswarm-tracing-recorded', start: async () => (await import('./peers/microswarm-tracing.js')).startTracedCounter(true) },
  // ---- end microswarm-tracing
];

export async function run(quick: boolean): Promise<BenchRecord[]> {
  const timeMs = quick ? 1_000 : 4_000;
  const warmupTimeMs = quick ? 300 : 1_000;
  return measureEach(
    caseName,
    impls,
    async (peer, impl) => [await measureRoundTrips(caseName, impl, () => peer.get(), { timeMs, warmupTimeMs, note: peer.description })],
    { timeoutMs: timeMs + warmupTimeMs + 30_000 },
  );
}
