/**
 * The task scheduler on its own: a fake executor stands for the agents (each
 * call waits until the test settles it), so ordering, dependencies,
 * placement, retries, timeouts, breakers, bulkheads and cancellation are
 * checked exactly, with fake timers where time matters. The runtime-backed
 * behaviour (real agents, crashes, function tasks) is in tasks.test.ts.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  ActorRef,
  DependencyCycleError,
  DependencyFailedError,
  InvalidArgumentError,
  InvalidOptionError,
  NoCapableAgentError,
  QueueFullError,
  type Task,
  TaskCancelledError,
  TaskScheduler,
  TaskTimeoutError,
  ActorCrashedError,
} from '../src/index.js';
import { resolveSchedulerOptions, type SchedulerOptions, type TaskExecutor } from '../src/scheduler/scheduler.js';
import { TaskQueue } from '../src/scheduler/queue.js';
import { DependencyGraph } from '../src/scheduler/dag.js';
import { getEventListeners } from 'node:events';
import { place, type Agent, type PlacementContext } from '../src/scheduler/placement.js';
import { AgentKindStats, Window } from '../src/scheduler/stats.js';
import { StubExecutor, flush } from './fixtures/stub-executor.js';

interface Call {
  agent: string;
  task: Task;
  /** The scheduler asked the agent to stop this task (its task.signal would fire). */
  cancelled: string | undefined;
  resolve(value: unknown): void;
  reject(error: unknown): void;
}

class FakeExecutor extends StubExecutor implements TaskExecutor {
  readonly calls: Call[] = [];
  /** Every call made, taken or not. */
  readonly every: Call[] = [];
  readonly dead = new Set<string>();
  running = 0;
  maxRunning = 0;
  cancelOnAgent(ref: ActorRef, id: string, _attempt: number, reason: string): void {
    for (const call of this.every) if (call.task.id === id) call.cancelled = reason;
    this.cancels.push({ agent: ref.name ?? '', id, reason });
  }
  readonly cancels: Array<{ agent: string; id: string; reason: string }> = [];
  runOnAgent(ref: ActorRef, task: Task): Promise<unknown> {
    this.running++;
    this.maxRunning = Math.max(this.maxRunning, this.running);
    return new Promise((resolve, reject) => {
      const done = (f: (v: unknown) => void) => (v: unknown) => {
        this.running--;
        f(v);
      };
      const call: Call = { agent: ref.name ?? String(ref.slot), task, cancelled: undefined, resolve: done(resolve), reject: done(reject) };
      this.calls.push(call);
      this.every.push(call);
    });
  }
  runFunction(): Promise<unknown> {
    return Promise.resolve('fn');
  }
  functionSlots(): number {
    return 2;
  }
  override isAlive(ref: ActorRef): boolean {
    return !this.dead.has(ref.name ?? '');
  }
  /** Settles every call not yet settled with `value` (a function of the call). */
  take(): Call {
    const call = this.calls.shift();
    if (call === undefined) throw new Error('no call waiting');
    return call;
  }
}

function setup(options: SchedulerOptions = {}, agents: Array<{ name: string; capabilities?: string[]; capacity?: number }> = [{ name: 'a' }]) {
  const executor = new FakeExecutor();
  const scheduler = new TaskScheduler(resolveSchedulerOptions(options), executor);
  agents.forEach((a, i) => scheduler.addAgent(new ActorRef(i, 1, a.name), a.capabilities ?? [], a.capacity ?? 1));
  return { executor, scheduler };
}

describe('priorities and aging', () => {
  it('runs critical, high, normal, low in that order, FIFO within a priority', async () => {
    const { executor, scheduler } = setup();
    const blocker = scheduler.submit({ kind: 'k', payload: 'blocker' });
    await flush();
    const order = ['low', 'normal', 'high', 'critical', 'low', 'normal', 'high', 'critical'] as const;
    order.forEach((priority, i) => scheduler.submit({ kind: 'k', payload: `${priority}${i}`, priority }));
    const ran: unknown[] = [];
    executor.take().resolve('done');
    await blocker.result;
    for (let i = 0; i < order.length; i++) {
      await flush();
      const call = executor.take();
      ran.push(call.task.payload);
      call.resolve(undefined);
    }
    expect(ran).toEqual(['critical3', 'critical7', 'high2', 'high6', 'normal1', 'normal5', 'low0', 'low4']);
  });

  it('ages: a low task waiting 3 x agingMs goes before critical tasks submitted after that, not before', () => {
    const queue = new TaskQueue<{ key: number; lane: number; queued: boolean; module: undefined; name: string }>(1000);
    queue.push({ key: 0, lane: 0, queued: false, module: undefined, name: 'low' }, 3, 0);
    queue.push({ key: 0, lane: 0, queued: false, module: undefined, name: 'critical-early' }, 0, 2999);
    queue.push({ key: 0, lane: 0, queued: false, module: undefined, name: 'critical-late' }, 0, 3001);
    const seen: string[] = [];
    queue.walk(10, (e) => {
      seen.push(e.name);
      return true;
    });
    expect(seen).toEqual(['critical-early', 'low', 'critical-late']);
    expect(queue.sizes()).toEqual([2, 0, 0, 1]);
  });
});

describe('dependencies', () => {
  it('runs a diamond in dependency order, and a long chain one by one', async () => {
    const { executor, scheduler } = setup({}, [{ name: 'a', capacity: 4 }]);
    const a = scheduler.submit({ kind: 'k', payload: 'a' });
    const b = scheduler.submit({ kind: 'k', payload: 'b', dependsOn: [a] });
    const c = scheduler.submit({ kind: 'k', payload: 'c', dependsOn: [a] });
    const d = scheduler.submit({ kind: 'k', payload: 'd', dependsOn: [b, c.id] });
    await flush();
    expect(executor.calls.map((x) => x.task.payload)).toEqual(['a']);
    expect(d.status).toBe('blocked');
    executor.take().resolve(1);
    await flush();
    expect(executor.calls.map((x) => x.task.payload).sort()).toEqual(['b', 'c']);
    executor.take().resolve(2);
    await flush();
    expect(d.status).toBe('blocked');
    executor.take().resolve(3);
    await flush();
    expect(executor.calls.map((x) => x.task.payload)).toEqual(['d']);
    executor.take().resolve(4);
    expect(await d.result).toBe(4);

    let previous = scheduler.submit({ kind: 'k', payload: 0 });
    for (let i = 1; i < 100; i++) previous = scheduler.submit({ kind: 'k', payload: i, dependsOn: [previous] });
    for (let i = 0; i < 100; i++) {
      await flush();
      expect(executor.calls.length).toBe(1);
      const call = executor.take();
      expect(call.task.payload).toBe(i);
      call.resolve(i);
    }
    expect(await previous.result).toBe(99);
  });

  it('refuses a cycle at submit with DependencyCycleError naming it, including one closed through ids submitted later', () => {
    const { scheduler } = setup();
    scheduler.submit({ kind: 'k', id: 'x', dependsOn: ['z'] });
    scheduler.submit({ kind: 'k', id: 'y', dependsOn: ['x'] });
    let error: unknown;
    try {
      scheduler.submit({ kind: 'k', id: 'z', dependsOn: ['y'] });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(DependencyCycleError);
    expect((error as DependencyCycleError).cycle).toEqual(['z', 'y', 'x', 'z']);
    expect(() => scheduler.submit({ kind: 'k', id: 'self', dependsOn: ['self'] })).toThrow(DependencyCycleError);
  });

  it('fails the dependents of a failed task with DependencyFailedError, transitively; onDependencyFailure run lets one run', async () => {
    const { executor, scheduler } = setup({}, [{ name: 'a', capacity: 4 }]);
    const a = scheduler.submit({ kind: 'k' });
    const b = scheduler.submit({ kind: 'k', dependsOn: [a] });
    const c = scheduler.submit({ kind: 'k', dependsOn: [b] });
    const runs = scheduler.submit({ kind: 'k', payload: 'anyway', dependsOn: [a], onDependencyFailure: 'run' });
    await flush();
    executor.take().reject(new Error('a failed'));
    await expect(a.result).rejects.toThrow('a failed');
    await expect(b.result).rejects.toBeInstanceOf(DependencyFailedError);
    await expect(c.result).rejects.toMatchObject({ name: 'DependencyFailedError', taskId: c.id, dependency: b.id });
    await flush();
    const call = executor.take();
    expect(call.task.payload).toBe('anyway');
    call.resolve('ran');
    expect(await runs.result).toBe('ran');
    // A dependency that already failed fails a new dependent at once.
    await expect(scheduler.submit({ kind: 'k', dependsOn: [a] }).result).rejects.toBeInstanceOf(DependencyFailedError);
  });
});

function agent(
  name: string,
  options: Omit<Partial<Agent>, 'capabilities'> & { capabilities?: string[]; kindMs?: number; kindOk?: number; kindFail?: number } = {},
): Agent {
  const byKind = new Map<string, AgentKindStats>();
  if (options.kindMs !== undefined) {
    const s = new AgentKindStats();
    s.ewmaMs = options.kindMs;
    s.successes = options.kindOk ?? 10;
    s.failures = options.kindFail ?? 0;
    byKind.set('k', s);
  }
  return {
    ref: new ActorRef(0, 1, name),
    capabilities: new Set(options.capabilities ?? []),
    capacity: options.capacity ?? 1,
    limit: options.limit ?? options.capacity ?? 1,
    inFlight: options.inFlight ?? 0,
    breaker: undefined as never,
    breakerState: options.breakerState ?? 'closed',
    openedAt: options.openedAt ?? 0,
    failStreak: 0,
    byKind,
    successes: 0,
    failures: 0,
    latency: new Window(),
    alive: options.alive ?? true,
  };
}

const ctxOf = (elu: Record<string, number> = {}): PlacementContext => ({
  now: 10_000,
  halfOpenAfterMs: 1000,
  depth: () => 0,
  elu: (a) => elu[a.ref.name as string] ?? 0,
  kind: () => undefined,
});
const task = (requires: string[] = []) => ({ kind: 'k', requires, benefit: 1 });

describe('placement strategies', () => {
  it('round-robin takes turns among those that can take the task', () => {
    const agents = [agent('a'), agent('b', { inFlight: 1 }), agent('c')];
    const cursor = { at: 0 };
    const picks = [0, 1, 2, 3].map(() => place('round-robin', agents, task(), ctxOf(), cursor)?.ref.name);
    expect(picks).toEqual(['a', 'c', 'a', 'c']);
  });

  it('breaks ties round-robin from the cursor, so equal agents share work; capability then by load', () => {
    const agents = [agent('a'), agent('b'), agent('c')];
    const cursor = { at: 0 };
    expect([0, 1, 2, 3].map(() => place('least-loaded', agents, task(), ctxOf(), cursor)?.ref.name)).toEqual(['a', 'b', 'c', 'a']);
    // least-loaded does not weigh the thread: the cursor decides between equal loads.
    expect(place('least-loaded', agents, task(), ctxOf({ a: 0.1, b: 0.9, c: 0.9 }), { at: 1 })?.ref.name).toBe('b');
    // Nor speed: the lower load per capacity wins over the faster agent.
    const mixed = [agent('roomy', { capacity: 10, inFlight: 1, kindMs: 10 }), agent('quick', { capacity: 4, inFlight: 1, kindMs: 1 })];
    expect(place('least-loaded', mixed, task(), ctxOf(), { at: 1 })?.ref.name).toBe('roomy');
    const fits = [agent('busy', { capabilities: ['gpu'], capacity: 4, inFlight: 2 }), agent('idle', { capabilities: ['gpu'], capacity: 4 })];
    expect(place('capability', fits, task(['gpu']), ctxOf(), { at: 0 })?.ref.name).toBe('idle');
  });

  it('least-loaded picks the lowest in-flight per capacity; load-balanced also weighs the thread', () => {
    const agents = [agent('a', { capacity: 4, inFlight: 2 }), agent('b', { capacity: 4, inFlight: 1 }), agent('c', { capacity: 2, inFlight: 1 })];
    expect(place('least-loaded', agents, task(), ctxOf(), { at: 0 })?.ref.name).toBe('b');
    expect(place('load-balanced', agents, task(), ctxOf({ b: 0.9, a: 0.1, c: 0.5 }), { at: 0 })?.ref.name).toBe('a');
  });

  it('capability: only agents with every capability, the best fit first', () => {
    const agents = [agent('all', { capabilities: ['gpu', 'ssd', 'net'] }), agent('gpu', { capabilities: ['gpu'] }), agent('none')];
    expect(place('capability', agents, task(['gpu']), ctxOf(), { at: 0 })?.ref.name).toBe('gpu');
    expect(place('capability', agents, task(['gpu', 'net']), ctxOf(), { at: 0 })?.ref.name).toBe('all');
    expect(place('least-loaded', agents, task(['tpu']), ctxOf(), { at: 0 })).toBeUndefined();
    // Every strategy honours requirements, not only 'capability'.
    expect(place('round-robin', agents, task(['ssd']), ctxOf(), { at: 1 })?.ref.name).toBe('all');
  });

  it('utility: benefit x success probability / expected cost picks the fast reliable agent, and weighs its queue', () => {
    const agents = [agent('slow', { kindMs: 10 }), agent('flaky', { kindMs: 1, kindOk: 0, kindFail: 20 }), agent('good', { kindMs: 2, capacity: 4 })];
    expect(place('utility', agents, task(), ctxOf(), { at: 0 })?.ref.name).toBe('good');
    agents[2].inFlight = 3; // three tasks ahead of it: 2 ms x 4 = 8 ms, still better than 10 ms
    expect(place('utility', agents, task(), ctxOf(), { at: 0 })?.ref.name).toBe('good');
    agents[0].byKind.get('k')!.ewmaMs = 5;
    expect(place('utility', agents, task(), ctxOf(), { at: 0 })?.ref.name).toBe('slow');
  });

  it('skips agents that are dead, full, or whose breaker is open (until it may half-open), or half-open', () => {
    const agents = [
      agent('dead', { alive: false }),
      agent('full', { inFlight: 1 }),
      agent('open', { breakerState: 'open', openedAt: 9500 }),
      agent('probing', { breakerState: 'half-open' }),
      agent('due', { breakerState: 'open', openedAt: 8000 }),
    ];
    expect(place('least-loaded', agents, task(), ctxOf(), { at: 0 })?.ref.name).toBe('due');
  });

  it('optimal-batch assigns waiting tasks to free slots at the least total expected cost', async () => {
    const { executor, scheduler } = setup({ strategy: 'optimal-batch' }, [
      { name: 'gpu', capabilities: ['gpu', 'cpu'] },
      { name: 'cpu', capabilities: ['cpu'] },
    ]);
    // Greedy in arrival order would put the cpu task on the first free agent
    // (gpu) and leave the gpu task waiting; the exact assignment does not.
    const cpuTask = scheduler.submit({ kind: 'k', payload: 'cpu-task', requires: ['cpu'] });
    const gpuTask = scheduler.submit({ kind: 'k', payload: 'gpu-task', requires: ['gpu'] });
    await flush();
    const placed = Object.fromEntries(executor.calls.map((c) => [c.task.payload, c.agent]));
    expect(placed).toEqual({ 'cpu-task': 'cpu', 'gpu-task': 'gpu' });
    for (const c of executor.calls.splice(0)) c.resolve(c.agent);
    expect([await cpuTask.result, await gpuTask.result]).toEqual(['cpu', 'gpu']);
  });

  it('refuses a task no live agent can do with NoCapableAgentError naming what is required and offered', () => {
    const { scheduler } = setup({}, [{ name: 'a', capabilities: ['cpu'] }]);
    expect(() => scheduler.submit({ kind: 'k', requires: ['gpu'] })).toThrow(NoCapableAgentError);
    expect(() => scheduler.submit({ kind: 'k', requires: ['gpu'] })).toThrow(/"gpu".*offer "cpu"/);
  });
});

describe('resilience (fake clock)', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
    vi.restoreAllMocks();
  });

  it('retries with exponential backoff and jitter, placing each retry again, and gives up after `retries`', async () => {
    // Decorrelated jitter draws from Math.random: pinned at 0.5 its delays
    // for initialDelayMs 100 are about 90, 109 and 204 ms (then clamped by maxDelayMs).
    vi.spyOn(Math, 'random').mockReturnValue(0.5);
    const { executor, scheduler } = setup({ breaker: { failures: 100 } });
    const h = scheduler.submit({ kind: 'k', retry: { retries: 3, initialDelayMs: 100, maxDelayMs: 150 } });
    await flush();
    executor.take().reject(new Error('one'));
    await flush();
    expect(h.status).toBe('retrying');
    await vi.advanceTimersByTimeAsync(85);
    expect(executor.calls.length).toBe(0); // waiting out the backoff
    await vi.advanceTimersByTimeAsync(10);
    const second = executor.take();
    expect(second.task.attempt).toBe(2);
    second.reject(new Error('two'));
    await vi.advanceTimersByTimeAsync(105);
    expect(executor.calls.length).toBe(0); // a longer wait the second time
    await vi.advanceTimersByTimeAsync(10);
    const third = executor.take();
    expect(third.task.attempt).toBe(3);
    third.reject(new Error('three'));
    await vi.advanceTimersByTimeAsync(145);
    expect(executor.calls.length).toBe(0);
    await vi.advanceTimersByTimeAsync(10); // 204 ms clamped to maxDelayMs
    const fourth = executor.take();
    expect(fourth.task.attempt).toBe(4);
    fourth.reject(new Error('four'));
    await expect(h.result).rejects.toThrow('four');
    expect(h.attempts).toBe(4);
    expect(scheduler.stats().retrying).toBe(0);
  });

  it('times an attempt out (its signal fires), retries it, and never runs it twice at once', async () => {
    const { executor, scheduler } = setup({}, [{ name: 'a' }, { name: 'b' }]);
    const h = scheduler.submit({ kind: 'k', timeoutMs: 50, retry: { retries: 1, initialDelayMs: 0, maxDelayMs: 0 } });
    await flush();
    const first = executor.take();
    await vi.advanceTimersByTimeAsync(60);
    expect(first.cancelled).toBe('its attempt timed out');
    expect(executor.calls.length).toBe(0); // not retried while the first is still out
    first.reject(new TaskCancelledError(h.id, 'timed out'));
    await vi.advanceTimersByTimeAsync(5);
    const second = executor.take();
    expect(executor.maxRunning).toBe(1);
    second.resolve('ok');
    expect(await h.result).toBe('ok');
    // Out of retries, a timeout fails the task with TaskTimeoutError.
    const once = scheduler.submit({ kind: 'k', timeoutMs: 50 });
    await flush();
    const call = executor.take();
    await vi.advanceTimersByTimeAsync(60);
    call.reject(new TaskCancelledError(once.id, 'timed out'));
    await expect(once.result).rejects.toBeInstanceOf(TaskTimeoutError);
  });

  it('gives up on an attempt that ignores its signal after as long again, failing the task, keeping the slot until it answers', async () => {
    const { executor, scheduler } = setup();
    const h = scheduler.submit({ kind: 'k', timeoutMs: 200, retry: { retries: 3, initialDelayMs: 0, maxDelayMs: 0 } });
    await flush();
    const stubborn = executor.take();
    await vi.advanceTimersByTimeAsync(450);
    await expect(h.result).rejects.toBeInstanceOf(TaskTimeoutError);
    expect(h.attempts).toBe(1); // not retried: that could run it twice
    const next = scheduler.submit({ kind: 'k' });
    await flush();
    expect(executor.calls.length).toBe(0); // the only agent's slot is still taken
    stubborn.resolve('late');
    await flush();
    executor.take().resolve('next');
    expect(await next.result).toBe('next');
  });

  it("adaptive timeouts follow the kind's durations: percentile x factor, clamped; the maximum until enough samples", async () => {
    const { executor, scheduler } = setup({ adaptiveTimeout: { percentile: 0.9, factor: 2, minMs: 10, maxMs: 5000, minSamples: 5 } });
    expect(scheduler.timeoutFor({ kind: 'fast', timeoutMs: 'adaptive' })).toBe(5000);
    for (let i = 0; i < 10; i++) {
      const h = scheduler.submit({ kind: 'fast' });
      await flush();
      await vi.advanceTimersByTimeAsync(i < 9 ? 20 : 40);
      executor.take().resolve(i);
      await h.result;
    }
    expect(scheduler.timeoutFor({ kind: 'fast', timeoutMs: 'adaptive' })).toBe(40);
    expect(scheduler.stats().byKind.fast.timeoutMs).toBe(40);
  });

  it("default adaptive timeouts: submits with timeoutMs 'adaptive' get 60 s until 20 samples, then p99 x 3 (at least 50 ms)", async () => {
    const { executor, scheduler } = setup();
    /** Runs one adaptive task of `kind` for `ms` and says whether its attempt was cut off as timed out. */
    const run = async (kind: string, ms: number) => {
      const h = scheduler.submit({ kind, timeoutMs: 'adaptive' });
      await flush();
      const call = executor.take();
      await vi.advanceTimersByTimeAsync(ms);
      const cut = call.cancelled;
      call.resolve('done');
      await h.result;
      return cut;
    };
    for (let i = 0; i < 19; i++) expect(await run('k', 100)).toBeUndefined();
    // The 20th sample: 19 are not enough, so this one still has the 60 s maximum (p99 x 3 would be 300 ms).
    expect(await run('k', 400)).toBeUndefined();
    expect(scheduler.stats().byKind.k.timeoutMs).toBe(1200); // p99 (nearest rank: the 400) x 3
    const h = scheduler.submit({ kind: 'k', timeoutMs: 'adaptive' });
    await flush();
    const call = executor.take();
    await vi.advanceTimersByTimeAsync(1190);
    expect(call.cancelled).toBeUndefined();
    await vi.advanceTimersByTimeAsync(20);
    expect(call.cancelled).toBe('its attempt timed out');
    call.reject(new TaskCancelledError(h.id, 'timed out'));
    await expect(h.result).rejects.toBeInstanceOf(TaskTimeoutError);
    for (let i = 0; i < 20; i++) await run('tiny', 1);
    expect(scheduler.stats().byKind.tiny.timeoutMs).toBe(50); // 3 ms, raised to the minimum
  });

  it('default aging: a low task waiting 3 x 5 s goes before critical tasks submitted after that, not before', async () => {
    const { executor, scheduler } = setup();
    const blocker = scheduler.submit({ kind: 'k', payload: 'blocker' });
    await flush();
    scheduler.submit({ kind: 'k', payload: 'low', priority: 'low' });
    await vi.advanceTimersByTimeAsync(14_990);
    scheduler.submit({ kind: 'k', payload: 'critical-early', priority: 'critical' });
    await vi.advanceTimersByTimeAsync(20);
    scheduler.submit({ kind: 'k', payload: 'critical-late', priority: 'critical' });
    executor.take().resolve('done');
    await blocker.result;
    const ran: unknown[] = [];
    for (let i = 0; i < 3; i++) {
      await flush();
      const call = executor.take();
      ran.push(call.task.payload);
      call.resolve(undefined);
    }
    expect(ran).toEqual(['critical-early', 'low', 'critical-late']);
  });

  it("default breaker: an agent's opens after 5 consecutive failures and lets a probe through after 5 s", async () => {
    const { executor, scheduler } = setup({}, [{ name: 'bad', capabilities: ['only-bad'] }, { name: 'good' }]);
    const state = () => scheduler.stats().agents[0].breaker;
    for (let i = 0; i < 5; i++) {
      expect(state(), `after ${i} failures`).toBe('closed');
      const h = scheduler.submit({ kind: 'k', requires: ['only-bad'] });
      await flush();
      executor.take().reject(new Error('bad'));
      await h.result.catch(() => undefined);
    }
    expect(state()).toBe('open');
    const probe = scheduler.submit({ kind: 'k', requires: ['only-bad'] });
    await vi.advanceTimersByTimeAsync(4_990);
    expect(executor.calls.length).toBe(0); // still open
    await vi.advanceTimersByTimeAsync(20);
    const call = executor.take();
    expect(call.agent).toBe('bad');
    call.resolve('ok');
    expect(await probe.result).toBe('ok');
    expect(state()).toBe('closed');
  });

  it("opens an agent's breaker after consecutive failures, places elsewhere, half-opens for one probe, closes on success", async () => {
    const { executor, scheduler } = setup({ breaker: { failures: 2, halfOpenAfterMs: 1000 } }, [
      { name: 'bad', capabilities: ['only-bad'] },
      { name: 'good' },
    ]);
    const stateOf = (name: string) => scheduler.stats().agents.find((a) => a.ref.includes(name === 'bad' ? '0.1' : '1.1'))?.breaker;
    for (let i = 0; i < 2; i++) {
      expect(stateOf('bad')).toBe('closed');
      const h = scheduler.submit({ kind: 'k', requires: ['only-bad'] });
      await flush();
      executor.take().reject(new Error('bad'));
      await h.result.catch(() => undefined);
    }
    expect(stateOf('bad')).toBe('open');
    const placedWhileOpen: string[] = [];
    for (let i = 0; i < 3; i++) {
      const h = scheduler.submit({ kind: 'k', strategy: 'round-robin' });
      await flush();
      const call = executor.take();
      placedWhileOpen.push(call.agent);
      call.resolve('ok');
      await h.result;
    }
    expect(placedWhileOpen).toEqual(['good', 'good', 'good']);
    await vi.advanceTimersByTimeAsync(1000);
    const probe = scheduler.submit({ kind: 'k', strategy: 'least-loaded' });
    const other = scheduler.submit({ kind: 'k', strategy: 'least-loaded' });
    await flush();
    expect(executor.calls.map((c) => c.agent).sort()).toEqual(['bad', 'good']); // one probe, not two
    expect(stateOf('bad')).toBe('half-open');
    for (const c of executor.calls.splice(0)) c.resolve('ok');
    await Promise.all([probe.result, other.result]);
    expect(stateOf('bad')).toBe('closed');
  });

  it('counts consecutive failures across attempts that overlap: a success in between resets the breaker', async () => {
    const { executor, scheduler } = setup({ breaker: { failures: 2, halfOpenAfterMs: 1000 } }, [{ name: 'a', capacity: 2 }]);
    const state = () => scheduler.stats().agents[0].breaker;
    // Two attempts at once; one fails, then the other succeeds: not consecutive.
    const one = scheduler.submit({ kind: 'k' });
    const two = scheduler.submit({ kind: 'k' });
    await flush();
    executor.take().reject(new Error('first fails'));
    await one.result.catch(() => undefined);
    executor.take().resolve('second succeeds');
    await two.result;
    await flush();
    const three = scheduler.submit({ kind: 'k' });
    await flush();
    executor.take().reject(new Error('one failure after a success'));
    await three.result.catch(() => undefined);
    await flush();
    expect(state()).toBe('closed'); // 1 consecutive failure, the threshold is 2
    const four = scheduler.submit({ kind: 'k' });
    await flush();
    executor.take().reject(new Error('second in a row'));
    await four.result.catch(() => undefined);
    await flush();
    expect(state()).toBe('open');
  });

  it('bulkheads cap tasks in flight overall and per agent', async () => {
    const { executor, scheduler } = setup({ maxInFlight: 3, maxInFlightPerAgent: 2 }, [
      { name: 'a', capacity: 10 },
      { name: 'b', capacity: 10 },
    ]);
    const handles = Array.from({ length: 10 }, () => scheduler.submit({ kind: 'k' }));
    await flush();
    expect(executor.calls.length).toBe(3);
    for (let done = 0; done < 10; done++) {
      expect(executor.running).toBeLessThanOrEqual(3);
      const perAgent = new Map<string, number>();
      for (const c of executor.calls) perAgent.set(c.agent, (perAgent.get(c.agent) ?? 0) + 1);
      for (const n of perAgent.values()) expect(n).toBeLessThanOrEqual(2);
      executor.take().resolve(done);
      await flush();
    }
    await Promise.all(handles.map((h) => h.result));
    expect(executor.maxRunning).toBe(3);
  });

  it('re-places a task whose agent crashed (attempts count), up to maxReplacements', async () => {
    const { executor, scheduler } = setup({ maxReplacements: 1 }, [{ name: 'a' }, { name: 'b' }]);
    const h = scheduler.submit({ kind: 'k' });
    await flush();
    executor.take().reject(new ActorCrashedError('a'));
    await vi.advanceTimersByTimeAsync(5);
    const again = executor.take();
    expect(again.task.attempt).toBe(2);
    again.reject(new ActorCrashedError('b'));
    await vi.advanceTimersByTimeAsync(5);
    await expect(h.result).rejects.toBeInstanceOf(ActorCrashedError);
  });
});

describe('cancellation', () => {
  it('at every stage: blocked, queued, between retries, running (its signal fires in the agent)', async () => {
    vi.useFakeTimers();
    try {
      const { executor, scheduler } = setup();
      const running = scheduler.submit({ kind: 'k', payload: 'running' });
      const queued = scheduler.submit({ kind: 'k', payload: 'queued' });
      const blocked = scheduler.submit({ kind: 'k', dependsOn: [queued] });
      await flush();
      const call = executor.take();
      expect(queued.cancel()).toBe(true);
      await expect(queued.result).rejects.toBeInstanceOf(TaskCancelledError);
      await expect(blocked.result).rejects.toBeInstanceOf(DependencyFailedError);
      const controller = new AbortController();
      const viaSignal = scheduler.submit({ kind: 'k', signal: controller.signal, dependsOn: [running] });
      controller.abort('not needed');
      await expect(viaSignal.result).rejects.toThrow(/not needed/);
      expect(running.cancel('stop')).toBe(true);
      expect(call.cancelled).toContain('stop');
      await expect(running.result).rejects.toMatchObject({ name: 'TaskCancelledError', message: expect.stringContaining('stop') });
      expect(running.cancel()).toBe(false);
      call.reject(new TaskCancelledError(running.id, 'stop'));
      // Between retries.
      const retrying = scheduler.submit({ kind: 'k', retry: { retries: 5, initialDelayMs: 10_000, maxDelayMs: 10_000 } });
      await flush();
      executor.take().reject(new Error('fails'));
      await flush();
      expect(retrying.status).toBe('retrying');
      retrying.cancel();
      await expect(retrying.result).rejects.toBeInstanceOf(TaskCancelledError);
      await vi.advanceTimersByTimeAsync(20_000);
      expect(executor.calls.length).toBe(0);
      expect(scheduler.stats()).toMatchObject({ retrying: 0, running: 0, blocked: 0 });
    } finally {
      vi.useRealTimers();
    }
  });
});

describe('regressions', () => {
  it("onDependencyFailure 'run' waits for all its dependencies, not just the first to fail", async () => {
    const { executor, scheduler } = setup({}, [{ name: 'a', capacity: 4 }]);
    const a = scheduler.submit({ kind: 'k', payload: 'a' });
    const b = scheduler.submit({ kind: 'k', payload: 'b' });
    const c = scheduler.submit({ kind: 'k', payload: 'c', dependsOn: [a, b], onDependencyFailure: 'run' });
    await flush();
    executor.calls.find((x) => x.task.payload === 'a')?.reject(new Error('a failed'));
    await flush();
    expect(c.status).toBe('blocked'); // b still runs
    executor.calls.find((x) => x.task.payload === 'b')?.resolve('b');
    await flush();
    expect(executor.calls.some((x) => x.task.payload === 'c')).toBe(true);
    await a.result.catch(() => undefined);
    expect(await b.result).toBe('b');
  });

  it('tasks no agent can take now do not hide the tasks behind them', async () => {
    const { executor, scheduler } = setup({}, [
      { name: 'gpu', capabilities: ['gpu'] },
      { name: 'cpu', capabilities: ['cpu'] },
    ]);
    const stuck = Array.from({ length: 300 }, () => scheduler.submit({ kind: 'k', requires: ['gpu'] }).result.catch(() => undefined));
    await flush();
    executor.dead.add('gpu'); // its tasks wait for a gpu agent that is gone
    const cpu = scheduler.submit({ kind: 'k', payload: 'cpu', requires: ['cpu'] });
    await flush();
    const call = executor.calls.find((x) => x.task.payload === 'cpu');
    expect(call?.agent).toBe('cpu');
    call?.resolve('done');
    expect(await cpu.result).toBe('done');
    void stuck;
  });

  it('a finished task no longer keeps a listener on a shared signal', async () => {
    const { executor, scheduler } = setup({}, [{ name: 'a', capacity: 100 }]);
    const controller = new AbortController();
    const handles = Array.from({ length: 50 }, () => scheduler.submit({ kind: 'k', signal: controller.signal }));
    expect(getEventListeners(controller.signal, 'abort').length).toBe(50);
    await flush();
    for (const c of executor.calls.splice(0)) c.resolve(1);
    await Promise.all(handles.map((h) => h.result));
    expect(getEventListeners(controller.signal, 'abort').length).toBe(0);
  });

  it('the dependency graph forgets all but the last `remember` finished tasks, 16 over at a time, keeping those a waiting task needs', () => {
    const graph = new DependencyGraph(3);
    graph.add('needed', []);
    graph.add('waiter', ['needed', 'not-yet']); // waits on a task not submitted yet
    graph.settle('needed', 'succeeded');
    for (let i = 0; i < 18; i++) {
      graph.add(`t${i}`, []);
      graph.settle(`t${i}`, 'succeeded');
    }
    expect(graph.isSubmitted('t0')).toBe(true); // 19 finished: up to 3 + 16 are remembered
    graph.add('t18', []);
    graph.settle('t18', 'failed');
    // 20 finished: the oldest 17 go, but for the one 'waiter' still needs.
    expect(['needed', 't15', 't16', 't17', 't18'].map((id) => graph.isSubmitted(id))).toEqual([true, false, true, true, true]);
    expect(graph.knows('t0')).toBe(false);
    expect(graph.add('t0', [])).toMatchObject({ ready: true }); // a forgotten id may be used again
    expect(graph.add('late', ['t18', 'needed'])).toEqual({ ready: false, failed: 't18', allSettled: true });
  });

  it('the dependency graph forgets finished tasks in one pass, even when all must be kept, and checks cycles without walking long chains', () => {
    const graph = new DependencyGraph(3);
    const deps = Array.from({ length: 20 }, (_, i) => `d${i}`);
    graph.add('waiter', deps);
    for (const d of deps) graph.settle(d, 'succeeded'); // all kept: 'waiter' still needs them... until it has them all
    expect(deps.every((d) => graph.knows(d))).toBe(true);
    let previous = 'c0';
    graph.add(previous, []);
    for (let i = 1; i < 20_000; i++) {
      graph.add(`c${i}`, [previous]);
      previous = `c${i}`;
    }
    expect(() => graph.add('c0-again', ['c19999'])).not.toThrow();
  });

  it('utility waits for a busy fast agent only as long as the free slow one would take, then places the task there', async () => {
    vi.useFakeTimers();
    try {
      const { executor, scheduler } = setup({ strategy: 'utility' }, [{ name: 'fast' }, { name: 'slow' }]);
      const warm = async (agent: string, ms: number) => {
        const h = scheduler.submit({ kind: 'k', strategy: 'round-robin' });
        await flush();
        const call = executor.calls.find((c) => c.agent === agent) as Call;
        executor.calls.splice(executor.calls.indexOf(call), 1);
        await vi.advanceTimersByTimeAsync(ms);
        call.resolve('warm');
        await h.result;
      };
      await warm('fast', 10);
      await warm('slow', 100);
      scheduler.submit({ kind: 'k' }); // takes the fast agent, and never answers
      await flush();
      expect(executor.calls.map((c) => c.agent)).toEqual(['fast']);
      const waiting = scheduler.submit({ kind: 'k', payload: 'w' });
      await flush();
      expect(executor.calls.length).toBe(1); // it waits for the fast one
      await vi.advanceTimersByTimeAsync(150); // longer than the slow agent would take
      const placed = executor.calls.find((c) => c.task.payload === 'w');
      expect(placed?.agent).toBe('slow');
      placed?.resolve('slow did it');
      expect(await waiting.result).toBe('slow did it');
    } finally {
      vi.useRealTimers();
    }
  });
});

describe('bad input', () => {
  it('submit refuses each bad field with InvalidArgumentError naming it and the value', () => {
    const { scheduler } = setup();
    const bad: Array<[unknown, string]> = [
      [null, 'spec'],
      [{}, 'spec.kind'],
      [{ kind: '' }, 'spec.kind'],
      [{ kind: 'k', priority: 'urgent' }, 'spec.priority'],
      [{ kind: 'k', requires: 'gpu' }, 'spec.requires'],
      [{ kind: 'k', timeoutMs: -1 }, 'spec.timeoutMs'],
      [{ kind: 'k', timeoutMs: 'auto' }, 'spec.timeoutMs'],
      [{ kind: 'k', retry: { retries: -1 } }, 'spec.retry.retries'],
      [{ kind: 'k', retry: { retries: 1, initialDelayMs: 10, maxDelayMs: 5 } }, 'spec.retry.maxDelayMs'],
      [{ kind: 'k', strategy: 'random' }, 'spec.strategy'],
      [{ kind: 'k', dependsOn: 'x' }, 'spec.dependsOn'],
      [{ kind: 'k', dependsOn: [3] }, 'spec.dependsOn[0]'],
      [{ kind: 'k', signal: {} }, 'spec.signal'],
      [{ kind: 'k', benefit: 0 }, 'spec.benefit'],
      [{ kind: 'k', colour: 'red' }, 'spec.colour'],
      [{ kind: 'k', onDependencyFailure: 'maybe' }, 'spec.onDependencyFailure'],
      [{ kind: 'k', id: '' }, 'spec.id'],
    ];
    for (const [spec, option] of bad) {
      let error: unknown;
      try {
        scheduler.submit(spec as never);
      } catch (e) {
        error = e;
      }
      expect(error, option).toBeInstanceOf(InvalidArgumentError);
      expect(error, option).toMatchObject({ option });
    }
    scheduler.submit({ kind: 'k', id: 'taken' });
    expect(() => scheduler.submit({ kind: 'k', id: 'taken' })).toThrow(/`"taken"`/);
  });

  it('throws QueueFullError beyond maxQueue (backpressure), and takes tasks again once there is room', async () => {
    const { executor, scheduler } = setup({ maxQueue: 3 });
    const handles = [scheduler.submit({ kind: 'k' })];
    await flush(); // that one runs
    for (let i = 0; i < 3; i++) handles.push(scheduler.submit({ kind: 'k' })); // three wait
    expect(() => scheduler.submit({ kind: 'k' })).toThrow(QueueFullError);
    await flush();
    executor.take().resolve(0);
    await handles[0].result;
    await flush();
    expect(() => scheduler.submit({ kind: 'k' })).not.toThrow();
  });

  it('scheduler options are checked with InvalidOptionError naming the option', () => {
    const bad: Array<[unknown, string]> = [
      ['x', 'tasks'],
      [{ strategy: 'fastest' }, 'tasks.strategy'],
      [{ maxQueue: 0 }, 'tasks.maxQueue'],
      [{ agingMs: -5 }, 'tasks.agingMs'],
      [{ breaker: { failures: 0 } }, 'tasks.breaker.failures'],
      [{ adaptiveTimeout: { percentile: 2 } }, 'tasks.adaptiveTimeout.percentile'],
      [{ adaptiveTimeout: { minMs: 100, maxMs: 10 } }, 'tasks.adaptiveTimeout.maxMs'],
      [{ speed: 1 }, 'tasks.speed'],
      [{ functionConcurrency: 0 }, 'tasks.functionConcurrency'],
    ];
    for (const [options, option] of bad)
      expect(() => resolveSchedulerOptions(options), option).toThrow(expect.objectContaining({ name: 'InvalidOptionError', option }));
    // The edges: each bound itself is allowed, one past it is not.
    expect(() => resolveSchedulerOptions({ maxQueue: 2 ** 31 - 1, adaptiveTimeout: { percentile: 1, minMs: 100, maxMs: 100 } })).not.toThrow();
    for (const [options, option] of [
      [{ maxQueue: 2 ** 31 }, 'tasks.maxQueue'],
      [{ adaptiveTimeout: { percentile: 0 } }, 'tasks.adaptiveTimeout.percentile'],
    ] as const) {
      expect(() => resolveSchedulerOptions(options), option).toThrow(expect.objectContaining({ option }));
    }
    expect(() => resolveSchedulerOptions({ maxQueue: 0 })).toThrow(InvalidOptionError); // the class, not only its name
  });
});
