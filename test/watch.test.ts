/** Death watch: ctx.watch delivers Terminated once, on any thread, even for an actor already gone. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ActorRef, InvalidArgumentError, Runtime } from '../src/index.js';
import { collectDeadLetters, eventually } from './fixtures/helpers.js';
import type { Cell } from '../src/actors/cell.js';
import type { Engine } from '../src/engine/parts.js';
import { DeathWatch } from '../src/engine/watch.js';
import type { WatcherMsg } from './fixtures/watcher.js';

const watcherUrl = new URL('./fixtures/watcher.ts', import.meta.url);
const counterUrl = new URL('./fixtures/counter.ts', import.meta.url);

type Seen = Array<{ actor: string; reason: string }>;

let rt: Runtime;

async function watcherOn(thread: number): Promise<ActorRef<WatcherMsg, unknown>> {
  return rt.spawn<WatcherMsg, unknown>(watcherUrl, undefined, { thread });
}

const seenBy = (watcher: ActorRef<WatcherMsg, unknown>) => watcher.ask({ type: 'seen' }) as Promise<Seen>;

describe('ctx.watch', () => {
  beforeEach(async () => {
    rt = await Runtime.start({ threads: 2 });
  });
  afterEach(async () => {
    await rt.shutdown();
  });

  it.each([
    ['on the same thread', 0],
    ['on another thread', 1],
  ])('delivers Terminated once when a watched actor %s stops', async (_, targetThread) => {
    const watcher = await watcherOn(0);
    const target = await rt.spawn(counterUrl, undefined, { thread: targetThread });
    await watcher.ask({ type: 'watch', ref: target });
    await rt.stop(target);
    const seen = await eventually(
      () => seenBy(watcher),
      (s) => s.length > 0,
    );
    expect(seen).toEqual([{ actor: target.id, reason: 'stopped' }]);
    // Once only: a later look still shows one.
    await watcher.ask({ type: 'seen' });
    expect(await seenBy(watcher)).toHaveLength(1);
  });

  it('delivers Terminated at once for an actor that has already stopped', async () => {
    const watcher = await watcherOn(1);
    const target = await rt.spawn(counterUrl, undefined, { thread: 0 });
    await rt.stop(target);
    await watcher.ask({ type: 'watch', ref: target });
    expect(
      await eventually(
        () => seenBy(watcher),
        (s) => s.length > 0,
      ),
    ).toEqual([{ actor: target.id, reason: 'stopped' }]);
  });

  it('tells every watcher, and says nothing after unwatch', async () => {
    const [a, b] = await Promise.all([watcherOn(0), watcherOn(1)]);
    const target = await rt.spawn(counterUrl, undefined, { thread: 1 });
    await a.ask({ type: 'watch', ref: target });
    await b.ask({ type: 'watch', ref: target });
    await b.ask({ type: 'unwatch', ref: target });
    await rt.stop(target);
    expect(
      await eventually(
        () => seenBy(a),
        (s) => s.length > 0,
      ),
    ).toHaveLength(1);
    // b unwatched before the stop: after a round trip through both threads it has seen nothing.
    await a.ask({ type: 'seen' });
    expect(await seenBy(b)).toEqual([]);
  });

  it('sends no dead letter to a watcher that stopped first', async () => {
    const watcher = await watcherOn(0);
    const target = await rt.spawn(counterUrl, undefined, { thread: 1 });
    await watcher.ask({ type: 'watch', ref: target });
    watcher.tell({ type: 'stopSelf' });
    await eventually(
      () => rt.stats().liveActors,
      (n) => n === 1,
    );
    const letters = collectDeadLetters(rt);
    await rt.stop(target);
    await counterAlive(rt);
    expect(letters).toEqual([]);
  });

  it('refuses something that is not a ref, with InvalidArgumentError', async () => {
    const watcher = await watcherOn(0);
    const err = await watcher.ask({ type: 'watch', ref: 'nope' as unknown as ActorRef }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidArgumentError);
    expect((err as InvalidArgumentError).value).toBe('nope');
  });

  it('refuses a ref of another node outside a cluster, with InvalidArgumentError naming it', async () => {
    const watcher = await watcherOn(0);
    const elsewhere = new ActorRef(1, 1, undefined, undefined, 'elsewhere');
    const err = await watcher.ask({ type: 'watch', ref: elsewhere }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidArgumentError);
    expect((err as InvalidArgumentError).value).toBe('Actor(elsewhere/1.1)');
  });
});

/** A round trip through both threads, so that anything sent before has arrived. */
async function counterAlive(runtime: Runtime): Promise<void> {
  const probes = await Promise.all([0, 1].map((thread) => runtime.spawn(counterUrl, undefined, { thread })));
  await Promise.all(probes.map((p) => p.ask({ type: 'get' })));
}

describe('DeathWatch (unit)', () => {
  // On a cluster, a stop of the watched actor can overtake both WATCH records
  // of a watch made twice; its node then answers each at once. One watch, so
  // the watcher takes one Terminated and drops the second.
  it('makes a watch made twice one watch: one WATCH record, and a second Terminated is dropped', () => {
    const sent: string[] = [];
    const engine = { config: { node: 'a' }, router: { sendWatch: (kind: number, target: ActorRef) => sent.push(`${kind}:${target.id}`) } };
    const watch = new DeathWatch(engine as unknown as Engine);
    const cell = { stopped: false, ref: new ActorRef(3, 1, undefined), watching: undefined } as unknown as Cell;
    const target = () => new ActorRef(5, 2, undefined, undefined, 'b');
    watch.watch(cell, target());
    watch.watch(cell, target());
    expect(sent).toHaveLength(1);
    const terminated = { type: 'terminated', actor: target(), reason: 'stopped' };
    expect(watch.isUnexpected(cell, terminated)).toBe(false);
    expect(watch.isUnexpected(cell, { ...terminated })).toBe(true);
  });
});
