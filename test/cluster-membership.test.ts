/**
 * Cluster membership over NATS KV, against a real nats-server -js (one per
 * describe block). Every member has its own connection, as separate processes
 * would. Waits are for events and conditions (hang guards only), never sleeps.
 */
import { type KV, KvWatchInclude, Kvm } from '@nats-io/kv';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ClusterConnectError, InvalidOptionError, NodeNameTakenError } from '../src/base/errors.js';
import { type ClusterTiming, defaultClusterTiming, type MemberEvent, Membership } from '../src/cluster/membership.js';
import { eventually } from './fixtures/helpers.js';
import { type NatsServer, startNatsServer } from './fixtures/nats.js';

let server: NatsServer;
const connections: NatsConnection[] = [];
const memberships: Membership[] = [];
let clusters = 0;

beforeAll(async () => {
  server = await startNatsServer();
});

afterEach(async () => {
  for (const m of memberships.splice(0)) m.close();
  await Promise.all(connections.splice(0).map((nc) => nc.close()));
});

afterAll(async () => {
  await server?.stop();
});

/** A connection of its own, reconnecting quickly (the ride-through test needs a reconnect well inside downAfterMs). */
async function connectNode(): Promise<NatsConnection> {
  const nc = await connect({ servers: server.url, reconnectTimeWait: 50, maxReconnectAttempts: -1 });
  connections.push(nc);
  return nc;
}

async function join(cluster: string, node: string, timing: ClusterTiming = defaultClusterTiming, meta?: Record<string, unknown>): Promise<Membership> {
  const m = await Membership.join(await connectNode(), { cluster, node, timing, meta });
  memberships.push(m);
  return m;
}

function record(m: Membership): MemberEvent[] {
  const events: MemberEvent[] = [];
  m.events.subscribe((event) => events.push(event));
  return events;
}

/** Waits until `events` holds one matching `event` (a hang guard, not a timing claim). */
async function seen(events: MemberEvent[], event: MemberEvent, guardMs = 10_000): Promise<void> {
  await eventually(
    () => events,
    (list) => list.some((e) => JSON.stringify(e) === JSON.stringify(event)),
    guardMs,
  );
}

function names(m: Membership): string[] {
  return m.members().map((info) => info.node);
}

/** a, b and c in a new cluster, c on a connection of its own for the test to close; resolves once all three list all three. */
async function threeMembers(prefix: string): Promise<{ cluster: string; a: Membership; b: Membership; c: Membership; cConnection: NatsConnection }> {
  const cluster = `${prefix}${++clusters}`;
  const a = await join(cluster, 'a');
  const b = await join(cluster, 'b');
  const cConnection = await connectNode();
  const c = await Membership.join(cConnection, { cluster, node: 'c', timing: defaultClusterTiming });
  memberships.push(c);
  await eventually(
    () => [a, b, c].map(names),
    (views) => views.every((view) => view.length === 3),
  );
  return { cluster, a, b, c, cConnection };
}

/** A raw client's view of one cluster's members bucket, for counting what was written. */
async function rawBucket(cluster: string): Promise<KV> {
  return new Kvm(await connectNode()).create(`microswarm_${cluster}_members`, { history: 3 });
}

/** Every change of `key` from now on, as the raw client saw it. */
async function opsOf(kv: KV, key: string): Promise<{ operation: string; down: boolean }[]> {
  const ops: { operation: string; down: boolean }[] = [];
  const watch = await kv.watch({ key, include: KvWatchInclude.UpdatesOnly });
  void (async () => {
    for await (const entry of watch) {
      ops.push({ operation: entry.operation, down: entry.operation === 'PUT' && entry.string().includes('"down":true') });
    }
  })();
  return ops;
}

describe('Membership', () => {
  it('each member sees the others join, and a member joining sees those already there', async () => {
    const cluster = `join${++clusters}`;
    const a = await join(cluster, 'a', defaultClusterTiming, { zone: 'x' });
    const aEvents = record(a);
    const b = await join(cluster, 'b');
    const bEvents = record(b);
    const c = await join(cluster, 'c');
    expect(names(c)).toEqual(['a', 'b', 'c']);
    await seen(aEvents, { type: 'joined', node: 'b' });
    await seen(aEvents, { type: 'joined', node: 'c' });
    await seen(bEvents, { type: 'joined', node: 'c' });
    expect(names(a)).toEqual(['a', 'b', 'c']);
    expect(names(b)).toEqual(['a', 'b', 'c']);
    expect(c.members().find((info) => info.node === 'a')?.meta).toEqual({ zone: 'x' });
    expect(c.members().find((info) => info.node === 'a')?.incarnation).toBe(a.self.incarnation);
    expect(a.isMember('c') && c.isMember('c') && !a.isMember('d')).toBe(true);
  });

  it('join resolves only once the members already in the bucket are known', async () => {
    const cluster = `many${++clusters}`;
    const kv = await rawBucket(cluster);
    // Records as live members write them, enough that the watch's first pass takes longer than claiming a key.
    const others = Array.from({ length: 500 }, (_, i) => `m${String(i).padStart(3, '0')}`);
    await Promise.all(others.map((node) => kv.put(node, JSON.stringify({ incarnation: `i-${node}`, joinedAt: 0, beat: 0, meta: {} }))));
    const m = await join(cluster, 'zz');
    expect(names(m)).toEqual([...others, 'zz']);
    m.close();
  });

  it("leave(): the others see 'left' with reason 'left', and the key is gone", async () => {
    const cluster = `leave${++clusters}`;
    const a = await join(cluster, 'a');
    const b = await join(cluster, 'b');
    const aEvents = record(a);
    const bEvents = record(b);
    await b.leave();
    await seen(aEvents, { type: 'left', node: 'b', reason: 'left' });
    expect(bEvents).toEqual([{ type: 'left', node: 'b', reason: 'left' }]);
    expect(names(a)).toEqual(['a']);
    expect(b.isMember('b')).toBe(false);
    const kv = await rawBucket(cluster);
    expect((await kv.get('b'))?.operation).toBe('DEL');
  });

  it("a member whose connection closes without leave() is seen unreachable, then left/'down', by one delete", async () => {
    const { cluster, a, b, cConnection } = await threeMembers('down');
    const aEvents = record(a);
    const bEvents = record(b);
    const ops = await opsOf(await rawBucket(cluster), 'c');
    await cConnection.close();
    for (const events of [aEvents, bEvents]) {
      await seen(events, { type: 'left', node: 'c', reason: 'down' });
      const kinds = events.filter((e) => e.node === 'c').map((e) => e.type);
      expect(kinds).toEqual(['unreachable', 'left']);
    }
    expect(names(a)).toEqual(['a', 'b']);
    expect(names(b)).toEqual(['a', 'b']);
    await eventually(
      () => ops.filter((op) => op.operation === 'DEL').length,
      (deletes) => deletes > 0,
    );
    // One down decision: one marker, then one delete (the race between deciders is forced in the next test).
    expect(ops.filter((op) => op.down).length).toBe(1);
    expect(ops.filter((op) => op.operation === 'DEL').length).toBe(1);
    expect(ops.filter((op) => op.operation === 'PUT' && !op.down).length).toBe(0);
  });

  it('of two down decisions made at once exactly one gets through, and none over a beat the decider had not seen', async () => {
    const { cluster, a, b, c, cConnection } = await threeMembers('race');
    const ops = await opsOf(await rawBucket(cluster), 'c');
    // The deciders' own timers rarely fire within the same few milliseconds, so the race is forced through the
    // private step both would run (the view of c each holds is what its watch showed).
    type Decider = { others: Map<string, { revision: number }>; declareDown(node: string, tracked: { revision: number }): Promise<void> };
    const decider = (m: Membership): Decider => m as unknown as Decider;

    // c is alive: a decision over a revision older than c's last beat must not touch c's key.
    const stale = { ...decider(a).others.get('c')! };
    await eventually(
      () => decider(a).others.get('c')!.revision,
      (revision) => revision > stale.revision,
    );
    await decider(a).declareDown('c', stale);
    expect(ops.filter((op) => op.down || op.operation !== 'PUT')).toEqual([]);
    expect(c.isMember('c') && a.isMember('c')).toBe(true);

    await cConnection.close();
    const aEvents = record(a);
    const bEvents = record(b);
    await Promise.all([a, b].map((m) => decider(m).declareDown('c', decider(m).others.get('c')!)));
    await seen(aEvents, { type: 'left', node: 'c', reason: 'down' });
    await seen(bEvents, { type: 'left', node: 'c', reason: 'down' });
    await eventually(
      () => ops.filter((op) => op.operation === 'DEL').length,
      (deletes) => deletes > 0,
    );
    expect(ops.filter((op) => op.down).length).toBe(1);
    expect(ops.filter((op) => op.operation === 'DEL').length).toBe(1);
  });

  it("a member silent past suspectAfterMs but not downAfterMs is 'unreachable', then 'reachable' on its next beat", async () => {
    const cluster = `slow${++clusters}`;
    // b suspects after 600 ms and gives up only after 3 s; a beats every second.
    const b = await join(cluster, 'b', { heartbeatMs: 200, suspectAfterMs: 600, downAfterMs: 3_000 });
    const bEvents = record(b);
    await join(cluster, 'a', { heartbeatMs: 1_000, suspectAfterMs: 1_500, downAfterMs: 3_000 });
    await seen(bEvents, { type: 'reachable', node: 'a' });
    expect(
      bEvents
        .filter((e) => e.node === 'a')
        .map((e) => e.type)
        .slice(0, 3),
    ).toEqual(['joined', 'unreachable', 'reachable']);
    const unreachable = bEvents.find((e) => e.type === 'unreachable');
    expect(unreachable?.type === 'unreachable' && unreachable.silentMs >= 600).toBe(true);
    expect(names(b)).toEqual(['a', 'b']);
  });

  it('a second live node under a taken name fails with NodeNameTakenError and leaves the owner alone', async () => {
    const cluster = `taken${++clusters}`;
    const a = await join(cluster, 'a');
    const aEvents = record(a);
    const incarnation = a.self.incarnation;
    const err = await join(cluster, 'a').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NodeNameTakenError);
    expect((err as NodeNameTakenError).node).toBe('a');
    expect(a.self.incarnation).toBe(incarnation);
    expect(a.isMember('a')).toBe(true);
    expect(aEvents).toEqual([]);
    const kv = await rawBucket(cluster);
    expect(JSON.parse((await kv.get('a'))!.string()).incarnation).toBe(incarnation);
  });

  it('a stale name (its owner died, nobody removed its key) is taken over', async () => {
    const cluster = `stale${++clusters}`;
    const deadConnection = await connectNode();
    const dead = await Membership.join(deadConnection, { cluster, node: 'a', timing: defaultClusterTiming });
    const deadIncarnation = dead.self.incarnation;
    await deadConnection.close();
    const kv = await rawBucket(cluster);
    expect(JSON.parse((await kv.get('a'))!.string()).incarnation).toBe(deadIncarnation);
    const a = await join(cluster, 'a');
    expect(a.self.incarnation).not.toBe(deadIncarnation);
    expect(JSON.parse((await kv.get('a'))!.string()).incarnation).toBe(a.self.incarnation);
    const b = await join(cluster, 'b');
    expect(names(b)).toEqual(['a', 'b']);
  });

  it('refuses bad options with InvalidOptionError naming the option and the value', async () => {
    const nc = await connectNode();
    const ok = { cluster: 'opts', node: 'n', timing: defaultClusterTiming };
    const cases: [Record<string, unknown>, string, unknown][] = [
      [{ ...ok, cluster: 'a.b' }, 'cluster', 'a.b'],
      [{ ...ok, cluster: '' }, 'cluster', ''],
      [{ ...ok, cluster: 'x'.repeat(65) }, 'cluster', 'x'.repeat(65)],
      [{ ...ok, node: 'has space' }, 'node', 'has space'],
      [{ ...ok, node: 7 }, 'node', 7],
      [{ ...ok, timing: undefined }, 'timing', undefined],
      [{ ...ok, timing: { ...defaultClusterTiming, heartbeatMs: 0 } }, 'timing.heartbeatMs', 0],
      [{ ...ok, timing: { ...defaultClusterTiming, heartbeatMs: 2.5 } }, 'timing.heartbeatMs', 2.5],
      [{ ...ok, timing: { heartbeatMs: 250, suspectAfterMs: 250, downAfterMs: 1500 } }, 'timing.suspectAfterMs', 250],
      [{ ...ok, timing: { heartbeatMs: 250, suspectAfterMs: 750, downAfterMs: 700 } }, 'timing.downAfterMs', 700],
      [{ ...ok, timing: { heartbeatMs: 250, suspectAfterMs: 750 } }, 'timing.downAfterMs', undefined],
      [{ ...ok, timing: { ...defaultClusterTiming, jitter: 1 } }, 'timing.jitter', 1],
      [{ ...ok, meta: new Map() }, 'meta', new Map()],
      [{ ...ok, meta: { n: 1n } }, 'meta', { n: 1n }],
      [{ ...ok, nodes: 3 }, 'options.nodes', 3],
    ];
    for (const [options, option, value] of cases) {
      const err = await Membership.join(nc, options as never).catch((e: unknown) => e);
      expect(err, option).toBeInstanceOf(InvalidOptionError);
      expect((err as InvalidOptionError).option).toBe(option);
      expect((err as InvalidOptionError).value).toEqual(value);
      expect((err as Error).message).toContain(`\`${option}\``);
    }
  });

  it('a node declared down while alive (its beats paused) reports it and joins again under a new incarnation', async () => {
    const cluster = `paused${++clusters}`;
    const b = await join(cluster, 'b');
    const bEvents = record(b);
    // a beats every 2 s, b gives up after 1.5 s of silence: to b, a looks like a paused process.
    const a = await join(cluster, 'a', { heartbeatMs: 2_000, suspectAfterMs: 3_000, downAfterMs: 4_000 });
    const aEvents = record(a);
    const first = a.self.incarnation;
    await seen(aEvents, { type: 'left', node: 'a', reason: 'down' });
    await seen(aEvents, { type: 'joined', node: 'a' });
    expect(a.self.incarnation).not.toBe(first);
    expect(a.isMember('a')).toBe(true);
    const bSaw = bEvents.filter((e) => e.node === 'a').map((e) => `${e.type}${'reason' in e ? `/${e.reason}` : ''}`);
    expect(bSaw.slice(0, 3)).toEqual(['joined', 'unreachable', 'left/down']);
    await seen(bEvents, { type: 'joined', node: 'a' });
    await eventually(
      () => b.members().find((info) => info.node === 'a')?.incarnation,
      (incarnation) => incarnation !== undefined && incarnation !== first,
    );
  });

  it('a node whose own key another client marked down and deleted notices it and joins again', async () => {
    const cluster = `ousted${++clusters}`;
    const a = await join(cluster, 'a');
    const b = await join(cluster, 'b');
    const aEvents = record(a);
    const bEvents = record(b);
    const first = a.self.incarnation;
    const kv = await rawBucket(cluster);
    // What another node's down decision writes: the marker over the revision it saw, then the delete.
    const entry = (await kv.get('a'))!;
    const marker = await kv.update('a', JSON.stringify({ down: true, by: 'raw', incarnation: first }), entry.revision).catch(async () => {
      const again = (await kv.get('a'))!;
      return kv.update('a', JSON.stringify({ down: true, by: 'raw', incarnation: first }), again.revision);
    });
    await kv.delete('a', { previousSeq: marker });
    await seen(aEvents, { type: 'left', node: 'a', reason: 'down' });
    await seen(aEvents, { type: 'joined', node: 'a' });
    expect(a.self.incarnation).not.toBe(first);
    await seen(bEvents, { type: 'left', node: 'a', reason: 'down' });
    await seen(bEvents, { type: 'joined', node: 'a' });
    expect(names(b)).toEqual(['a', 'b']);
    expect(JSON.parse((await kv.get('a'))!.string()).incarnation).toBe(a.self.incarnation);
  });

  it('a node notices its key was taken from it through its next heartbeat even when its watch shows nothing', async () => {
    const cluster = `blind${++clusters}`;
    const a = await join(cluster, 'a');
    const aEvents = record(a);
    const first = a.self.incarnation;
    // Stop a's watch for good (a lost consumer looks like this until the client recreates it): only the heartbeat's
    // compare-and-set can tell a now.
    const internals = a as unknown as { watchGeneration: number; watch?: { stop(): void } };
    internals.watchGeneration++;
    internals.watch?.stop();
    const kv = await rawBucket(cluster);
    await kv.delete('a');
    await seen(aEvents, { type: 'left', node: 'a', reason: 'down' });
    await seen(aEvents, { type: 'joined', node: 'a' });
    expect(a.self.incarnation).not.toBe(first);
    expect(JSON.parse((await kv.get('a'))!.string()).incarnation).toBe(a.self.incarnation);
  });

  it("each heartbeat carries the node's load, as its load function says", async () => {
    const cluster = `load${++clusters}`;
    const a = await join(cluster, 'a');
    const b = await join(cluster, 'b');
    let load = 7;
    a.load = () => load;
    await eventually(
      () => b.loadOf('a'),
      (seen) => seen === 7,
    );
    load = 3;
    await eventually(
      () => b.loadOf('a'),
      (seen) => seen === 3,
    );
    expect(a.loadOf('a')).toBe(3);
    expect(a.loadOf('nobody')).toBeUndefined();
  });

  it('a malformed value under a member key is counted and ignored', async () => {
    const cluster = `bad${++clusters}`;
    const a = await join(cluster, 'a');
    const kv = await rawBucket(cluster);
    await kv.put('x', 'not json');
    await kv.put('y', JSON.stringify({ incarnation: 5, joinedAt: 0, beat: 0, meta: {} }));
    await kv.put('z', JSON.stringify({ incarnation: 'i', joinedAt: -1, beat: 0, meta: {} }));
    await kv.put('w', JSON.stringify({ incarnation: 'i', joinedAt: 0, beat: 0, meta: {}, load: -1 }));
    await eventually(
      () => a.badValues,
      (count) => count === 4,
    );
    expect(names(a)).toEqual(['a']);
  });

  it("a stall of its own event loop is not counted as the members' silence", async () => {
    const cluster = `stall${++clusters}`;
    const a = await join(cluster, 'a');
    const b = await join(cluster, 'b');
    await eventually(
      () => [a, b].map(names),
      (views) => views.every((view) => view.length === 2),
    );
    const events = [a, b].map(record);
    const kv = await rawBucket(cluster);
    // Both members live in this process: block it for longer than downAfterMs (a GC pause, a debugger, a busy CPU).
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, defaultClusterTiming.downAfterMs + 500);
    const beats = (): Promise<number[]> => Promise.all(['a', 'b'].map(async (node) => JSON.parse((await kv.get(node))!.string()).beat as number));
    const after = await beats();
    await eventually(beats, (now) => now.every((beat, i) => beat >= after[i] + 4));
    for (const list of events) expect(list.filter((e) => e.type === 'left')).toEqual([]);
    expect(names(a)).toEqual(['a', 'b']);
  });

  it('rides out a server restart shorter than downAfterMs: members reconnect, nobody is declared down', async () => {
    const { cluster, a, b, c } = await threeMembers('restart');
    const members = [a, b, c];
    const events = members.map(record);
    // Down for 1 s of downAfterMs' 1.5 s: without the reconnect grace the members' silence would pass downAfterMs.
    await server.restart({ downMs: 1_000 });
    // A raw client connected after the restart (one connected across it loses its first read: 5 s without an answer).
    const kv = await rawBucket(cluster);
    const beats = (): Promise<number[] | undefined> =>
      Promise.all(['a', 'b', 'c'].map(async (node) => JSON.parse((await kv.get(node))!.string()).beat as number)).catch(() => undefined);
    const after = (await eventually(beats, (now) => now !== undefined))!;
    // Every member has beaten for longer than 2 x downAfterMs since the restart: time enough for any down decision to show.
    const more = Math.ceil((2 * defaultClusterTiming.downAfterMs) / defaultClusterTiming.heartbeatMs);
    await eventually(beats, (now) => now?.every((beat, i) => beat >= after[i] + more) === true, 15_000);
    for (const list of events) expect(list.filter((e) => e.type === 'left')).toEqual([]);
    for (const m of members) expect(names(m)).toEqual(['a', 'b', 'c']);
  });
});

describe('a server that requires credentials', () => {
  let secured: NatsServer;
  beforeAll(async () => {
    secured = await startNatsServer({ auth: { user: 'swarm', pass: 's3cret-pass' } });
  });
  afterAll(async () => {
    await secured?.stop();
  });

  it('refuses a connection with wrong credentials and accepts the right ones', async () => {
    const wrong = await connect({ servers: secured.url, user: 'swarm', pass: 'nope', maxReconnectAttempts: 0 }).catch((e: unknown) => e);
    expect(wrong).toBeInstanceOf(Error);
    const none = await connect({ servers: secured.url, maxReconnectAttempts: 0 }).catch((e: unknown) => e);
    expect(none).toBeInstanceOf(Error);
    const nc = await connect({ servers: secured.url, user: 'swarm', pass: 's3cret-pass' });
    connections.push(nc);
    const m = await Membership.join(nc, { cluster: 'secured', node: 'a', timing: defaultClusterTiming });
    memberships.push(m);
    expect(names(m)).toEqual(['a']);

    const err = new ClusterConnectError(`nats://swarm:s3cret-pass@127.0.0.1:${secured.port}`, { cause: wrong });
    expect(err.server).toBe(`nats://127.0.0.1:${secured.port}`);
    expect(err.message).toContain(`nats://127.0.0.1:${secured.port}`);
    expect(err.message).not.toContain('s3cret');
    expect(err.cause).toBe(wrong);
    expect(new ClusterConnectError('tok3n@127.0.0.1:4222').message).not.toContain('tok3n');
  });

  it('a token-protected server refuses a wrong token and accepts the right one', async () => {
    const tokenServer = await startNatsServer({ auth: { token: 't0ken-value' } });
    try {
      await expect(connect({ servers: tokenServer.url, token: 'wrong', maxReconnectAttempts: 0 })).rejects.toBeInstanceOf(Error);
      const nc = await connect({ servers: tokenServer.url, token: 't0ken-value' });
      await nc.close();
    } finally {
      await tokenServer.stop();
    }
  });
});
