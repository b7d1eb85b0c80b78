/**
 * ask-rtt: one request and its reply between the main thread and a counter on
 * another thread, sequential. `{ type: 'get' }` answered with the count, for
 * every impl; tinybench times each round trip (per-op p50/p99).
 * `microswarm-stacks`: the same with `askStackTraces: 'main-thread'`, each
 * ask capturing the caller's stack for its timeout error (off by default).
 *
 * Impls run back to back in this process, each set up, warmed up (tinybench
 * warm-up phase), measured and torn down before the next starts: on a
 * 2-core machine an idle-but-alive peer (a thread that polls) would take CPU
 * from the one being measured.
 *
 * ask-actor-to-actor: an actor asks another actor n times in a row, each ask
 * awaited in its handler (bench/actors/asker.ts, echo.ts), the echo on the
 * same thread (`microswarm-same-thread`) or the other one
 * (`microswarm-cross-thread`); `tell-roundtrip-*` makes the same exchange by
 * tells (a tell answered by a tell to the sender). Each run is timed whole
 * (n = 50,000; 10,000 under BENCH_QUICK=1): per-exchange time = run / n, as
 * a throughput case (one untimed run, then 5; the count is checked). The
 * ratio of the two rows of one layout is what an ask costs over the tells.
 */
import { type Impl, measureCountedRuns, measureEach, measureRoundTrips, type BenchRecord } from './harness.js';
import type { CrossThreadCounter } from './peers/peer.js';
import type { AskerMsg } from './actors/asker.js';

const caseName = 'ask-rtt';

const impls: Impl<CrossThreadCounter & { description?: string }>[] = [
  { name: 'microswarm', start: async () => (await import('./peers/microswarm.js')).startMicroswarmCounter() },
  { name: 'microswarm-nojournal', start: async () => (await import('./peers/microswarm.js')).startMicroswarmCounter({ journalBytes: 0 }) },
  { name: 'microswarm-metrics', start: async () => (await import('./peers/microswarm.js')).startMicroswarmCounter({ metrics: true }) },
  {
    name: 'microswarm-stacks',
    start: async () => (await import('./peers/microswarm.js')).startMicroswarmCounter({ askStackTraces: 'main-thread' }),
  },
  { name: 'postMessage', start: async () => (await import('./peers/postmessage.js')).startPostMessageCounter() },
  { name: 'piscina', start: async () => (await import('./peers/piscina.js')).startPiscinaCounter() },
  { name: 'comlink', start: async () => (await import('./peers/comlink.js')).startComlinkCounter() },
  // ---- microswarm-tracing (issue 13, tracing): an OpenTelemetry SDK with no span processor in every thread, sampling off / every span recorded.
  { name: 'microswarm-tracing', start: async () => (await import('./peers/microswarm-tracing.js')).startTracedCounter(false) },
  { name: 'microswarm-tracing-recorded', start: async () => (await import('./peers/microswarm-tracing.js')).startTracedCounter(true) },
  // ---- end microswarm-tracing
];

const askerUrl = new URL('./actors/asker.ts', import.meta.url);
const echoUrl = new URL('./actors/echo.ts', import.meta.url);

/** An asker on thread 0 and its echo on `echoThread` (2 threads either way), exchanging in `mode`. */
async function startExchange(echoThread: number, mode: 'ask' | 'tell') {
  // Imported here, inside the impl's guard, as the peers import microswarm (see peers/microswarm.ts).
  const { Runtime } = await import('../src/index.js');
  const rt = await Runtime.start({ threads: 2 });
  try {
    const echo = await rt.spawn(echoUrl, undefined, { thread: echoThread });
    const asker = await rt.spawn<AskerMsg, number>(askerUrl, { echo }, { thread: 0 });
    return { send: (n: number) => asker.ask({ type: 'run', n, mode }, { timeoutMs: 120_000 }), close: () => rt.shutdown() };
  } catch (error) {
    await rt.shutdown().catch(() => undefined);
    throw error;
  }
}

const actorToActorImpls: Impl<Awaited<ReturnType<typeof startExchange>>>[] = [
  { name: 'microswarm-same-thread', start: () => startExchange(0, 'ask') },
  { name: 'microswarm-cross-thread', start: () => startExchange(1, 'ask') },
  { name: 'tell-roundtrip-same-thread', start: () => startExchange(0, 'tell') },
  { name: 'tell-roundtrip-cross-thread', start: () => startExchange(1, 'tell') },
];

export async function run(quick: boolean): Promise<BenchRecord[]> {
  return [...(await askRtt(quick)), ...(await askActorToActor(quick))];
}

function askActorToActor(quick: boolean): Promise<BenchRecord[]> {
  const caseName = 'ask-actor-to-actor';
  const count = quick ? 10_000 : 50_000;
  return measureEach(caseName, actorToActorImpls, async (peer, impl) => [await measureCountedRuns(caseName, impl, peer.send, { count, reps: 5 })], {
    timeoutMs: 120_000,
  });
}

function askRtt(quick: boolean): Promise<BenchRecord[]> {
  const timeMs = quick ? 1_000 : 4_000;
  const warmupTimeMs = quick ? 300 : 1_000;
  return measureEach(
    caseName,
    impls,
    async (peer, impl) => [await measureRoundTrips(caseName, impl, () => peer.get(), { timeMs, warmupTimeMs, note: peer.description })],
    { timeoutMs: timeMs + warmupTimeMs + 30_000 },
  );
}
