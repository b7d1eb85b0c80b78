/**
 * Entity snapshots too large for the lease (2 MiB here) live in the object
 * store: kept across passivation and across a SIGKILL of their node, the
 * object replaced by each write deleted; a lease whose reference to its
 * object is malformed, or names an object that is not there, fails the
 * activation with EntitySnapshotError while the node goes on serving.
 */
import { createHash } from 'node:crypto';
import { type KV, Kvm } from '@nats-io/kv';
import { type ObjectStore, Objm } from '@nats-io/obj';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EntitySnapshotError } from '../src/index.js';
import { parseLocation } from '../src/cluster/snapshots.js';
import { NodeProcess, entityKeyOn } from './fixtures/cluster.js';
import { blobFor } from './fixtures/entity-blob.js';
import { eventually } from './fixtures/helpers.js';
import { startNatsServer, type NatsServer } from './fixtures/nats.js';

const blob = new URL('./fixtures/entity-blob.ts', import.meta.url).href;
const counter = new URL('./fixtures/entity-counter.ts', import.meta.url).href;
const cluster = 'stest';
const kTwoMiB = 2 * 1024 * 1024;

let nats: NatsServer;
let nodes: NodeProcess[] = [];
/** A raw client of the test's own, to look at (and break) the leases and objects the nodes write. */
let raw: NatsConnection;
let leases: KV;
let objects: ObjectStore;

type Summary = { n: number; length: number; sha256: string; pid: number };
type Stats = { entities: { active: number; passivated: number; checkpoints: number } };

function node(name: string, entityIdleMs = 400): Promise<NodeProcess> {
  // Entities idle for 400 ms are passivated (unless the test keeps them longer).
  return NodeProcess.start({ servers: nats.url, name: cluster, node: name, entityIdleMs });
}

const leaseKey = (module: string, key: string) => Buffer.from(`${module}\u0000${key}`).toString('base64url');

const ask = <T = unknown>(n: NodeProcess, module: string, key: string, msg: unknown) =>
  n.call<T>({ cmd: 'entityAsk', module, key, msg, timeoutMs: 20_000 });

/** What `get` must answer after `n` adds of the default size. */
function expected(n: number): { n: number; length: number; sha256: string } {
  return { n, length: kTwoMiB, sha256: createHash('sha256').update(blobFor(n, kTwoMiB)).digest('hex') };
}

/** The entity's lease, as JSON, from the entities bucket. */
async function lease(module: string, key: string): Promise<Record<string, unknown> | undefined> {
  const entry = await leases.get(leaseKey(module, key));
  return entry === null || entry.operation !== 'PUT' ? undefined : (entry.json() as Record<string, unknown>);
}

/** The names of the live objects of the entity in the snapshots bucket. */
async function objectsOf(module: string, key: string): Promise<string[]> {
  const prefix = `${leaseKey(module, key)}.`;
  return (await objects.list()).filter((o) => !o.deleted && o.name.startsWith(prefix)).map((o) => o.name);
}

beforeAll(async () => {
  nats = await startNatsServer();
  nodes = await Promise.all(['a', 'b'].map((name) => node(name)));
  await eventually(
    () => Promise.all(nodes.map((n) => n.call<string[]>({ cmd: 'members' }))),
    (views) => views.every((m) => m.join() === 'a,b'),
    10_000,
  );
  raw = await connect({ servers: nats.url });
  leases = await new Kvm(raw).open(`microswarm_${cluster}_entities`);
  objects = await new Objm(raw).create(`microswarm_${cluster}_snapshots`);
}, 60_000);

afterAll(async () => {
  await Promise.all(nodes.map((n) => n.shutdown()));
  await raw?.close();
  await nats?.stop();
});

describe('entity snapshots in the object store', () => {
  it('keeps a 2 MiB state across passivation: the lease names its object, released with the reference kept', async () => {
    const key = 'big';
    const t0 = performance.now();
    expect(await ask(nodes[0], blob, key, { type: 'add' })).toMatchObject(expected(1));
    const saved = performance.now() - t0;
    expect(await lease(blob, key)).toMatchObject({ snap: null, obj: expect.any(String) });
    await eventually(
      () => Promise.all(nodes.map((n) => n.call<Stats>({ cmd: 'stats' }))),
      (all) => all.every((s) => s.entities.active === 0) && all.some((s) => s.entities.passivated > 0),
      10_000,
    );
    // Passivated after a last write (a new object; the one it replaced deleted): released, the reference kept.
    const released = await lease(blob, key);
    expect(released).toMatchObject({ node: null, snap: null, obj: expect.any(String) });
    await eventually(
      () => objectsOf(blob, key),
      (names) => names.length === 1 && names[0] === released?.obj,
      10_000,
    );
    const t1 = performance.now();
    expect(await ask(nodes[1], blob, key, { type: 'get' })).toMatchObject(expected(1));
    const restored = performance.now() - t1;
    expect(await ask(nodes[0], blob, key, { type: 'add' })).toMatchObject(expected(2));
    console.log(
      `cluster: a 2 MiB entity snapshot: first add (make the blob, snapshot, save) ${saved.toFixed(0)} ms; activation from it ${restored.toFixed(0)} ms`,
    );
  }, 60_000);

  it('a node killed with SIGKILL: its 2 MiB entity answers again from another node with its state; objects it left are deleted', async () => {
    // Not passivated while the test looks: the lease stays held until the kill.
    const c = await node('c', 60_000);
    nodes.push(c);
    await eventually(
      () => nodes[0].call<string[]>({ cmd: 'members' }),
      (m) => m.join() === 'a,b,c',
      10_000,
    );
    const key = await entityKeyOn(nodes[0], c, 'c', blob);
    expect(key).not.toBe('');
    expect(await ask(nodes[0], blob, key, { type: 'add' })).toMatchObject(expected(1));
    // Answered: its object is written and the lease names it.
    expect(await ask(nodes[0], blob, key, { type: 'add' })).toMatchObject({ ...expected(2), pid: c.child.pid });
    // Its second write deleted the object of its first, once the lease named the new one.
    const second = await lease(blob, key);
    await eventually(
      () => objectsOf(blob, key),
      (names) => names.length === 1 && names[0] === second?.obj,
      10_000,
    );
    // What a node that died at the wrong moment leaves, made here with the raw client: the object of the
    // write it was making (named by its epoch and the revision it held), and the object its last write
    // replaced (the lease's prev), not deleted yet.
    const held = await leases.get(leaseKey(blob, key));
    if (held === null) throw new Error('no lease after two answered adds');
    const { epoch, prev } = held.json() as { epoch: number; prev: string };
    const leftOver = [`${leaseKey(blob, key)}.${epoch}.${held.revision}`, prev];
    for (const name of leftOver) await objects.putBlob({ name }, new Uint8Array(1000));
    expect(await objectsOf(blob, key)).toEqual(expect.arrayContaining(leftOver));
    await c.kill();
    nodes.pop();
    const answer = await eventually(
      () => ask<Summary>(nodes[0], blob, key, { type: 'get' }).catch((e: Error) => e),
      (r) => !(r instanceof Error),
      20_000,
    );
    expect(answer).toMatchObject(expected(2));
    expect((answer as Summary).pid).not.toBe(c.child.pid);
    // The lease names one object of the entity, and that one is all there is (the takeover deleted what was
    // left). Read together each time: the entity may be passivated meanwhile (its lease then names no node).
    const [now] = await eventually(
      async () => [await lease(blob, key), await objectsOf(blob, key)] as const,
      ([l, names]) => names.length === 1 && names[0] === l?.obj,
      10_000,
    );
    expect(now?.epoch).toBe(epoch + 1);
    expect([null, 'a', 'b']).toContain(now?.node);
  }, 60_000);

  it('a lease whose object reference is malformed or names no object: the ask rejects with EntitySnapshotError, the node goes on serving', async () => {
    const id = (key: string) => leaseKey(blob, key);
    const bad: Array<[string, unknown, RegExp]> = [
      ['ref-path', '../../etc/passwd', /`obj` should be null or the name of one of its objects/],
      ['ref-number', 42, /`obj` should be .*`42` \(number\)/],
      ['ref-other', `${id('someone-else')}.1.5`, /`obj` should be/],
      ['ref-future', `${id('ref-future')}.9.5`, /epoch up to 2/],
      ['ref-missing', `${id('ref-missing')}.1.5`, /is missing/],
    ];
    for (const [key, obj] of bad) await leases.put(id(key), JSON.stringify({ node: null, incarnation: null, epoch: 2, snap: null, obj, prev: null }));
    for (const [key, obj, message] of bad) {
      const err = await ask(nodes[0], blob, key, { type: 'get' }).then(
        () => undefined,
        (e: Error) => e,
      );
      expect(err, key).toMatchObject({ name: 'EntitySnapshotError', message: expect.stringMatching(message) });
      // The lease is left as it was (the state it names is not dropped).
      expect(await lease(blob, key)).toMatchObject({ node: null, epoch: 2, obj });
    }
    // Both nodes serve on: entities of either module, new and old.
    for (const n of nodes) expect(await ask(n, counter, `after-bad-ref-${n.name}`, { type: 'add', n: 2 })).toBe(2);
    expect(await ask(nodes[1], blob, 'after-bad-ref', { type: 'add' })).toMatchObject(expected(1));
  }, 60_000);

  it('parseLocation checks the snapshot fields of a lease and names what was wrong', () => {
    const owner = { id: 'AbC', module: 'file:///m.ts', key: 'k' };
    expect(parseLocation({}, owner, 3)).toEqual({ snap: null, obj: null, prev: null });
    expect(parseLocation({ snap: 'AAA=' }, owner, 3)).toEqual({ snap: 'AAA=', obj: null, prev: null });
    expect(parseLocation({ snap: null, obj: 'AbC.3.17', prev: 'AbC.0.1' }, owner, 3)).toEqual({ snap: null, obj: 'AbC.3.17', prev: 'AbC.0.1' });
    const refused: Array<[Record<string, unknown>, string]> = [
      [{ snap: 7 }, 'snap'],
      [{ obj: 'AbC.4.1' }, 'obj'],
      [{ obj: 'AbC.01.1' }, 'obj'],
      [{ obj: 'AbC.1.1.1' }, 'obj'],
      [{ obj: 'AbD.1.1' }, 'obj'],
      [{ obj: 'AbC.1.99999999999999999' }, 'obj'],
      [{ obj: ['AbC.1.1'] }, 'obj'],
      [{ prev: 'x' }, 'prev'],
      [{ snap: 'AAA=', obj: 'AbC.1.1' }, 'obj'],
    ];
    for (const [fields, field] of refused) {
      expect(() => parseLocation(fields, owner, 3), JSON.stringify(fields)).toThrow(EntitySnapshotError);
      expect(() => parseLocation(fields, owner, 3)).toThrow(`lease's \`${field}\``);
    }
  });
});
