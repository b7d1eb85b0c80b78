/**
 * Running one placed attempt. On an agent: its slots taken at once (the
 * bulkheads, overall and the agent's), then an ask to the agent through its
 * circuit breaker and under the task's timeout (cockatiel's policies), its
 * outcome fed to the agent's statistics. A plain function task: on a free
 * function slot of the Piscina pool, under the same timeout. Either way the
 * attempt's `pending` settles with the outcome (the task's lifecycle decides
 * what follows) and the dispatcher is told a slot is free.
 */
import type { BulkheadPolicy } from 'cockatiel';
import { Task } from '../actors/task.js';
import { TaskCancelledError, TaskTimeoutError } from '../base/errors.js';
import type { SchedulerMetrics } from './metrics.js';
import type { ResolvedSchedulerOptions } from './options.js';
import { cockatiel, isPolicyRejection } from './policies.js';
import type { Agent } from './placement.js';
import type { TaskQueue } from './queue.js';
import { Final, type TaskRecord } from './record.js';
import type { DispatchTrigger, TaskExecutor } from './types.js';

/** @internal */
export class Execution {
  /** Attempts running, on agents and on the pool. */
  running = 0;
  /** Function tasks running (each holds a function slot of the pool). */
  functionsRunning = 0;
  /** The overall bulkhead (cockatiel), when `maxInFlight` is set. */
  readonly total: BulkheadPolicy | undefined;
  private readonly options: ResolvedSchedulerOptions;
  private readonly executor: TaskExecutor;
  private readonly queue: TaskQueue<TaskRecord>;
  private readonly metrics: SchedulerMetrics;
  private readonly trigger: DispatchTrigger;
  private readonly now: () => number;

  constructor(
    options: ResolvedSchedulerOptions,
    executor: TaskExecutor,
    queue: TaskQueue<TaskRecord>,
    metrics: SchedulerMetrics,
    trigger: DispatchTrigger,
    now: () => number,
  ) {
    this.options = options;
    this.executor = executor;
    this.queue = queue;
    this.metrics = metrics;
    this.trigger = trigger;
    this.now = now;
    this.total = options.maxInFlight === Infinity ? undefined : cockatiel().bulkhead(options.maxInFlight, 0);
  }

  // ------------------------------------------------------------- agents

  /** Starts an attempt on `agent`: its slots are taken synchronously (bulkheads), then the ask runs. */
  start(t: TaskRecord, agent: Agent): void {
    this.queue.remove(t);
    const pending = t.pending as NonNullable<TaskRecord['pending']>;
    t.pending = undefined;
    t.status = 'running';
    t.agent = agent;
    this.running++;
    const began = this.now();
    this.metrics.waitWindow.push(began - t.enqueuedAt);
    const task = new Task(t.id, t.kind, t.payload, t.attempts);
    agent.inFlight++;
    const viaBreaker = agent.breakerState !== 'closed' || agent.failStreak > 0;
    const perAgent = this.agentBulkhead(agent);
    // The hot path: no timeout, no bulkhead, a closed breaker that saw no
    // failure since the last success: the ask runs with no policy around it.
    const run =
      !viaBreaker && perAgent === undefined && this.total === undefined && this.metrics.timeoutFor(t) === undefined
        ? this.executor.runOnAgent(agent.ref, task)
        : this.runGuarded(t, agent, task, pending, viaBreaker, perAgent);
    run.then(
      (value) => {
        if (!viaBreaker && agent.failStreak > 0) this.feedBreaker(agent, undefined);
        agent.failStreak = 0;
        this.settleRun(t, agent, true, began);
        pending.resolve(value);
      },
      (error: unknown) => {
        if (!(error instanceof TaskCancelledError) && !isPolicyRejection(error)) {
          if (!viaBreaker) this.feedBreaker(agent, error);
          agent.failStreak++;
        }
        this.settleRun(t, agent, false, began, error);
        pending.reject(error);
      },
    );
  }

  /**
   * An attempt on `agent` under its policies. The timeout is innermost, per
   * attempt. The breaker sees every outcome: while it is closed and the
   * agent has not failed since its last success, the attempt runs outside
   * its wrapper and only a failure is fed to it (and the success after one),
   * which is what a consecutive-failure breaker counts; otherwise the
   * attempt runs through it. Bulkheads (cockatiel) when configured:
   * overall, then the agent's. The slots are taken synchronously (an async
   * function runs up to its first await at once), so two decisions in one
   * pass cannot overbook them.
   */
  private runGuarded(
    t: TaskRecord,
    agent: Agent,
    task: Task,
    pending: NonNullable<TaskRecord['pending']>,
    viaBreaker: boolean,
    perAgent: BulkheadPolicy | undefined,
  ): Promise<unknown> {
    const timed = () =>
      this.withTimeout(
        t,
        () => this.executor.runOnAgent(agent.ref, task),
        () => this.executor.cancelOnAgent(agent.ref, t.id, task.attempt, 'its attempt timed out'),
        (error) => pending.reject(error),
      );
    const call = viaBreaker ? () => agent.breaker.execute(timed) : timed;
    const guarded = perAgent === undefined ? call : () => perAgent.execute(call);
    return this.total === undefined ? guarded() : this.total.execute(guarded);
  }

  /** Tells the agent's breaker how an attempt that ran outside it ended (a failure, or `undefined`: a success). */
  private feedBreaker(agent: Agent, error: unknown): void {
    agent.breaker.execute(() => (error === undefined ? undefined : Promise.reject(error))).catch(() => undefined);
  }

  private readonly agentBulkheads = new WeakMap<Agent, BulkheadPolicy>();

  /** The agent's bulkhead (cockatiel), when `maxInFlightPerAgent` is set. */
  private agentBulkhead(agent: Agent): BulkheadPolicy | undefined {
    if (this.options.maxInFlightPerAgent === Infinity) return undefined;
    let policy = this.agentBulkheads.get(agent);
    if (policy === undefined) {
      policy = cockatiel().bulkhead(agent.limit, 0);
      this.agentBulkheads.set(agent, policy);
    }
    return policy;
  }

  private settleRun(t: TaskRecord, agent: Agent, ok: boolean, began: number, error?: unknown): void {
    agent.inFlight--;
    this.running--;
    t.agent = undefined;
    const cancelled = t.cancelReason !== undefined;
    if (!cancelled && !isPolicyRejection(error)) this.metrics.recordRun(t, agent, ok, this.now() - began);
    this.trigger.dispatchSoon();
  }

  // ------------------------------------------------------------- functions

  /**
   * Starts a plain function task on a free function slot of the pool. It
   * waited in this scheduler's priority queue, not in Piscina's: Piscina
   * hands out queued work only when a task finishes, so function tasks
   * queued there would hold the runtime's own control tasks (recovery,
   * checkpoints, migration) behind them (measured: a spawn, then one of
   * them, waited 1.5 s). The slot is
   * free again when the function returns, even if the task was abandoned
   * earlier (its timeout passed twice).
   */
  startFunction(t: TaskRecord): void {
    this.queue.remove(t);
    const pending = t.pending as NonNullable<TaskRecord['pending']>;
    t.pending = undefined;
    t.status = 'running';
    this.running++;
    this.functionsRunning++;
    const began = this.now();
    this.metrics.waitWindow.push(began - t.enqueuedAt);
    const ms = this.metrics.timeoutFor(t);
    if (ms !== undefined) {
      this.runTimedFunction(t, ms, began, pending);
      return;
    }
    // No timeout (the hot path): the attempt ends when the function
    // returns, with no wrapper promise around it.
    this.executor.runFunction(t.module as string, t.payload).then(
      (value) => {
        this.functionEnded(t, true, began);
        pending.resolve(value);
      },
      (error: unknown) => {
        this.functionEnded(t, false, began);
        pending.reject(error);
      },
    );
  }

  /** A function task's attempt ended: its slot is free, its run time recorded. */
  private functionEnded(t: TaskRecord, ok: boolean, began: number): void {
    this.functionsRunning--;
    this.running--;
    this.metrics.recordRun(t, undefined, ok, this.now() - began);
    this.trigger.dispatchSoon();
  }

  /**
   * A function task under a timeout. A running function cannot be stopped
   * without killing its thread: the timeout only abandons it (the attempt
   * settles then), while its slot stays taken until the function returns.
   */
  private runTimedFunction(t: TaskRecord, ms: number, began: number, pending: NonNullable<TaskRecord['pending']>): void {
    let abandon: (error: unknown) => void = () => undefined;
    const abandoned = new Promise<never>((_, reject) => (abandon = reject));
    const slotFree = () => {
      this.functionsRunning--;
      this.trigger.dispatchSoon();
    };
    const run = () => {
      const inner = this.executor.runFunction(t.module as string, t.payload);
      inner.then(slotFree, slotFree);
      return inner;
    };
    Promise.race([this.timed(t, ms, run, () => undefined, abandon), abandoned]).then(
      (value) => {
        this.running--;
        this.metrics.recordRun(t, undefined, true, this.now() - began);
        pending.resolve(value);
      },
      (error: unknown) => {
        this.running--;
        this.metrics.recordRun(t, undefined, false, this.now() - began);
        pending.reject(error);
      },
    );
  }

  // ------------------------------------------------------------- timeouts

  /**
   * Runs `run` under the task's timeout. Cooperative: when it passes,
   * `onTimeout` asks the agent to stop (its `task.signal` fires) and the
   * attempt ends when `run` settles: a task never runs twice at once. One
   * that ignores its signal gets as long again; then `onAbandon` fails the
   * task for good with TaskTimeoutError (no retry, which could run it
   * twice), while its slot stays taken until it does answer.
   */
  private withTimeout(t: TaskRecord, run: () => Promise<unknown>, onTimeout: () => void, onAbandon: (error: unknown) => void): Promise<unknown> {
    const ms = this.metrics.timeoutFor(t);
    // No timeout: no wrapper (this runs once per attempt).
    return ms === undefined ? run() : this.timed(t, ms, run, onTimeout, onAbandon);
  }

  private async timed(
    t: TaskRecord,
    ms: number,
    run: () => Promise<unknown>,
    onTimeout: () => void,
    onAbandon: (error: unknown) => void,
  ): Promise<unknown> {
    const { timeout, TimeoutStrategy } = cockatiel();
    const policy = timeout(ms, { strategy: TimeoutStrategy.Cooperative, abortOnReturn: false });
    let timedOut = false;
    let grace: ReturnType<typeof setTimeout> | undefined;
    const attempt = t.attempts;
    const listener = policy.onTimeout(() => {
      timedOut = true;
      onTimeout();
      grace = setTimeout(() => onAbandon(new Final(new TaskTimeoutError(t.id, ms, attempt))), Math.max(100, ms));
    });
    try {
      return await policy.execute(() => run());
    } catch (error) {
      if (timedOut && t.cancelReason === undefined) throw new TaskTimeoutError(t.id, ms, attempt);
      throw error;
    } finally {
      if (grace !== undefined) clearTimeout(grace);
      listener.dispose();
    }
  }
}
