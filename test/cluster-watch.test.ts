/**
 * Death watch across cluster nodes (each node a child process, on a
 * nats-server -js this file starts): an actor of node a watches actors of
 * b (and of c, which is killed with SIGKILL). The watcher gets one
 * Terminated when the watched actor stops, at once for one that does not
 * exist or a node that is not a member, and 'node-down' when the node is
 * declared down, also for a watch made while it was only unreachable.
 * Unwatching, or a watcher that stops, ends the watch on the other node
 * too: no Terminated crosses afterwards. A crash of the watched actor's
 * thread tells the watcher ('crashed') or keeps the watch (brought back).
 *
 * The nodes declare a member down after 4 s of silence (unreachable after
 * 0.75 s), so the watch made while c is unreachable is made before c is down.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NodeProcess, membersAre, type WireRef } from './fixtures/cluster.js';
import { eventually } from './fixtures/helpers.js';
import { startNatsServer, type NatsServer } from './fixtures/nats.js';

const watcherUrl = new URL('./fixtures/watcher.ts', import.meta.url);
const counterUrl = new URL('./fixtures/counter.ts', import.meta.url);
const crashyUrl = new URL('./fixtures/crashy.ts', import.meta.url);
const cluster = 'watchtest';

type Seen = Array<{ actor: string; reason: string }>;
type Stats = { watching: number; recordsReceived: number };

let nats: NatsServer;
let a: NodeProcess;
let b: NodeProcess;

function start(node: string): Promise<NodeProcess> {
  return NodeProcess.start({ servers: nats.url, name: cluster, node, downAfterMs: 4_000 });
}

const ref = (r: WireRef) => ({ $ref: r });
const id = (r: WireRef) => `${r.node}/${r.slot}.${r.gen}`;
const stats = (n: NodeProcess) => n.call<Stats>({ cmd: 'stats' });
const watch = (watcher: WireRef, target: WireRef) => a.call({ cmd: 'ask', to: watcher, msg: { type: 'watch', ref: ref(target) } });
const seen = (watcher: WireRef) => a.call<Seen>({ cmd: 'ask', to: watcher, msg: { type: 'seen' } });
/** What `watcher` has seen, asked from b: the ask travels on b's stream to a after anything b sent before. */
const seenAfterB = (watcher: WireRef) => b.call<Seen>({ cmd: 'ask', to: watcher, msg: { type: 'seen' } });
const firstSeen = (watcher: WireRef) =>
  eventually(
    () => seen(watcher),
    (s) => s.length > 0,
    15_000,
  );

beforeAll(async () => {
  nats = await startNatsServer();
  [a, b] = await Promise.all([start('a'), start('b')]);
  await membersAre([a, b]);
}, 60_000);

afterAll(async () => {
  await Promise.all([a?.shutdown(), b?.shutdown()]);
  await nats?.stop();
});

describe('ctx.watch of an actor of another node', () => {
  it("delivers Terminated ('stopped') once when the watched actor stops, for a watch made twice", async () => {
    const target = await b.spawn(counterUrl);
    const watcher = await a.spawn(watcherUrl, undefined, { thread: 1 });
    await watch(watcher, target);
    await watch(watcher, target);
    expect((await stats(a)).watching).toBe(1);
    await b.call({ cmd: 'stop', ref: target });
    expect(await firstSeen(watcher)).toEqual([{ actor: id(target), reason: 'stopped' }]);
    // Anything b sent before this ask has arrived: still one.
    expect(await seenAfterB(watcher)).toEqual([{ actor: id(target), reason: 'stopped' }]);
    // The watch was answered: a keeps nothing of it.
    expect((await stats(a)).watching).toBe(0);
  });

  it("delivers Terminated ('stopped') at once for a slot or generation that names no actor there, and ('node-down') for a node that is not a member", async () => {
    const watcher = await a.spawn(watcherUrl);
    const live = await b.spawn(counterUrl);
    const noSlot: WireRef = { slot: 2 ** 30, gen: 7, node: 'b' };
    const noGen: WireRef = { slot: live.slot, gen: live.gen + 1_000, node: 'b' };
    const noNode: WireRef = { slot: 1, gen: 1, node: 'nowhere' };
    for (const target of [noSlot, noGen, noNode]) await watch(watcher, target);
    const all = await eventually(
      () => seen(watcher),
      (s) => s.length >= 3,
      15_000,
    );
    expect(all).toEqual(
      expect.arrayContaining([
        { actor: id(noSlot), reason: 'stopped' },
        { actor: id(noGen), reason: 'stopped' },
        { actor: id(noNode), reason: 'node-down' },
      ]),
    );
    expect(all).toHaveLength(3);
    expect((await stats(a)).watching).toBe(0);
  });

  it('sends no Terminated after unwatch, nor to a watcher that stopped: the watch ends on the other node too', async () => {
    const unwatched = await b.spawn(counterUrl);
    const watcher = await a.spawn(watcherUrl);
    await watch(watcher, unwatched);
    await a.call({ cmd: 'ask', to: watcher, msg: { type: 'unwatch', ref: ref(unwatched) } });
    // A watcher that stops while watching.
    const leaving = await a.spawn(watcherUrl, undefined, { thread: 1 });
    const watchedByLeaving = await b.spawn(counterUrl);
    await watch(leaving, watchedByLeaving);
    expect((await stats(a)).watching).toBe(1);
    await a.call({ cmd: 'tell', to: leaving, msg: { type: 'stopSelf' } });
    await eventually(
      () => stats(a),
      (s) => s.watching === 0,
    );
    const before = (await stats(a)).recordsReceived;
    await b.call({ cmd: 'stop', ref: unwatched });
    await b.call({ cmd: 'stop', ref: watchedByLeaving });
    expect(await seenAfterB(watcher)).toEqual([]);
    // The only record b sent a since is that ask: b no longer held either watcher.
    expect((await stats(a)).recordsReceived - before).toBe(1);
  });

  it("survives a crash of the watched actor's thread: Terminated ('crashed') for an actor lost with it, the watch kept on one brought back", async () => {
    const parent = await b.spawn(crashyUrl, undefined, { thread: 0 });
    const child = await b.call<WireRef>({ cmd: 'ask', to: parent, msg: { type: 'spawnLocal' } });
    const watcher = await a.spawn(watcherUrl);
    await watch(watcher, child);
    await watch(watcher, parent);
    await b.call({ cmd: 'killThread', thread: 0 });
    expect(await firstSeen(watcher)).toEqual([{ actor: id(child), reason: 'crashed' }]);
    // The parent was brought back in its slot, and its new cell has the watcher of a again.
    await b.call({ cmd: 'stop', ref: parent });
    expect(
      await eventually(
        () => seen(watcher),
        (s) => s.length > 1,
        15_000,
      ),
    ).toEqual([
      { actor: id(child), reason: 'crashed' },
      { actor: id(parent), reason: 'stopped' },
    ]);
  });

  it("delivers Terminated ('shutdown') when the watched actor's node shuts down", async () => {
    const d = await start('d');
    try {
      await membersAre([a, b, d]);
      const target = await d.spawn(counterUrl);
      const watcher = await a.spawn(watcherUrl);
      await watch(watcher, target);
      await d.shutdown();
      expect(await firstSeen(watcher)).toEqual([{ actor: id(target), reason: 'shutdown' }]);
      await membersAre([a, b]);
      expect(await seen(watcher)).toHaveLength(1);
    } finally {
      await d.kill();
    }
  }, 30_000);

  it("delivers Terminated ('node-down') when the watched actor's node is killed and declared down, also for a watch made while it was only unreachable", async () => {
    const c = await start('c');
    try {
      await membersAre([a, b, c]);
      const [early, late] = [await c.spawn(counterUrl), await c.spawn(counterUrl)];
      const [watchedEarly, watchedLate] = [await a.spawn(watcherUrl), await a.spawn(watcherUrl, undefined, { thread: 1 })];
      await watch(watchedEarly, early);
      await c.kill();
      await eventually(
        () => a.call<Array<{ type: string; node: string }>>({ cmd: 'events' }),
        (events) => events.some((e) => e.type === 'unreachable' && e.node === 'c'),
        10_000,
      );
      await watch(watchedLate, late);
      // Still a member (unreachable, not down): the watch went to c and is kept.
      expect((await stats(a)).watching).toBe(2);
      expect(await firstSeen(watchedEarly)).toEqual([{ actor: id(early), reason: 'node-down' }]);
      expect(await firstSeen(watchedLate)).toEqual([{ actor: id(late), reason: 'node-down' }]);
      const events = await a.call<Array<{ type: string; node: string; reason?: string }>>({ cmd: 'events' });
      expect(events).toContainEqual(expect.objectContaining({ type: 'left', node: 'c', reason: 'down' }));
      expect((await stats(a)).watching).toBe(0);
      // Once: a later look still shows one each.
      expect(await seen(watchedEarly)).toHaveLength(1);
    } finally {
      await c.kill();
    }
  }, 30_000);
});
