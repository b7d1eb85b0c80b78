/**
 * Remote refs across cluster nodes: each node a child process (so one can
 * die with SIGKILL), all on a nats-server -js this file starts on an
 * ephemeral loopback port. tell and ask reach an actor of another node from
 * the main thread and from inside an actor; refs travel; per-sender FIFO
 * holds; every ask settles (answer, the handler's error as its class,
 * AskTimeoutError, ActorStoppedError, NodeUnreachableError); garbage on a
 * node's subject is dropped and counted while the node keeps serving.
 */
import { Kvm } from '@nats-io/kv';
import { connect } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nameKey } from '../src/cluster/names.js';
import { ActorRef } from '../src/index.js';
import { Writer, encodeValue } from '../src/transport/codec/index.js';
import { NodeProcess, type WireRef } from './fixtures/cluster.js';
import { eventually } from './fixtures/helpers.js';
import { startNatsServer, type NatsServer } from './fixtures/nats.js';

const probeUrl = new URL('./fixtures/probe.ts', import.meta.url);
const cluster = 'ctest';

let nats: NatsServer;
let a: NodeProcess;
let b: NodeProcess;

function node(name: string, extra: Record<string, unknown> = {}, runtime: Record<string, unknown> = {}): Promise<NodeProcess> {
  return NodeProcess.start({ servers: nats.url, name: cluster, node: name, ...extra }, runtime);
}

const ref = (r: WireRef) => ({ $ref: r });

/**
 * Runs `body` with a raw client's `put` into the names bucket (a value for slot 5, gen 9 and what `value` adds) and
 * b's incarnation; the names it put are deleted after.
 */
async function withRawNames(body: (put: (name: string, value: Record<string, unknown>) => Promise<unknown>, incarnationOfB: string) => Promise<void>) {
  const raw = await connect({ servers: nats.url });
  const put: string[] = [];
  try {
    const bucket = await new Kvm(raw).create(`microswarm_${cluster}_names`);
    const incarnationOfB = await b.call<string>({ cmd: 'incarnation' });
    try {
      await body((name, value) => {
        put.push(name);
        return bucket.put(nameKey(name), JSON.stringify({ name, slot: 5, gen: 9, ...value }));
      }, incarnationOfB);
    } finally {
      for (const name of put) await bucket.delete(nameKey(name));
    }
  } finally {
    await raw.close();
  }
}

beforeAll(async () => {
  nats = await startNatsServer();
  [a, b] = await Promise.all([node('a'), node('b')]);
  // Each sees the other before the tests send anything.
  await eventually(
    () => Promise.all([a.call<string[]>({ cmd: 'members' }), b.call<string[]>({ cmd: 'members' })]),
    ([ma, mb]) => ma.join() === 'a,b' && mb.join() === 'a,b',
    10_000,
  );
}, 60_000);

afterAll(async () => {
  await Promise.all([a?.shutdown(), b?.shutdown()]);
  await nats?.stop();
});

describe('remote refs', () => {
  it("asks an actor of another node from the main thread and from inside an actor; refs travel and name their node; the handler's error comes back as its class", async () => {
    const onB = await b.spawn(probeUrl);
    expect(onB.node).toBe('b');
    await a.call({ cmd: 'tell', to: onB, msg: { type: 'log', value: 'from a' } });
    expect(await a.call({ cmd: 'ask', to: onB, msg: { type: 'history' } })).toEqual(['from a']);
    // The ref it answers with names node b, seen from a.
    expect(await a.call({ cmd: 'ask', to: onB, msg: { type: 'self' } })).toMatchObject({ slot: onB.slot, gen: onB.gen, node: 'b' });
    // From inside an actor of a (a pool thread: through a's main thread and the gateway).
    const onA = await a.spawn(probeUrl);
    expect(await a.call({ cmd: 'ask', to: onA, msg: { type: 'askOther', to: ref(onB), msg: { type: 'historyLength' } } })).toBe(1);
    // The sender b's actor sees is a's actor, on node a.
    await a.call({ cmd: 'ask', to: onA, msg: { type: 'tellTo', to: ref(onB), msg: { type: 'recordSender' } } });
    await eventually(
      () => b.call({ cmd: 'ask', to: onB, msg: { type: 'lastSender' } }),
      (s) => s !== null,
    );
    expect(await b.call({ cmd: 'ask', to: onB, msg: { type: 'lastSender' } })).toMatchObject({ slot: onA.slot, gen: onA.gen, node: 'a' });
    await expect(a.call({ cmd: 'ask', to: onB, msg: { type: 'throw', message: 'bad input', kind: 'RangeError' } })).rejects.toMatchObject({
      name: 'RangeError',
      message: 'bad input',
    });
  });

  it("keeps one sender's order to another node: 2,000 tells, then an ask that queues behind them", async () => {
    const onB = await b.spawn(probeUrl);
    const onA = await a.spawn(probeUrl);
    // 'relay' tells `count` logs from a's actor, then asks the length: FIFO means it sees them all.
    expect(await a.call({ cmd: 'ask', to: onA, msg: { type: 'relay', to: ref(onB), count: 2000 }, timeoutMs: 20_000 })).toBe(2000);
    const history = await a.call<number[]>({ cmd: 'ask', to: onB, msg: { type: 'history' } });
    expect(history).toEqual(Array.from({ length: 2000 }, (_, i) => i));
    // From the main thread too.
    const other = await b.spawn(probeUrl);
    await a.call({ cmd: 'tell', to: other, msg: { type: 'log' }, count: 500 });
    expect(await a.call({ cmd: 'ask', to: other, msg: { type: 'history' } })).toEqual(Array.from({ length: 500 }, (_, i) => i));
  });

  it("exports the cluster's metrics: members, records both ways, the connection's bytes and messages", async () => {
    const onB = await b.spawn(probeUrl);
    const value = (text: string, series: string) => Number(new RegExp(`^${series.replace(/[{}"]/g, '\\$&')} (\\S+)$`, 'm').exec(text)?.[1]);
    const before = await a.call<string>({ cmd: 'metrics' });
    await a.call({ cmd: 'tell', to: onB, msg: { type: 'log' }, count: 100 });
    expect(await a.call<number[]>({ cmd: 'ask', to: onB, msg: { type: 'historyLength' } })).toBe(100);
    const after = await a.call<string>({ cmd: 'metrics' });
    expect(value(after, 'microswarm_cluster_members')).toBe(2);
    // 100 tells and an ask out, its answer in; the bytes and messages are the connection's, heartbeats included.
    expect(value(after, 'microswarm_cluster_records_sent_total') - value(before, 'microswarm_cluster_records_sent_total')).toBeGreaterThanOrEqual(101);
    expect(value(after, 'microswarm_cluster_records_received_total') - value(before, 'microswarm_cluster_records_received_total')).toBeGreaterThanOrEqual(
      1,
    );
    for (const direction of ['in', 'out']) {
      const series = `microswarm_cluster_connection_bytes_total{direction="${direction}"}`;
      expect(value(after, series)).toBeGreaterThan(value(before, series));
      expect(value(after, `microswarm_cluster_connection_messages_total{direction="${direction}"}`)).toBeGreaterThan(0);
    }
    expect(value(after, 'microswarm_cluster_reconnects_total')).toBe(0);
  });

  it('settles every ask: ActorStoppedError for a stopped actor, AskTimeoutError, NodeUnreachableError for a node that is not a member', async () => {
    const onB = await b.spawn(probeUrl);
    await b.call({ cmd: 'stop', ref: onB });
    await expect(a.call({ cmd: 'ask', to: onB, msg: { type: 'history' } })).rejects.toMatchObject({ name: 'ActorStoppedError' });
    const slow = await b.spawn(probeUrl);
    await expect(a.call({ cmd: 'ask', to: slow, msg: { type: 'slowLog', ms: 2000, value: 1 }, timeoutMs: 200 })).rejects.toMatchObject({
      name: 'AskTimeoutError',
    });
    await expect(a.call({ cmd: 'ask', to: { slot: 1, gen: 1, node: 'nobody' }, msg: { type: 'history' } })).rejects.toMatchObject({
      name: 'NodeUnreachableError',
    });
    // A slot that the receiving node does not have.
    await expect(a.call({ cmd: 'ask', to: { slot: 1 << 30, gen: 1, node: 'b' }, msg: { type: 'history' } })).rejects.toMatchObject({
      name: 'NodeUnreachableError',
    });
  });

  it("dead-letters a tell to a stopped actor on the receiving node, and one for a node that is not a member on the sender's", async () => {
    const onB = await b.spawn(probeUrl);
    await b.call({ cmd: 'stop', ref: onB });
    await a.call({ cmd: 'tell', to: onB, msg: { type: 'log', value: 'late' } });
    await eventually(
      () => b.call<Array<{ reason: string; message: unknown }>>({ cmd: 'deadLetters' }),
      (letters) => letters.some((l) => l.reason === 'stopped' && (l.message as { value?: string }).value === 'late'),
    );
    await a.call({ cmd: 'tell', to: { slot: 3, gen: 1, node: 'nobody' }, msg: { type: 'log', value: 'lost' } });
    const letters = await a.call<Array<{ reason: string; message: unknown }>>({ cmd: 'deadLetters' });
    expect(letters).toContainEqual(expect.objectContaining({ reason: 'node-unreachable', message: { type: 'log', value: 'lost' } }));
  });

  it('a message its threads cannot take (too large there) is a dead letter on the receiving node, which goes on serving', async () => {
    const small = await node('small', {}, { maxMessageBytes: 4096 });
    try {
      await eventually(
        () => a.call<string[]>({ cmd: 'members' }),
        (m) => m.includes('small'),
        10_000,
      );
      const there = await small.spawn(probeUrl);
      await small.call({ cmd: 'subscribe', topic: 'big', ref: there });
      await a.call({ cmd: 'publish', topic: 'big', msg: { type: 'log', value: 'x'.repeat(10_000) } });
      await a.call({ cmd: 'tell', to: there, msg: { type: 'log', value: 'y'.repeat(10_000) } });
      await eventually(
        () => small.call<Array<{ reason: string }>>({ cmd: 'deadLetters' }),
        (letters) => letters.filter((l) => l.reason === 'too-large').length === 2,
      );
      // Its connection still reads: it answers, and a still sees it.
      expect(await a.call({ cmd: 'ask', to: there, msg: { type: 'historyLength' } })).toBe(0);
      expect(await a.call<string[]>({ cmd: 'members' })).toContain('small');
    } finally {
      await small.shutdown();
    }
  }, 30_000);
  it("drops garbage, truncated and foreign batches published on a node's subject, counts each by reason, and keeps serving", async () => {
    const onB = await b.spawn(probeUrl);
    const raw = await connect({ servers: nats.url });
    const subject = `microswarm.${cluster}.node.b`;
    const first = await b.call<{ batchesReceived: number; dropped: Record<string, number> }>({ cmd: 'stats' });
    const valid = first.batchesReceived;
    const to = await b.call<string>({ cmd: 'incarnation' });
    // magic, version 2, type 1 (batch), cluster, from, from's incarnation, to's incarnation, seq.
    const header = (seq: number, toIncarnation = to, clusterName = cluster) => [
      0xb5,
      2,
      1,
      ...str(clusterName),
      ...str('z'),
      ...str('inc'),
      ...str(toIncarnation),
      seq,
      0,
      0,
      0,
    ];
    raw.publish(subject, new Uint8Array([1, 2, 3]));
    raw.publish(subject, new Uint8Array(0));
    // Batch 1 of a sender 'z': a record cut short.
    raw.publish(subject, new Uint8Array([...header(1), 40, 0, 0, 0, 1, 2]));
    // Batch 2: a record whose message does not decode.
    raw.publish(
      subject,
      new Uint8Array([...header(2), 25, 0, 0, 0, 1, onB.slot, 0, 0, 0, onB.gen, 0, 0, 0, ...new Array(12).fill(0), 0xff, 0xff, 0xff, 0xff]),
    );
    // Batch 3: ENTITY records of the wrong shape (not [module, key, msg] or [module, key, msg, 1]; a module not a file:
    // URL; an empty key), a swarm TERM record (kind 7) whose leader is not a ref and whose term is 0, and WATCH /
    // UNWATCH records (kinds 8, 9) with no watcher, with a watcher of another node than the sender's, and with a message.
    const term = new Writer(64);
    encodeValue(term, undefined, 'sender');
    encodeValue(term, ['lead', 'not a ref', 0], 'msg');
    const termRecord = [7, ...new Array(20).fill(0), ...term.bytes.subarray(0, term.pos)];
    raw.publish(
      subject,
      new Uint8Array([
        ...header(3),
        ...entityRecord([1, 2, 3]),
        ...entityRecord(['m', 'k', 'x', 2]),
        ...entityRecord(['m', 'k']),
        ...entityRecord(['data:text/javascript,globalThis.x=1', 'k', 'x']),
        ...entityRecord(['file:///srv/entity.js', '', 'x']),
        termRecord.length,
        0,
        0,
        0,
        ...termRecord,
        ...watchRecord(8, onB, undefined, undefined),
        ...watchRecord(8, onB, { slot: 1, gen: 1, node: 'y' }, undefined),
        ...watchRecord(9, onB, { slot: 1, gen: 1 }, 'x'),
      ]),
    );
    // Batch 9 (4 to 8 never came): refused until they do.
    raw.publish(subject, new Uint8Array(header(9)));
    // Another cluster's; one for another incarnation of b.
    raw.publish(subject, new Uint8Array(header(4, to, 'other')));
    raw.publish(subject, new Uint8Array(header(4, 'not-b-now')));
    await raw.flush();
    await raw.close();
    const stats = await eventually(
      () => b.call<{ dropped: Record<string, number> }>({ cmd: 'stats' }),
      (s) => Object.values(s.dropped).reduce((x, y) => x + y, 0) >= Object.values(first.dropped).reduce((x, y) => x + y, 0) + 16,
    );
    // What this test published, beside what earlier tests may have caused (a resent batch dropped as a duplicate).
    const added = Object.fromEntries(
      Object.entries(stats.dropped)
        .map(([k, v]) => [k, v - (first.dropped[k] ?? 0)])
        .filter(([, v]) => (v as number) > 0),
    );
    expect(added).toEqual({
      'bad-entity': 5,
      'bad-header': 1,
      'bad-magic': 1,
      'bad-term': 1,
      'bad-watch': 3,
      decode: 1,
      gap: 1,
      'stale-incarnation': 1,
      truncated: 1,
      'wrong-cluster': 1,
    });
    // Still serving.
    expect(await a.call({ cmd: 'ask', to: onB, msg: { type: 'historyLength' } })).toBe(0);
    expect((await b.call<{ batchesReceived: number }>({ cmd: 'stats' })).batchesReceived).toBeGreaterThan(valid);
  });
});

describe('cluster-scoped names', () => {
  it('registers a name across the cluster: taken on every node, found from any (rt.lookup, rt.cluster.lookup, ctx.lookup), released when its actor stops', async () => {
    const svc = await b.spawn(probeUrl, undefined, { name: 'svc', scope: 'cluster' });
    await expect(a.spawn(probeUrl, undefined, { name: 'svc', scope: 'cluster' })).rejects.toMatchObject({ name: 'NameTakenError' });
    expect(await a.call({ cmd: 'clusterLookup', name: 'svc' })).toMatchObject({ slot: svc.slot, gen: svc.gen, node: 'b' });
    // rt.lookup on a: synchronous, from a's replica of the names (a watch delivery behind).
    const viaReplica = await eventually(
      () => a.call<WireRef | undefined>({ cmd: 'lookup', name: 'svc' }),
      (r) => r != null,
    );
    expect(viaReplica).toEqual({ slot: svc.slot, gen: svc.gen, node: 'b', name: 'svc' });
    expect(await a.call({ cmd: 'ask', to: viaReplica as WireRef, msg: { type: 'historyLength' } })).toBe(0);
    const onA = await a.spawn(probeUrl);
    const found = await a.call<WireRef>({ cmd: 'ask', to: onA, msg: { type: 'lookup', name: 'svc' } });
    expect(found).toMatchObject({ slot: svc.slot, gen: svc.gen, node: 'b', name: 'svc' });
    // The ref found works.
    expect(await a.call({ cmd: 'ask', to: found, msg: { type: 'historyLength' } })).toBe(0);
    await b.call({ cmd: 'stop', ref: svc });
    await eventually(
      () => a.call({ cmd: 'clusterLookup', name: 'svc' }),
      (r) => r === undefined || r === null,
    );
    await eventually(
      () => a.call({ cmd: 'lookup', name: 'svc' }),
      (r) => r == null,
    );
    const again = await a.spawn(probeUrl, undefined, { name: 'svc', scope: 'cluster' });
    expect(await b.call({ cmd: 'clusterLookup', name: 'svc' })).toMatchObject({ slot: again.slot, node: 'a' });
    await a.call({ cmd: 'stop', ref: again });
  });

  it("rt.lookup counts a name as absent while its node is not a member or its value is another incarnation's; rt.cluster.lookup reads it as stored", async () => {
    await withRawNames(async (put, incarnationOfB) => {
      await put('ghost', { node: 'nobody', incarnation: 'x' });
      await put('old-b', { node: 'b', incarnation: 'an-earlier-b' });
      await put('legacy-b', { node: 'b' });
      await put('live-b', { node: 'b', incarnation: incarnationOfB });
      // The watch delivers in revision order: once live-b shows, so have the others.
      await eventually(
        () => a.call<WireRef | undefined>({ cmd: 'lookup', name: 'live-b' }),
        (r) => r != null,
      );
      expect(await a.call({ cmd: 'lookup', name: 'legacy-b' })).toEqual({ slot: 5, gen: 9, node: 'b', name: 'legacy-b' });
      expect(await a.call({ cmd: 'lookup', name: 'ghost' })).toBeUndefined();
      expect(await a.call({ cmd: 'lookup', name: 'old-b' })).toBeUndefined();
      expect(await a.call({ cmd: 'clusterLookup', name: 'ghost' })).toMatchObject({ slot: 5, gen: 9, node: 'nobody' });
    });
  });

  it("register takes over a name whose holder is not a live member (a made-up node, an earlier incarnation), never a live member's", async () => {
    await withRawNames(async (put, incarnationOfB) => {
      await put('squat', { node: 'nobody', incarnation: 'x' });
      await put('earlier-b', { node: 'b', incarnation: 'an-earlier-b' });
      await put('held-b', { node: 'b', incarnation: incarnationOfB });
      await put('legacy-held-b', { node: 'b' });
      for (const name of ['squat', 'earlier-b']) {
        const taken = await a.spawn(probeUrl, undefined, { name, scope: 'cluster' });
        expect(await b.call({ cmd: 'clusterLookup', name })).toMatchObject({ slot: taken.slot, gen: taken.gen, node: 'a' });
        await a.call({ cmd: 'stop', ref: taken });
      }
      // b is a live member: its incarnation's value, and a value without one under its name, stay its.
      for (const name of ['held-b', 'legacy-held-b']) {
        await expect(a.spawn(probeUrl, undefined, { name, scope: 'cluster' }), name).rejects.toMatchObject({ name: 'NameTakenError' });
        expect(await a.call({ cmd: 'clusterLookup', name })).toMatchObject({ slot: 5, gen: 9, node: 'b' });
      }
    });
  });

  it('refuses a cluster scope without a name, or an unknown scope, with InvalidOptionError', async () => {
    await expect(a.spawn(probeUrl, undefined, { scope: 'cluster' })).rejects.toMatchObject({
      name: 'InvalidOptionError',
      message: expect.stringContaining('scope'),
    });
    await expect(a.spawn(probeUrl, undefined, { name: 'n', scope: 'galaxy' })).rejects.toMatchObject({ name: 'InvalidOptionError' });
  });
});

describe('topics across nodes', () => {
  it("reaches the subscribers of every node, in the publisher's order; publish counts this node's", async () => {
    const here = await a.spawn(probeUrl);
    const there = await b.spawn(probeUrl);
    await a.call({ cmd: 'subscribe', topic: 'news', ref: here });
    await b.call({ cmd: 'subscribe', topic: 'news', ref: there });
    // 50 publishes on a: a's subscriber accepted each (1 per publish).
    expect(await a.call({ cmd: 'publish', topic: 'news', msg: { type: 'log' }, count: 50 })).toBe(50);
    const expected = Array.from({ length: 50 }, (_, i) => i);
    await eventually(
      () => b.call<number[]>({ cmd: 'ask', to: there, msg: { type: 'history' } }),
      (h) => h.length === 50,
    );
    expect(await b.call({ cmd: 'ask', to: there, msg: { type: 'history' } })).toEqual(expected);
    expect(await a.call({ cmd: 'ask', to: here, msg: { type: 'history' } })).toEqual(expected);
    // And back: a publish on b reaches a's subscriber once (not forwarded again).
    await b.call({ cmd: 'publish', topic: 'news', msg: { type: 'log', value: 'from b' } });
    await eventually(
      () => a.call<number>({ cmd: 'ask', to: here, msg: { type: 'historyLength' } }),
      (n) => n === 51,
    );
    expect(await b.call({ cmd: 'ask', to: there, msg: { type: 'historyLength' } })).toBe(51);
  });
});

describe('a NATS server restart', () => {
  it('is ridden out: nobody is declared down, tells sent while the server is away arrive in order, asks work again', async () => {
    const onB = await b.spawn(probeUrl);
    const before = (await a.call<Array<{ type: string }>>({ cmd: 'events' })).length;
    const restarting = nats.restart({ downMs: 500 });
    // Sent while the server stops and starts again: the client keeps them until it is back.
    await a.call({ cmd: 'tell', to: onB, msg: { type: 'log' }, count: 300 });
    await restarting;
    const history = await eventually(
      () => a.call<number[]>({ cmd: 'ask', to: onB, msg: { type: 'history' } }).catch(() => []),
      (h) => h.length === 300,
      15_000,
    );
    expect(history).toEqual(Array.from({ length: 300 }, (_, i) => i));
    expect(await a.call<string[]>({ cmd: 'members' })).toContain('b');
    expect(await b.call<string[]>({ cmd: 'members' })).toContain('a');
    const since = (await a.call<Array<{ type: string; node: string }>>({ cmd: 'events' })).slice(before);
    expect(since.filter((e) => e.type === 'left')).toEqual([]);
    // What the server lost was sent again.
    const stats = await a.call<{ batchesResent: number; connection: { reconnects: number } }>({ cmd: 'stats' });
    expect(stats.batchesResent).toBeGreaterThan(0);
    expect(stats.connection.reconnects).toBeGreaterThanOrEqual(1);
    expect(await a.call<string>({ cmd: 'metrics' })).toMatch(/^microswarm_cluster_reconnects_total [1-9]/m);
  }, 30_000);
});

describe('a node that dies', () => {
  it("a ref kept from a node's earlier process reaches nothing in the process that replaced it under the same name", async () => {
    let r = await node('r');
    await eventually(
      () => a.call<string[]>({ cmd: 'members' }),
      (m) => m.includes('r'),
      10_000,
    );
    const old = await r.spawn(probeUrl);
    await r.kill();
    await eventually(
      () => a.call<string[]>({ cmd: 'members' }),
      (m) => !m.includes('r'),
      10_000,
    );
    r = await node('r');
    try {
      await eventually(
        () => a.call<string[]>({ cmd: 'members' }),
        (m) => m.includes('r'),
        10_000,
      );
      // The new process's first actor: the slot the old ref names, most likely.
      await r.spawn(probeUrl);
      await expect(a.call({ cmd: 'ask', to: old, msg: { type: 'historyLength' } })).rejects.toMatchObject({
        name: 'ActorStoppedError',
        message: expect.stringContaining('does not exist'),
      });
    } finally {
      await r.shutdown();
    }
  }, 30_000);

  it("regression: releasing a dead process's names leaves those its replacement under the same node name registered (fenced by incarnation)", async () => {
    // A cluster of its own, where 'late' is the only other node. It is paused while 'r' dies and a new process takes
    // over r's name, so that its release of the old r's names runs after the new r registered its own.
    const race = (name: string) => node(name, { name: 'race' });
    let r = await race('r');
    let late: NodeProcess | undefined;
    try {
      const old = await r.spawn(probeUrl, undefined, { name: 'svc-r', scope: 'cluster' });
      await r.spawn(probeUrl, undefined, { name: 'old-only', scope: 'cluster' });
      late = await race('late');
      // rt.lookup right after start: the names registered before it are there.
      expect(await late.call({ cmd: 'lookup', name: 'svc-r' })).toEqual({ slot: old.slot, gen: old.gen, node: 'r', name: 'svc-r' });
      await eventually(
        () => r.call<string[]>({ cmd: 'members' }),
        (m) => m.join() === 'late,r',
        10_000,
      );
      late.child.kill('SIGSTOP');
      await r.kill();
      // Nobody declares the old r down: the new process takes its key over once it has stayed still for downAfterMs.
      r = await race('r');
      const fresh = await r.spawn(probeUrl, undefined, { name: 'fresh', scope: 'cluster' });
      // The old process's name: taken over (the new process holds r's key, so the incarnation that wrote it is gone).
      const again = await r.spawn(probeUrl, undefined, { name: 'svc-r', scope: 'cluster' });
      late.child.kill('SIGCONT');
      // late sees a new incarnation under r's name (the old one is gone) and releases the old one's names: here only
      // 'old-only', which the new process did not register again.
      await eventually(
        () => r.call({ cmd: 'clusterLookup', name: 'old-only' }),
        (found) => found == null,
        15_000,
      );
      expect(await r.call({ cmd: 'clusterLookup', name: 'fresh' })).toMatchObject({ slot: fresh.slot, gen: fresh.gen, node: 'r' });
      expect(await r.call({ cmd: 'clusterLookup', name: 'svc-r' })).toMatchObject({ slot: again.slot, gen: again.gen, node: 'r' });
      const lateNode = late;
      await eventually(
        () => Promise.all(['fresh', 'svc-r'].map((name) => lateNode.call<WireRef | undefined>({ cmd: 'lookup', name }))),
        ([f, s]) => f?.gen === fresh.gen && s?.gen === again.gen,
        10_000,
      );
    } finally {
      late?.child.kill('SIGCONT');
      await Promise.all([late?.shutdown(), r.shutdown()]);
    }
  }, 60_000);

  it('regression: a process that restarts under the name of a node alone in its cluster registers the names its predecessor held', async () => {
    // Nobody is there to declare the old process down and release its names: the new one takes its key over once it
    // has stayed still for downAfterMs, then each name the old incarnation wrote.
    const solo = (): Promise<NodeProcess> => node('s', { name: 'solo' });
    let s = await solo();
    try {
      const old = await s.spawn(probeUrl, undefined, { name: 'solo-svc', scope: 'cluster' });
      await s.kill();
      s = await solo();
      await s.spawn(probeUrl); // (another slot than the old actor's, whatever the generations)
      const taken = await s.spawn(probeUrl, undefined, { name: 'solo-svc', scope: 'cluster' });
      expect({ slot: taken.slot, gen: taken.gen }).not.toEqual({ slot: old.slot, gen: old.gen });
      expect(await s.call({ cmd: 'clusterLookup', name: 'solo-svc' })).toMatchObject({ slot: taken.slot, gen: taken.gen, node: 's' });
      expect(await s.call({ cmd: 'lookup', name: 'solo-svc' })).toMatchObject({ slot: taken.slot, gen: taken.gen });
    } finally {
      await s.shutdown();
    }
  }, 30_000);

  it('is seen unreachable, then down; asks waiting on it settle with NodeUnreachableError; its names are released; tells to it are dead letters', async () => {
    const c = await node('c');
    try {
      await eventually(
        () => a.call<string[]>({ cmd: 'members' }),
        (m) => m.join() === 'a,b,c',
        10_000,
      );
      const onC = await c.spawn(probeUrl, undefined, { name: 'on-c', scope: 'cluster' });
      await eventually(
        () => a.call<WireRef | undefined>({ cmd: 'lookup', name: 'on-c' }),
        (r) => r?.node === 'c' && r.slot === onC.slot,
      );
      const busy = await c.spawn(probeUrl);
      const waiting = a.call({ cmd: 'ask', to: busy, msg: { type: 'slowLog', ms: 60_000, value: 1 }, timeoutMs: 60_000 }).catch((e: Error) => e);
      // The ask has reached c (its gateway took the record): the kill cuts it off in the middle.
      await eventually(
        () => c.call<{ recordsReceived: number }>({ cmd: 'stats' }),
        (stats) => stats.recordsReceived > 0,
      );
      const killedAt = Date.now();
      await c.kill();
      const error = await waiting;
      const settledMs = Date.now() - killedAt;
      expect(error).toMatchObject({ name: 'NodeUnreachableError' });
      console.log(`cluster: SIGKILL to NodeUnreachableError in ${settledMs} ms (downAfterMs 1500)`);
      const events = await a.call<Array<{ type: string; node: string; reason?: string }>>({ cmd: 'events' });
      const aboutC = events.filter((e) => e.node === 'c').map((e) => (e.reason ? `${e.type}:${e.reason}` : e.type));
      expect(aboutC).toEqual(expect.arrayContaining(['unreachable', 'left:down']));
      expect(aboutC.indexOf('unreachable')).toBeLessThan(aboutC.indexOf('left:down'));
      expect(await a.call<string[]>({ cmd: 'members' })).toEqual(['a', 'b']);
      await eventually(
        () => b.call({ cmd: 'clusterLookup', name: 'on-c' }),
        (r) => r === undefined || r === null,
      );
      await eventually(
        () => a.call({ cmd: 'lookup', name: 'on-c' }),
        (r) => r == null,
      );
      await a.call({ cmd: 'tell', to: busy, msg: { type: 'log', value: 'to the dead' } });
      const letters = await a.call<Array<{ reason: string; message: unknown }>>({ cmd: 'deadLetters' });
      expect(letters).toContainEqual(expect.objectContaining({ reason: 'node-unreachable', message: { type: 'log', value: 'to the dead' } }));
    } finally {
      await c.kill();
    }
  }, 30_000);
});

/**
 * A WATCH (8) or UNWATCH (9) record for `target` (slot, gen; the other u32s 0), with its length first: the sender is a
 * ref (of the sending node unless `watcher.node` names another), and `msg` follows.
 */
function watchRecord(kind: number, target: WireRef, watcher: WireRef | undefined, msg: unknown): number[] {
  const w = new Writer(64);
  encodeValue(w, watcher === undefined ? undefined : new ActorRef(watcher.slot, watcher.gen, undefined, undefined, watcher.node));
  encodeValue(w, msg);
  const length = 21 + w.pos;
  const u32 = (n: number) => [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, n >>> 24];
  return [...u32(length), kind, ...u32(target.slot), ...u32(target.gen), ...new Array(12).fill(0), ...w.bytes.subarray(0, w.pos)];
}

/** The codec's string: u32 byte length, then UTF-8. */
/** An ENTITY record (kind 6; slot, gen, asker, ask id, timeout 0; no sender) whose msg is `msg`, with its length first. */
function entityRecord(msg: unknown): number[] {
  const w = new Writer(64);
  w.reset();
  encodeValue(w, undefined);
  encodeValue(w, msg);
  const length = 21 + w.pos;
  return [length & 0xff, length >> 8, 0, 0, 6, ...new Array(20).fill(0), ...w.bytes.subarray(0, w.pos)];
}

function str(s: string): number[] {
  const bytes = [...Buffer.from(s)];
  return [bytes.length & 0xff, (bytes.length >> 8) & 0xff, 0, 0, ...bytes];
}
