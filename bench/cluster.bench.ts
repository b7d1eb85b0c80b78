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
 *
 * Cluster entities (value cases, microswarm only: no peer runs them), on
 * three nodes: this process (node `near`) and two far processes
 * (peers/entity-cluster.ts), all up for both cases. The entity is a counter
 * with snapshot/restore that can say which process holds it.
 * - entity-activate: the first message (an ask) to a new key, until its
 *   answer, for keys whose owner is a far node: this node sends the message
 *   to the owner, which takes the lease (a KV get, a KV create), spawns the
 *   entity on its pool thread, hands it the message and sends the answer
 *   back. Value: the median in ms over the keys (p50/p99 in the note, and
 *   the same for the keys this node owns, which make no NATS hop). Every
 *   node activates two entities first (untimed): the first activation on a
 *   pool thread loads the module. Each key is asked once the last one's
 *   checkpoint is written (untimed), so an activation runs alone.
 * - entity-failover: a far node holding an entity whose checkpoint is
 *   written (the holder's count of writes says so) is killed (SIGKILL); from the kill to the first answer of the
 *   entity activated again elsewhere, asked in a loop from this node (asks
 *   of 250 ms, retried 5 ms after a failure). Every answer must carry the
 *   checkpointed state. Value: the median over the kills. A new far node
 *   replaces each one killed, and is warmed the same way (untimed).
 *   downAfterMs is the default (1500): it is most of the figure.
 */
import { startNatsServer, type NatsServer } from '../test/fixtures/nats.js';
import {
  describeError,
  failedRecord,
  guarded,
  type Impl,
  measureCountedRuns,
  measureEach,
  measureRoundTrips,
  quantile,
  round,
  type BenchRecord,
  wholeRunRecord,
  withTimeout,
} from './harness.js';
import type { EntityCounterMsg } from '../test/fixtures/entity-counter.js';
import { type EntityCluster, type FarNode, startEntityCluster } from './peers/entity-cluster.js';
import type { RemoteCounter } from './peers/peer.js';

const askCase = 'remote-ask-rtt';
const tellCase = 'remote-tell';
const activateCase = 'entity-activate';
const failoverCase = 'entity-failover';

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
    const records = [
      ...(await measureEach(askCase, ask, async (peer, impl) => [await measureRoundTrips(askCase, impl, () => peer.get(), { timeMs, warmupTimeMs })], {
        timeoutMs: timeMs + warmupTimeMs + setUpAllowanceMs,
      })),
      ...(await measureEach(tellCase, tell, async (peer, impl) => [await measureCountedRuns(tellCase, impl, (n) => peer.incMany(n), { count, reps })], {
        // Bounded so that a hang (a lost message) fails this impl, not the run.
        timeoutMs: 120_000 + setUpAllowanceMs,
      })),
    ];
    return [...records, ...(await entityCases(nats.url, quick))];
  } finally {
    await nats.stop();
  }
}

/** Generous for one entity ask: a slow activation must show up as a slow figure, not as a failure. */
const entityAskTimeoutMs = 30_000;

/** entity-activate and entity-failover, on one cluster of three nodes set up for both. */
async function entityCases(servers: string, quick: boolean): Promise<BenchRecord[]> {
  let cluster: EntityCluster;
  try {
    cluster = await withTimeout(startEntityCluster(servers, 2), 2 * setUpAllowanceMs, 'entity cluster set-up');
  } catch (error) {
    return [failedRecord(activateCase, 'microswarm', error), failedRecord(failoverCase, 'microswarm', error)];
  }
  const kills = quick ? 2 : 5;
  try {
    return [
      ...(await guarded(activateCase, 'microswarm', async () => [await entityActivate(cluster, quick ? 15 : 50)], { timeoutMs: 120_000 })),
      ...(await guarded(failoverCase, 'microswarm', async () => [await entityFailover(cluster, kills)], {
        timeoutMs: kills * (30_000 + setUpAllowanceMs),
      })),
    ];
  } finally {
    await withTimeout(cluster.close(), 30_000, 'entity cluster teardown').catch((error: unknown) =>
      console.error(`  entity cluster: ${describeError(error)}`),
    );
  }
}

/**
 * `count` new keys owned by a far node, each timed from its first ask to the answer; after a warm-up of two
 * activations per node. Each activation starts once the last one's checkpoint is written: it runs alone.
 */
async function entityActivate(cluster: EntityCluster, count: number): Promise<BenchRecord> {
  const remote: number[] = [];
  const local: number[] = [];
  // Activations per process during the warm-up: the first on a pool thread loads the module.
  const warmUp = new Map<number, number>();
  const warm = (): boolean => warmUp.size === cluster.far.size + 1 && [...warmUp.values()].every((n) => n >= 2);
  for (let i = 0; remote.length < count; i++) {
    if (i >= 10 * count) throw new Error(`${i} keys gave only ${remote.length} owned by a far node`);
    const { answer: pid, ms } = await askCheckpointed(cluster, `activate-${i}`, { type: 'where' }, (answer) => answer as number);
    if (!warm()) warmUp.set(pid as number, (warmUp.get(pid as number) ?? 0) + 1);
    else if (pid === process.pid) local.push(ms);
    else remote.push(ms);
  }
  return wholeRunRecord(
    activateCase,
    'microswarm',
    remote,
    `new key on a far node: ${percentiles(remote)}; on this node (no NATS hop): ${percentiles(local)}`,
  );
}

/** `kills` times: a far node holding a checkpointed entity is killed; ms until the entity answers again, with its state. */
async function entityFailover(cluster: EntityCluster, kills: number): Promise<BenchRecord> {
  const elapsed: number[] = [];
  const where: string[] = [];
  for (let k = 0; k < kills; k++) {
    const { key, holder } = await keyOnFarNode(cluster, `failover-${k}`);
    const { answer: added } = await askCheckpointed(cluster, key, { type: 'add', n: 7 }, () => holder.pid);
    if (added !== 7) throw new Error(`${key}: add answered ${added}, not 7`);

    const before = await cluster.checkpoints();
    const entity = cluster.entity(key);
    const killedAt = performance.now();
    const gone = holder.kill();
    let answer: { n: number; pid: number };
    for (;;) {
      try {
        answer = (await entity.ask({ type: 'get' }, { timeoutMs: 250 })) as { n: number; pid: number };
        break;
      } catch (error) {
        if (performance.now() - killedAt > 30_000) throw new Error(`${key}: no answer 30 s after the kill of ${holder.name}: ${describeError(error)}`);
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    }
    elapsed.push(performance.now() - killedAt);
    if (answer.n !== 7) throw new Error(`${key}: answered ${answer.n} after the failover, its checkpoint held 7`);
    if (answer.pid === holder.pid) throw new Error(`${key}: answered by the process killed`);
    where.push(answer.pid === process.pid ? 'near' : 'far');
    await cluster.untilCheckpoints(answer.pid, (before.get(answer.pid) ?? 0) + 1);
    await gone;
    // Its replacement, warm: its pool thread loads the entity module with a first activation (untimed), as the others did.
    const replacement = await cluster.addFar();
    await keyOnFarNode(cluster, `warm-${replacement.name}`, replacement);
  }
  const onNear = where.filter((w) => w === 'near').length;
  return wholeRunRecord(
    failoverCase,
    'microswarm',
    elapsed,
    `SIGKILL -> answer with its checkpointed state, 3 warm nodes, downAfterMs 1500: ${percentiles(elapsed)} over ${kills} kills; ` +
      `activated again on this node ${onNear}x, on the other far node ${kills - onNear}x`,
  );
}

/**
 * Asks entity `key` (`ms`: the ask alone), then waits until the process that holds it (`pidOf` the answer) wrote
 * the checkpoint this message causes. One write per message, when each is sent once the last one's is written,
 * as here: so a count of the holder's writes says when the state it answered with is in the bucket, and nothing is
 * left running for what comes next.
 */
async function askCheckpointed(
  cluster: EntityCluster,
  key: string,
  msg: EntityCounterMsg,
  pidOf: (answer: unknown) => number,
): Promise<{ answer: unknown; ms: number }> {
  const before = await cluster.checkpoints();
  const start = performance.now();
  const answer = await cluster.entity(key).ask(msg, { timeoutMs: entityAskTimeoutMs });
  const ms = performance.now() - start;
  const pid = pidOf(answer);
  const written = before.get(pid);
  if (written === undefined) throw new Error(`${key}: answered from pid ${pid}, not a node of this cluster`);
  await cluster.untilCheckpoints(pid, written + 1);
  return { answer, ms };
}

/** A new key (`prefix-i`) whose entity a far node (`only`, when given) activated, and that node. */
async function keyOnFarNode(cluster: EntityCluster, prefix: string, only?: FarNode): Promise<{ key: string; holder: FarNode }> {
  for (let i = 0; i < 100; i++) {
    const key = `${prefix}-${i}`;
    const { answer: pid } = await askCheckpointed(cluster, key, { type: 'where' }, (answer) => answer as number);
    const holder = cluster.far.get(pid as number);
    if (holder !== undefined && (only === undefined || holder === only)) return { key, holder };
  }
  throw new Error(`${prefix}: 100 keys and none on ${only?.name ?? 'a far node'}`);
}

/** `p50 X ms, p99 Y ms (n N)` of ms figures. */
function percentiles(ms: number[]): string {
  if (ms.length === 0) return 'none';
  const sorted = [...ms].sort((a, b) => a - b);
  return `p50 ${round(quantile(sorted, 0.5), 1)} ms, p99 ${round(quantile(sorted, 0.99), 1)} ms (n ${sorted.length})`;
}
