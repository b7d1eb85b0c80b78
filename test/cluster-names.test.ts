/**
 * Cluster-wide names over NATS KV, against a real nats-server -js. Two nodes,
 * each on its own connection, share one cluster's names bucket; a raw client
 * writes what a buggy or hostile process could.
 */
import { type KV, Kvm } from '@nats-io/kv';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { InvalidArgumentError, InvalidOptionError, NameTakenError } from '../src/base/errors.js';
import { ClusterNames, type NamedRef, nameKey } from '../src/cluster/names.js';
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

describe('ClusterNames', () => {
  it('a name registered on one node is found from another, whatever characters it holds', async () => {
    const { one, two } = await twoNodes();
    const odd = ['billing', 'a.b', 'a_b', 'a b/c*>', 'über-名前 🐝', '=', 'x'.repeat(256)];
    for (const [i, name] of odd.entries()) await one.register(name, { ...refOne, slot: i });
    for (const [i, name] of odd.entries()) expect(await two.lookup(name)).toEqual({ ...refOne, slot: i });
    expect(await two.lookup('not-registered')).toBeUndefined();
    expect(two.badValues).toBe(0);
  });

  it('a name taken on one node is NameTakenError on another; the same ref registering again resolves', async () => {
    const { one, two } = await twoNodes();
    await one.register('worker', refOne);
    const err = await two.register('worker', refTwo).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NameTakenError);
    expect((err as NameTakenError).actorName).toBe('worker');
    await expect(one.register('worker', { ...refOne, gen: refOne.gen + 1 })).rejects.toBeInstanceOf(NameTakenError);
    await one.register('worker', refOne);
    expect(await two.lookup('worker')).toEqual(refOne);
  });

  it('release deletes a name only for the ref it names', async () => {
    const { one, two } = await twoNodes();
    await one.register('worker', refOne);
    await two.release('worker', refTwo);
    await two.release('worker', { ...refOne, gen: refOne.gen + 1 });
    expect(await two.lookup('worker')).toEqual(refOne);
    await one.release('worker', refOne);
    expect(await two.lookup('worker')).toBeUndefined();
    await two.register('worker', refTwo);
    expect(await one.lookup('worker')).toEqual(refTwo);
    await one.release('never-registered', refOne);
  });

  it('release does not delete a name registered again between its read and its delete', async () => {
    const { one, raw } = await twoNodes();
    await one.register('worker', refOne);
    // Forces the interleaving: right after release reads the name, the name is released and registered to another
    // actor (what a racing node would do).
    const internals = one as unknown as { kv: KV };
    const get = internals.kv.get.bind(internals.kv);
    internals.kv.get = async (key, options) => {
      const entry = await get(key, options);
      internals.kv.get = get;
      await raw.delete(key);
      await raw.create(key, JSON.stringify({ name: 'worker', ...refTwo }));
      return entry;
    };
    await one.release('worker', refOne);
    expect(await one.lookup('worker')).toEqual(refTwo);
  });

  it('releaseNode deletes every name of that node and no other', async () => {
    const { one, two, raw } = await twoNodes();
    for (const name of ['a', 'b', 'c']) await one.register(name, { ...refOne, slot: name.charCodeAt(0) });
    for (const name of ['d', 'e']) await two.register(name, refTwo);
    await raw.put(nameKey('junk'), 'not json');
    expect(await two.releaseNode('one')).toBe(3);
    for (const name of ['a', 'b', 'c']) expect(await two.lookup(name)).toBeUndefined();
    for (const name of ['d', 'e']) expect(await one.lookup(name)).toEqual(refTwo);
    expect(two.badValues).toBe(1);
    expect(await two.releaseNode('one')).toBe(0);
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
    ];
    for (const [name, value] of garbage) await raw.put(nameKey(name), value);
    for (const [name] of garbage) expect(await two.lookup(name)).toBeUndefined();
    expect(two.badValues).toBe(garbage.length);
    // Keys no name encodes to (a `.`, base64 padding): releaseNode skips and counts them too.
    await raw.put('not.base64url', 'x');
    await raw.put('YQ==', JSON.stringify({ name: 'a', node: 'one', slot: 0, gen: 0 }));
    const before = one.badValues;
    expect(await one.releaseNode('one')).toBe(0);
    expect(one.badValues).toBe(before + garbage.length + 2);
    await two.register('g1', refTwo);
    expect(await one.lookup('g1')).toEqual(refTwo);
    await one.release('g2', refOne);
    expect((await raw.get(nameKey('g2')))?.operation).toBe('PUT');
  });

  it('refuses bad names, refs and options with InvalidArgumentError / InvalidOptionError naming what and the value', async () => {
    const { one } = await twoNodes();
    const badNames: unknown[] = ['', 'x'.repeat(257), 5, undefined, '\ud800'];
    for (const name of badNames) {
      for (const call of [() => one.register(name as string, refOne), () => one.lookup(name as string), () => one.release(name as string, refOne)]) {
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
      const err = await one.register('n', ref as NamedRef).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(InvalidArgumentError);
      expect((err as InvalidArgumentError).option).toBe(option);
      expect((err as InvalidArgumentError).value).toEqual(value);
    }
    await expect(one.releaseNode('a b')).rejects.toMatchObject({ option: 'node', value: 'a b' });
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
