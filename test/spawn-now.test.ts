/**
 * `ctx.spawnNow` (engine/spawning.ts): a child on its parent's thread whose
 * ref is returned at once. Each test starts its own runtime, so which actor
 * modules a thread has loaded is known: a module loaded there starts the
 * child before spawnNow returns; one not loaded yet starts it once loaded,
 * its messages waiting in its mailbox meanwhile. The child fixture records
 * on its thread which children's init ran (spawn-now-child.ts).
 */
import { BroadcastChannel } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { type ActorFailure, ActorInitError, ActorModuleError, type ActorRef, ActorStoppedError, type Terminated } from '../src/index.js';
import { Gate, collectDeadLetters, eventually, useRuntime } from './fixtures/helpers.js';
import type { ChildMsg } from './fixtures/spawn-now-child.js';
import type { SpawnNowMsg, TryResult } from './fixtures/spawn-now.js';

const parentUrl = new URL('./fixtures/spawn-now.ts', import.meta.url);
const childUrl = new URL('./fixtures/spawn-now-child.ts', import.meta.url);
const parentAllUrl = new URL('./fixtures/spawn-now-all.ts', import.meta.url);
const initThrowsUrl = new URL('./fixtures/init-throws.ts', import.meta.url);
const throwsOnImportUrl = new URL('./fixtures/throws-on-import.ts', import.meta.url);
const heldPhasesUrl = new URL('./fixtures/checkpoint-phases-held.ts', import.meta.url);

const start = useRuntime({ threads: 2 });

type Spawned = { child: ActorRef<ChildMsg>; started: boolean; children: number };
type Seen = { terminated: Terminated[]; started: string[] };
const logs = (...values: number[]): ChildMsg[] => values.map((value) => ({ type: 'log', value }));
const same = (a: ActorRef, b: ActorRef) => a.slot === b.slot && a.gen === b.gen;

describe('ctx.spawnNow', () => {
  it("returns the ref at once, the child started in that call when its module is loaded on the parent's thread; messages told in the same turn are handled in order", async () => {
    const rt = await start();
    await rt.spawn(childUrl, { tag: 'loader' }, { thread: 1 }); // loads the child's module on thread 1
    const parent = await rt.spawn<SpawnNowMsg>(parentUrl, undefined, { thread: 1 });
    const { child, started } = (await parent.ask({ type: 'spawnNow', module: childUrl.href, args: { tag: 'a' }, tell: logs(1, 2, 3) })) as Spawned;
    expect(started).toBe(true);
    expect(await child.ask({ type: 'history' })).toEqual([1, 2, 3]);
    expect(await child.ask({ type: 'thread' })).toBe(1);
    const children = (await parent.ask({ type: 'children' })) as ActorRef[];
    expect(children.map((c) => [c.slot, c.gen])).toEqual([[child.slot, child.gen]]);
  });

  it('starts a child whose module the thread has not loaded yet once it has loaded, a child of its parent from the start, and hands it the messages sent meanwhile', async () => {
    const rt = await start();
    const parent = await rt.spawn<SpawnNowMsg>(parentUrl, undefined, { thread: 0 });
    const {
      child,
      started,
      children: childrenThen,
    } = (await parent.ask({
      type: 'spawnNow',
      module: childUrl.href,
      args: { tag: 'b' },
      tell: logs(0, 1, 2, 3),
    })) as Spawned;
    expect(started).toBe(false);
    expect(childrenThen).toBe(1); // one of the parent's children before it has started
    expect(await child.ask({ type: 'history' })).toEqual([0, 1, 2, 3]);
    expect(((await parent.ask({ type: 'seen' })) as Seen).started).toEqual(['b']);
    const children = (await parent.ask({ type: 'children' })) as ActorRef[];
    expect(children.map((c) => c.slot)).toEqual([child.slot]);
  });

  it('holds the messages told in the spawning turn while an async init runs, then handles them in order', async () => {
    const rt = await start();
    await rt.spawn(childUrl, { tag: 'loader' }, { thread: 0 }); // loaded: the child's own init is what is awaited
    const parent = await rt.spawn<SpawnNowMsg>(parentUrl, undefined, { thread: 0 });
    const gate = new Gate();
    try {
      const args = { tag: 'gated', gate: gate.channel };
      const { child } = (await parent.ask({ type: 'spawnNow', module: childUrl.href, args, tell: logs(1, 2) })) as Spawned;
      await gate.entered;
      const history = child.ask({ type: 'history' }); // queued behind the two, while init waits
      child.tell({ type: 'log', value: 3 });
      gate.release();
      expect(await history).toEqual([1, 2]);
      expect(await child.ask({ type: 'history' })).toEqual([1, 2, 3]);
    } finally {
      gate.close();
    }
  });

  it("publishes a failed start on rt.failures (phase 'init', ActorInitError), makes dead letters of its messages, tells its watcher, and frees its slot, whether the module was loaded or not", async () => {
    const rt = await start();
    const failures: ActorFailure[] = [];
    rt.failures.subscribe((event) => failures.push(event));
    const letters = collectDeadLetters(rt);
    const parent = await rt.spawn<SpawnNowMsg>(parentUrl, undefined, { thread: 0 });
    const baseline = rt.stats().liveActors;
    for (const round of [1, 2]) {
      // Round 1 loads init-throws.ts on the thread and fails once loaded; round 2's init (loaded now) rejects
      // after spawnNow has returned. Either way the watch made in the spawning turn sees it fail.
      const args = { message: `boom ${round}`, async: round === 2 };
      const { child } = (await parent.ask({ type: 'spawnNow', module: initThrowsUrl.href, args, tell: [{ round }], watch: true })) as Spawned;
      const event = await eventually(
        () => failures.find((f) => same(f.actor, child)),
        (found) => found !== undefined,
      );
      expect(event?.phase).toBe('init');
      expect(event?.error).toBeInstanceOf(ActorInitError);
      expect((event?.error.cause as Error | undefined)?.message).toBe(`boom ${round}`);
      const mine = await eventually(
        () => letters.filter((l) => same(l.recipient, child)),
        (found) => found.length === 1,
      );
      expect(mine[0]).toMatchObject({ message: { round }, reason: 'stopped' });
      const seen = await eventually(
        async () => ((await parent.ask({ type: 'seen' })) as Seen).terminated.filter((t) => same(t.actor, child)),
        (found) => found.length === 1,
      );
      expect(seen[0].reason).toBe('failed');
      await expect(child.ask({ type: 'history' })).rejects.toBeInstanceOf(ActorStoppedError);
      await rt.stop(child); // settles at once: it is gone
      expect(rt.stats().liveActors).toBe(baseline);
      expect(await parent.ask({ type: 'children' })).toEqual([]);
    }
  });

  it("publishes a module that fails to load on rt.failures (phase 'init') with the loader's error", async () => {
    const rt = await start();
    const failures: ActorFailure[] = [];
    rt.failures.subscribe((event) => failures.push(event));
    const parent = await rt.spawn<SpawnNowMsg>(parentUrl, undefined, { thread: 0 });
    const baseline = rt.stats().liveActors;
    const { child } = (await parent.ask({ type: 'spawnNow', module: throwsOnImportUrl.href })) as Spawned;
    const event = await eventually(
      () => failures.find((f) => same(f.actor, child)),
      (found) => found !== undefined,
    );
    expect(event?.phase).toBe('init');
    expect(event?.error).toBeInstanceOf(ActorModuleError);
    expect(event?.error.message).toContain('top-level failure in throws-on-import');
    expect(rt.stats().liveActors).toBe(baseline);
  });

  it('stops the child with its parent when the parent stops in the turn that spawned it; one still loading never runs its init', async () => {
    const rt = await start();
    await rt.spawn(childUrl, { tag: 'loader' }, { thread: 1 });
    const witness = await rt.spawn<SpawnNowMsg>(parentUrl, undefined, { thread: 0 });
    const baseline = rt.stats().liveActors;
    for (const [tag, thread] of [
      ['loaded', 1],
      ['loading', 0],
    ] as const) {
      const parent = await rt.spawn<SpawnNowMsg>(parentUrl, undefined, { thread });
      const child = (await parent.ask({ type: 'spawnNowThenStop', module: childUrl.href, args: { tag } })) as ActorRef<ChildMsg>;
      await eventually(
        () => rt.stats().liveActors,
        (live) => live === baseline,
      );
      await expect(child.ask({ type: 'history' })).rejects.toBeInstanceOf(ActorStoppedError);
      await expect(parent.ask({ type: 'children' })).rejects.toBeInstanceOf(ActorStoppedError);
    }
    // Thread 0 had not loaded the child's module: the child stopped before its init could run.
    expect(((await witness.ask({ type: 'seen' })) as Seen).started).toEqual([]);
  });

  it('makes rt.checkpoint of a child still starting wait for its state, and rt.stop wait for its init (the stop wins over a checkpoint asked with it)', async () => {
    const rt = await start();
    const loader = await rt.spawn(childUrl, { tag: 'loader' }, { thread: 0 });
    const parent = await rt.spawn<SpawnNowMsg>(parentUrl, undefined, { thread: 0 });
    const baseline = rt.stats().liveActors;
    const gates = [new Gate(), new Gate()];
    try {
      const spawnGated = async (tag: string, gate: Gate) =>
        ((await parent.ask({ type: 'spawnNow', module: childUrl.href, args: { tag, gate: gate.channel }, tell: logs(7), watch: true })) as Spawned).child;
      // A checkpoint alone: it waits for the state init builds, then takes it.
      const a = await spawnGated('checkpointed', gates[0]);
      await gates[0].entered;
      let checkpointed = false;
      const checkpoint = rt.checkpoint(a).then((bytes) => {
        checkpointed = true;
        return bytes;
      });
      // rt.suspend travels as rt.checkpoint does (a control task to the same thread, handled in order):
      // once it is answered, the checkpoint request has reached the child.
      await rt.suspend(loader);
      await rt.resume(loader);
      expect(checkpointed).toBe(false);
      gates[0].release();
      expect(await checkpoint).toBeGreaterThan(0);
      expect(await a.ask({ type: 'history' })).toEqual([7]);
      // A stop and a checkpoint: the stop waits for init, then ends it; the checkpoint fails with it.
      const b = await spawnGated('stopped', gates[1]);
      await gates[1].entered;
      let settled = false;
      const refused = rt.checkpoint(b).catch((err: unknown) => err);
      const stopped = rt.stop(b).then(() => (settled = true));
      // The parent is on the child's thread: once it has answered, that thread has the stop (same ring, in order).
      await parent.ask({ type: 'seen' });
      expect(settled).toBe(false); // it waits for the init the gate holds
      gates[1].release();
      await stopped;
      expect(await refused).toBeInstanceOf(ActorStoppedError);
      await rt.stop(a);
      expect(rt.stats().liveActors).toBe(baseline);
      const seen = await eventually(
        async () => (await parent.ask({ type: 'seen' })) as Seen,
        (s) => s.terminated.length === 2,
      );
      expect(seen.terminated.map((t) => t.reason)).toEqual(['stopped', 'stopped']);
      expect(await parent.ask({ type: 'children' })).toEqual([]);
    } finally {
      for (const gate of gates) gate.close();
    }
  });

  it('makes rt.checkpoint of a child whose module is still loading wait for its state (it has no definition of its own yet)', async () => {
    // No standby thread: it would load the module too, and wait at the gate after this test.
    const rt = await start({ standbyThreads: 0 });
    const loader = await rt.spawn(childUrl, { tag: 'loader' }, { thread: 0 });
    const parent = await rt.spawn<SpawnNowMsg>(parentUrl, undefined, { thread: 0 });
    // checkpoint-phases-held.ts says 'loading:<threadId>' on this channel and waits for an answer before it loads.
    const loads = new BroadcastChannel(`microswarm-load-${process.pid}`);
    try {
      const loading = new Promise((resolve) => (loads.onmessage = resolve));
      const { child } = (await parent.ask({ type: 'spawnNow', module: heldPhasesUrl.href, args: { count: 7 } })) as Spawned;
      await loading;
      let checkpointed = false;
      const checkpoint = rt.checkpoint(child).then((bytes) => {
        checkpointed = true;
        return bytes;
      });
      await rt.suspend(loader); // behind the checkpoint request on thread 0 (see above)
      await rt.resume(loader);
      // Before the module has loaded, the child's cell holds a placeholder definition with no snapshot.
      expect(checkpointed).toBe(false);
      loads.postMessage('go');
      expect(await checkpoint).toBeGreaterThan(0);
      expect(await child.ask({ type: 'get' } as never)).toBe(7);
    } finally {
      loads.close();
    }
  });

  it("leaves a child that is still starting to its own start when a sibling's failure restarts them all (one-for-all)", async () => {
    const rt = await start();
    await rt.spawn(childUrl, { tag: 'loader' }, { thread: 0 });
    const parent = await rt.spawn<SpawnNowMsg>(parentAllUrl, undefined, { thread: 0 });
    const gate = new Gate();
    try {
      const { child: failing } = (await parent.ask({ type: 'spawnNow', module: childUrl.href, args: { tag: 'failing' } })) as Spawned;
      const { child: starting } = (await parent.ask({
        type: 'spawnNow',
        module: childUrl.href,
        args: { tag: 'starting', gate: gate.channel },
      })) as Spawned;
      await gate.entered;
      failing.tell({ type: 'throw' });
      // The restart of all has run once 'failing' was started again (its init logs its tag a second time).
      await eventually(
        async () => ((await parent.ask({ type: 'seen' })) as Seen).started.filter((t) => t === 'failing').length,
        (n) => n === 2,
      );
      gate.release();
      expect(await starting.ask({ type: 'history' })).toEqual([]);
      const { started } = (await parent.ask({ type: 'seen' })) as Seen;
      expect(started.filter((t) => t === 'starting')).toEqual(['starting']); // its init ran once
    } finally {
      gate.close();
    }
  });

  it('throws a typed error naming the value for a name, another thread, a bad module and a missing file', async () => {
    const rt = await start();
    const parent = await rt.spawn<SpawnNowMsg>(parentUrl, undefined, { thread: 0 });
    const tryIt = (module: unknown, options?: object) => parent.ask({ type: 'trySpawnNow', module, options }) as Promise<TryResult>;
    const named = await tryIt(childUrl.href, { name: 'kid' });
    expect(named).toMatchObject({ name: 'InvalidOptionError' });
    expect((named as { message: string }).message).toMatch(/name.*kid/s);
    const elsewhere = await tryIt(childUrl.href, { thread: 1 });
    expect(elsewhere).toMatchObject({ name: 'InvalidOptionError' });
    expect((elsewhere as { message: string }).message).toMatch(/thread.*1/s);
    expect(await tryIt(childUrl.href, { thread: 0 })).toBe('no error');
    expect(await tryIt(42)).toMatchObject({ name: 'InvalidArgumentError', message: expect.stringContaining('42') });
    expect(await tryIt(new URL('./fixtures/no-such-actor.ts', import.meta.url).href)).toMatchObject({
      name: 'ActorModuleError',
      message: expect.stringContaining('no-such-actor.ts'),
    });
  });

  it('throws AgentLimitError at maxAgents, after making the children there was room for', async () => {
    const rt = await start({ maxAgents: 40 });
    await rt.spawn(childUrl, { tag: 'loader' }, { thread: 0 });
    const parent = await rt.spawn<SpawnNowMsg>(parentUrl, undefined, { thread: 0 });
    const room = 40 - rt.stats().liveActors;
    expect(await parent.ask({ type: 'spawnNowMany', module: childUrl.href, count: room + 5 })).toEqual({ made: room, error: 'AgentLimitError' });
    expect(rt.stats().liveActors).toBe(40);
  });
});
