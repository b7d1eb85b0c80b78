/**
 * The scheduler's types: what `rt.tasks` takes and returns (a task's spec,
 * its handle, the statistics) and, internal, how it reaches agents and pool
 * threads (TaskExecutor, which the runtime implements and passes in: the
 * scheduler imports nothing above actors/).
 */
import type { Task } from '../actors/task.js';
import type { ActorRef } from '../actors/ref.js';
import type { Strategy } from './placement.js';
import type { Priority } from './queue.js';
import type { Percentiles } from './stats.js';

/** What `rt.tasks.submit` takes. */
export interface TaskSpec<Payload = unknown> {
  /** What kind of work: agents see it as `task.kind`; statistics and adaptive timeouts are kept per kind. Required for agent tasks. */
  kind?: string;
  /** The data to work on: the agent gets it as `task.payload`, a function task's default export as its argument. */
  payload?: Payload;
  /**
   * A plain function task: a module whose default export is `(payload) => result`,
   * run on the runtime's pool threads (no agent). A URL, a URL string or an absolute path.
   */
  module?: string | URL;
  /** `'critical' | 'high' | 'normal' | 'low'`. Default `'normal'`. */
  priority?: Priority;
  /** Capabilities an agent must all have to take the task. */
  requires?: readonly string[];
  /** Tasks (handles or ids) that must succeed first; an id may name a task submitted later. */
  dependsOn?: ReadonlyArray<string | TaskHandle>;
  /** When a dependency fails: `'fail'` (default, DependencyFailedError) or `'run'` anyway. */
  onDependencyFailure?: 'fail' | 'run';
  /** Per attempt: milliseconds, or `'adaptive'` (from this kind's observed durations). Default: none. */
  timeoutMs?: number | 'adaptive';
  /** Retries after a failure, with exponential backoff and decorrelated jitter. Default: none. */
  retry?: RetryOptions;
  /** Cancels the task: a queued one leaves the queue, a running one's `task.signal` fires. */
  signal?: AbortSignal;
  /** Placement strategy for this task. Default: the scheduler's. */
  strategy?: Strategy;
  /** The task's id; default a generated one. Unique among remembered tasks. */
  id?: string;
  /** Expected benefit of doing it (weighs `utility` and `optimal-batch`). Default 1. */
  benefit?: number;
}

/** `TaskSpec.retry`: how often a failed task is tried again, with exponential backoff and decorrelated jitter between attempts. */
export interface RetryOptions {
  /** Retries after the first attempt (an integer, 0 to 1000); a timed-out attempt counts as a failure. */
  retries: number;
  /** First backoff delay. Default 100 ms. */
  initialDelayMs?: number;
  /** Longest backoff delay. Default 10 000 ms. */
  maxDelayMs?: number;
}

/**
 * Where a task is: `'blocked'` on its dependencies, `'queued'` for placement,
 * `'running'` an attempt, `'retrying'` waiting out the delay after a failed
 * attempt (or one lost with its agent) before it is queued again;
 * then finished as `'succeeded'`, `'failed'` or `'cancelled'`.
 */
export type TaskStatus = 'blocked' | 'queued' | 'running' | 'retrying' | 'succeeded' | 'failed' | 'cancelled';

/** A submitted task. */
export interface TaskHandle<Result = unknown> {
  /** The task's id: `TaskSpec.id`, or the one generated for it. Dependents may name it in `dependsOn`. */
  readonly id: string;
  /** Its current status. */
  readonly status: TaskStatus;
  /** Attempts started so far (retries and re-placements after a crash count). */
  readonly attempts: number;
  /** Its result; rejects with the last attempt's error, TaskCancelledError, TaskTimeoutError or DependencyFailedError. */
  readonly result: Promise<Result>;
  /** Cancels it; false when it had already finished. */
  cancel(reason?: string): boolean;
}

/** @internal How tasks reach agents and pool threads (the runtime's, or a test's). */
export interface TaskExecutor {
  runOnAgent(ref: ActorRef, task: Task): Promise<unknown>;
  /** Asks the agent's thread to fire the running task's signal (or skip it if it still waits). */
  cancelOnAgent(ref: ActorRef, id: string, attempt: number, reason: string): void;
  runFunction(module: string, payload: unknown): Promise<unknown>;
  isAlive(ref: ActorRef): boolean;
  /** Messages waiting for the agent (0 when not counted). */
  depth(ref: ActorRef): number;
  /** Event-loop utilisation of the agent's thread, 0..1. */
  elu(ref: ActorRef): number;
  /** Normalises a module URL (throws a typed error for a bad one). */
  moduleUrl(module: unknown): string;
  /** Function tasks the pool runs at once (running threads x functionConcurrency). */
  functionSlots(): number;
}

/** `rt.tasks.stats()`. */
export interface SchedulerStats {
  /** Tasks in the queue waiting to be placed, per priority (blocked and retrying ones are counted apart). */
  queued: Record<Priority, number>;
  /** Tasks waiting for their dependencies to finish. */
  blocked: number;
  /** Tasks between a failed (or lost) attempt and their next one, waiting out the retry delay. */
  retrying: number;
  /** Attempts running now, on agents and as function tasks on the pool. */
  running: number;
  /** Queue wait (submitted or re-queued to placed), ms, over the last 512 attempts. */
  waitMs: Percentiles;
  /** Run time of attempts that ran (succeeded or failed; not cancelled ones), ms, over the last 512. */
  runMs: Percentiles;
  /** Placement decisions in the last full second. */
  decisionsPerSecond: number;
  /** Placement decisions since the scheduler started (one that found no agent free counts too). */
  decisions: number;
  /** Outcomes per task kind (a function task's kind is its module URL unless given). */
  byKind: Record<
    string,
    {
      /** Tasks that succeeded. */
      succeeded: number;
      /** Tasks that failed for good, timeouts aside (those count in `timedOut`). */
      failed: number;
      /** Tasks cancelled (signal, `handle.cancel()`, shutdown). */
      cancelled: number;
      /** Tasks that failed for good with TaskTimeoutError. */
      timedOut: number;
      /** Run time of this kind's successful attempts, ms, over the last 512 (what adaptive timeouts are drawn from). */
      runMs: Percentiles;
      /** The timeout, ms, an attempt of this kind with `timeoutMs: 'adaptive'` would get now (`adaptiveTimeout.maxMs` until `minSamples` successes). */
      timeoutMs: number | undefined;
    }
  >;
  /** The agents tasks may be placed on, in the order they started (dead ones are dropped once their attempts settled). */
  agents: Array<{
    /** The agent's ref as a string (`Actor(name#id)`). */
    ref: string;
    /** What it can do: a task's `requires` must all be among them. */
    capabilities: string[];
    /** Tasks it is handed at once, as it was spawned with (`maxInFlightPerAgent` may lower that). */
    capacity: number;
    /** Attempts it holds now. */
    inFlight: number;
    /** Attempts it completed successfully. */
    successes: number;
    /** Attempts that failed or timed out on it (cancelled ones aside). */
    failures: number;
    /** `successes / (successes + failures)`, 0..1; NaN while both are 0. */
    successRate: number;
    /** Run time of its successful attempts, ms, over the last 512. */
    latencyMs: Percentiles;
    /** Its circuit breaker: `'open'` takes no tasks, `'half-open'` lets one probe through (see `SchedulerOptions.breaker`). */
    breaker: 'closed' | 'open' | 'half-open';
  }>;
}

/**
 * @internal What the parts of the scheduler call when something may now be
 * placed (a task queued, a slot freed, an agent came or may be probed
 * again): the dispatcher looks at the queue in a microtask.
 */
export interface DispatchTrigger {
  dispatchSoon(): void;
}
