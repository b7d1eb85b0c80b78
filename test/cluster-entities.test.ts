/**
 * Cluster entities across three node processes on a nats-server -js this
 * file starts: one activation per key wherever the messages come from,
 * spread by rendezvous hashing; passivation when idle and activation again
 * from the checkpoint; a node killed with SIGKILL and its entities answering
 * again from the others with their last checkpointed state.
 */
import { existsSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BroadcastChannel } from 'node:worker_threads';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { Runtime } from '../src/index.js';
import { NodeProcess, entityKeyOn, startNodes } from './fixtures/cluster.js';
import { eventually } from './fixtures/helpers.js';
import { startNatsServer, type NatsServer } from './fixtures/nats.js';

const counter = new URL('./fixtures/entity-counter.ts', import.meta.url).href;
const cluster = 'etest';

let nats: NatsServer;
let nodes: NodeProcess[] = [];

function node(name: string): Promise<NodeProcess> {
  // Entities idle for 400 ms are passivated: the tests see passivation, and checkpoints carry the state across it.
  return NodeProcess.start({ servers: nats.url, name: cluster, node: name, entityIdleMs: 400 });
}

type Stats = { entities: { active: number; activated: number; passivated: number; takenOver: number; checkpoints: number } };

const ask = (n: NodeProcess, key: string, msg: unknown) => n.call<unknown>({ cmd: 'entityAsk', module: counter, key, msg, timeoutMs: 10_000 });

beforeAll(async () => {
  nats = await startNatsServer();
  nodes = await startNodes({ servers: nats.url, name: cluster, entityIdleMs: 400 }, ['a', 'b', 'c']);
}, 60_000);

afterAll(async () => {
  await Promise.all(nodes.map((n) => n.shutdown()));
  await nats?.stop();
});

describe('cluster entities', () => {
  it('activates each key once, wherever its messages come from, spread over the nodes; its state is kept', async () => {
    const keys = Array.from({ length: 20 }, (_, i) => `spread-${i}`);
    for (const key of keys) {
      // One message from each node, one after the other.
      for (const n of nodes) await ask(n, key, { type: 'add', n: 1 });
    }
    const where = await Promise.all(keys.map((key) => ask(nodes[0], key, { type: 'get' }) as Promise<{ n: number; pid: number }>));
    expect(where.map((w) => w.n)).toEqual(keys.map(() => 3));
    const pids = new Set(nodes.map((n) => n.child.pid));
    for (const w of where) expect(pids.has(w.pid)).toBe(true);
    // Rendezvous hashing spreads 20 keys over 3 nodes (all on one: probability 3^-19).
    expect(new Set(where.map((w) => w.pid)).size).toBeGreaterThan(1);
    // Each key answered from one process every time: asked from b and c, the same.
    const fromB = await Promise.all(keys.map((key) => ask(nodes[1], key, { type: 'where' })));
    expect(fromB).toEqual(where.map((w) => w.pid));
  }, 60_000);

  it('passivates an idle entity and activates it again from its checkpoint', async () => {
    const totals = async () => {
      const all = await Promise.all(nodes.map((n) => n.call<Stats>({ cmd: 'stats' })));
      return all.reduce(
        (sum, s) => ({
          active: sum.active + s.entities.active,
          passivated: sum.passivated + s.entities.passivated,
          checkpoints: sum.checkpoints + s.entities.checkpoints,
        }),
        { active: 0, passivated: 0, checkpoints: 0 },
      );
    };
    // The earlier test's entities passivate first: from here, only 'sleepy' is active.
    await eventually(totals, (t) => t.active === 0, 10_000);
    expect(await ask(nodes[0], 'sleepy', { type: 'add', n: 5 })).toBe(5);
    const saved = await totals();
    const idle = await eventually(totals, (t) => t.active === 0 && t.passivated > saved.passivated, 10_000);
    // Its state was saved after its message: passivating it writes nothing more.
    expect(idle.checkpoints).toBe(saved.checkpoints);
    // Back, from its snapshot: not init's 0.
    expect(await ask(nodes[1], 'sleepy', { type: 'add', n: 1 })).toBe(6);
  }, 30_000);

  it('a node killed with SIGKILL: its entities answer again from the other nodes, with their last checkpointed state', async () => {
    const d = await node('d');
    nodes.push(d);
    await eventually(
      () => nodes[0].call<string[]>({ cmd: 'members' }),
      (m) => m.join() === 'a,b,c,d',
      10_000,
    );
    // A key that d holds.
    const key = await entityKeyOn(nodes[0], d, 'd', counter);
    expect(key).not.toBe('');
    expect(await ask(nodes[0], key, { type: 'add', n: 7 })).toBe(7);
    // Its checkpoint is written.
    await eventually(
      () => d.call<Stats>({ cmd: 'stats' }),
      (s) => s.entities.checkpoints > 0,
    );
    const before = (await Promise.all(nodes.slice(0, 3).map((n) => n.call<Stats>({ cmd: 'stats' })))).reduce((t, s) => t + s.entities.takenOver, 0);
    const killedAt = Date.now();
    await d.kill();
    nodes.pop();
    // Asks made meanwhile fail (NodeUnreachableError, or their timeout); asked again, it answers from another node.
    const answer = await eventually(
      () => (ask(nodes[0], key, { type: 'get' }) as Promise<{ n: number; pid: number }>).catch((e: Error) => e),
      (r) => !(r instanceof Error),
      15_000,
    );
    console.log(`cluster: entity answered again ${Date.now() - killedAt} ms after SIGKILL of its node (downAfterMs 1500)`);
    expect(answer).toMatchObject({ n: 7 });
    expect((answer as { pid: number }).pid).not.toBe(d.child.pid);
    const after = (await Promise.all(nodes.map((n) => n.call<Stats>({ cmd: 'stats' })))).reduce((t, s) => t + s.entities.takenOver, 0);
    expect(after).toBeGreaterThan(before);
  }, 60_000);

  it('answers an ask only once its effect is saved: a node killed while saving has not answered, and the entity comes back without it', async () => {
    const e = await node('e');
    nodes.push(e);
    await eventually(
      () => nodes[0].call<string[]>({ cmd: 'members' }),
      (m) => m.includes('e') && !m.includes('d'),
      10_000,
    );
    const slowSave = new URL('./fixtures/entity-slow-save.ts', import.meta.url).href;
    const askSlow = (key: string, msg: unknown) => nodes[0].call<unknown>({ cmd: 'entityAsk', module: slowSave, key, msg, timeoutMs: 20_000 });
    const key = await entityKeyOn(nodes[0], e, 'e', slowSave);
    expect(key).not.toBe('');
    expect(await askSlow(key, { type: 'add', n: 1 })).toBe(1);
    const marker = join(await mkdtemp(join(tmpdir(), 'microswarm-save-')), 'saving');
    const pending = askSlow(key, { type: 'add', n: 10, slowSave: { marker, ms: 20_000 } }).then(
      (value) => ({ answered: value }),
      (error: Error) => ({ failed: error.name }),
    );
    // Its handler ran (n is 11 in memory) and its snapshot is being taken: kill the node now.
    await eventually(
      () => existsSync(marker),
      (there) => there,
      10_000,
    );
    await e.kill();
    nodes.pop();
    expect(await pending).toMatchObject({ failed: expect.any(String) });
    // Back elsewhere from the last saved state: the unanswered add is not in it.
    const after = await eventually(
      () => askSlow(key, { type: 'get' }).catch((err: Error) => err),
      (r) => !(r instanceof Error),
      15_000,
    );
    expect(after).toBe(1);
  }, 60_000);

  it('a node that shuts down passivates its entities first: they answer from another node with their state, without a takeover', async () => {
    const f = await node('f');
    await eventually(
      () => nodes[0].call<string[]>({ cmd: 'members' }),
      (m) => m.includes('f'),
      10_000,
    );
    const key = await entityKeyOn(nodes[0], f, 'f', counter);
    expect(key).not.toBe('');
    expect(await ask(nodes[0], key, { type: 'add', n: 3 })).toBe(3);
    const takenOver = async () => (await Promise.all(nodes.map((n) => n.call<Stats>({ cmd: 'stats' })))).reduce((t, s) => t + s.entities.takenOver, 0);
    const before = await takenOver();
    await f.shutdown();
    expect(await ask(nodes[0], key, { type: 'get' })).toMatchObject({ n: 3 });
    expect(await ask(nodes[0], key, { type: 'where' })).not.toBe(f.child.pid);
    // Its lease was released, not taken from a node gone silent.
    expect(await takenOver()).toBe(before);
  }, 30_000);

  it('an entity whose actor stopped itself is activated again on a later message, from its snapshot', async () => {
    expect(await ask(nodes[0], 'self-stop', { type: 'add', n: 4 })).toBe(4);
    // Its answer may fail (its last snapshot could not be taken from a stopping actor): what matters is what follows.
    await ask(nodes[0], 'self-stop', { type: 'stopSelf' }).catch(() => undefined);
    const back = await eventually(
      () => (ask(nodes[0], 'self-stop', { type: 'get' }) as Promise<{ n: number }>).catch((e: Error) => e),
      (r) => !(r instanceof Error),
      10_000,
    );
    expect(back).toMatchObject({ n: 4 });
    expect(await ask(nodes[1], 'self-stop', { type: 'add', n: 1 })).toBe(5);
  }, 30_000);

  it('refuses a bad key, and an entity on a runtime that is not a cluster node', async () => {
    await expect(ask(nodes[0], '', { type: 'get' })).rejects.toMatchObject({ name: 'InvalidArgumentError' });
    const rt = await Runtime.start({ threads: 1 });
    try {
      expect(() => rt.entity(counter, 'k')).toThrow(expect.objectContaining({ name: 'InvalidOptionError', option: 'cluster' }));
      expect(() => rt.entity(new URL('./fixtures/nope.ts', import.meta.url), 'k')).toThrow(expect.objectContaining({ name: 'ActorModuleError' }));
      // Other nodes import an entity's module from disk: a data: URL is refused.
      expect(() => rt.entity('data:text/javascript,export default 1', 'k')).toThrow(
        expect.objectContaining({ name: 'InvalidArgumentError', option: 'moduleUrl' }),
      );
      // Options are checked first, on any runtime.
      expect(() => rt.entity(counter, 'k', { delivery: 'exactly-once' as never })).toThrow(
        expect.objectContaining({ name: 'InvalidOptionError', option: 'delivery', value: 'exactly-once' }),
      );
      expect(() => rt.entity(counter, 'k', { deliver: 'at-least-once' } as never)).toThrow(expect.objectContaining({ name: 'InvalidOptionError' }));
      expect(() => rt.entity(counter, 'k', 'at-least-once' as never)).toThrow(expect.objectContaining({ name: 'InvalidOptionError', option: 'options' }));
    } finally {
      await rt.shutdown();
    }
  });
});

describe('an in-process node shutting down', () => {
  it('an entity that fails as shutdown begins: its last checkpoint does not wait for a restart that will not come, and the shutdown ends', async () => {
    const rt = await Runtime.start({ threads: 2, cluster: { servers: nats.url, name: 'eshut1', node: 'solo' } });
    onTestFinished(() => rt.shutdown({ timeoutMs: 500 }));
    const e = rt.entity(counter, 'fails-at-shutdown');
    expect(await e.ask({ type: 'add', n: 1 })).toBe(1);
    const channel = `entity-${process.pid}-${Math.random()}`;
    const port = new BroadcastChannel(channel);
    const busy = new Promise((resolve) => (port.onmessage = resolve));
    // Its answer waits for a checkpoint, which waits for the handler after it.
    const added = e.ask({ type: 'add', n: 1 });
    const boom = e.ask({ type: 'slowBoom', channel });
    added.catch(() => undefined);
    boom.catch(() => undefined);
    await busy;
    // The failure reaches the root supervisor after shutdown began: no
    // restart comes, and (a long deadline) nothing else would end the wait
    // of its last checkpoint for one.
    let down: Promise<void> | undefined;
    rt.failures.subscribe((f) => {
      if (f.phase === 'receive') down ??= rt.shutdown({ timeoutMs: 60_000 });
    });
    port.postMessage('go');
    port.close();
    // Answered with its failure (its checkpoint could not be taken from an actor stopping).
    await expect(boom).rejects.toThrow();
    // The failure notice reached the main thread before its answer: shutdown began.
    expect(down).toBeDefined();
    await down;
  }, 30_000);

  it('an entity whose handler never settles does not hold the shutdown past its deadline', async () => {
    const rt = await Runtime.start({ threads: 2, cluster: { servers: nats.url, name: 'eshut2', node: 'solo' } });
    onTestFinished(() => rt.shutdown({ timeoutMs: 500 }));
    const e = rt.entity(counter, 'never-settles');
    expect(await e.ask({ type: 'add', n: 1 })).toBe(1);
    e.ask({ type: 'hang' }, { timeoutMs: 60_000 }).catch(() => undefined);
    // Its passivation (the stop of its actor) waits for that handler; the deadline ends the wait.
    await rt.shutdown({ timeoutMs: 300 });
  }, 30_000);
});
