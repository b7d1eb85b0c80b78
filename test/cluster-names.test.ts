/**
 * Cluster-wide names over NATS KV, against a real nats-server -js. Two nodes,
 * each on its own connection, share one cluster's names bucket; a raw client
 * writes what a buggy or hostile process could; a third connection keeps a
 * replica of the bucket (what `rt.lookup` reads).
 */
import { JetStreamApiError } from '@nats-io/jetstream';
import { type KV, Kvm } from '@nats-io/kv';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { InvalidArgumentError, InvalidOptionError, NameTakenError } from '../src/base/errors.js';
import { ClusterNames, type NameEntry, type NamedRef, nameKey } from '../src/cluster/names.js';
import { NamesReplica } from '../src/cluster/names-replica.js';
import { createShared } from '../src/cluster/kv.js';
import { eventually } from './fixtures/helpers.js';
import { type NatsServer, startNatsServer } from './fixtures/nats.js';

let server: NatsServer;
const connections: NatsConnection[] = [];
let clusters = 0;

beforeAll(async () => {
  server = await startNatsServer();
});

afterEach(async () => {
  await Promise.all(connections.splice(0).map((nc) => nc.close()));
});

afterAll(async () => {
  await server?.stop();
});

async function connectNode(): Promise<NatsConnection> {
  const nc = await connect({ servers: server.url });
  connections.push(nc);
  return nc;
}

/** Two nodes of a new cluster, each on its own connection, and a raw client's view of the bucket. */
async function twoNodes(): Promise<{ one: ClusterNames; two: ClusterNames; raw: KV }> {
  const cluster = `names${++clusters}`;
  const one = await ClusterNames.open(await connectNode(), { cluster, node: 'one' });
  const two = await ClusterNames.open(await connectNode(), { cluster, node: 'two' });
  const raw = await new Kvm(await connectNode()).create(`microswarm_${cluster}_names`);
  return { one, two, raw };
}

const refOne: NamedRef = { node: 'one', slot: 3, gen: 7 };
const refTwo: NamedRef = { node: 'two', slot: 3, gen: 1 };
/** The nodes' membership incarnations (random UUIDs in a runtime). */
const incOne = 'one-incarnation-1';
const incTwo = 'two-incarnation-1';
/** What lookup answers for a ref registered by an incarnation. */
const held = (ref: NamedRef, incarnation: string): NameEntry => ({ ...ref, incarnation });

describe('ClusterNames', () => {
  it('a name registered on one node is found from another, whatever characters it holds', async () => {
    const { one, two } = await twoNodes();
    const odd = ['billing', 'a.b', 'a_b', 'a b/c*>', 'über-名前 🐝', '=', 'x'.repeat(256)];
    for (const [i, name] of odd.entries()) await one.register(name, { ...refOne, slot: i }, incOne);
    for (const [i, name] of odd.entries()) expect(await two.lookup(name)).toEqual(held({ ...refOne, slot: i }, incOne));
    expect(await two.lookup('not-registered')).toBeUndefined();
    expect(two.badValues).toBe(0);
  });

  it('a name taken on one node is NameTakenError on another; the same ref registering again resolves', async () => {
    const { one, two } = await twoNodes();
    await one.register('worker', refOne, incOne);
    const err = await two.register('worker', refTwo, incTwo).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NameTakenError);
    expect((err as NameTakenError).actorName).toBe('worker');
    await expect(one.register('worker', { ...refOne, gen: refOne.gen + 1 }, incOne)).rejects.toBeInstanceOf(NameTakenError);
    await one.register('worker', refOne, incOne);
    expect(await two.lookup('worker')).toEqual(held(refOne, incOne));
  });

  it('release deletes a name only for the ref it names', async () => {
    const { one, two } = await twoNodes();
    await one.register('worker', refOne, incOne);
    await two.release('worker', refTwo);
    await two.release('worker', { ...refOne, gen: refOne.gen + 1 });
    expect(await two.lookup('worker')).toEqual(held(refOne, incOne));
    await one.release('worker', refOne);
    expect(await two.lookup('worker')).toBeUndefined();
    await two.register('worker', refTwo, incTwo);
    expect(await one.lookup('worker')).toEqual(held(refTwo, incTwo));
    await one.release('never-registered', refOne);
  });

  it('release does not delete a name registered again between its read and its delete', async () => {
    const { one, raw } = await twoNodes();
    await one.register('worker', refOne, incOne);
    // Forces the interleaving: right after release reads the name, the name is released and registered to another
    // actor (what a racing node would do).
    const internals = one as unknown as { kv: KV };
    const get = internals.kv.get.bind(internals.kv);
    internals.kv.get = async (key, options) => {
      const entry = await get(key, options);
      internals.kv.get = get;
      await raw.delete(key);
      await raw.create(key, JSON.stringify({ name: 'worker', ...refTwo, incarnation: incTwo }));
      return entry;
    };
    await one.release('worker', refOne);
    expect(await one.lookup('worker')).toEqual(held(refTwo, incTwo));
  });

  it('releaseNode deletes every name of that incarnation of the node and no other', async () => {
    const { one, two, raw } = await twoNodes();
    for (const name of ['a', 'b', 'c']) await one.register(name, { ...refOne, slot: name.charCodeAt(0) }, incOne);
    for (const name of ['d', 'e']) await two.register(name, refTwo, incTwo);
    await raw.put(nameKey('junk'), 'not json');
    expect(await two.releaseNode('one', incOne)).toBe(3);
    for (const name of ['a', 'b', 'c']) expect(await two.lookup(name)).toBeUndefined();
    for (const name of ['d', 'e']) expect(await one.lookup(name)).toEqual(held(refTwo, incTwo));
    expect(two.badValues).toBe(1);
    expect(await two.releaseNode('one', incOne)).toBe(0);
  });

  it("regression: releasing a node's departed incarnation leaves the names its restarted process registered under the same node name", async () => {
    const { one, two } = await twoNodes();
    // Node 'one' died (incOne) and its names were released by a first observer; a process restarted under the name
    // 'one' (incarnation 2) registered the same name and another; a slow observer releases incOne's names only now.
    await one.register('svc', refOne, incOne);
    expect(await two.releaseNode('one', incOne)).toBe(1);
    const restarted = await ClusterNames.open(await connectNode(), { cluster: `names${clusters}`, node: 'one' });
    const fresh = { node: 'one', slot: 1, gen: 900 };
    await restarted.register('svc', fresh, 'one-incarnation-2');
    await restarted.register('other', { ...fresh, slot: 2 }, 'one-incarnation-2');
    expect(await two.releaseNode('one', incOne)).toBe(0);
    expect(await two.lookup('svc')).toEqual(held(fresh, 'one-incarnation-2'));
    expect(await two.lookup('other')).toEqual(held({ ...fresh, slot: 2 }, 'one-incarnation-2'));
    expect(await two.releaseNode('one', 'one-incarnation-2')).toBe(2);
  });

  it('the same ref registered again under a new incarnation (a rejoin) is stamped with it, so the old incarnation release leaves it', async () => {
    const { one, two } = await twoNodes();
    await one.register('svc', refOne, incOne);
    await one.register('svc', refOne, 'one-incarnation-2');
    expect(await two.lookup('svc')).toEqual(held(refOne, 'one-incarnation-2'));
    expect(await two.releaseNode('one', incOne)).toBe(0);
    expect(await two.lookup('svc')).toEqual(held(refOne, 'one-incarnation-2'));
  });

  it('register takes over a name whose holder is not live, by compare-and-set: a live holder that wrote it meanwhile keeps it', async () => {
    const { one, two } = await twoNodes();
    await one.register('svc', refOne, incOne);
    const asked: NameEntry[] = [];
    // one's process is gone: two takes the name over.
    await two.register('svc', refTwo, incTwo, async (holder) => {
      asked.push(holder);
      return false;
    });
    expect(asked).toEqual([held(refOne, incOne)]);
    expect(await one.lookup('svc')).toEqual(held(refTwo, incTwo));
    // Between two's read of the name and its update, a live process registers it (here: a new one, whose value the
    // first answer was not about). The update fails, the name is read again, and its live holder keeps it.
    await two.release('svc', refTwo);
    await one.register('svc', refOne, incOne);
    const fresh = { ...refOne, slot: 9 };
    let answers = 0;
    const taking = two.register('svc', refTwo, incTwo, async (holder) => {
      if (answers++ > 0) return holder.slot === fresh.slot;
      await two.release('svc', refOne);
      await one.register('svc', fresh, 'one-incarnation-2');
      return false;
    });
    await expect(taking).rejects.toBeInstanceOf(NameTakenError);
    expect(answers).toBe(2);
    expect(await two.lookup('svc')).toEqual(held(fresh, 'one-incarnation-2'));
  });

  it('a value without an incarnation (written before incarnations were stored) is found, and released with any incarnation of its node', async () => {
    const { two, raw } = await twoNodes();
    await raw.put(nameKey('legacy'), JSON.stringify({ name: 'legacy', ...refOne }));
    expect(await two.lookup('legacy')).toEqual({ ...refOne, incarnation: undefined });
    expect(await two.releaseNode('two', incTwo)).toBe(0);
    expect(await two.releaseNode('one', 'any-incarnation')).toBe(1);
    expect(await two.lookup('legacy')).toBeUndefined();
    expect(two.badValues).toBe(0);
  });

  it('a malformed value written by another client is ignored and counted, never thrown; register takes it over', async () => {
    const { one, two, raw } = await twoNodes();
    const garbage: [string, string | Uint8Array][] = [
      ['g1', 'not json'],
      ['g2', new Uint8Array([0xff, 0xfe, 0x7b])],
      ['g3', JSON.stringify({ name: 'g3', node: 'one', slot: -1, gen: 0 })],
      ['g4', JSON.stringify({ name: 'g4', node: 'one', slot: 0, gen: 2 ** 32 })],
      ['g5', JSON.stringify({ name: 'g5', node: 'one', slot: 1.5, gen: 0 })],
      ['g6', JSON.stringify({ name: 'other', node: 'one', slot: 0, gen: 0 })],
      ['g7', JSON.stringify({ name: 'g7', node: 'has space', slot: 0, gen: 0 })],
      ['g8', JSON.stringify([1, 2, 3])],
      ['g9', JSON.stringify({ name: 'g9', node: 'one', slot: '1', gen: 0 })],
      ['g10', JSON.stringify({ name: 'g10', node: 'one', slot: 1, gen: 0, incarnation: 5 })],
      ['g11', JSON.stringify({ name: 'g11', node: 'one', slot: 1, gen: 0, incarnation: '' })],
      ['g12', JSON.stringify({ name: 'g12', node: 'one', slot: 1, gen: 0, incarnation: 'x'.repeat(65) })],
      ['g13', JSON.stringify({ name: 'g13', node: 'one', slot: 1, gen: 0, incarnation: null })],
    ];
    for (const [name, value] of garbage) await raw.put(nameKey(name), value);
    for (const [name] of garbage) expect(await two.lookup(name)).toBeUndefined();
    expect(two.badValues).toBe(garbage.length);
    // Keys no name encodes to (a `.`, base64 padding): releaseNode skips and counts them too.
    await raw.put('not.base64url', 'x');
    await raw.put('YQ==', JSON.stringify({ name: 'a', node: 'one', slot: 0, gen: 0 }));
    const before = one.badValues;
    expect(await one.releaseNode('one', incOne)).toBe(0);
    expect(one.badValues).toBe(before + garbage.length + 2);
    await two.register('g1', refTwo, incTwo);
    expect(await one.lookup('g1')).toEqual(held(refTwo, incTwo));
    await one.release('g2', refOne);
    expect((await raw.get(nameKey('g2')))?.operation).toBe('PUT');
  });

  it('refuses bad names, refs and options with InvalidArgumentError / InvalidOptionError naming what and the value', async () => {
    const { one } = await twoNodes();
    const badNames: unknown[] = ['', 'x'.repeat(257), 5, undefined, '\ud800'];
    for (const name of badNames) {
      for (const call of [
        () => one.register(name as string, refOne, incOne),
        () => one.lookup(name as string),
        () => one.release(name as string, refOne),
      ]) {
        const err = await call().catch((e: unknown) => e);
        expect(err).toBeInstanceOf(InvalidArgumentError);
        expect((err as InvalidArgumentError).option).toBe('name');
        expect((err as InvalidArgumentError).value).toBe(name);
      }
    }
    const badRefs: [unknown, string, unknown][] = [
      [null, 'ref', null],
      [{ ...refOne, node: 'a.b' }, 'ref.node', 'a.b'],
      [{ ...refOne, slot: -1 }, 'ref.slot', -1],
      [{ ...refOne, slot: 2 ** 31 }, 'ref.slot', 2 ** 31],
      [{ ...refOne, gen: 0.5 }, 'ref.gen', 0.5],
      [{ node: 'one', slot: 1 }, 'ref.gen', undefined],
    ];
    for (const [ref, option, value] of badRefs) {
      const err = await one.register('n', ref as NamedRef, incOne).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(InvalidArgumentError);
      expect((err as InvalidArgumentError).option).toBe(option);
      expect((err as InvalidArgumentError).value).toEqual(value);
    }
    await expect(one.releaseNode('a b', incOne)).rejects.toMatchObject({ option: 'node', value: 'a b' });
    for (const incarnation of ['', 'x'.repeat(65), 7, undefined]) {
      for (const call of [() => one.register('n', refOne, incarnation as string), () => one.releaseNode('one', incarnation as string)]) {
        const err = await call().catch((e: unknown) => e);
        expect(err).toBeInstanceOf(InvalidArgumentError);
        expect((err as InvalidArgumentError).option).toBe('incarnation');
        expect((err as InvalidArgumentError).value).toBe(incarnation);
      }
    }
    const nc = await connectNode();
    for (const [options, option, value] of [
      [{ cluster: 'a.b', node: 'n' }, 'cluster', 'a.b'],
      [{ cluster: 'c', node: '' }, 'node', ''],
      [{ cluster: 'c', node: 'n', extra: 1 }, 'options.extra', 1],
    ] as const) {
      const err = await ClusterNames.open(nc, options as never).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(InvalidOptionError);
      expect((err as InvalidOptionError).option).toBe(option);
      expect((err as InvalidOptionError).value).toBe(value);
    }
  });
});

describe('NamesReplica', () => {
  const replicas: NamesReplica[] = [];
  afterEach(() => {
    for (const replica of replicas.splice(0)) replica.close();
  });

  /** A third node of the newest cluster, with its replica of the names (on a connection that reconnects for good). */
  async function replicaNode(): Promise<{ names: ClusterNames; replica: NamesReplica }> {
    const nc = await connect({ servers: server.url, maxReconnectAttempts: -1, reconnectTimeWait: 250 });
    connections.push(nc);
    const names = await ClusterNames.open(nc, { cluster: `names${clusters}`, node: 'three' });
    const replica = await NamesReplica.start(nc, names, { retryMs: 250, guardMs: 10_000 });
    replicas.push(replica);
    return { names, replica };
  }

  /** What `name` names in `replica`, once it shows there. */
  const shown = (replica: NamesReplica, name: string) =>
    eventually(
      () => replica.get(name),
      (entry) => entry !== undefined,
    );

  it('holds every name present when start resolves, then follows puts, deletes, purges and malformed values', async () => {
    const { one, two, raw } = await twoNodes();
    const slotOf = (name: string): NamedRef => ({ ...refOne, slot: name.charCodeAt(0) });
    for (const name of ['a', 'b', 'c']) await one.register(name, slotOf(name), incOne);
    await raw.put(nameKey('junk'), 'not json');
    // The bucket's last entry is a delete: the copy is complete once the watch has shown it too.
    await one.release('b', slotOf('b'));
    const { names, replica } = await replicaNode();
    expect(replica.get('a')).toEqual(held(slotOf('a'), incOne));
    expect(replica.get('c')).toEqual(held(slotOf('c'), incOne));
    expect(replica.get('b')).toBeUndefined();
    expect(replica.get('junk')).toBeUndefined();
    expect(replica.size).toBe(2);
    expect(names.badValues).toBe(1);

    await two.register('d', refTwo, incTwo);
    expect(await shown(replica, 'd')).toEqual(held(refTwo, incTwo));
    await one.release('a', slotOf('a'));
    await raw.purge(nameKey('c'));
    await eventually(
      () => [replica.get('a'), replica.get('c')],
      (entries) => entries.every((entry) => entry === undefined),
    );
    // A valid value overwritten by a malformed one: absent, and counted; so is a put under a key no name encodes to.
    await raw.put(nameKey('d'), JSON.stringify({ name: 'd', node: 'two', slot: -1, gen: 0, incarnation: incTwo }));
    await raw.put('not.base64url', 'x');
    await eventually(
      () => names.badValues,
      (count) => count === 3,
    );
    expect(replica.get('d')).toBeUndefined();
    expect(replica.size).toBe(0);
  });

  it('an empty bucket: start resolves at once, and the first name shows', async () => {
    const { one } = await twoNodes();
    const { replica } = await replicaNode();
    expect(replica.size).toBe(0);
    await one.register('first', refOne, incOne);
    expect(await shown(replica, 'first')).toEqual(held(refOne, incOne));
  });

  it("shows another node's register one watch delivery later (measured and printed)", async () => {
    const { one } = await twoNodes();
    const { replica } = await replicaNode();
    const seenMs: number[] = [];
    const registerMs: number[] = [];
    for (let i = 0; i < 30; i++) {
      const started = performance.now();
      await one.register(`m${i}`, { ...refOne, slot: i }, incOne);
      registerMs.push(performance.now() - started);
      // Polled on every turn of the event loop: the watch's delivery is handled on one of them.
      while (replica.get(`m${i}`) === undefined) {
        if (performance.now() - started > 5_000) throw new Error(`m${i} not seen within 5 s (hang guard)`);
        await new Promise((resolve) => setImmediate(resolve));
      }
      seenMs.push(performance.now() - started);
    }
    const median = (list: number[]): string => [...list].sort((x, y) => x - y)[15].toFixed(2);
    console.log(
      `names replica: a register on one connection is in another's replica ${median(seenMs)} ms after the register began ` +
        `(p50 of 30, max ${Math.max(...seenMs).toFixed(2)} ms); the register itself took ${median(registerMs)} ms (p50)`,
    );
    expect(replica.size).toBe(30);
  });

  it('follows a server restart: a new watch makes a fresh copy, with the names registered and released since', async () => {
    const { one } = await twoNodes();
    await one.register('before', refOne, incOne);
    const { replica } = await replicaNode();
    expect(replica.get('before')).toEqual(held(refOne, incOne));
    expect(replica.copies).toBe(1);
    await server.restart({ downMs: 500 });
    // Written by a client connected after the restart (one connected across it may lose its first request: 5 s).
    const after = await ClusterNames.open(await connectNode(), { cluster: `names${clusters}`, node: 'one' });
    await after.release('before', refOne);
    await after.register('after', refTwo, incTwo);
    await eventually(
      () => [replica.get('before'), replica.get('after'), replica.copies] as const,
      ([before, later, copies]) => before === undefined && later !== undefined && copies >= 2,
      15_000,
    );
    expect(replica.get('after')).toEqual(held(refTwo, incTwo));
  }, 30_000);
});

describe('createShared (cluster/kv.ts): a bucket other nodes may be creating at the same moment', () => {
  const overlap = () => new JetStreamApiError({ code: 400, err_code: 10065, description: 'subjects overlap with an existing stream' });

  it('creates again once when the create lost the race to another creator (10065), and returns what the second create opened', async () => {
    const answers: Array<() => Promise<string>> = [() => Promise.reject(overlap()), () => Promise.resolve('bucket')];
    let calls = 0;
    expect(await createShared(() => answers[calls++]())).toBe('bucket');
    expect(calls).toBe(2);
  });

  it('passes any other error on at once, and the second 10065 of a real overlap', async () => {
    let calls = 0;
    const other = new JetStreamApiError({ code: 503, err_code: 10039, description: 'jetstream not enabled for account' });
    const fail = (error: Error) => () => {
      calls++;
      return Promise.reject(error);
    };
    await expect(createShared(fail(other))).rejects.toBe(other);
    expect(calls).toBe(1);
    calls = 0;
    await expect(createShared(fail(overlap()))).rejects.toMatchObject({ code: 10065 });
    expect(calls).toBe(2);
  });
});
