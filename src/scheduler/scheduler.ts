/**
 * The task scheduler (`rt.tasks`): users submit work; it waits in a
 * priority queue with aging, respects dependencies, is placed on an agent by
 * a strategy, and is retried, timed out, cut off from failing agents and
 * capped by bulkheads through cockatiel's policies. It runs on the main
 * thread; agents run on the pool (the runtime's `taskExecutor` is how a
 * task reaches one; plain function tasks run on the same Piscina pool).
 *
 * An attempt's life: queued -> placed (a slot of the agent is taken
 * synchronously, so two decisions cannot overbook it) -> running (an ask to
 * the agent) -> its answer, a crash, or a stop settles it -> retried or
 * finished. An attempt is only ever retried once it has settled, so a task
 * never runs twice at once, even after a timeout (timeouts are cooperative:
 * the agent's `task.signal` fires).
 *
 * The parts, each a file: types.ts (what `rt.tasks` takes and returns),
 * options.ts (the settings), record.ts (a spec checked into a task's
 * record), lifecycle.ts (submit to finish: dependencies, retries,
 * cancellation), dispatch.ts (placing waiting tasks), agents.ts (the agents
 * and their breakers), execution.ts (running one attempt: bulkheads,
 * breaker, timeout; function tasks on the pool), metrics.ts (what is
 * measured). This class wires them and is what the runtime exposes.
 */
import type { ActorRef } from '../actors/ref.js';
import { RuntimeClosedError } from '../base/errors.js';
import { solveAssignment } from './assign.js';
import { Dispatcher } from './dispatch.js';
import type { Execution } from './execution.js';
import type { AgentRegistry } from './agents.js';
import { TaskLifecycle } from './lifecycle.js';
import { SchedulerMetrics } from './metrics.js';
import type { ResolvedSchedulerOptions } from './options.js';
import { strategies, type Strategy } from './placement.js';
import { TaskQueue, priorities, type Priority } from './queue.js';
import type { TaskRecord } from './record.js';
import type { SchedulerStats, TaskExecutor, TaskHandle, TaskSpec } from './types.js';

export type { Priority, Strategy };
export { priorities, strategies };
export { resolveSchedulerOptions, type ResolvedSchedulerOptions, type SchedulerOptions } from './options.js';
export type { RetryOptions, SchedulerStats, TaskExecutor, TaskHandle, TaskSpec, TaskStatus } from './types.js';

/**
 * The task scheduler, `rt.tasks`: takes tasks (`submit`), places them on
 * agents or the pool by priority and strategy, and reports on them
 * (`stats`). The runtime makes it, configured by `Runtime.start({ tasks })`.
 */
export class TaskScheduler {
  private readonly queue: TaskQueue<TaskRecord>;
  private readonly metrics: SchedulerMetrics;
  private readonly dispatcher: Dispatcher;
  private readonly agents: AgentRegistry;
  private readonly execution: Execution;
  private readonly lifecycle: TaskLifecycle;

  /** @internal */
  constructor(options: ResolvedSchedulerOptions, executor: TaskExecutor, now: () => number = Date.now) {
    this.queue = new TaskQueue(options.agingMs);
    this.metrics = new SchedulerMetrics(options.adaptive);
    this.dispatcher = new Dispatcher(options, executor, this.queue, this.metrics, now);
    this.agents = this.dispatcher.registry;
    this.execution = this.dispatcher.execution;
    this.lifecycle = new TaskLifecycle(options, executor, this.queue, this.metrics, this.agents, this.dispatcher, now);
  }

  /** @internal An agent started (or came back): the scheduler may place tasks on it. */
  addAgent(ref: ActorRef, capabilities: readonly string[], capacity: number): void {
    this.agents.add(ref, capabilities, capacity);
  }

  /**
   * Submits a task. Returns its handle at once; `handle.result` settles
   * when it finished. Throws (synchronously) InvalidArgumentError for a bad
   * spec, QueueFullError beyond `maxQueue`, DependencyCycleError,
   * NoCapableAgentError when no live agent has every required capability.
   */
  submit<Result = unknown, Payload = unknown>(spec: TaskSpec<Payload>): TaskHandle<Result> {
    if (this.dispatcher.closed) throw new RuntimeClosedError('tasks.submit');
    return this.lifecycle.submit<Result, Payload>(spec);
  }

  /** The timeout of the task's next attempt, if any. */
  timeoutFor(t: { timeoutMs: number | 'adaptive' | undefined; kind: string }): number | undefined {
    return this.metrics.timeoutFor(t);
  }

  /**
   * The exact assignment solver `optimal-batch` uses: rows are agents, columns
   * tasks; returns the agent of each task (or -1) at minimum total cost.
   * `Infinity` marks a pair that cannot be assigned. See `assign.ts`.
   */
  assign(cost: ArrayLike<ArrayLike<number>>, options?: { capacities?: ArrayLike<number>; maximize?: boolean }): ReturnType<typeof solveAssignment> {
    return solveAssignment(cost, options);
  }

  /** The handle of a task not yet finished, by id. */
  get(id: string): TaskHandle | undefined {
    return this.lifecycle.tasks.get(id)?.handle;
  }

  /** A snapshot of the queue, running attempts, timings, outcomes per kind and agents (dead agents with nothing running are dropped first). */
  stats(): SchedulerStats {
    const now = Date.now();
    const sizes = this.queue.sizes();
    const metrics = this.metrics;
    const byKind = metrics.byKind();
    this.agents.prune();
    return {
      queued: { critical: sizes[0], high: sizes[1], normal: sizes[2], low: sizes[3] },
      blocked: this.lifecycle.blocked.size,
      retrying: this.lifecycle.retrying,
      running: this.execution.running,
      waitMs: metrics.waitWindow.summary(),
      runMs: metrics.runWindow.summary(),
      decisionsPerSecond: metrics.rate.rate(now),
      decisions: metrics.decisions,
      byKind,
      agents: this.agents.list.map((a) => ({
        ref: a.ref.toString(),
        capabilities: [...a.capabilities],
        capacity: a.capacity,
        inFlight: a.inFlight,
        successes: a.successes,
        failures: a.failures,
        successRate: a.successes + a.failures === 0 ? Number.NaN : a.successes / (a.successes + a.failures),
        latencyMs: a.latency.summary(),
        breaker: a.breakerState,
      })),
    };
  }

  /** @internal The runtime is shutting down: waiting tasks are cancelled. */
  close(): void {
    if (this.dispatcher.closed) return;
    this.dispatcher.close();
    this.lifecycle.cancelAll('the runtime shut down');
  }
}
