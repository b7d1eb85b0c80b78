/**
 * `ctx.spawnNow` (engine/lifecycle.ts): a child on its parent's thread whose
 * ref is returned at once. Each test starts its own runtime, so which actor
 * modules a thread has loaded is known: a module loaded there starts the
 * child before spawnNow returns; one not loaded yet starts it once loaded,
 * its messages waiting in its mailbox meanwhile.
 */
import { describe, expect, it } from 'vitest';
import { ActorInitError, ActorModuleError, ActorStoppedError, type ActorRef, type ActorFailure } from '../src/index.js';
import { collectDeadLetters, eventually, useRuntime } from './fixtures/helpers.js';
import type { ProbeMsg } from './fixtures/probe.js';
import type { SeenMsg, SeenReport } from './fixtures/seen.js';
import type { SpawnNowMsg, TryResult } from './fixtures/spawn-now.js';

const parentUrl = new URL('./fixtures/spawn-now.ts', import.meta.url);
const probeUrl = new URL('./fixtures/probe.ts', import.meta.url);
const seenUrl = new URL('./fixtures/seen.ts', import.meta.url);
const slowInitUrl = new URL('./fixtures/slow-init.ts', import.meta.url);
const initThrowsUrl = new URL('./fixtures/init-throws.ts', import.meta.url);
const throwsOnImportUrl = new URL('./fixtures/throws-on-import.ts', import.meta.url);

const start = useRuntime({ threads: 2 });

type Spawned = { child: ActorRef; started: boolean };

describe('ctx.spawnNow', () => {
  it("returns the ref at once, the child started in that call when its module is loaded on the parent's thread; messages told in the same turn are handled in order", async () => {
    const rt = await start();
    await rt.spawn(probeUrl, undefined, { thread: 1 }); // loads probe.ts on thread 1
    const parent = await rt.spawn<SpawnNowMsg>(parentUrl, undefined, { thread: 1 });
    const logs: ProbeMsg[] = [1, 2, 3].map((value) => ({ type: 'log', value }));
    const { child, started } = (await parent.ask({ type: 'spawnNow', module: probeUrl.href, tell: logs })) as Spawned;
    expect(started).toBe(true);
    expect(await child.ask({ type: 'history' })).toEqual([1, 2, 3]);
    expect(await child.ask({ type: 'thread' })).toBe(1);
    const children = (await parent.ask({ type: 'children' })) as ActorRef[];
    expect(children.map((c) => [c.slot, c.gen])).toEqual([[child.slot, child.gen]]);
  });

  it('starts a child whose module the thread has not loaded yet once it has loaded, and hands it the messages sent meanwhile', async () => {
    const rt = await start();
    const parent = await rt.spawn<SpawnNowMsg>(parentUrl, undefined, { thread: 0 });
    const numbers: SeenMsg[] = [0, 1, 2, 3].map((n) => ({ n }));
    const { child, started } = (await parent.ask({ type: 'spawnNow', module: seenUrl.href, tell: numbers })) as Spawned;
    expect(started).toBe(false);
    const report = (await child.ask({ type: 'report' })) as SeenReport;
    expect(report).toMatchObject({ high: 3, gaps: [], duplicates: 0, reordered: 0, count: 4 });
    // Started, it is one of the parent's children.
    const children = (await parent.ask({ type: 'children' })) as ActorRef[];
    expect(children.map((c) => c.slot)).toEqual([child.slot]);
  });

  it('holds messages while an async init runs, then handles them', async () => {
    const rt = await start();
    await rt.spawn(slowInitUrl, { ms: 1 }, { thread: 0 }); // loaded: the child's init itself is what is awaited
    const parent = await rt.spawn<SpawnNowMsg>(parentUrl, undefined, { thread: 0 });
    const { child, started } = (await parent.ask({ type: 'spawnNow', module: slowInitUrl.href, args: { ms: 100 } })) as Spawned;
    expect(started).toBe(false);
    expect(await child.ask({ type: 'ping' })).toBe('pong');
  });

  it("publishes a failed start on rt.failures (phase 'init', ActorInitError), makes dead letters of its messages, and frees its slot, whether the module was loaded or not", async () => {
    const rt = await start();
    const failures: ActorFailure[] = [];
    rt.failures.subscribe((event) => failures.push(event));
    const letters = collectDeadLetters(rt);
    const parent = await rt.spawn<SpawnNowMsg>(parentUrl, undefined, { thread: 0 });
    const baseline = rt.stats().liveActors;
    for (const round of [1, 2]) {
      // Round 1 loads init-throws.ts on the thread; round 2 starts the child within spawnNow.
      const tell = [{ round }];
      const { child, started } = (await parent.ask({
        type: 'spawnNow',
        module: initThrowsUrl.href,
        args: { message: `boom ${round}` },
        tell,
      })) as Spawned;
      expect(started).toBe(false);
      const event = await eventually(
        () => failures.find((f) => f.actor.slot === child.slot && f.actor.gen === child.gen),
        (found) => found !== undefined,
      );
      expect(event?.phase).toBe('init');
      expect(event?.error).toBeInstanceOf(ActorInitError);
      expect((event?.error.cause as Error | undefined)?.message).toBe(`boom ${round}`);
      const mine = await eventually(
        () => letters.filter((l) => l.recipient.slot === child.slot && l.recipient.gen === child.gen),
        (found) => found.length === 1,
      );
      expect(mine[0]).toMatchObject({ message: { round }, reason: 'stopped' });
      await expect(child.ask({ type: 'anything' })).rejects.toBeInstanceOf(ActorStoppedError);
      expect(rt.stats().liveActors).toBe(baseline);
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
      () => failures.find((f) => f.actor.slot === child.slot),
      (found) => found !== undefined,
    );
    expect(event?.phase).toBe('init');
    expect(event?.error).toBeInstanceOf(ActorModuleError);
    expect(event?.error.message).toContain('top-level failure in throws-on-import');
    expect(rt.stats().liveActors).toBe(baseline);
  });

  it('stops the child with its parent when the parent stops in the turn that spawned it (module loaded or loading)', async () => {
    const rt = await start();
    await rt.spawn(probeUrl, undefined, { thread: 1 });
    const baseline = rt.stats().liveActors;
    for (const [url, thread] of [
      [probeUrl, 1],
      [seenUrl, 0],
    ] as const) {
      const parent = await rt.spawn<SpawnNowMsg>(parentUrl, undefined, { thread });
      const child = (await parent.ask({ type: 'spawnNowThenStop', module: url.href })) as ActorRef;
      await eventually(
        () => rt.stats().liveActors,
        (live) => live === baseline,
      );
      await expect(child.ask({ type: 'history' })).rejects.toBeInstanceOf(ActorStoppedError);
      await expect(parent.ask({ type: 'children' })).rejects.toBeInstanceOf(ActorStoppedError);
    }
  });

  it('throws a typed error naming the value for a name, another thread, a bad module and a missing file', async () => {
    const rt = await start();
    const parent = await rt.spawn<SpawnNowMsg>(parentUrl, undefined, { thread: 0 });
    const tryIt = (module: unknown, options?: object) => parent.ask({ type: 'trySpawnNow', module, options }) as Promise<TryResult>;
    const named = await tryIt(probeUrl.href, { name: 'kid' });
    expect(named).toMatchObject({ name: 'InvalidOptionError' });
    expect((named as { message: string }).message).toMatch(/name.*kid/s);
    const elsewhere = await tryIt(probeUrl.href, { thread: 1 });
    expect(elsewhere).toMatchObject({ name: 'InvalidOptionError' });
    expect((elsewhere as { message: string }).message).toMatch(/thread.*1/s);
    expect(await tryIt(probeUrl.href, { thread: 0 })).toBe('no error');
    expect(await tryIt(42)).toMatchObject({ name: 'InvalidArgumentError', message: expect.stringContaining('42') });
    expect(await tryIt(new URL('./fixtures/no-such-actor.ts', import.meta.url).href)).toMatchObject({
      name: 'ActorModuleError',
      message: expect.stringContaining('no-such-actor.ts'),
    });
  });

  it('throws AgentLimitError at maxAgents, after making the children there was room for', async () => {
    const rt = await start({ maxAgents: 40 });
    await rt.spawn(probeUrl, undefined, { thread: 0 });
    const parent = await rt.spawn<SpawnNowMsg>(parentUrl, undefined, { thread: 0 });
    const room = 40 - rt.stats().liveActors;
    expect(await parent.ask({ type: 'spawnNowMany', module: probeUrl.href, count: room + 5 })).toEqual({ made: room, error: 'AgentLimitError' });
    expect(rt.stats().liveActors).toBe(40);
  });
});
