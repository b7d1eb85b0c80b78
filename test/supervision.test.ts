/**
 * Supervision: the policy on a fake clock (decider, intensity window, backoff
 * with jitter), then the runtime carrying it out: restart, resume, stop and
 * escalate, under one-for-one, one-for-all and rest-for-one, with the
 * lifecycle hooks in order, across threads, and checkpoints restored.
 */
import { BroadcastChannel } from 'node:worker_threads';
import { afterEach, describe, expect, it } from 'vitest';
import {
  ActorInitError,
  ActorRef,
  ActorStoppedError,
  InvalidArgumentError,
  InvalidOptionError,
  MigrationError,
  Runtime,
  SupervisorState,
  defineActor,
  defaultDecider,
  type ActorFailure,
  type RuntimeOptions,
} from '../src/index.js';
import { resolveStrategy } from '../src/actors/supervision.js';
import type { PhasesMsg } from './fixtures/checkpoint-phases.js';
import type { RestartStopMsg } from './fixtures/restart-stop.js';
import type { RestartStopPreMsg } from './fixtures/restart-stop-pre.js';
import type { WatcherMsg } from './fixtures/watcher.js';
import { eventually } from './fixtures/helpers.js';

const childUrl = new URL('./fixtures/sup-child.ts', import.meta.url);
const watcherUrl = new URL('./fixtures/watcher.ts', import.meta.url);
const phasesUrl = new URL('./fixtures/checkpoint-phases.ts', import.meta.url);
const restartStopUrl = new URL('./fixtures/restart-stop.ts', import.meta.url);
const restartStopPreUrl = new URL('./fixtures/restart-stop-pre.ts', import.meta.url);
const parentUrl = (kind: string) => new URL(`./fixtures/sup-${kind}.ts`, import.meta.url);

type ChildInfo = { id: string; count: number; born: number; thread: number };
type ChildMsg = { type: 'inc' } | { type: 'get' } | { type: 'boom'; message: string; async?: boolean } | { type: 'failInitNextTime' };
type Child = ActorRef<ChildMsg, unknown>;
type Phases = ActorRef<PhasesMsg, unknown>;

const fakeRef = new ActorRef(0, 1, 'fake', undefined as never);

describe('SupervisorState (fake clock)', () => {
  it('restarts by default, and stops on an ActorInitError', () => {
    const state = new SupervisorState(resolveStrategy({}));
    expect(state.decide('a', new Error('x'), fakeRef)).toEqual({ directive: 'restart', delayMs: 0 });
    expect(defaultDecider(new ActorInitError('m'))).toBe('stop');
  });

  it('escalates the restart past maxRestarts within withinMs, and counts again once the window has passed', () => {
    let now = 1_000;
    const state = new SupervisorState(resolveStrategy({ maxRestarts: 2, withinMs: 1_000 }), () => now);
    const err = new Error('x');
    expect(state.decide('a', err, fakeRef).directive).toBe('restart');
    now += 100;
    expect(state.decide('a', err, fakeRef).directive).toBe('restart');
    // Another child has its own count.
    expect(state.decide('b', err, fakeRef).directive).toBe('restart');
    now += 100;
    const third = state.decide('a', err, fakeRef);
    expect(third.directive).toBe('escalate');
    expect(third.reason).toBe('more than 2 restarts within 1000 ms');
    now += 1_001;
    expect(state.decide('a', err, fakeRef).directive).toBe('restart');
  });

  it('delays restarts exponentially from minMs, capped at maxMs, with jitter up to randomFactor', () => {
    let now = 0;
    let random = 0;
    const strategy = resolveStrategy({ maxRestarts: 100, backoff: { minMs: 10, maxMs: 100, randomFactor: 0.5 } });
    const state = new SupervisorState(
      strategy,
      () => now,
      () => random,
    );
    const delays = [];
    for (let i = 0; i < 6; i++) {
      delays.push(state.decide('a', new Error('x'), fakeRef).delayMs);
      now += 1;
    }
    expect(delays).toEqual([10, 20, 40, 80, 100, 100]);
    random = 1;
    expect(state.decide('a', new Error('x'), fakeRef).delayMs).toBe(150);
    random = 0.5;
    expect(state.backoffDelay(0)).toBe(12.5);
  });

  it('escalates when the decider throws or returns something that is not a directive', () => {
    const throwing = new SupervisorState(
      resolveStrategy({
        decider: () => {
          throw new Error('oops');
        },
      }),
    );
    expect(throwing.decide('a', new Error('x'), fakeRef)).toMatchObject({ directive: 'escalate', reason: 'the decider threw: oops' });
    const wrong = new SupervisorState(resolveStrategy({ decider: () => 'reboot' as never }));
    expect(wrong.decide('a', new Error('x'), fakeRef)).toMatchObject({ directive: 'escalate', reason: 'the decider returned "reboot", not a directive' });
  });
});

describe('bad supervision input', () => {
  it.each([
    [{ strategy: 'all-for-one' }, 'supervisor.strategy'],
    [{ decider: 'restart' }, 'supervisor.decider'],
    [{ maxRestarts: -1 }, 'supervisor.maxRestarts'],
    [{ maxRestarts: 1.5 }, 'supervisor.maxRestarts'],
    [{ withinMs: 'soon' }, 'supervisor.withinMs'],
    [{ backoff: 5 }, 'supervisor.backoff'],
    [{ backoff: { minMs: 100, maxMs: 10 } }, 'supervisor.backoff.maxMs'],
    [{ backoff: { minMs: -1, maxMs: 10 } }, 'supervisor.backoff.minMs'],
    [{ backoff: { minMs: 1, maxMs: 10, randomFactor: Infinity } }, 'supervisor.backoff.randomFactor'],
  ])('Runtime.start refuses supervisor %j, naming %s', async (supervisor, option) => {
    const err = await Runtime.start({ threads: 1, supervisor } as unknown as RuntimeOptions).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidOptionError);
    expect((err as InvalidOptionError).option).toBe(option);
    expect((err as InvalidOptionError).message).toMatch(/got `.*` \(/);
  });

  it('refuses a supervisor that is not an object', async () => {
    const err = await Runtime.start({ threads: 1, supervisor: 'restart' } as unknown as RuntimeOptions).catch((e: unknown) => e);
    expect(err).toMatchObject({ name: 'InvalidOptionError', option: 'supervisor', value: 'restart' });
  });

  it('defineActor refuses bad hooks, a lone snapshot, a bad checkpointEvery and a bad supervisor', () => {
    const base = { init: () => ({}), receive: () => undefined };
    expect(() => defineActor({ ...base, preRestart: 5 } as never)).toThrow(/preRestart.*got `5`/);
    expect(() => defineActor({ ...base, snapshot: () => 1 } as never)).toThrow(InvalidOptionError);
    expect(() => defineActor({ ...base, snapshot: () => 1, restore: () => ({}), checkpointEvery: 0 })).toThrow(/checkpointEvery.*got `0`/);
    expect(() => defineActor({ ...base, checkpointEvery: 3 })).toThrow(InvalidOptionError);
    expect(() => defineActor({ ...base, supervisor: { strategy: 'x' as never } })).toThrow(/supervisor\.strategy.*got `"x"`/);
  });
});

let rt: Runtime | undefined;
let ports: BroadcastChannel[] = [];
afterEach(async () => {
  for (const port of ports) port.close();
  ports = [];
  await rt?.shutdown();
  rt = undefined;
});

async function start(options: RuntimeOptions = {}): Promise<Runtime> {
  rt = await Runtime.start({ threads: 2, ...options });
  return rt;
}

/** Hook events the children report, in arrival order. */
function listen(): { channel: string; events: Array<{ id: string; event: string; error?: string; count?: number }> } {
  const channel = `microswarm-sup-${process.pid}-${Math.random()}`;
  const port = new BroadcastChannel(channel);
  ports.push(port);
  const events: Array<{ id: string; event: string }> = [];
  port.onmessage = (e) => events.push((e as MessageEvent).data);
  return { channel, events };
}

const info = (ref: Child) => ref.ask({ type: 'get' }) as Promise<ChildInfo>;

/** Waits until `ref` answers as an incarnation other than `born`. */
const reborn = (ref: Child, born: number) =>
  eventually(
    () => info(ref),
    (i) => i.born !== born,
  );

describe('the root supervisor', () => {
  it('restarts a failed top-level actor by default: same ref, fresh state, hooks in order, queued messages kept', async () => {
    const { channel, events } = listen();
    const r = await start();
    const child = (await r.spawn(childUrl, { id: 'a', channel })) as Child;
    await child.ask({ type: 'inc' });
    const before = await info(child);
    expect(before.count).toBe(1);
    child.tell({ type: 'boom', message: 'kaboom' });
    // Sent after the failure: waits in the mailbox and reaches the new instance.
    const afterInc = child.ask({ type: 'inc' });
    expect(await afterInc).toBe(1);
    const after = await info(child);
    expect(after.born).not.toBe(before.born);
    await eventually(
      () => events.length,
      (n) => n >= 3,
    );
    expect(events.map((e) => e.event)).toEqual(['preStart', 'preRestart', 'postRestart']);
    expect(events[1]).toMatchObject({ error: 'kaboom', count: 1 });
    expect(events[2]).toMatchObject({ error: 'kaboom', count: 0 });
  });

  it('supervises a rejected async handler the same way', async () => {
    const r = await start();
    const child = (await r.spawn(childUrl, { id: 'a' })) as Child;
    const { born } = await info(child);
    await expect(child.ask({ type: 'boom', message: 'later', async: true })).rejects.toThrow('later');
    await reborn(child, born);
  });

  it('resumes with the state kept when the decider says resume', async () => {
    const r = await start({ supervisor: { decider: () => 'resume' } });
    const child = (await r.spawn(childUrl, { id: 'a' })) as Child;
    await child.ask({ type: 'inc' });
    const { born } = await info(child);
    await expect(child.ask({ type: 'boom', message: 'x' })).rejects.toThrow('x');
    expect(await info(child)).toMatchObject({ born, count: 1 });
  });

  it("stops the actor when the decider says stop: watchers get Terminated with reason 'failed', asks then fail", async () => {
    const r = await start({ supervisor: { decider: () => 'stop' } });
    const child = (await r.spawn(childUrl, { id: 'a' }, { thread: 1 })) as Child;
    const watcher = await r.spawn<{ type: 'watch'; ref: ActorRef } | { type: 'seen' }>(watcherUrl, undefined, { thread: 0 });
    await watcher.ask({ type: 'watch', ref: child });
    child.tell({ type: 'boom', message: 'fatal' });
    const seen = await eventually(
      () => watcher.ask({ type: 'seen' }) as Promise<Array<{ reason: string }>>,
      (s) => s.length > 0,
    );
    expect(seen).toEqual([{ actor: child.id, reason: 'failed' }]);
    await expect(child.ask({ type: 'get' })).rejects.toBeInstanceOf(ActorStoppedError);
  });

  it("stops the actor when a restart fails in init (the default decider stops on ActorInitError), reporting phase 'restart'", async () => {
    const r = await start();
    const failures: ActorFailure[] = [];
    r.failures.subscribe((f) => failures.push(f));
    const child = (await r.spawn(childUrl, { id: 'a' })) as Child;
    await child.ask({ type: 'failInitNextTime' });
    child.tell({ type: 'boom', message: 'x' });
    await eventually(
      () => failures.some((f) => f.phase === 'restart'),
      (ok) => ok,
    );
    await eventually(
      () =>
        child.ask({ type: 'get' }).then(
          () => 'alive',
          (e: Error) => e.name,
        ),
      (s) => s === 'ActorStoppedError',
    );
    expect(failures.find((f) => f.phase === 'restart')?.error).toBeInstanceOf(ActorInitError);
  });

  it("escalating past the root stops the actor, reported with phase 'escalated'", async () => {
    const r = await start({ supervisor: { maxRestarts: 1 } });
    const failures: ActorFailure[] = [];
    r.failures.subscribe((f) => failures.push(f));
    const child = (await r.spawn(childUrl, { id: 'a' })) as Child;
    const { born } = await info(child);
    child.tell({ type: 'boom', message: 'one' });
    await reborn(child, born);
    child.tell({ type: 'boom', message: 'two' });
    await eventually(
      () =>
        child.ask({ type: 'get' }).then(
          () => 'alive',
          (e: Error) => e.name,
        ),
      (s) => s === 'ActorStoppedError',
    );
    const escalated = failures.find((f) => f.phase === 'escalated');
    expect(escalated?.error.message).toContain('more than 1 restarts within 60000 ms');
  });
});

/** A parent of three children c0, c1, c2, the children on threads 0, 1, 0. */
async function family(kind: string, channel?: string): Promise<{ parent: ActorRef; children: Child[]; borns: number[] }> {
  const r = await start();
  const parent = await r.spawn(parentUrl(kind), { children: 3, threads: [0, 1, 0], channel }, { thread: 0 });
  const children = (await parent.ask({ type: 'children' })) as Child[];
  const borns = (await Promise.all(children.map(info))).map((i) => i.born);
  return { parent, children, borns };
}

const borns = async (children: Child[]) => (await Promise.all(children.map(info))).map((i) => i.born);

describe('parents as supervisors', () => {
  it('one-for-one restarts only the failed child, on another thread than its parent', async () => {
    const { children, borns: before } = await family('one-for-one');
    expect((await info(children[1])).thread).toBe(1);
    children[1].tell({ type: 'boom', message: 'c1 fails' });
    await reborn(children[1], before[1]);
    const after = await borns(children);
    expect([after[0], after[2]]).toEqual([before[0], before[2]]);
  });

  it('one-for-all restarts every child', async () => {
    const { children, borns: before } = await family('one-for-all');
    children[1].tell({ type: 'boom', message: 'c1 fails' });
    for (let i = 0; i < 3; i++) await reborn(children[i], before[i]);
  });

  it('rest-for-one restarts the failed child and those started after it', async () => {
    const { children, borns: before } = await family('rest-for-one');
    children[1].tell({ type: 'boom', message: 'c1 fails' });
    await reborn(children[1], before[1]);
    await reborn(children[2], before[2]);
    expect((await info(children[0])).born).toBe(before[0]);
  });

  it('resume and stop from a parent decider apply to the failed child (one-for-one)', async () => {
    const { children, borns: before } = await family('one-for-one');
    await children[0].ask({ type: 'inc' });
    await expect(children[0].ask({ type: 'boom', message: 'resume please' })).rejects.toThrow('resume please');
    expect(await info(children[0])).toMatchObject({ born: before[0], count: 1 });
    children[2].tell({ type: 'boom', message: 'stop it' });
    await eventually(
      () =>
        children[2].ask({ type: 'get' }).then(
          () => 'alive',
          (e: Error) => e.name,
        ),
      (s) => s === 'ActorStoppedError',
    );
    expect((await info(children[1])).born).toBe(before[1]);
  });

  it('escalate fails the parent: the root restarts it, which stops its children and starts new ones', async () => {
    const { parent, children } = await family('one-for-one');
    const parentBorn = await parent.ask({ type: 'born' });
    children[1].tell({ type: 'boom', message: 'escalate this' });
    await eventually(
      () => parent.ask({ type: 'born' }),
      (b) => b !== parentBorn,
    );
    for (const old of children) {
      await eventually(
        () =>
          old.ask({ type: 'get' }).then(
            () => 'alive',
            (e: Error) => e.name,
          ),
        (s) => s === 'ActorStoppedError',
      );
    }
    const fresh = (await parent.ask({ type: 'children' })) as Child[];
    expect(fresh).toHaveLength(3);
    expect((await info(fresh[1])).count).toBe(0);
  });

  it('escalates past maxRestarts: the third failure within the window restarts the parent (backoff delays the restarts)', async () => {
    const { parent, children, borns: before } = await family('limited');
    const parentBorn = await parent.ask({ type: 'born' });
    let born = before[0];
    for (let i = 0; i < 2; i++) {
      children[0].tell({ type: 'boom', message: `fail ${i}` });
      born = (await reborn(children[0], born)).born;
    }
    expect(await parent.ask({ type: 'born' })).toBe(parentBorn);
    children[0].tell({ type: 'boom', message: 'fail 3' });
    await eventually(
      () => parent.ask({ type: 'born' }),
      (b) => b !== parentBorn,
    );
  });
});

/** A BroadcastChannel gate of the checkpoint-phases fixture: `reached` resolves when the actor waits at it, `open()` lets it go on. */
function gate(): { channel: string; reached: Promise<unknown>; open(): void } {
  const channel = `phases-${process.pid}-${Math.random()}`;
  const port = new BroadcastChannel(channel);
  const reached = new Promise((resolve) => (port.onmessage = resolve));
  return {
    channel,
    reached,
    open() {
      port.postMessage('go');
      port.close();
    },
  };
}

/**
 * Waits until `thread` has handled the requests already sent to it
 * (rt.checkpoint and rt.migrate travel as Piscina tasks, rt.stop through
 * the ring): a spawn, suspend and resume there come after them on each path.
 */
async function behindRequests(r: Runtime, thread: number): Promise<void> {
  const other = await r.spawn(phasesUrl, { count: 0 }, { thread });
  await r.suspend(other);
  await r.resume(other);
}

/**
 * An actor on thread 1 at 46 (preStart checkpointed it at 41), busy in an
 * async handler that throws once `fail()` is called.
 */
async function failingSoon(r: Runtime): Promise<{ a: Phases; fail(): void }> {
  const a = (await r.spawn(phasesUrl, { count: 41 }, { thread: 1 })) as Phases;
  a.tell({ type: 'add', n: 5 });
  const { channel, reached, open } = gate();
  a.tell({ type: 'slowBoom', channel });
  await reached;
  return { a, fail: open };
}

/**
 * An actor at 7 on thread 1 (`setup` runs with it there) moved to thread 0
 * by rt.migrate, held in its restore there until `open()`.
 */
async function arriving(
  r: Runtime,
  args: { failRestore?: boolean },
  setup?: (a: Phases) => Promise<unknown>,
): Promise<{ a: Phases; moved: Promise<void>; open(): void }> {
  const { channel, reached, open } = gate();
  const a = (await r.spawn(phasesUrl, { count: 7, restoreGate: channel, ...args }, { thread: 1 })) as Phases;
  await setup?.(a);
  const moved = r.migrate(a, 0);
  await reached;
  return { a, moved, open };
}

describe('checkpoints', () => {
  it('rt.checkpoint stores the snapshot; a restart restores it instead of calling init', async () => {
    const { channel, events } = listen();
    const r = await start();
    const child = (await r.spawn(childUrl, { id: 'a', channel }, { thread: 1 })) as Child;
    for (let i = 0; i < 5; i++) await child.ask({ type: 'inc' });
    const bytes = await r.checkpoint(child);
    expect(bytes).toBeGreaterThan(0);
    await child.ask({ type: 'inc' }); // 6, after the checkpoint: lost by the restart
    const { born } = await info(child);
    child.tell({ type: 'boom', message: 'x' });
    expect(await reborn(child, born)).toMatchObject({ count: 5 });
    await eventually(
      () => events.some((e) => e.event === 'postRestart'),
      (ok) => ok,
    );
    expect(events.find((e) => e.event === 'postRestart')?.count).toBe(5);
  });

  it('refuses ctx.checkpoint() in init, async init and restore with InvalidStateError; preStart checkpoints what they built', async () => {
    const r = await start();
    const refusal = (where: string, ref: ActorRef) =>
      `${where}: InvalidStateError: ctx.checkpoint() cannot run on actor ${ref.toString()}: its init (or restore) is still running, and it has no state until that returns; checkpoint from preStart or a handler`;
    const sync = (await r.spawn(phasesUrl, { count: 41 }, { thread: 1 })) as Phases;
    expect(await sync.ask({ type: 'refused' })).toEqual([refusal('init', sync), 'preStart: taken']);
    const later = (await r.spawn(phasesUrl, { count: 7, asyncInit: true }, { thread: 1 })) as Phases;
    expect(await later.ask({ type: 'refused' })).toEqual([refusal('async init', later), 'preStart: taken']);
    // Brought back by its supervisor from the checkpoint preStart took.
    sync.tell({ type: 'boom' });
    expect(await sync.ask({ type: 'refused' })).toEqual([refusal('restore', sync), 'preStart: taken']);
    expect(await sync.ask({ type: 'get' })).toBe(41);
    // Moved to another thread: restore runs there (preStart does not: the same instance goes on).
    await r.migrate(later, 0);
    expect(await later.ask({ type: 'refused' })).toEqual([refusal('restore', later)]);
    expect(await later.ask({ type: 'get' })).toBe(7);
  });

  it("a restart's preStart checkpoints the new instance's state, not the one that crashed", async () => {
    const r = await start();
    const a = (await r.spawn(phasesUrl, { count: 41 }, { thread: 1 })) as Phases;
    a.tell({ type: 'add', n: 5 }); // 46, after preStart's checkpoint of 41
    a.tell({ type: 'boom' }); // restored to 41; its preStart checkpoints that
    expect(await a.ask({ type: 'get' })).toBe(41);
    a.tell({ type: 'boom' }); // restored from the checkpoint the restart's preStart took
    expect(await a.ask({ type: 'get' })).toBe(41);
  });

  it('rt.checkpoint of a failed actor waits for its restart, so the restart does not restore the state that crashed', async () => {
    const r = await start({ supervisor: { backoff: { minMs: 1000, maxMs: 1000, randomFactor: 0 } } });
    const failures: ActorFailure[] = [];
    r.failures.subscribe((event) => failures.push(event));
    const a = (await r.spawn(phasesUrl, { count: 41 }, { thread: 1 })) as Phases;
    a.tell({ type: 'add', n: 5 }); // 46, after preStart's checkpoint of 41
    a.tell({ type: 'boom' });
    await eventually(
      () => failures.length,
      (n) => n === 1,
    );
    // In the backoff: a snapshot now would hold 46, and the restart would restore it.
    const bytes = r.checkpoint(a);
    expect(await a.ask({ type: 'get' })).toBe(41);
    expect(await bytes).toBeGreaterThan(0);
    a.tell({ type: 'boom' }); // restored from that checkpoint
    expect(await a.ask({ type: 'get' })).toBe(41);
  });

  it.each([
    ['restart', 41],
    ['resume', 46],
  ] as const)('rt.checkpoint asked while an async handler runs that then fails waits for the %s', async (directive, after) => {
    const r = await start({ supervisor: { decider: () => directive } });
    const { a, fail } = await failingSoon(r);
    const bytes = r.checkpoint(a);
    await behindRequests(r, 1);
    fail();
    expect(await bytes).toBeGreaterThan(0);
    expect(await a.ask({ type: 'get' })).toBe(after);
    // A restart restores that checkpoint: the new instance's state, not the one that crashed.
    if (directive === 'restart') {
      a.tell({ type: 'boom' });
      expect(await a.ask({ type: 'get' })).toBe(41);
    }
  });

  it('rt.checkpoint of an actor arriving on another thread (rt.migrate) waits for its restored state', async () => {
    const r = await start();
    const { a, moved, open } = await arriving(r, {});
    const bytes = r.checkpoint(a);
    await behindRequests(r, 0);
    open();
    await moved;
    // Taken before the state arrived, the snapshot read undefined and threw.
    expect(await bytes).toBeGreaterThan(0);
    expect(await a.ask({ type: 'get' })).toBe(7);
  });

  it('rt.checkpoint of an actor waiting out its backoff after its thread died waits until it is back', async () => {
    const r = await start({ supervisor: { backoff: { minMs: 1000, maxMs: 1000, randomFactor: 0 } } });
    const a = (await r.spawn(phasesUrl, { count: 7 }, { thread: 1 })) as Phases;
    expect((await r.killThread(1)).rehosted).toBe(1);
    // In the backoff it has no state: the checkpoint waits until it is back (taken now, its snapshot would read undefined and throw).
    expect(await r.checkpoint(a)).toBeGreaterThan(0);
    expect(await a.ask({ type: 'get' })).toBe(7);
  });

  it("a checkpoint asked as the runtime closes (a cluster entity's last) gives up when the top-level actor it waits for fails: no restart will come", async () => {
    const r = await start();
    const { a, fail } = await failingSoon(r);
    // White box: the checkpoint a closing runtime asks for each cluster entity (ActorControl.checkpoint, duringShutdown).
    const control = (r as unknown as { actors: { checkpoint(ref: ActorRef, duringShutdown: boolean): Promise<number> } }).actors;
    const bytes = control.checkpoint(a, true);
    await behindRequests(r, 1);
    fail();
    await expect(bytes).rejects.toThrow('failed, and stops with the shutdown (no restart comes)');
    // (The runtime is not really closing: its supervisor restarts it.)
    expect(await a.ask({ type: 'get' })).toBe(41);
  });

  it.each(['stop', 'backoff'] as const)(
    'rt.migrate refuses an actor whose handler fails while the move waits for it; its supervisor decides (%s)',
    async (kind) => {
      const r = await start(
        kind === 'stop' ? { supervisor: { decider: () => 'stop' } } : { supervisor: { backoff: { minMs: 300, maxMs: 300, randomFactor: 0 } } },
      );
      const { a, fail } = await failingSoon(r);
      const bytes = r.checkpoint(a);
      const moved = r.migrate(a, 0);
      await behindRequests(r, 1);
      fail();
      await expect(moved).rejects.toBeInstanceOf(MigrationError);
      if (kind === 'stop') {
        await expect(bytes).rejects.toBeInstanceOf(ActorStoppedError);
        return;
      }
      // Restarted where it was, from preStart's checkpoint (41), not moved on with the state that crashed (46).
      expect(await bytes).toBeGreaterThan(0);
      expect(await a.ask({ type: 'get' })).toBe(41);
      expect(r.stats().threads[1].actors).toBe(2);
    },
  );

  it("ctx.stop() in a restart's restore stops the actor (it was left failed, never stopping)", async () => {
    const r = await start();
    const a = (await r.spawn(phasesUrl, { count: 41, stopInRestore: true }, { thread: 1 })) as Phases;
    a.tell({ type: 'boom' });
    await eventually(
      () => r.stats().liveActors,
      (n) => n === 0,
    );
    await expect(a.ask({ type: 'get' })).rejects.toBeInstanceOf(ActorStoppedError);
    await expect(r.checkpoint(a)).rejects.toBeInstanceOf(ActorStoppedError);
    await r.stop(a);
  });

  it.each([
    ['sync', ['postStop of instance 1', 'postStop of instance 2']],
    ['async', ['postStop of instance 1', 'postStop of instance 2']],
    ['throw', ['postStop of instance 1']],
  ] as const)("ctx.stop() in a restart's init (%s) stops the actor; postStop runs once per instance that had a state", async (mode, expected) => {
    const r = await start();
    const id = `restart-stop-${mode}`;
    const a = await r.spawn<RestartStopMsg>(restartStopUrl, { id, mode }, { thread: 1 });
    a.tell({ type: 'boom' });
    await eventually(
      () => r.stats().liveActors,
      (n) => n === 0,
    );
    const reader = await r.spawn<RestartStopMsg>(restartStopUrl, { id: `${id}-reader`, mode }, { thread: 1 });
    const records = (await reader.ask({ type: 'records', id })) as string[];
    expect(records).toEqual(expected.map((e) => `${id}: ${e}`));
  });

  it('rt.stop during a restart whose init waits for its signal: the signal fires, the restart ends, the actor stops', async () => {
    const r = await start();
    const id = 'restart-stop-signal';
    const a = await r.spawn<RestartStopMsg>(restartStopUrl, { id, mode: 'signal' }, { thread: 1 });
    const reader = await r.spawn<RestartStopMsg>(restartStopUrl, { id: `${id}-reader`, mode: 'signal' }, { thread: 1 });
    const records = () => reader.ask({ type: 'records', id }) as Promise<string[]>;
    a.tell({ type: 'boom' });
    await eventually(records, (seen) => seen.length === 2);
    await r.stop(a);
    expect(await records()).toEqual([`${id}: postStop of instance 1`, `${id}: init of instance 2 waits for its signal`, `${id}: postStop of instance 2`]);
  });

  it("ctx.stop() in an async preRestart stops the actor; no postStop after preRestart's teardown", async () => {
    const r = await start();
    const a = await r.spawn<RestartStopPreMsg>(restartStopPreUrl, { id: 'pre' }, { thread: 1 });
    a.tell({ type: 'boom' });
    await eventually(
      () => r.stats().liveActors,
      (n) => n === 0,
    );
    const reader = await r.spawn<RestartStopPreMsg>(restartStopPreUrl, { id: 'pre-reader' }, { thread: 1 });
    expect(await reader.ask({ type: 'records', id: 'pre' })).toEqual(['pre: preRestart of instance 1']);
  });

  it('an actor asked to stop while it moves, whose restore then fails on arrival, stops, and its watchers are told', async () => {
    const r = await start();
    const watcher = await r.spawn<WatcherMsg>(watcherUrl, undefined, { thread: 1 });
    const { a, moved, open } = await arriving(r, { failRestore: true }, (a) => watcher.ask({ type: 'watch', ref: a }));
    const stopped = r.stop(a);
    await behindRequests(r, 0);
    open();
    await moved;
    await stopped;
    await expect(a.ask({ type: 'get' })).rejects.toBeInstanceOf(ActorStoppedError);
    // The watch moved with it: lost with a failed restore before, it was never told.
    await eventually(
      () => watcher.ask({ type: 'seen' }) as Promise<unknown[]>,
      (seen) => seen.length === 1,
    );
    expect(r.stats().liveActors).toBe(2);
  });

  it.each(['busy', 'restarting'] as const)('an actor whose stop waits (%s) is not brought back when its thread dies meanwhile', async (kind) => {
    const r = await start();
    let a: Phases;
    if (kind === 'busy') {
      // Its async handler holds at a gate that never opens.
      a = (await failingSoon(r)).a;
    } else {
      // Its restart's restore holds at a gate that never opens.
      const { channel, reached } = gate();
      a = (await r.spawn(phasesUrl, { count: 7, restoreGate: channel }, { thread: 1 })) as Phases;
      a.tell({ type: 'boom' });
      await reached;
    }
    const stopped = r.stop(a);
    stopped.catch(() => undefined);
    await behindRequests(r, 1);
    // The stop waits; the thread dies. Brought back before, it answered again.
    const crash = await r.killThread(1);
    expect(crash.lost.map((ref) => ref.id)).toEqual([a.id]);
    expect(crash.rehosted).toBe(1); // the actor behindRequests spawned there
    await expect(a.ask({ type: 'get' })).rejects.toThrow();
    expect(r.stats().liveActors).toBe(1);
  });

  it('a second rt.stop of an actor whose stop waits for its handler resolves only once it has stopped', async () => {
    const r = await start();
    const { a, fail } = await failingSoon(r);
    const first = r.stop(a);
    await behindRequests(r, 1);
    let secondDone = false;
    const second = r.stop(a).then(() => (secondDone = true));
    await behindRequests(r, 1);
    // The handler still runs: the actor is live until it has stopped (a stop asked is not a stop done).
    expect(secondDone).toBe(false);
    fail();
    await first;
    await second;
    await expect(a.ask({ type: 'get' })).rejects.toBeInstanceOf(ActorStoppedError);
  });

  it('frees the checkpoint when the actor stops, and refuses bad calls with typed errors', async () => {
    const r = await start();
    const child = (await r.spawn(childUrl, { id: 'a' })) as Child;
    const used = r.memory.stats().used;
    await r.checkpoint(child);
    await r.checkpoint(child); // replaces, does not pile up
    expect(r.memory.stats().used - used).toBe(r.memory.stats().regionSize);
    await r.stop(child);
    expect(r.memory.stats().used).toBe(used);
    await expect(r.checkpoint(child)).rejects.toBeInstanceOf(ActorStoppedError);
    await expect(r.checkpoint('a' as never)).rejects.toMatchObject({ name: 'InvalidArgumentError', value: 'a' });
    const plain = await r.spawn(watcherUrl);
    await expect(r.checkpoint(plain)).rejects.toBeInstanceOf(InvalidArgumentError);
  });
});
