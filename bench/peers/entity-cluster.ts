/**
 * The cluster of the entity cases (entity-activate, entity-failover): this
 * process is cluster node `near` (one pool thread), and it forks far nodes
 * (./far/entity-node.ts, one pool thread each) named far-1, far-2, ... in
 * the order they start; one killed is replaced by a new name. The entity is
 * the tests' counter (test/fixtures/entity-counter.ts: snapshot/restore,
 * `where` answers with its process's pid), so an answer says which process
 * holds the entity.
 */
import { Runtime, type EntityRef, type EntityStats } from '../../src/index.js';
import type { EntityCounterMsg } from '../../test/fixtures/entity-counter.js';
import { startFar, type FarProcess } from './far-process.js';

const farUrl = new URL('./far/entity-node.ts', import.meta.url);
const counterUrl = new URL('../../test/fixtures/entity-counter.ts', import.meta.url);
const cluster = 'bench_entities';
/** Joining, and every member seeing every other, on a busy 2-core machine. */
const convergeGuardMs = 20_000;

/** What a far node tells about itself over IPC. */
export interface FarNodeState {
  /** The members it sees, sorted. */
  members: string[];
  entities: EntityStats;
}

export interface FarNode {
  readonly name: string;
  readonly pid: number;
  /** Its view of the members and its entity counters. */
  state(): Promise<FarNodeState>;
  /** Sends SIGKILL at once (the process dies as a machine would); resolves once it is gone. */
  kill(): Promise<void>;
}

export interface EntityCluster {
  /** This process's runtime: node `near`. */
  readonly rt: Runtime;
  /** The far nodes alive, by pid. */
  readonly far: ReadonlyMap<number, FarNode>;
  /** The counter entity `key`, from this node. */
  entity(key: string): EntityRef<EntityCounterMsg, unknown>;
  /** Starts one more far node; resolves once every member sees every live member (and no dead one). */
  addFar(): Promise<FarNode>;
  /** Entity checkpoints written so far, by the pid of each node's process (this one's included). */
  checkpoints(): Promise<Map<number, number>>;
  /** Resolves once the node of process `pid` has written `count` checkpoints (rejects after 10 s). */
  untilCheckpoints(pid: number, count: number): Promise<void>;
  /** Shuts this runtime down and stops the far nodes. */
  close(): Promise<void>;
}

/** Node `near` here and `farCount` far nodes, once every one sees the same members. */
export async function startEntityCluster(servers: string, farCount: number): Promise<EntityCluster> {
  const rt = await Runtime.start({ threads: 1, cluster: { servers, name: cluster, node: 'near' } });
  const far = new Map<number, FarNode>();
  const ownCheckpoints = (): number => rt.cluster?.stats().entities.checkpoints ?? 0;
  const processes = new Set<FarProcess<unknown>>();
  let started = 0;

  const converged = async (): Promise<void> => {
    const expected = ['near', ...[...far.values()].map((n) => n.name)].sort().join();
    const views = async () => [
      rt.cluster?.members().map((m) => m.node) ?? [],
      ...(await Promise.all([...far.values()].map(async (n) => (await n.state()).members))),
    ];
    await until(views, (all) => all.every((members) => members.join() === expected), convergeGuardMs, `members ${expected}`);
  };

  const entityCluster: EntityCluster = {
    rt,
    far,
    entity: (key) => rt.entity<EntityCounterMsg, unknown>(counterUrl, key),
    async addFar() {
      const name = `far-${++started}`;
      const child = await startFar<{ pid: number }>(farUrl, [servers, cluster, name]);
      processes.add(child);
      const node: FarNode = {
        name,
        pid: child.info.pid,
        state: () => stateOf(child),
        kill() {
          far.delete(node.pid);
          const gone = goneOf(child);
          child.child.kill('SIGKILL');
          return gone.then(async () => {
            processes.delete(child);
            await child.stop(); // only drops its exit hook now
          });
        },
      };
      far.set(node.pid, node);
      await converged();
      return node;
    },
    async checkpoints() {
      const far = await Promise.all([...entityCluster.far.values()].map(async (n) => [n.pid, (await n.state()).entities.checkpoints] as const));
      return new Map([[process.pid, ownCheckpoints()], ...far]);
    },
    async untilCheckpoints(pid, count) {
      const node = far.get(pid);
      if (node === undefined && pid !== process.pid) throw new Error(`pid ${pid} is not a node of this cluster`);
      const written = async () => (node === undefined ? ownCheckpoints() : (await node.state()).entities.checkpoints);
      await until(written, (n) => n >= count, 10_000, `${count} checkpoints on ${node?.name ?? 'near'}`);
    },
    async close() {
      try {
        await rt.shutdown();
      } finally {
        await Promise.all([...processes].map((p) => p.stop()));
      }
    },
  };
  try {
    for (let i = 0; i < farCount; i++) await entityCluster.addFar();
  } catch (error) {
    await entityCluster.close().catch(() => undefined);
    throw error;
  }
  return entityCluster;
}

/** Polls `probe` every 20 ms until `done` holds; rejects after `guardMs`. */
async function until<T>(probe: () => Promise<T>, done: (value: T) => boolean, guardMs: number, what: string): Promise<T> {
  const deadline = performance.now() + guardMs;
  for (;;) {
    const value = await probe();
    if (done(value)) return value;
    if (performance.now() > deadline) throw new Error(`${what}: not reached within ${guardMs} ms (last: ${JSON.stringify(value)})`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** The far side's answer to `'state'`. */
function stateOf(far: FarProcess<unknown>): Promise<FarNodeState> {
  return new Promise((resolve, reject) => {
    const onMessage = (m: unknown): void => {
      if (typeof m !== 'object' || m === null || !('state' in m)) return;
      off();
      resolve((m as { state: FarNodeState }).state);
    };
    const onExit = (): void => {
      off();
      reject(new Error('the far node exited'));
    };
    const off = (): void => {
      far.child.off('message', onMessage);
      far.child.off('exit', onExit);
    };
    far.child.on('message', onMessage);
    far.child.once('exit', onExit);
    far.child.send('state');
  });
}

/** Resolves once the child exited and its IPC channel closed (so that nothing is sent down a dead channel). */
async function goneOf(far: FarProcess<unknown>): Promise<void> {
  const { child } = far;
  const exited = child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise((resolve) => child.once('exit', resolve));
  const disconnected = child.connected ? new Promise((resolve) => child.once('disconnect', resolve)) : Promise.resolve();
  await Promise.all([exited, disconnected]);
}
