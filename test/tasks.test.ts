/**
 * rt.tasks on a real runtime: agents declared by defineActor (or at spawn)
 * take tasks through their mailboxes, cancellation reaches a running
 * handler, a task whose agent's thread dies is placed again, and plain
 * function tasks run on the same Piscina pool in priority order.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BroadcastChannel } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import {
  ActorCrashedError,
  ActorModuleError,
  InvalidArgumentError,
  InvalidOptionError,
  MessageTooLargeError,
  Runtime,
  TaskCancelledError,
} from '../src/index.js';
import type { TaskAgentArgs } from './fixtures/task-agent.js';
import { Gate, eventually, guarded, useRuntime } from './fixtures/helpers.js';

const agentUrl = new URL('./fixtures/task-agent.ts', import.meta.url);
const doubleUrl = new URL('./fixtures/fn-double.ts', import.meta.url);
const sleepUrl = new URL('./fixtures/fn-sleep.ts', import.meta.url);
const exitFirstUrl = new URL('./fixtures/fn-exit-first.ts', import.meta.url);
const crashyUrl = new URL('./fixtures/crashy.ts', import.meta.url);

const start = useRuntime({ threads: 2 });

async function spawnAgent(r: Runtime, args: TaskAgentArgs, options: Parameters<Runtime['spawn']>[2] = {}) {
  const ref = await r.spawn(agentUrl, args, options);
  // Registration reaches the scheduler through the main thread's control ring.
  await eventually(
    () => Promise.resolve(r.tasks.stats().agents.some((a) => a.ref === ref.toString())),
    (known) => known,
  );
  return ref;
}

describe('rt.tasks with agents', () => {
  it('places tasks on agents (capabilities from defineActor or spawn), answers with their results, and keeps statistics', async () => {
    const r = await start();
    await spawnAgent(r, { name: 'plain' }, { thread: 0 });
    await spawnAgent(r, { name: 'gpu' }, { thread: 1, capabilities: ['gpu'], capacity: 4 });
    const echo = r.tasks.submit<{ payload: unknown; by: string }>({ kind: 'echo', payload: { n: 1 } });
    expect((await echo.result).payload).toEqual({ n: 1 });
    expect(echo.status).toBe('succeeded');
    const gpu = await Promise.all([1, 2, 3].map((n) => r.tasks.submit<{ by: string }>({ kind: 'echo', payload: n, requires: ['gpu'] }).result));
    expect(gpu.map((g) => g.by)).toEqual(['gpu', 'gpu', 'gpu']);
    const stats = r.tasks.stats();
    expect(stats.byKind.echo.succeeded).toBe(4);
    expect(stats.agents.find((a) => a.capabilities.includes('gpu'))).toMatchObject({ capacity: 4, successes: 3, breaker: 'closed' });
    expect(stats.runMs.count).toBe(4);
    await expect(r.tasks.submit({ kind: 'fail' }).result).rejects.toThrow('told to fail');
  });

  it("fires a running task's signal inside the agent on cancel; the agent goes on with the next task", async () => {
    const r = await start();
    await spawnAgent(r, { name: 'only' });
    const long = r.tasks.submit({ kind: 'sleep', payload: { ms: 30_000 } });
    const next = r.tasks.submit<string>({ kind: 'echo', payload: 'after' });
    await eventually(
      () => Promise.resolve(long.status),
      (s) => s === 'running',
    );
    long.cancel('no longer needed');
    await expect(long.result).rejects.toBeInstanceOf(TaskCancelledError);
    expect((await next.result) as unknown).toMatchObject({ payload: 'after', by: 'only' });
  });

  it('places a task again when its agent dies with its thread while handling it (at-most-once agent), and never runs it twice at once', async () => {
    const r = await start();
    const doomed = await spawnAgent(r, { name: 'doomed' }, { thread: 1, delivery: 'at-most-once' });
    const survivor = await spawnAgent(r, { name: 'survivor' }, { thread: 0 });
    const gate = new Gate();
    try {
      // Round-robin starts at the first agent: doomed.
      const h = r.tasks.submit<string>({ kind: 'hold-first', payload: { channel: gate.channel, value: 'x' }, strategy: 'round-robin' });
      // Its handler runs (not only its message sent): the thread dies in the middle of it.
      await guarded(gate.entered, 10_000, 'the first attempt entering its handler');
      expect(r.tasks.stats().agents.find((a) => a.inFlight > 0)?.ref).toBe(doomed.toString());
      await r.killThread(1);
      // Were the cut-off attempt handed over again, it would hold again (attempt 1): no result.
      expect(await guarded(h.result, 10_000, "the task's result")).toMatch(/^(doomed|survivor)$/);
      expect(h.attempts).toBe(2);
      // Were it handed over again beside the new one, it would hold and then
      // log 'x' once released: each agent's history ask queues behind any
      // task message it still had.
      gate.release();
      const histories = await Promise.all(
        [doomed, survivor].map((a) => guarded(a.ask({ type: 'history' }) as Promise<unknown[]>, 10_000, `${a}'s history`)),
      );
      expect(histories.flat()).toEqual(['x']);
    } finally {
      gate.close();
    }
  });

  it("runs a task once, as its first attempt, when its agent's thread dies before taking the task's message (at-most-once is about a message being handled)", async () => {
    const r = await start();
    const doomed = await spawnAgent(r, { name: 'doomed' }, { thread: 1, delivery: 'at-most-once' });
    // Holds thread 1 in a synchronous spin: the task's message stays in the ring.
    const blocker = await r.spawn(crashyUrl, undefined, { thread: 1, delivery: 'at-most-once' });
    const channel = `microswarm-test-block-${process.pid}`;
    const port = new BroadcastChannel(channel);
    try {
      const blocked = new Promise((resolve) => (port.onmessage = resolve));
      void blocker.ask({ type: 'block', ms: 20_000, channel }, { timeoutMs: 30_000 }).catch(() => undefined);
      await guarded(blocked, 10_000, 'thread 1 blocking');
      const h = r.tasks.submit<string>({ kind: 'log', payload: 'x' });
      await eventually(
        () => Promise.resolve(h.status),
        (s) => s === 'running',
      );
      await r.killThread(1);
      // Never handled when the thread died: the agent brought back runs it.
      expect(await h.result).toBe('doomed');
      expect(h.attempts).toBe(1);
      expect(await doomed.ask({ type: 'history' })).toEqual(['x']);
    } finally {
      port.close();
    }
  });

  it("a handler whose own ask fails with ActorStoppedError fails the task (HandlerError), without taking it for its agent's loss", async () => {
    const r = await start();
    await spawnAgent(r, { name: 'only' });
    const gone = await r.spawn(agentUrl, { name: 'gone' });
    await r.stop(gone);
    const h = r.tasks.submit({ kind: 'ask-stopped', payload: { ref: gone } });
    await expect(h.result).rejects.toMatchObject({ name: 'HandlerError', cause: { name: 'ActorStoppedError' } });
    expect(h.attempts).toBe(1);
  });

  it('refuses a module that does not exist and bad spawn options, with typed errors', async () => {
    const r = await start();
    expect(() => r.tasks.submit({ module: new URL('./fixtures/nope.ts', import.meta.url) })).toThrow(ActorModuleError);
    await expect(r.spawn(agentUrl, { name: 'x' }, { capabilities: 'gpu' as never })).rejects.toBeInstanceOf(InvalidOptionError);
    await expect(r.spawn(agentUrl, { name: 'x' }, { capacity: 0 })).rejects.toMatchObject({ name: 'InvalidOptionError', option: 'capacity', value: 0 });
    await expect(Runtime.start({ tasks: { strategy: 'best' as never } })).rejects.toMatchObject({ name: 'InvalidOptionError', option: 'tasks.strategy' });
  });
});

describe('rt.tasks function tasks', () => {
  it('runs a module function on the pool, with its result or its error', async () => {
    const r = await start();
    expect(await r.tasks.submit({ module: doubleUrl, payload: 21 }).result).toBe(42);
    await expect(r.tasks.submit({ module: doubleUrl, payload: -1 }).result).rejects.toThrow('negative: -1');
  });

  it('fails a function task whose module does not export a function, with InvalidArgumentError, every time', async () => {
    const r = await start();
    const notAFunction = new URL('./fixtures/not-an-actor.ts', import.meta.url);
    for (let i = 0; i < 2; i++) {
      const error = await r.tasks.submit({ module: notAFunction }).result.then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(InvalidArgumentError);
      expect((error as Error).message).toContain('default export is a function');
    }
  });

  it('refuses a function task payload or answer above maxMessageBytes with MessageTooLargeError (they travel as messages do)', async () => {
    const r = await start({ maxMessageBytes: 1024 });
    const repeatUrl = new URL('./fixtures/fn-repeat.ts', import.meta.url);
    await expect(r.tasks.submit({ module: repeatUrl, payload: 'y'.repeat(4096) }).result).rejects.toBeInstanceOf(MessageTooLargeError);
    await expect(r.tasks.submit({ module: repeatUrl, payload: 4096 }).result).rejects.toBeInstanceOf(MessageTooLargeError);
    // Below the limit both ways: answered.
    expect(await r.tasks.submit<string>({ module: repeatUrl, payload: 100 }).result).toBe('x'.repeat(100));
  });

  it("waits in the scheduler's priority queue when every thread runs its share: critical first, FIFO within a priority", async () => {
    const r = await start({ threads: 1, tasks: { functionConcurrency: 1 } });
    const blocker = r.tasks.submit({ module: sleepUrl, payload: { ms: 300, tag: 'blocker' } });
    await eventually(
      () => Promise.resolve(blocker.status),
      (s) => s === 'running',
    );
    const finished: string[] = [];
    const order = [
      ['low', 'l1'],
      ['normal', 'n1'],
      ['critical', 'c1'],
      ['low', 'l2'],
      ['critical', 'c2'],
    ] as const;
    const handles = order.map(([priority, tag]) =>
      r.tasks.submit<string>({ module: sleepUrl, payload: { ms: 1, tag }, priority }).result.then((t) => finished.push(t)),
    );
    await Promise.all(handles);
    expect(finished).toEqual(['c1', 'c2', 'n1', 'l1', 'l2']);
  });

  it("does not hold the runtime's own control tasks (suspend, checkpoint, recovery) behind queued function tasks", async () => {
    const r = await start({ tasks: { functionConcurrency: 1 } });
    const agent = await r.spawn(agentUrl, { name: 'late' });
    const handles = Array.from({ length: 6 }, (_, i) => r.tasks.submit<string>({ module: sleepUrl, payload: { ms: 1500, tag: `f${i}` } }));
    await eventually(
      () => Promise.resolve(handles[0].status),
      (s) => s === 'running',
    );
    // suspend is a Piscina task to the agent's thread (spawn and stop are ring requests now).
    const first = await Promise.race([r.suspend(agent).then(() => 'suspend'), handles[2].result.then(() => 'function task')]);
    expect(first).toBe('suspend');
    await Promise.all(handles.map((h) => h.result));
  });

  it('places a function task again when its thread dies while it runs, on the thread brought back', async () => {
    const r = await start({ threads: 1 });
    const dir = mkdtempSync(join(tmpdir(), 'microswarm-fn-'));
    try {
      const h = r.tasks.submit<string>({ module: exitFirstUrl, payload: { marker: join(dir, 'marker') } });
      expect(await guarded(h.result, 20_000, "the function task's result")).toBe('again');
      expect(h.attempts).toBe(2);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('fails a function task whose thread died with ActorCrashedError naming the thread and the module, once its re-placements are spent', async () => {
    const r = await start({ threads: 1, tasks: { maxReplacements: 0 } });
    const dir = mkdtempSync(join(tmpdir(), 'microswarm-fn-'));
    try {
      const h = r.tasks.submit({ module: exitFirstUrl, payload: { marker: join(dir, 'marker') } });
      const error = await guarded(
        h.result.then(
          () => undefined,
          (e: unknown) => e,
        ),
        20_000,
        "the function task's failure",
      );
      expect(error).toBeInstanceOf(ActorCrashedError);
      expect(error).toMatchObject({ actor: 'on pool thread 0' });
      expect((error as Error).message).toContain(`function task ${exitFirstUrl.href}`);
      expect(h.attempts).toBe(1);
      // The runtime goes on: the next function task runs on the thread brought back.
      expect(await r.tasks.submit({ module: doubleUrl, payload: 4 }).result).toBe(8);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('cancels a function task that still waits in the queue, without touching the running one', async () => {
    const r = await start({ threads: 1 });
    const running = r.tasks.submit({ module: sleepUrl, payload: { ms: 500, tag: 'running' } });
    await eventually(
      () => Promise.resolve(running.status),
      (s) => s === 'running',
    );
    const waiting = r.tasks.submit({ module: sleepUrl, payload: { ms: 1, tag: 'waiting' } });
    // Queued behind the running one (the thread's function slot is taken), not just submitted.
    await eventually(
      () => r.tasks.stats(),
      (s) => s.running === 1 && Object.values(s.queued).reduce((a, b) => a + b, 0) === 1,
    );
    expect(waiting.status).toBe('queued');
    waiting.cancel();
    await expect(waiting.result).rejects.toBeInstanceOf(TaskCancelledError);
    expect(await running.result).toBe('running');
  });
});
