/**
 * Between two processes over NATS (`npm run bench -- cluster`).
 *
 * Setup: this file starts its own `nats-server -js` on a loopback port
 * (test/fixtures/nats.ts; nats-server must be on PATH, as for the cluster
 * tests) for the run. Each impl forks a far process (the
 * "server" side, bench/peers/far/) holding a counter, and talks to it from
 * this process's main thread (the near side): `{ type: 'get' }` answered with
 * the count, `{ type: 'inc', by: 1 }` counted on arrival, the same trivial
 * work on every far side.
 *
 * - remote-ask-rtt: one request and its reply, sequential; tinybench times
 *   each round trip (per-op p50/p99, ratio on p50).
 *   - microswarm: `ref.ask` to a counter actor of cluster node `far`, from a
 *     runtime that is cluster node `near` (main thread -> gateway -> NATS ->
 *     far's gateway -> far's pool thread, and back). Both runtimes have one
 *     pool thread; the hop to far's pool thread and back is one the raw
 *     peers, whose handlers run on the far process's main thread, do not make.
 *   - nats-request: raw nats.js `request` to a subscriber that `respond`s.
 *   - moleculer: a Moleculer 0.14 `broker.call` to an action of a broker in
 *     the far process, over Moleculer's NATS transporter.
 * - remote-tell: N one-way messages, then a request for the count; the run
 *   ends when the answer (after all N were counted) arrives, timed whole
 *   (ops/s = N / median run, as tell-cross-thread).
 *   - microswarm: N `ref.tell`, then `ref.ask`.
 *   - nats-publish: N raw `publish` on the subscriber's subject, then a
 *     `request` on the same subject.
 *
 * Impls run back to back, one alive at a time: both processes, the near
 * runtime or connection and (for microswarm) both cluster nodes are set up
 * for the impl and torn down after it. The nats-server stays up for the file.
 */
import { startNatsServer, type NatsServer } from '../test/fixtures/nats.js';
import { failedRecord, type Impl, measureCountedRuns, measureEach, measureRoundTrips, type BenchRecord } from './harness.js';
import type { RemoteCounter } from './peers/peer.js';

const askCase = 'remote-ask-rtt';
const tellCase = 'remote-tell';

/** The impls of each case, for the NATS server at `servers`. */
function impls(servers: string): { ask: Impl<Pick<RemoteCounter, 'get' | 'close'>>[]; tell: Impl<RemoteCounter>[] } {
  const microswarm = async () => (await import('./peers/remote-microswarm.js')).startMicroswarmRemote(servers);
  const nats = async () => (await import('./peers/remote-nats.js')).startNatsRemote(servers);
  return {
    ask: [
      { name: 'microswarm', start: microswarm },
      { name: 'nats-request', start: nats },
      { name: 'moleculer', start: async () => (await import('./peers/remote-moleculer.js')).startMoleculerRemote(servers) },
    ],
    tell: [
      { name: 'microswarm', start: microswarm },
      { name: 'nats-publish', start: nats },
    ],
  };
}

/** A far process starting (tsx, a runtime, a NATS connection) and a cluster join, on a busy 2-core machine. */
const setUpAllowanceMs = 60_000;

export async function run(quick: boolean): Promise<BenchRecord[]> {
  let nats: NatsServer;
  try {
    nats = await startNatsServer();
  } catch (error) {
    const { ask, tell } = impls('');
    return [...ask.map((impl) => failedRecord(askCase, impl.name, error)), ...tell.map((impl) => failedRecord(tellCase, impl.name, error))];
  }
  try {
    const { ask, tell } = impls(nats.url);
    const timeMs = quick ? 1_000 : 4_000;
    const warmupTimeMs = quick ? 300 : 1_000;
    const count = quick ? 20_000 : 200_000;
    const reps = quick ? 3 : 7;
    return [
      ...(await measureEach(askCase, ask, async (peer, impl) => [await measureRoundTrips(askCase, impl, () => peer.get(), { timeMs, warmupTimeMs })], {
        timeoutMs: timeMs + warmupTimeMs + setUpAllowanceMs,
      })),
      ...(await measureEach(tellCase, tell, async (peer, impl) => [await measureCountedRuns(tellCase, impl, (n) => peer.incMany(n), { count, reps })], {
        // Bounded so that a hang (a lost message) fails this impl, not the run.
        timeoutMs: 120_000 + setUpAllowanceMs,
      })),
    ];
  } finally {
    await nats.stop();
  }
}
