/**
 * A supervisor's restart that reaches an actor while `rt.migrate` moves it
 * (a sibling failed under one-for-all): on the old thread, between the
 * prepare and the directory's switch, or on the new one while it arrives.
 * The restart runs where the actor ends up, once it is there, on the state
 * it brought; a stop asked meanwhile wins; a checkpoint asked meanwhile
 * does not save the state the restart then replaces. Then a move whose old
 * thread dies before the new one takes over. The moves are held at chosen
 * steps by BroadcastChannel gates: the new thread's module load
 * (checkpoint-phases-held.ts) or the arrival's `restore`.
 */
import { BroadcastChannel } from 'node:worker_threads';
import { afterEach, describe, expect, it } from 'vitest';
import { ActorStoppedError, MigrationError, Runtime, type ActorFailure, type ActorRef } from '../src/index.js';
import type { PhasesMsg } from './fixtures/checkpoint-phases.js';
import type { ProbeMsg } from './fixtures/probe.js';
import { eventually, guarded } from './fixtures/helpers.js';

type Phases = ActorRef<PhasesMsg, unknown>;
const phasesUrl = new URL('./fixtures/checkpoint-phases.ts', import.meta.url);
const heldUrl = new URL('./fixtures/checkpoint-phases-held.ts', import.meta.url);
const probeUrl = new URL('./fixtures/probe.ts', import.meta.url);

let rt: Runtime | undefined;
let ports: BroadcastChannel[] = [];
afterEach(async () => {
  for (const port of ports) port.close();
  ports = [];
  await rt?.shutdown();
  rt = undefined;
});

/**
 * Two threads, top-level actors restarted one-for-all, and no standby
 * thread (it would load each spawned module too, and take the held load's
 * second turn). `b`, on `thread`, is the sibling whose failure restarts `a`.
 */
async function start(thread: number, decider?: () => 'restart'): Promise<{ r: Runtime; b: Phases; failures: ActorFailure[] }> {
  const r = await Runtime.start({ threads: 2, standbyThreads: 0, supervisor: { strategy: 'one-for-all', decider } });
  rt = r;
  const failures: ActorFailure[] = [];
  r.failures.subscribe((f) => failures.push(f));
  const b = (await r.spawn(phasesUrl, { count: 1 }, { thread })) as Phases;
  await b.ask({ type: 'add', n: 10 });
  return { r, b, failures };
}

/**
 * `b` fails; the root restarts it and `a`. Returns once `b` is back (from
 * its checkpoint, 1): the directive for `a`, sent after b's through the
 * same ring, has reached a's thread too.
 */
async function failSibling(b: Phases): Promise<void> {
  b.tell({ type: 'boom' });
  await eventually(
    () => b.ask({ type: 'get' }),
    (count) => count === 1,
  );
  // Behind the directive for `a` on that ring, and answered after a
  // setImmediate: what the directive set off at once (a restart, without
  // the fix: supervisor.ts queues it with setImmediate) has run.
  await b.ask({ type: 'nextTurn' });
}

const gateName = () => `phases-${process.pid}-${Math.random()}`;

/** Lets every restore of the checkpoint-phases fixture at the gate named go on, now and later. */
function answerRestores(channel: string): void {
  const port = new BroadcastChannel(channel);
  ports.push(port);
  port.onmessage = (e) => {
    if ((e as MessageEvent).data === 'restoring') port.postMessage('go');
  };
}

/**
 * `a` (checkpointed at 7 by its preStart, 12 when it moves) on thread 1,
 * prepared to move to thread 0, whose load of its module is held: the
 * directory still names thread 1. `answer('go')` lets the move go on,
 * `answer('fail')` fails its second step (the move is cancelled). Loads on
 * other threads after that one (a replacement thread's) go on at once.
 */
async function heldMove(r: Runtime, restoreGate?: string): Promise<{ a: Phases; moved: Promise<void>; answer(word: string): void; held: string }> {
  const loads = new BroadcastChannel(`microswarm-load-${process.pid}`);
  ports.push(loads);
  let seen = 0;
  const secondLoad = new Promise<string>((resolve) => {
    loads.onmessage = (e) => {
      const loading = String((e as MessageEvent).data); // `loading:<threadId>`
      if (++seen === 1)
        loads.postMessage('go'); // the spawn's, on thread 1
      else if (seen === 2) resolve(loading.slice('loading:'.length));
      else loads.postMessage(`go:${loading.slice('loading:'.length)}`);
    };
  });
  const a = (await r.spawn(heldUrl, { count: 7, restoreGate }, { thread: 1 })) as Phases;
  await a.ask({ type: 'add', n: 5 });
  const moved = r.migrate(a, 0);
  moved.catch(() => undefined); // awaited by each test
  const held = await secondLoad;
  return { a, moved, answer: (word) => loads.postMessage(word), held };
}

/** `a` was restarted: from its checkpoint (7), not the 12 it moved with, and nothing of it failed. */
async function restartedFrom7(a: Phases, failures: ActorFailure[]): Promise<void> {
  await eventually(
    () => a.ask({ type: 'get' }),
    (count) => count === 7,
  );
  expect(failures.filter((f) => f.actor.equals(a)).map((f) => f.error.message)).toEqual([]);
}

describe('a restart reaching an actor rt.migrate moves', () => {
  it('on the new thread, while it arrives: runs once it has arrived, on the state it brought', async () => {
    const { r, b, failures } = await start(0);
    const channel = gateName();
    const port = new BroadcastChannel(channel);
    ports.push(port);
    const restoring = new Promise((resolve) => (port.onmessage = resolve));
    const a = (await r.spawn(phasesUrl, { count: 7, restoreGate: channel }, { thread: 1 })) as Phases;
    await a.ask({ type: 'add', n: 5 });
    const moved = r.migrate(a, 0);
    await restoring; // its restore on thread 0 waits at the gate: it is arriving there
    await failSibling(b);
    answerRestores(channel); // the restart's own restore waits at the gate too
    port.postMessage('go'); // the arrival's
    await moved;
    // Before: the restart ran on the cell still arriving: preRestart got no
    // state, and the state it moved with then replaced the restarted one.
    await restartedFrom7(a, failures);
  });

  it('on the new thread, whose restore then fails on arrival: dropped (its supervisor decides anew), nothing left pending', async () => {
    // Restarted on every failure: a failed restore too (the default decider would stop it, and its siblings with it).
    const { r, b } = await start(0, () => 'restart');
    const channel = gateName();
    const port = new BroadcastChannel(channel);
    ports.push(port);
    let restores = 0;
    const restoring = new Promise<void>((resolve) => {
      port.onmessage = () => {
        if (++restores === 1)
          resolve(); // the arrival's: failed below
        else port.postMessage('go'); // the supervisor's restart's
      };
    });
    const a = (await r.spawn(phasesUrl, { count: 7, restoreGate: channel }, { thread: 1 })) as Phases;
    await a.ask({ type: 'add', n: 5 });
    const moved = r.migrate(a, 0);
    await restoring;
    await failSibling(b);
    port.postMessage('fail');
    await moved;
    await eventually(
      () => a.ask({ type: 'get' }),
      (count) => count === 7,
    );
    // Before: the dropped restart stayed due: this checkpoint waited for it forever, and a move was refused.
    expect(await guarded(r.checkpoint(a), 5_000, 'rt.checkpoint')).toBeGreaterThan(0);
    await guarded(r.migrate(a, 1), 5_000, 'rt.migrate');
  });

  it('on the old thread, before the directory names the new one: runs where it arrives, not beside the move', async () => {
    const { r, b, failures } = await start(1);
    const channel = gateName();
    const { a, moved, answer } = await heldMove(r, channel);
    await failSibling(b);
    answerRestores(channel);
    answer('go');
    await moved;
    // Before: the restart ran on thread 1 beside the move (its restore held
    // at the gate), and the state it moved with (12) went on on thread 0.
    await restartedFrom7(a, failures);
  });

  it('on the old thread, the move then cancelled: runs there', async () => {
    const { r, b, failures } = await start(1);
    const { a, moved, answer } = await heldMove(r);
    await failSibling(b);
    answer('fail');
    await expect(moved).rejects.toThrow('load refused by the test');
    await restartedFrom7(a, failures);
  });

  it('with a stop asked after it, the move then cancelled: the stop wins', async () => {
    const { r, b } = await start(1);
    const { a, moved, answer } = await heldMove(r);
    await failSibling(b);
    const stopped = r.stop(a);
    await b.ask({ type: 'get' }); // behind the stop on thread 1's ring
    answer('fail');
    await expect(moved).rejects.toThrow('load refused by the test');
    // Before: the restart, run at the cancel, found the stop asked and
    // returned, leaving the actor failed and held: the stop never came.
    await guarded(stopped, 5_000, 'rt.stop');
    await expect(a.ask({ type: 'get' })).rejects.toBeInstanceOf(ActorStoppedError);
  });

  it('rt.checkpoint asked meanwhile does not save the state the restart replaces', async () => {
    const { r, b, failures } = await start(1);
    const channel = gateName();
    const { a, moved, answer } = await heldMove(r, channel);
    await failSibling(b);
    const bytes = r.checkpoint(a);
    bytes.catch(() => undefined); // awaited below
    // Behind the checkpoint request on thread 1: a spawn, suspend and resume there.
    const other = await r.spawn(phasesUrl, { count: 0 }, { thread: 1 });
    await r.suspend(other);
    await r.resume(other);
    answerRestores(channel);
    answer('go');
    await moved;
    // It waited for the restart, which ran on thread 0: asked again there, it would save the restarted state.
    await expect(bytes).rejects.toBeInstanceOf(MigrationError);
    // Before: it saved 12 at once, which the restart then restored.
    await restartedFrom7(a, failures);
  });
});

describe('an actor rt.migrate moves, its old thread dying', () => {
  it('its old thread killed while the new one loads: the move fails, and the actor goes on where recovery brought it back', async () => {
    const { r, failures } = await start(0);
    const { a, moved, answer, held } = await heldMove(r);
    const crash = await r.killThread(1);
    expect(crash.rehosted).toBe(1);
    answer(`go:${held}`); // thread 0's load of the move goes on
    await expect(guarded(moved, 5_000, 'rt.migrate')).rejects.toBeInstanceOf(MigrationError);
    // Before: the move went on, and the directory named thread 0, where a cell waited forever for a state that never came.
    expect(await guarded(a.ask({ type: 'get' }), 5_000, 'ask')).toBe(7);
    expect(failures.filter((f) => f.actor.equals(a))).toEqual([]);
    // b on thread 0, a on thread 1 (the replacement): the cell thread 0 made for its arrival is gone.
    await eventually(
      () => r.stats().threads.map((t) => t.actors),
      (actors) => actors.join() === '1,1',
    );
  });

  it('its old thread killed while the new one loads: what actors of the new thread asked it meanwhile is answered where it was brought back', async () => {
    const { r } = await start(0);
    const asker = (await r.spawn(probeUrl, undefined, { thread: 0 })) as ActorRef<ProbeMsg, unknown>;
    const { a, moved, answer, held } = await heldMove(r);
    await r.killThread(1);
    // An actor of thread 0 asks a, over and over, until released.
    const channel = `asks-${process.pid}-${Math.random()}`;
    const port = new BroadcastChannel(channel);
    ports.push(port);
    const entered = new Promise<void>((resolve) => {
      port.onmessage = (e) => {
        if ((e as MessageEvent).data === 'entered') resolve();
      };
    });
    const asks = asker.ask({ type: 'askUntilReleased', to: a, msg: { type: 'get' }, channel }, { timeoutMs: 60_000 });
    asks.catch(() => undefined); // awaited below
    await entered;
    answer(`go:${held}`); // thread 0's load of the move goes on
    // The main thread does not turn for 100 ms: thread 0 makes the cell
    // and answers, and its asker's next ask finds that cell (a send on the
    // same thread goes to the cell it finds there) before the main thread
    // tells thread 0 to drop it.
    const until = performance.now() + 100;
    while (performance.now() < until) {
      // held
    }
    await expect(guarded(moved, 5_000, 'rt.migrate')).rejects.toBeInstanceOf(MigrationError);
    port.postMessage('release');
    // Before: the ask that reached the dropped cell went with it (no dead letter), and timed out 5 s later.
    expect(typeof (await guarded(asks, 10_000, 'the asker'))).toBe('number');
  });
});
