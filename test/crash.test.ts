/**
 * Crash recovery: a pool thread that dies (terminated, process.exit inside
 * it, an uncaught error outside any handler, out of heap) is replaced, its
 * actors come back in the same refs with their last checkpoint, what waited
 * for them in the rings is delivered in order, asks it had taken are
 * rejected with ActorCrashedError, and watchers learn what was lost.
 */
import { BroadcastChannel } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import {
  ActorCrashedError,
  ActorStoppedError,
  type ActorRef,
  HandlerTimeoutError,
  PoisonMessageError,
  ThreadStartError,
  InvalidArgumentError,
  Runtime,
  defineActor,
  type ActorFailure,
  type ThreadCrash,
} from '../src/index.js';
import type { BusyMsg } from './fixtures/busy.js';
import type { CrashyMsg } from './fixtures/crashy.js';
import type { LongAskerMsg } from './fixtures/long-asker.js';
import type { ProbeMsg } from './fixtures/probe.js';
import type { SetupProbeInfo, SetupProbeMsg } from './fixtures/setup-probe.js';
import { collectDeadLetters, eventually, useRuntime } from './fixtures/helpers.js';
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const crashyUrl = new URL('./fixtures/crashy.ts', import.meta.url);
const probeUrl = new URL('./fixtures/probe.ts', import.meta.url);
const watcherUrl = new URL('./fixtures/watcher.ts', import.meta.url);
const setupProbeUrl = new URL('./fixtures/setup-probe.ts', import.meta.url);
const threadSetupUrl = new URL('./fixtures/thread-setup.ts', import.meta.url);
const longAskerUrl = new URL('./fixtures/long-asker.ts', import.meta.url);
const busyUrl = new URL('./fixtures/busy.ts', import.meta.url);
const counterUrl = new URL('./fixtures/counter.ts', import.meta.url);
type Crashy = ActorRef<CrashyMsg, unknown>;

const start = useRuntime({ threads: 2 });

function nextCrash(r: Runtime): Promise<ThreadCrash> {
  return new Promise((resolve) => {
    const off = r.crashes.subscribe((crash) => {
      off();
      resolve(crash);
    });
  });
}

describe('a pool thread that dies', () => {
  it('is replaced; its actor keeps its ref and its checkpointed state; what waited in the ring arrives in order', async () => {
    const r = await start();
    // at-most-once: the block it is in when killed is not run again.
    const a = (await r.spawn(crashyUrl, undefined, { thread: 1, delivery: 'at-most-once' })) as Crashy;
    for (let n = 1; n <= 3; n++) await a.ask({ type: 'add', n });
    // Block the thread inside a handler: what is sent now stays in the ring.
    const channel = `crash-${process.pid}-${Math.random()}`;
    const port = new BroadcastChannel(channel);
    const blocked = new Promise((resolve) => (port.onmessage = resolve));
    // Settles during the recovery, before killThread returns: caught at once.
    const blockAsk = a.ask({ type: 'block', ms: 10_000, channel }, { timeoutMs: 20_000 }).catch((e: Error) => e);
    await blocked;
    port.close();
    for (let n = 4; n <= 50; n++) a.tell({ type: 'add', n });
    const waiting = a.ask({ type: 'get' }, { timeoutMs: 20_000 });
    const crash = await r.killThread(1);
    expect(crash).toMatchObject({ thread: 1, rehosted: 1, lost: [], replaced: true });
    // The block ask was being handled (at-most-once): rejected, not run again.
    expect(await blockAsk).toBeInstanceOf(ActorCrashedError);
    // The get was still in the ring: answered by the actor brought back, after all the tells.
    expect(await waiting).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    expect(await a.ask({ type: 'thread' })).toBe(1);
  });

  it.each([
    ['process.exit inside the worker', 'exit'],
    ['an uncaught error outside any handler', 'throwOutside'],
  ] as const)('is detected and recovered after %s', async (_, type) => {
    const r = await start();
    // at-most-once: the message that kills the thread is not handed to it again.
    const a = (await r.spawn(crashyUrl, undefined, { thread: 0, delivery: 'at-most-once' })) as Crashy;
    await a.ask({ type: 'add', n: 7 });
    const crashed = nextCrash(r);
    const answer = a.ask({ type }).then(
      (v) => v,
      (e: Error) => e,
    );
    expect(await crashed).toMatchObject({ thread: 0, rehosted: 1, replaced: true });
    if (type === 'exit') expect(await answer).toBeInstanceOf(ActorCrashedError);
    expect(await a.ask({ type: 'get' })).toEqual([7]);
  });

  it("is not killed by a promise rejected with no handler: the thread and its actors go on; rt.failures has it (phase 'unhandled-rejection')", async () => {
    const r = await start();
    const a = (await r.spawn(crashyUrl, undefined, { thread: 1 })) as Crashy;
    // A neighbour on the same thread with no checkpoint: a dead thread would bring it back from init.
    const neighbour = await r.spawn(counterUrl, { start: 0 }, { thread: 1 });
    expect(await neighbour.ask({ type: 'inc', by: 5 })).toBe(5);
    const failure = new Promise<ActorFailure>((resolve) => {
      const off = r.failures.subscribe((event) => {
        off();
        resolve(event);
      });
    });
    expect(await a.ask({ type: 'forgetSpawn' })).toBe(true);
    const event = await failure;
    expect(event.phase).toBe('unhandled-rejection');
    expect(event.actor.name).toBe('system');
    expect(event.error.message).toContain('no-such-module.ts');
    expect(await neighbour.ask({ type: 'inc', by: 1 })).toBe(6);
    expect(await a.ask({ type: 'thread' })).toBe(1);
    expect(r.crashes.count).toBe(0);
  });

  it('is recovered after running out of heap under resourceLimits', async () => {
    const r = await start({ resourceLimits: { maxOldGenerationSizeMb: 96 } });
    const a = (await r.spawn(crashyUrl, undefined, { thread: 1, delivery: 'at-most-once' })) as Crashy;
    await a.ask({ type: 'add', n: 1 });
    const crashed = nextCrash(r);
    const answer = a.ask({ type: 'oom' }, { timeoutMs: 30_000 }).catch((e: Error) => e);
    expect(await crashed).toMatchObject({ thread: 1, rehosted: 1, replaced: true });
    expect(await answer).toBeInstanceOf(ActorCrashedError);
    expect(await a.ask({ type: 'get' })).toEqual([1]);
  });

  it("loses the actors spawned on that thread by its actors: their watchers get Terminated 'crashed'; watches of actors brought back still work", async () => {
    const r = await start();
    const parent = (await r.spawn(crashyUrl, undefined, { thread: 1 })) as Crashy;
    const child = (await parent.ask({ type: 'spawnLocal' })) as Crashy;
    const watcher = await r.spawn<{ type: 'watch'; ref: ActorRef } | { type: 'seen' }>(watcherUrl, undefined, { thread: 0 });
    await watcher.ask({ type: 'watch', ref: child });
    await watcher.ask({ type: 'watch', ref: parent });
    const crash = await r.killThread(1);
    expect(crash.rehosted).toBe(1);
    expect(crash.lost.map((ref) => ref.id)).toEqual([child.id]);
    const seen = () => watcher.ask({ type: 'seen' }) as Promise<Array<{ actor: string; reason: string }>>;
    expect(await eventually(seen, (s) => s.length > 0)).toEqual([{ actor: child.id, reason: 'crashed' }]);
    await r.stop(parent);
    expect(await eventually(seen, (s) => s.length > 1)).toEqual([
      { actor: child.id, reason: 'crashed' },
      { actor: parent.id, reason: 'stopped' },
    ]);
  });

  it('stops, instead of bringing back, an actor whose supervisor says stop', async () => {
    const r = await start({ supervisor: { decider: () => 'stop' } });
    const a = (await r.spawn(crashyUrl, undefined, { thread: 1 })) as Crashy;
    const crash = await r.killThread(1);
    expect(crash).toMatchObject({ rehosted: 0, replaced: true });
    expect(crash.lost.map((ref) => ref.id)).toEqual([a.id]);
    await expect(a.ask({ type: 'get' })).rejects.toMatchObject({ name: 'ActorStoppedError' });
    // The replacement thread takes new actors.
    const b = (await r.spawn(crashyUrl, undefined, { thread: 1 })) as Crashy;
    expect(await b.ask({ type: 'add', n: 1 })).toBe(1);
  });

  it("is terminated and recovered when a handler never returns: its heartbeat stops (reason 'stuck')", async () => {
    const r = await start({ heartbeatMs: 50, stuckThreadMs: 500 });
    const a = (await r.spawn(crashyUrl, undefined, { thread: 1, delivery: 'at-most-once' })) as Crashy;
    await a.ask({ type: 'add', n: 1 });
    const crashed = nextCrash(r);
    const stuck = a.ask({ type: 'block', ms: 120_000, channel: 'unused' }, { timeoutMs: 120_000 }).catch((e: Error) => e);
    expect(await crashed).toMatchObject({ thread: 1, reason: 'stuck', rehosted: 1, replaced: true });
    expect(await stuck).toBeInstanceOf(ActorCrashedError);
    expect(await a.ask({ type: 'get' })).toEqual([1]);
  });

  it('does not take a thread draining a long backlog of short handlers, its event loop not turning for a second, for a stuck one; nor an idle one', async () => {
    const r = await start({ heartbeatMs: 20, blockingHandlerMs: 600, stuckThreadMs: 1000 });
    const crashes: ThreadCrash[] = [];
    r.crashes.subscribe((c) => crashes.push(c));
    const failures: ActorFailure[] = [];
    r.failures.subscribe((f) => failures.push(f));
    // 100 actors x 64 handlers of 200 us, all queued at once on thread 0:
    // one drain round runs them all (1.28 s and more) before the event loop
    // can turn, longer than stuckThreadMs. Only the handler starts show the
    // watchdog that the thread moves.
    const actors = await Promise.all(Array.from({ length: 100 }, () => r.spawn<BusyMsg, unknown>(busyUrl, undefined, { thread: 0 })));
    expect(await actors[0].ask({ type: 'fill', targets: actors, each: 64, us: 200 })).toBe(6400);
    // (A thread taken for a stuck one restarts them: their counts never get there.)
    const handled = () => Promise.all(actors.map((a) => a.ask({ type: 'handled' }, { timeoutMs: 20_000 }).catch(() => -1)));
    await eventually(handled, (h) => crashes.length > 0 || h.every((n) => n === 64), 20_000);
    expect(crashes).toEqual([]);
    // Now thread 0 idles, parked. A canary on thread 1 blocks until the
    // watchdog reports it and then kills its thread: by then the watchdog has
    // watched thread 0 idle for longer than stuckThreadMs too (a barrier,
    // not a sleep), and it must have left it alone.
    const canary = (await r.spawn(crashyUrl, undefined, { thread: 1, delivery: 'at-most-once' })) as Crashy;
    const killed = nextCrash(r);
    void canary.ask({ type: 'block', ms: 120_000, channel: 'unused' }, { timeoutMs: 120_000 }).catch(() => undefined);
    expect(await killed).toMatchObject({ thread: 1, reason: 'stuck' });
    expect(crashes.map((c) => c.thread)).toEqual([1]);
    const timeouts = failures.filter((f) => f.phase === 'timeout');
    expect(timeouts.filter((f) => (f.error as HandlerTimeoutError).thread === 1).map((f) => f.actor.id)).toEqual([canary.id]);
    // Thread 0's backlog of short handlers named no actor. On a loaded machine the idle thread 0 can go
    // unscheduled past blockingHandlerMs and be reported as the thread (no actor): right of the watchdog.
    expect(timeouts.filter((f) => (f.error as HandlerTimeoutError).thread === 0 && f.actor.slot !== -1)).toEqual([]);
  });

  it('reports, and does not terminate, a legitimate long handler: 100,000 and more asks created in one synchronous stretch of 1.5 s', async () => {
    // stuckThreadMs is the default; 900 ms (the old one) took this thread
    // for a stuck one ten times over (issue 10).
    const r = await start({ blockingHandlerMs: 500 });
    const crashes: ThreadCrash[] = [];
    r.crashes.subscribe((c) => crashes.push(c));
    const failures: ActorFailure[] = [];
    r.failures.subscribe((f) => failures.push(f));
    const asker = await r.spawn<LongAskerMsg, { count: number; sum: number }>(longAskerUrl, undefined, { thread: 0 });
    const neighbour = await r.spawn<LongAskerMsg, string>(longAskerUrl, undefined, { thread: 0 });
    const echo = await r.spawn<LongAskerMsg, number>(longAskerUrl, undefined, { thread: 1 });
    const born = await neighbour.ask({ type: 'born' });
    const { count, sum } = await asker.ask({ type: 'burst', to: echo, minCount: 100_000, minMs: 1500 }, { timeoutMs: 120_000 });
    expect(count).toBeGreaterThanOrEqual(100_000);
    expect(sum).toBe((count * (count - 1)) / 2);
    expect(crashes).toEqual([]);
    expect(await neighbour.ask({ type: 'born' })).toBe(born); // not restarted
    // Reports naming an actor of thread 0 only (see above): an idle thread unscheduled on a loaded machine is reported as the thread.
    const timeouts = failures.filter((f) => f.phase === 'timeout' && (f.error as HandlerTimeoutError).thread === 0 && f.actor.slot !== -1);
    expect(timeouts).toHaveLength(1);
    expect(timeouts[0].actor.id).toBe(asker.id);
    expect(timeouts[0].error).toBeInstanceOf(HandlerTimeoutError);
    expect(timeouts[0].error).toMatchObject({ thread: 0, messageKind: '"burst"', limitMs: 500 });
    expect(timeouts[0].error.message).toContain(asker.id);
  });

  it('reports a thread held outside any handler (an async continuation) as the thread, not as the actor that ran last', async () => {
    const r = await start({ heartbeatMs: 20, blockingHandlerMs: 200 });
    const failures: ActorFailure[] = [];
    r.failures.subscribe((f) => failures.push(f));
    const a = await r.spawn<LongAskerMsg, string>(longAskerUrl, undefined, { thread: 1 });
    expect(await a.ask({ type: 'spinAfterAwait', ms: 800 })).toBe('spun');
    // Only thread 1's reports: on a loaded machine (load 20+ on 2 cores) the idle thread 0 can go unscheduled past
    // blockingHandlerMs and be reported too, which is right of the watchdog and not this test's business.
    const ofThread1 = () => failures.filter((f) => f.phase === 'timeout' && (f.error as HandlerTimeoutError).thread === 1);
    const timeouts = await eventually(ofThread1, (t) => t.length > 0);
    expect(timeouts).toHaveLength(1);
    expect(timeouts[0].actor.slot).toBe(-1);
    expect(timeouts[0].error).toMatchObject({ thread: 1, messageKind: undefined });
    expect(timeouts[0].error.message).toMatch(/^Code outside any message handler .* has held pool thread 1/);
  });

  it("reports a handler that never returns first (phase 'timeout'), terminates its thread after stuckThreadMs, hands the message over once, then dead-letters it as poison", async () => {
    const r = await start({ heartbeatMs: 20, blockingHandlerMs: 300, stuckThreadMs: 1000 });
    const events: string[] = [];
    r.failures.subscribe((f) => {
      if (f.phase === 'timeout') events.push(`timeout ${f.actor.id} ${(f.error as HandlerTimeoutError).messageKind}`);
    });
    r.crashes.subscribe((c) => events.push(`crash ${c.reason}`));
    const letters = collectDeadLetters(r);
    const a = (await r.spawn(crashyUrl, undefined, { thread: 1 })) as Crashy; // at-least-once
    await a.ask({ type: 'add', n: 1 });
    const stuck = a.ask({ type: 'block', ms: 120_000, channel: 'unused' }, { timeoutMs: 60_000 }).catch((e: Error) => e);
    a.tell({ type: 'add', n: 2 });
    expect(await stuck).toBeInstanceOf(PoisonMessageError);
    // Restarted by its supervisor, from its checkpoint; what came after the poison is delivered.
    expect(await a.ask({ type: 'get' })).toEqual([1, 2]);
    const reported = `timeout ${a.id} "block"`;
    // (On a loaded machine a replacement thread's start-up may be reported too: not this test's business.)
    const ofA = () => events.filter((e) => e.startsWith('crash') || e.startsWith(`timeout ${a.id} `));
    expect(await eventually(ofA, (e) => e.length >= 4)).toEqual([reported, 'crash stuck', reported, 'crash stuck']);
    expect(letters.filter((l) => l.reason === 'poison').map((l) => [l.recipient.id, (l.message as { type: string }).type])).toEqual([[a.id, 'block']]);
  });

  it('refuses bad heartbeatMs, blockingHandlerMs and stuckThreadMs with InvalidOptionError', async () => {
    for (const [options, option] of [
      [{ heartbeatMs: 5 }, 'heartbeatMs'],
      [{ heartbeatMs: 'often' }, 'heartbeatMs'],
      [{ stuckThreadMs: -1 }, 'stuckThreadMs'],
      [{ heartbeatMs: 100, stuckThreadMs: 150 }, 'stuckThreadMs'],
      [{ blockingHandlerMs: 1.5 }, 'blockingHandlerMs'],
      [{ heartbeatMs: 100, blockingHandlerMs: 150 }, 'blockingHandlerMs'],
    ] as const) {
      const err = await Runtime.start({ threads: 1, ...(options as object) }).catch((e: unknown) => e);
      expect(err).toMatchObject({ name: 'InvalidOptionError', option });
    }
  });

  it('redelivers the message being handled at the crash (at-least-once, the default): its ask is answered after recovery', async () => {
    const r = await start();
    const a = (await r.spawn(crashyUrl, undefined, { thread: 1 })) as Crashy;
    await a.ask({ type: 'add', n: 1 });
    const marker = join(tmpdir(), `microswarm-crash-${process.pid}-${Math.random()}`);
    const crashed = nextCrash(r);
    const answer = a.ask({ type: 'exitIfFirst', marker }, { timeoutMs: 20_000 });
    for (let n = 2; n <= 20; n++) a.tell({ type: 'add', n });
    expect(await crashed).toMatchObject({ rehosted: 1 });
    expect(await answer).toBe('handled after the crash');
    expect(await a.ask({ type: 'get' })).toEqual([1, -1, ...Array.from({ length: 19 }, (_, i) => i + 2)]);
    rmSync(marker, { force: true });
  });

  it("dead-letters it instead under delivery 'at-most-once' (reason 'crashed'), and delivers the rest", async () => {
    const r = await start();
    const letters = collectDeadLetters(r);
    const a = (await r.spawn(crashyUrl, undefined, { thread: 1, delivery: 'at-most-once' })) as Crashy;
    const marker = join(tmpdir(), `microswarm-crash-${process.pid}-${Math.random()}`);
    const crashed = nextCrash(r);
    const answer = a.ask({ type: 'exitIfFirst', marker }, { timeoutMs: 20_000 }).catch((e: Error) => e);
    for (let n = 1; n <= 20; n++) a.tell({ type: 'add', n });
    await crashed;
    expect(await answer).toBeInstanceOf(ActorCrashedError);
    expect(await a.ask({ type: 'get' })).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    expect(letters.filter((l) => l.reason === 'crashed').map((l) => (l.message as { type: string }).type)).toEqual(['exitIfFirst']);
    rmSync(marker, { force: true });
  });

  it("hands a message that kills its thread every time over once, then dead-letters it ('poison'): two crashes, not ten; its ask rejects with PoisonMessageError", async () => {
    const r = await start();
    const crashes: ThreadCrash[] = [];
    r.crashes.subscribe((c) => crashes.push(c));
    const failures: ActorFailure[] = [];
    r.failures.subscribe((f) => failures.push(f));
    const letters = collectDeadLetters(r);
    const a = (await r.spawn(crashyUrl, undefined, { thread: 1 })) as Crashy;
    await r.spawn<LongAskerMsg, string>(longAskerUrl, undefined, { thread: 1 }); // its neighbour on thread 1
    await a.ask({ type: 'add', n: 1 });
    const answer = a.ask({ type: 'exit' }, { timeoutMs: 30_000 }).catch((e: Error) => e);
    for (let n = 2; n <= 5; n++) a.tell({ type: 'add', n });
    const error = await answer;
    expect(error).toBeInstanceOf(PoisonMessageError);
    expect(error).toMatchObject({ actor: a.toString(), crashes: 2 });
    // Its supervisor (the root's default: restart) brought it back from its
    // checkpoint; the messages behind the poison arrive, in order.
    expect(await a.ask({ type: 'get' })).toEqual([1, 2, 3, 4, 5]);
    // The thread died twice (the error's count above), each time with its two actors (it and its neighbour) brought
    // back. A replacement that dies while it is still taking over is covered by its predecessor's report
    // (docs/supervision.md): two reports, or one when the replay's death came before the takeover was answered.
    const reports = await eventually(
      () => crashes.map((c) => [c.reason, c.rehosted]),
      (list) => list.length >= 1,
    );
    expect(reports.length).toBeLessThanOrEqual(2);
    expect(reports).toEqual(reports.map(() => ['exited', 2]));
    expect(letters.filter((l) => l.reason === 'poison').map((l) => [l.recipient.id, (l.message as { type: string }).type])).toEqual([[a.id, 'exit']]);
    const poison = failures.filter((f) => f.error instanceof PoisonMessageError);
    expect(poison.map((f) => [f.actor.id, f.phase])).toEqual([[a.id, 'receive']]);
  });

  it('blames the handler that was running when its thread died, not an async one in flight on the same thread', async () => {
    const r = await start();
    const letters = collectDeadLetters(r);
    const slow = await r.spawn<{ type: 'sleep'; ms: number }, string>(new URL('./fixtures/slow.ts', import.meta.url), undefined, { thread: 1 });
    const a = (await r.spawn(crashyUrl, undefined, { thread: 1 })) as Crashy;
    // In flight (awaiting its timer) at both deaths, handed over after each.
    const sleeping = slow.ask({ type: 'sleep', ms: 1500 }, { timeoutMs: 60_000 }).catch((e: Error) => e);
    const exit = a.ask({ type: 'exit' }, { timeoutMs: 60_000 }).catch((e: Error) => e);
    expect(await exit).toBeInstanceOf(PoisonMessageError);
    expect(await sleeping).toBe('slept');
    expect(letters.filter((l) => l.reason === 'poison').map((l) => l.recipient.id)).toEqual([a.id]);
  });

  it('blames no message for a thread killed on request (killThread): the message being handled is handed over after every kill', async () => {
    const r = await start();
    const letters = collectDeadLetters(r);
    const a = (await r.spawn(crashyUrl, undefined, { thread: 1 })) as Crashy; // at-least-once
    const channel = `killed-${process.pid}-${Math.random()}`;
    const port = new BroadcastChannel(channel);
    let entered = 0;
    port.onmessage = () => entered++;
    try {
      const answer = a.ask({ type: 'block', ms: 1500, channel }, { timeoutMs: 60_000 });
      for (let kill = 1; kill <= 2; kill++) {
        await eventually(
          () => entered,
          (n) => n >= kill,
          20_000,
        );
        await r.killThread(1);
      }
      expect(await answer).toBe('unblocked'); // the third time, it was left to finish
      expect(entered).toBe(3);
      expect(letters.filter((l) => l.reason === 'poison')).toEqual([]);
    } finally {
      port.close();
    }
  });

  it('lets the supervisor decide what becomes of the actor whose message was poison: stop', async () => {
    const r = await start({ supervisor: { decider: (error) => (error instanceof PoisonMessageError ? 'stop' : 'restart') } });
    const crashes: ThreadCrash[] = [];
    r.crashes.subscribe((c) => crashes.push(c));
    const a = (await r.spawn(crashyUrl, undefined, { thread: 1 })) as Crashy;
    const answer = a.ask({ type: 'exit' }, { timeoutMs: 30_000 }).catch((e: Error) => e);
    const error = await answer;
    expect(error).toBeInstanceOf(PoisonMessageError);
    expect(error).toMatchObject({ actor: a.toString(), crashes: 2 });
    await eventually(
      () => a.ask({ type: 'get' }).catch((e: Error) => e),
      (v) => v instanceof Error && v.name === 'ActorStoppedError',
    );
    // The thread died twice (the error's count above), each time with the actor brought back. A replacement that
    // dies while it is still taking over is covered by its predecessor's report (docs/supervision.md): two
    // reports, or one when the replay's death came before the takeover was answered.
    const reports = await eventually(
      () => crashes.map((c) => c.rehosted),
      (list) => list.length >= 1,
    );
    expect(reports.length).toBeLessThanOrEqual(2);
    expect(reports).toEqual(reports.map(() => 1));
  });

  it('refuses a bad delivery option and a bad journalBytes with InvalidOptionError', async () => {
    const r = await start();
    await expect(r.spawn(crashyUrl, undefined, { delivery: 'exactly-once' as never })).rejects.toMatchObject({
      option: 'delivery',
      value: 'exactly-once',
    });
    await expect(Runtime.start({ threads: 1, journalBytes: 100 })).rejects.toMatchObject({ option: 'journalBytes', value: 100 });
  });

  it("applies the parent's strategy to the crashed child's siblings: one-for-all restarts them, one-for-one leaves them", async () => {
    for (const [kind, siblingsRestart] of [
      ['one-for-all', true],
      ['one-for-one', false],
    ] as const) {
      const r = await Runtime.start({ threads: 2 });
      try {
        const parent = await r.spawn(new URL(`./fixtures/sup-${kind}.ts`, import.meta.url), { children: 3, threads: [0, 1, 0] }, { thread: 0 });
        const children = (await parent.ask({ type: 'children' })) as Array<ActorRef<{ type: 'get' }, { born: number }>>;
        const before = await Promise.all(children.map((c) => c.ask({ type: 'get' })));
        const crash = await r.killThread(1);
        expect(crash.rehosted).toBe(1); // c1, spawned on thread 1 through the main thread
        const born = () => Promise.all(children.map((c) => c.ask({ type: 'get' }).then((i) => i.born)));
        if (siblingsRestart) await eventually(born, (b) => b[0] !== before[0].born && b[2] !== before[2].born);
        else expect([(await born())[0], (await born())[2]]).toEqual([before[0].born, before[2].born]);
      } finally {
        await r.shutdown();
      }
    }
  });

  it('Runtime.start rejects with ThreadStartError, instead of hanging or respawning, when its threads cannot start', async () => {
    const err = await Runtime.start({ threads: 1, resourceLimits: { maxOldGenerationSizeMb: 4, maxYoungGenerationSizeMb: 1 } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ThreadStartError);
    expect((err as Error).message).toMatch(/memory/);
  });

  it("delays bringing an actor back by its supervisor's restart backoff; what it is sent meanwhile waits for it, in order", async () => {
    const r = await start({ supervisor: { backoff: { minMs: 400, maxMs: 400, randomFactor: 0 } } });
    const a = await r.spawn<SetupProbeMsg, SetupProbeInfo>(setupProbeUrl, undefined, { thread: 1 });
    const killedAt = Date.now();
    const crash = await r.killThread(1);
    expect(crash.rehosted).toBe(1);
    for (let n = 1; n <= 5; n++) a.tell({ type: 'note', n });
    const info = await a.ask({ type: 'get' });
    // The backoff is a lower bound on when its new state is built (timers never fire early).
    expect(info.builtAt - killedAt).toBeGreaterThanOrEqual(390);
    expect(info.notes).toEqual([1, 2, 3, 4, 5]);
  });

  it('checkpoints in preStart the state init built, and brings the actor back from it', async () => {
    const r = await start();
    const url = new URL('./fixtures/prestart-checkpoint.ts', import.meta.url);
    const a = (await r.spawn(url, { count: 41 }, { thread: 1 })) as ActorRef<{ type: 'get' }, number>;
    expect((await r.killThread(1)).rehosted).toBe(1);
    expect(await a.ask({ type: 'get' })).toBe(41);
  });

  it('stops an actor asked to stop during its restart backoff without running postStop on a state it never got', async () => {
    const r = await start({ supervisor: { backoff: { minMs: 1500, maxMs: 1500, randomFactor: 0 } } });
    const failures: ActorFailure[] = [];
    r.failures.subscribe((event) => failures.push(event));
    const watcher = await r.spawn<ProbeMsg>(probeUrl, undefined, { thread: 0 });
    // Its postStop tells its watcher: on an undefined state that would throw (phase 'postStop').
    const a = await r.spawn<ProbeMsg>(probeUrl, { watcher }, { thread: 1 });
    const killedAt = Date.now();
    expect((await r.killThread(1)).rehosted).toBe(1);
    await r.stop(a);
    expect(Date.now() - killedAt).toBeGreaterThanOrEqual(1490); // it waited for the delay, then ended
    // Had the stop come after the delay, the new instance's postStop would have logged 'postStop' here.
    expect(await watcher.ask({ type: 'history' })).toEqual([]);
    await expect(a.ask({ type: 'history' })).rejects.toBeInstanceOf(ActorStoppedError);
    expect(failures.filter((f) => f.phase === 'postStop')).toEqual([]);
    expect(r.stats().liveActors).toBe(1);
  });

  it('gives a bounded mailbox back the room its lost same-thread messages held: the count is what still waits for it', async () => {
    const r = await start();
    const target = await r.spawn<SetupProbeMsg, SetupProbeInfo>(setupProbeUrl, undefined, { thread: 1, mailbox: { capacity: 5 } });
    const filler = (await r.spawn(crashyUrl, undefined, { thread: 1, delivery: 'at-most-once' })) as ActorRef<CrashyMsg, unknown>;
    const channel = `bounded-${process.pid}-${Math.random()}`;
    const port = new BroadcastChannel(channel);
    const blocked = new Promise((resolve) => (port.onmessage = resolve));
    // Three same-thread tells wait in target's heap mailbox while the thread is held.
    const msgs = [101, 102, 103].map((n) => ({ type: 'note', n }));
    void filler.ask({ type: 'tellThenBlock', to: target, msgs, ms: 10_000, channel }, { timeoutMs: 20_000 }).catch(() => undefined);
    await blocked;
    port.close();
    // Two more through the ring: 5 of 5 taken, a sixth is refused.
    expect(target.tell({ type: 'note', n: 1 })).toBe(true);
    expect(target.tell({ type: 'note', n: 2 })).toBe(true);
    expect(target.tell({ type: 'note', n: 3 })).toBe(false);
    await r.killThread(1);
    // The ring's two arrive; the heap's three died with the thread.
    expect((await target.ask({ type: 'get' })).notes).toEqual([1, 2]);
    // Suspended, it takes nothing off its count: exactly 5 fit again.
    await r.suspend(target);
    const accepted = [10, 11, 12, 13, 14, 15].map((n) => target.tell({ type: 'note', n }));
    expect(accepted).toEqual([true, true, true, true, true, false]);
    await r.resume(target);
    // Its mailbox is full until it has handled some: ask once there is room.
    const info = await eventually(
      () => target.ask({ type: 'get' }).catch(() => undefined),
      (i) => i !== undefined,
    );
    expect(info?.notes).toEqual([1, 2, 10, 11, 12, 13, 14]);
  });

  it('runs the threadSetup module on every pool thread before it hosts actors', async () => {
    const r = await start({ threadSetup: threadSetupUrl });
    for (const thread of [0, 1]) {
      const a = await r.spawn<SetupProbeMsg, SetupProbeInfo>(setupProbeUrl, undefined, { thread });
      expect((await a.ask({ type: 'get' })).setupRuns).toBe(1);
    }
  });

  it('Runtime.start rejects with ThreadStartError naming the threadSetup that failed', async () => {
    process.env.MICROSWARM_TEST_SETUP_FAIL = '1';
    try {
      const err = await Runtime.start({ threads: 1, threadSetup: threadSetupUrl }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ThreadStartError);
      expect((err as Error).message).toContain('setup refused by the test');
      expect((err as Error).message).toContain('thread-setup.ts');
    } finally {
      delete process.env.MICROSWARM_TEST_SETUP_FAIL;
    }
  });

  it('goes on with the threads it has when a replacement thread fails to start: reported once, not respawned, its actors lost', async () => {
    const r = await start({ threadSetup: threadSetupUrl, standbyThreads: 0, heartbeatMs: 20, stuckThreadMs: 1000 });
    const failures: ActorFailure[] = [];
    r.failures.subscribe((f) => failures.push(f));
    const onZero = await r.spawn<SetupProbeMsg, SetupProbeInfo>(setupProbeUrl, undefined, { thread: 0 });
    const onOne = await r.spawn<SetupProbeMsg, SetupProbeInfo>(setupProbeUrl, undefined, { thread: 1 });
    // A parent on thread 1 whose child on thread 0 is lost with it: the child leaves ctx.children.
    const parent = await r.spawn<ProbeMsg, unknown>(probeUrl, undefined, { thread: 1 });
    const child = (await parent.ask({ type: 'spawn', module: probeUrl.href, options: { thread: 0 } })) as ActorRef;
    // A stop that waits unread in thread 0's ring when it dies (a handler holds the thread, for
    // less than stuckThreadMs): nobody will read it, so it is rejected, not left hanging.
    const holder = (await r.spawn(crashyUrl, undefined, { thread: 0, delivery: 'at-most-once' })) as Crashy;
    const channel = `crash-${process.pid}-${Math.random()}`;
    const port = new BroadcastChannel(channel);
    const blocked = new Promise((resolve) => (port.onmessage = resolve));
    void holder.ask({ type: 'block', ms: 60_000, channel }, { timeoutMs: 60_000 }).catch(() => undefined);
    await blocked;
    port.close();
    const stopping = r.stop(onZero).catch((e: unknown) => e);
    let crash: ThreadCrash;
    process.env.MICROSWARM_TEST_SETUP_FAIL = '1'; // the replacement, created after this, fails its setup
    try {
      crash = await r.killThread(0);
    } finally {
      delete process.env.MICROSWARM_TEST_SETUP_FAIL;
    }
    expect(crash.replaced).toBe(false);
    expect(crash.rehosted).toBe(0);
    expect(crash.lost.map((ref) => ref.slot).sort()).toEqual([onZero.slot, holder.slot, child.slot].sort());
    expect(await stopping).toBeInstanceOf(ActorCrashedError);
    expect(await parent.ask({ type: 'children' })).toEqual([]);
    expect(failures.some((f) => f.error instanceof ThreadStartError && f.error.message.includes('setup refused by the test'))).toBe(true);
    await expect(onZero.ask({ type: 'get' }, { timeoutMs: 2000 })).rejects.toMatchObject({ name: 'ActorStoppedError' });
    // The other thread serves, new actors go there, and the dead one is refused by name.
    expect((await onOne.ask({ type: 'get' })).setupRuns).toBe(1);
    const placed = await r.spawn<SetupProbeMsg, SetupProbeInfo>(setupProbeUrl);
    expect((await placed.ask({ type: 'get' })).setupRuns).toBe(1);
    await expect(r.spawn(setupProbeUrl, undefined, { thread: 0 })).rejects.toMatchObject({ name: 'InvalidOptionError', option: 'thread', value: 0 });
    await expect(r.killThread(0)).rejects.toMatchObject({ name: 'InvalidArgumentError', option: 'thread', value: 0 });
    // Reported once: no second crash of thread 0 while the runtime keeps
    // going. The barrier: a canary blocks thread 1 until the watchdog kills
    // it (stuckThreadMs 1 s of watching, thread 0 included) and thread 1 is
    // recovered; only thread 1's crash may have been reported meanwhile.
    const more: number[] = [];
    r.crashes.subscribe((c) => more.push(c.thread));
    const canary = (await r.spawn(crashyUrl, undefined, { thread: 1, delivery: 'at-most-once' })) as Crashy;
    const killed = nextCrash(r);
    void canary.ask({ type: 'block', ms: 120_000, channel: 'unused' }, { timeoutMs: 120_000 }).catch(() => undefined);
    expect(await killed).toMatchObject({ thread: 1, reason: 'stuck', replaced: true });
    expect(more).toEqual([1]);
  });

  it('refuses a threadSetup that is not a module URL or path, or names no file, with InvalidOptionError', async () => {
    for (const bad of [42, '', 'relative/setup.js', '/no/such/setup.mjs', {}]) {
      await expect(Runtime.start({ threadSetup: bad as never })).rejects.toMatchObject({ name: 'InvalidOptionError', option: 'threadSetup', value: bad });
    }
  });

  it('killThread refuses a thread index out of range, with InvalidArgumentError naming the value', async () => {
    const r = await start();
    for (const bad of [2, -1, 0.5, '0', undefined]) {
      await expect(r.killThread(bad as never)).rejects.toMatchObject({ name: 'InvalidArgumentError', option: 'thread', value: bad });
    }
    await expect(r.killThread(2)).rejects.toBeInstanceOf(InvalidArgumentError); // the class, not only its name
  });
});

describe('ctx.checkpoint', () => {
  it('checkpoints from inside a handler, and refuses (InvalidArgumentError) in an actor without snapshot', async () => {
    const r = await start();
    const a = (await r.spawn(new URL('./fixtures/plain.ts', import.meta.url))) as ActorRef<{ type: 'checkpoint' }, unknown>;
    await expect(a.ask({ type: 'checkpoint' })).rejects.toMatchObject({ name: 'InvalidArgumentError', option: 'ref' });
    const b = (await r.spawn(crashyUrl, undefined, { thread: 1 })) as Crashy;
    expect(await b.ask({ type: 'checkpoint' })).toBeGreaterThan(0);
  });
});

describe('handlerTimeoutMs', () => {
  it("reports a handler over its limit on rt.failures (phase 'timeout'), async or not, without cutting it off", async () => {
    const r = await start();
    const failures: ActorFailure[] = [];
    r.failures.subscribe((f) => failures.push(f));
    const slow = await r.spawn<{ type: 'sleep' | 'spin'; ms: number } | { type: 'quick' }, string>(new URL('./fixtures/slow.ts', import.meta.url));
    expect(await slow.ask({ type: 'quick' })).toBe('quick');
    expect(await slow.ask({ type: 'sleep', ms: 200 })).toBe('slept');
    expect(await slow.ask({ type: 'spin', ms: 120 })).toBe('spun');
    const timeouts = await eventually(
      () => failures.filter((f) => f.phase === 'timeout'),
      (t) => t.length >= 2,
    );
    expect(timeouts).toHaveLength(2);
    for (const t of timeouts) {
      expect(t.error).toBeInstanceOf(HandlerTimeoutError);
      expect(t.actor.id).toBe(slow.id);
      expect((t.error as HandlerTimeoutError).limitMs).toBe(50);
    }
  });

  it('refuses a handlerTimeoutMs that is not a positive number', () => {
    for (const bad of [0, -5, 'slow', Infinity]) {
      expect(() => defineActor({ init: () => ({}), receive: () => undefined, handlerTimeoutMs: bad as number })).toThrow(/handlerTimeoutMs/);
    }
  });
});
