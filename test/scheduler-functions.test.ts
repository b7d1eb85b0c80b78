/**
 * Function tasks beside agent tasks in the scheduler on its own: a fake
 * executor holds every function call and agent call until the test settles
 * it, so which task goes when, and how much of the queue a dispatch pass
 * reads, are checked exactly. Function tasks on the real pool are in
 * tasks.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { ActorRef, TaskScheduler } from '../src/index.js';
import { resolveSchedulerOptions, type TaskExecutor } from '../src/scheduler/scheduler.js';
import type { TaskQueue } from '../src/scheduler/queue.js';
import type { TaskRecord } from '../src/scheduler/record.js';
import { StubExecutor, flush } from './fixtures/stub-executor.js';

interface Held {
  payload: unknown;
  resolve(value: unknown): void;
}

class HoldingExecutor extends StubExecutor implements TaskExecutor {
  readonly functions: Held[] = [];
  readonly agentCalls: Held[] = [];
  constructor(private readonly slots: number) {
    super();
  }
  runOnAgent(_ref: ActorRef, task: { payload: unknown }): Promise<unknown> {
    return new Promise((resolve) => this.agentCalls.push({ payload: task.payload, resolve }));
  }
  cancelOnAgent(): void {}
  runFunction(_module: string, payload: unknown): Promise<unknown> {
    return new Promise((resolve) => this.functions.push({ payload, resolve }));
  }
  functionSlots(): number {
    return this.slots;
  }

  /** Answers the held function calls from..to-1 (by index, in the order made), one at a time, letting each dispatch pass run. */
  async finishFunctions(from: number, to: number): Promise<void> {
    for (let i = from; i < to; i++) {
      this.functions[i].resolve(i);
      await flush();
    }
  }
}

/**
 * A scheduler with agent 'a' of `capacity` (and 'gpu', of capacity 1, with
 * that capability, when asked for), and a count of the queue entries each
 * dispatch pass reads.
 */
function setup(functionSlots: number, capacity: number, gpu = false) {
  const executor = new HoldingExecutor(functionSlots);
  const scheduler = new TaskScheduler(resolveSchedulerOptions({}), executor);
  scheduler.addAgent(new ActorRef(0, 1, 'a'), [], capacity);
  if (gpu) scheduler.addAgent(new ActorRef(1, 1, 'gpu'), ['gpu'], 1);
  const queue = (scheduler as unknown as { queue: TaskQueue<TaskRecord> }).queue;
  const reads = {
    count: 0,
    /** The queue entries the passes read while function call `i` is answered and its pass runs. */
    async whileFinishing(held: HoldingExecutor, i: number): Promise<number> {
      reads.count = 0;
      await held.finishFunctions(i, i + 1);
      return reads.count;
    },
  };
  const walk = queue.walk.bind(queue);
  queue.walk = (limit, visit) =>
    walk(limit, (entry) => {
      reads.count++;
      return visit(entry);
    });
  return { executor, scheduler, queue, reads };
}

describe('function tasks beside agent tasks', () => {
  it('places an agent task queued behind function tasks that wait for a slot', async () => {
    const { executor, scheduler } = setup(1, 2);
    const fns = Array.from({ length: 5 }, (_, i) => scheduler.submit({ module: 'fn.mjs', payload: `f${i}` }));
    const agentTask = scheduler.submit({ kind: 'k', payload: 'agent' });
    await flush();
    expect(executor.functions.map((f) => f.payload)).toEqual(['f0']);
    expect(executor.agentCalls.map((c) => c.payload)).toEqual(['agent']);
    executor.agentCalls[0].resolve('done');
    expect(await agentTask.result).toBe('done');
    await executor.finishFunctions(0, 5);
    expect(await Promise.all(fns.map((h) => h.result))).toEqual([0, 1, 2, 3, 4]);
  });

  it('counts the function tasks waiting, as they are queued, started and cancelled', async () => {
    const { executor, scheduler, queue } = setup(1, 1);
    const handles = Array.from({ length: 4 }, (_, i) => scheduler.submit({ module: 'fn.mjs', payload: i }));
    scheduler.submit({ kind: 'k', payload: 'agent' });
    await flush();
    expect(queue.size).toBe(3); // one function runs, the agent task runs
    expect(queue.functions).toBe(3);
    handles[3].cancel();
    await handles[3].result.catch(() => undefined);
    expect(queue.functions).toBe(2);
    executor.functions[0].resolve(0);
    await flush();
    expect(queue.functions).toBe(1);
    expect(queue.size).toBe(1);
  });

  it('ends a pass once only function tasks are left and their slots are full, however long the queue (agent slots free)', async () => {
    const { executor, scheduler, reads } = setup(2, 64);
    const handles = Array.from({ length: 500 }, (_, i) => scheduler.submit({ module: 'fn.mjs', payload: i }));
    await flush();
    expect(executor.functions.length).toBe(2);
    for (let i = 0; i < 20; i++) {
      const read = await reads.whileFinishing(executor, i);
      // The pass starts the next function and reads one more to see that it must wait.
      expect(executor.functions.length).toBe(i + 3);
      expect(read).toBeLessThanOrEqual(2);
    }
    await executor.finishFunctions(20, 500);
    expect((await Promise.all(handles.map((h) => h.result))).length).toBe(500);
  });

  it('ends the pass the same way when an agent task waits ahead of the function tasks for its busy agent (other agents free)', async () => {
    const { executor, scheduler, reads } = setup(1, 4, true);
    const busy = scheduler.submit({ kind: 'k', payload: 'busy', requires: ['gpu'] });
    const waiting = scheduler.submit({ kind: 'k', payload: 'waiting', requires: ['gpu'] });
    const handles = Array.from({ length: 300 }, (_, i) => scheduler.submit({ module: 'fn.mjs', payload: i }));
    await flush();
    for (let i = 0; i < 10; i++) {
      const read = await reads.whileFinishing(executor, i);
      expect(executor.functions.length).toBe(i + 2);
      // The waiting agent task, the function started, and the next one that must wait.
      expect(read).toBeLessThanOrEqual(3);
    }
    executor.agentCalls[0].resolve('busy');
    await flush();
    executor.agentCalls[1].resolve('waiting');
    expect([await busy.result, await waiting.result]).toEqual(['busy', 'waiting']);
    await executor.finishFunctions(10, 300);
    expect((await Promise.all(handles.map((h) => h.result))).length).toBe(300);
  });
});
