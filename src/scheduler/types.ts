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

export interface RetryOptions {
  /** Retries after the first attempt. */
  retries: number;
  /** First backoff delay. Default 100 ms. */
  initialDelayMs?: number;
  /** Longest backoff delay. Default 10 000 ms. */
  maxDelayMs?: number;
}

export type TaskStatus = 'blocked' | 'queued' | 'running' | 'retrying' | 'succeeded' | 'failed' | 'cancelled';

/** A submitted task. */
export interface TaskHandle<Result = unknown> {
  readonly id: string;
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
  /** Tasks waiting, per priority (queued ones), plus those blocked on dependencies and between retries. */
  queued: Record<Priority, number>;
  blocked: number;
  retrying: number;
  running: number;
  /** Queue wait (submitted or re-queued to placed) and run time, ms, over the last 512 attempts. */
  waitMs: Percentiles;
  runMs: Percentiles;
  /** Placement decisions in the last full second. */
  decisionsPerSecond: number;
  decisions: number;
  byKind: Record<string, { succeeded: number; failed: number; cancelled: number; timedOut: number; runMs: Percentiles; timeoutMs: number | undefined }>;
  agents: Array<{
    ref: string;
    capabilities: string[];
    capacity: number;
    inFlight: number;
    successes: number;
    failures: number;
    successRate: number;
    latencyMs: Percentiles;
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
