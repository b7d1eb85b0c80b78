/**
 * A task's life from submit to finish: it is checked and registered, waits
 * for its dependencies (dag.ts), then runs attempt after attempt under its
 * retry policy (cockatiel) until one succeeds, its budget of retries and
 * re-placements is spent, or it is cancelled; its outcome settles its
 * handle, releases or fails its dependents, and is remembered for tasks
 * that name it later. Each attempt waits in the queue for the dispatcher,
 * which places and runs it (dispatch.ts, execution.ts).
 */
import type { RetryPolicy } from 'cockatiel';
import {
  ActorCrashedError,
  ActorStoppedError,
  DependencyFailedError,
  NoCapableAgentError,
  QueueFullError,
  TaskCancelledError,
  TaskTimeoutError,
  toError,
} from '../base/errors.js';
import type { AgentRegistry } from './agents.js';
import { cockatiel, isPolicyRejection } from './policies.js';
import { DependencyGraph } from './dag.js';
import type { SchedulerMetrics } from './metrics.js';
import type { ResolvedSchedulerOptions } from './options.js';
import type { TaskQueue } from './queue.js';
import { Final, createRecord, isFinished, type RecordHost, type TaskRecord } from './record.js';
import type { DispatchTrigger, TaskExecutor, TaskHandle, TaskSpec } from './types.js';

/** Finished tasks with ids of the user's remembered for later dependents (and id uniqueness). */
const kRecentOutcomes = 100_000;

/** An agent is gone (crashed with its thread, stopped) or could not take the attempt: the task is placed again. */
function isAgentLoss(error: unknown): boolean {
  return error instanceof ActorCrashedError || error instanceof ActorStoppedError || isPolicyRejection(error);
}

/** Retries everything but a Final; backoff policies are shared by tasks with the same settings. Made at the first task (policies.ts). */
let noDelay: RetryPolicy | undefined;

/**
 * How a task's first attempt reports its end to the lifecycle: an object
 * with two methods rather than two closures per task (the hot path).
 */
class FirstAttempt {
  constructor(
    private readonly lifecycle: TaskLifecycle,
    private readonly t: TaskRecord,
  ) {}

  resolve(value: unknown): void {
    this.lifecycle.firstSucceeded(this.t, value);
  }

  reject(error: unknown): void {
    this.lifecycle.firstFailed(this.t, error);
  }
}

/** @internal */
export class TaskLifecycle implements RecordHost {
  /** Tasks not yet finished, by id. */
  readonly tasks = new Map<string, TaskRecord>();
  /** Tasks blocked on dependencies, by id. */
  readonly blocked = new Map<string, TaskRecord>();
  /** Tasks between a failed attempt and the next. */
  retrying = 0;
  private readonly graph = new DependencyGraph();
  /** Outcomes read from the handles of the task being submitted (see createRecord). */
  private readonly finishedDeps = new Map<string, 'succeeded' | 'failed'>();
  /**
   * Outcomes of the last finished tasks that had an id of the user's, by id:
   * a task submitted later may name one. (A generated id is only known
   * through its handle, which carries its own outcome.)
   */
  private readonly recent = new Map<string, 'succeeded' | 'failed'>();
  private readonly retryPolicies = new Map<string, RetryPolicy>();
  private nextId = 0;
  private readonly options: ResolvedSchedulerOptions;
  private readonly executor: TaskExecutor;
  private readonly queue: TaskQueue<TaskRecord>;
  private readonly metrics: SchedulerMetrics;
  private readonly agents: AgentRegistry;
  private readonly trigger: DispatchTrigger;
  private readonly now: () => number;

  constructor(
    options: ResolvedSchedulerOptions,
    executor: TaskExecutor,
    queue: TaskQueue<TaskRecord>,
    metrics: SchedulerMetrics,
    agents: AgentRegistry,
    trigger: DispatchTrigger,
    now: () => number,
  ) {
    this.options = options;
    this.executor = executor;
    this.queue = queue;
    this.metrics = metrics;
    this.agents = agents;
    this.trigger = trigger;
    this.now = now;
  }

  // ------------------------------------------------------------- submit

  /** `rt.tasks.submit` (see the facade, scheduler.ts), once the scheduler is known to be open. */
  submit<Result = unknown, Payload = unknown>(spec: TaskSpec<Payload>): TaskHandle<Result> {
    const t = createRecord(spec, this.executor, this.options.strategy, this);
    if (this.waiting() >= this.options.maxQueue) throw new QueueFullError(this.options.maxQueue);
    if (t.module === undefined && t.requires.length > 0) {
      this.agents.prune();
      if (!this.agents.list.some((a) => a.alive && t.requires.every((r) => a.capabilities.has(r)))) {
        throw new NoCapableAgentError([...t.requires], [...new Set(this.agents.list.flatMap((a) => [...a.capabilities]))].sort());
      }
    }
    let ready = true;
    let allSettled = true;
    let failed: string | undefined;
    if (t.deps.length > 0) {
      // Only tasks with dependencies, and those they name, enter the graph.
      for (const dep of t.deps) {
        if (this.graph.knows(dep)) continue;
        const outcome = this.finishedDeps.get(dep) ?? this.recent.get(dep);
        if (outcome !== undefined || this.tasks.has(dep)) this.graph.track(dep, outcome);
      }
      this.finishedDeps.clear();
      ({ ready, failed, allSettled } = this.graph.add(t.id, t.deps)); // throws DependencyCycleError
    }
    this.tasks.set(t.id, t);
    const signal = spec.signal;
    if (signal !== undefined) {
      if (signal.aborted) this.cancel(t, this.cancelErrorOf(t, signal.reason));
      else {
        // Removed when the task finishes: a signal shared by many tasks must not keep them all.
        const onAbort = () => this.cancel(t, this.cancelErrorOf(t, signal.reason));
        signal.addEventListener('abort', onAbort, { once: true });
        t.unlisten = () => signal.removeEventListener('abort', onAbort);
      }
    }
    if (t.cancelReason !== undefined) return t.handle as TaskHandle<Result>;
    if (failed !== undefined && !t.runOnDependencyFailure) this.finish(t, 'failed', new DependencyFailedError(t.id, failed));
    else if (ready || (t.runOnDependencyFailure && allSettled)) this.begin(t);
    else {
      t.status = 'blocked';
      this.blocked.set(t.id, t);
    }
    return t.handle as TaskHandle<Result>;
  }

  private waiting(): number {
    return this.queue.size + this.blocked.size + this.retrying;
  }

  /** @internal RecordHost: a generated id (the record skips those taken). */
  newId(): string {
    return `t${++this.nextId}`;
  }

  /** @internal RecordHost: a dependency given as a handle says how it ended. */
  dependencyFinished(id: string, outcome: 'succeeded' | 'failed'): void {
    this.finishedDeps.set(id, outcome);
  }

  /**
   * Records a finished task's outcome, forgetting the oldest beyond
   * kRecentOutcomes. An array of ids in order, not `map.keys().next()`:
   * deleting a Map's first entry over and over makes that call walk every
   * deleted slot before it (O(n) each, measured: throughput halved).
   */
  private remember(id: string, outcome: 'succeeded' | 'failed'): void {
    this.recent.set(id, outcome);
    this.recentOrder.push(id);
    if (this.recentOrder.length - this.recentHead > kRecentOutcomes) {
      this.recent.delete(this.recentOrder[this.recentHead++]);
      if (this.recentHead > 65_536) {
        this.recentOrder.splice(0, this.recentHead);
        this.recentHead = 0;
      }
    }
  }

  private readonly recentOrder: string[] = [];
  private recentHead = 0;

  idTaken(id: string): boolean {
    return this.tasks.has(id) || this.recent.has(id) || this.graph.isSubmitted(id);
  }

  // ------------------------------------------------------------- running

  /** Runs a ready task's attempts under its retry policy. */
  private begin(t: TaskRecord): void {
    this.blocked.delete(t.id);
    t.status = 'queued';
    // The first attempt runs at once, settling through plain callbacks (no
    // promise per task on the hot path); only when it fails (and may be
    // retried) does cockatiel's retry policy take over: its first call
    // hands that failure back, so the policy applies its backoff before the
    // second attempt exactly as if it had run the first itself.
    if (t.cancelReason !== undefined) {
      this.failed(t, new Final(t.cancelReason));
      return;
    }
    this.enqueue(t, new FirstAttempt(this, t));
  }

  /** @internal The first attempt of `t` succeeded. */
  firstSucceeded(t: TaskRecord, value: unknown): void {
    this.finish(t, 'succeeded', value);
  }

  /** @internal The first attempt of `t` failed: retried under its policy, or failed for good. */
  firstFailed(t: TaskRecord, error: unknown): void {
    let first: unknown;
    try {
      first = this.afterFailure(t, error);
    } catch (final) {
      this.failed(t, final);
      return;
    }
    this.retryAfter(t, first);
  }

  /** The first attempt failed with `first` and may be retried: the retry policy runs the next ones. */
  private retryAfter(t: TaskRecord, first: unknown): void {
    let handedBack = false;
    this.retryPolicyFor(t)
      .execute(() => {
        if (!handedBack) {
          handedBack = true;
          throw first;
        }
        this.leaveRetryWait(t);
        return this.attempt(t);
      })
      .then(
        (value) => this.finish(t, 'succeeded', value),
        (error: unknown) => this.failed(t, error),
      );
  }

  /** The task failed for good (a Final, or the retry policy gave up): it finishes as failed, or cancelled. */
  private failed(t: TaskRecord, error: unknown): void {
    const err = error instanceof Final ? error.error : toError(error);
    this.finish(t, t.cancelReason !== undefined ? 'cancelled' : 'failed', err);
  }

  private retryPolicyFor(t: TaskRecord): RetryPolicy {
    if (t.retry === undefined || t.retry.retries === 0) {
      if (noDelay === undefined) {
        const { ConstantBackoff, handleWhen, retry } = cockatiel();
        noDelay = retry(
          handleWhen((e) => !(e instanceof Final)),
          { maxAttempts: Number.MAX_SAFE_INTEGER, backoff: new ConstantBackoff(0) },
        );
      }
      return noDelay;
    }
    const key = `${t.retry.initialDelayMs}/${t.retry.maxDelayMs}`;
    let policy = this.retryPolicies.get(key);
    if (policy === undefined) {
      const { ExponentialBackoff, decorrelatedJitterGenerator, handleWhen, retry } = cockatiel();
      policy = retry(
        handleWhen((e) => !(e instanceof Final)),
        {
          maxAttempts: Number.MAX_SAFE_INTEGER,
          backoff: new ExponentialBackoff({ initialDelay: t.retry.initialDelayMs, maxDelay: t.retry.maxDelayMs, generator: decorrelatedJitterGenerator }),
        },
      );
      this.retryPolicies.set(key, policy);
    }
    return policy;
  }

  /**
   * One attempt after a failed one: waits for placement, runs, and turns
   * its failure into a retry (thrown as is) or a final one (thrown as Final)
   * by the task's budget.
   */
  private attempt(t: TaskRecord): Promise<unknown> {
    if (t.cancelReason !== undefined) return Promise.reject(new Final(t.cancelReason));
    return new Promise((resolve, reject) => {
      this.enqueue(t, {
        resolve,
        reject: (error) => {
          try {
            reject(this.afterFailure(t, error));
          } catch (final) {
            reject(final);
          }
        },
      });
    });
  }

  /** Queues an attempt of `t` for the dispatcher (agent tasks and function tasks alike wait there for a slot); `pending` hears how it ends. */
  private enqueue(t: TaskRecord, pending: NonNullable<TaskRecord['pending']>): void {
    t.attempts++;
    t.pending = pending;
    t.status = 'queued';
    t.enqueuedAt = this.now();
    this.queue.push(t, t.lane, t.enqueuedAt);
    this.trigger.dispatchSoon();
  }

  /**
   * An attempt failed with `error`: returns the error to retry with (the
   * task enters its retry wait), or throws a Final when it must not be
   * retried (cancelled, or its budget of retries or re-placements is spent).
   */
  private afterFailure(t: TaskRecord, error: unknown): unknown {
    if (error instanceof Final) throw error;
    if (t.cancelReason !== undefined) throw new Final(t.cancelReason);
    const err = toError(error);
    if (isAgentLoss(err) && t.replacementsUsed < this.options.maxReplacements) {
      t.replacementsUsed++;
    } else if (t.retry !== undefined && t.failuresUsed < t.retry.retries) {
      t.failuresUsed++;
    } else throw new Final(err);
    t.status = 'retrying';
    t.inRetryWait = true;
    this.retrying++;
    return err;
  }

  private leaveRetryWait(t: TaskRecord): void {
    if (!t.inRetryWait) return;
    t.inRetryWait = false;
    this.retrying--;
  }

  private cancelErrorOf(t: TaskRecord, reason: unknown): TaskCancelledError {
    if (reason instanceof TaskCancelledError) return reason;
    return new TaskCancelledError(t.id, reason instanceof Error ? reason.message : reason === undefined ? 'its signal was aborted' : String(reason));
  }

  /** Cancels a task: out of the queue if it waits; its agent told if it runs (its `task.signal` fires there). */
  cancel(t: TaskRecord, error: TaskCancelledError): void {
    if (isFinished(t) || t.cancelReason !== undefined) return;
    t.cancelReason = error;
    if (t.pending !== undefined) {
      this.queue.remove(t);
      const pending = t.pending;
      t.pending = undefined;
      pending.reject(new Final(error));
    }
    if (t.agent !== undefined) this.executor.cancelOnAgent(t.agent.ref, t.id, t.attempts, error.message);
    // The result rejects now; a running agent's slot frees when it answers.
    this.finish(t, 'cancelled', error);
  }

  private finish(t: TaskRecord, status: 'succeeded' | 'failed' | 'cancelled', value: unknown): void {
    if (isFinished(t)) return;
    this.leaveRetryWait(t);
    this.blocked.delete(t.id);
    t.unlisten?.();
    t.unlisten = undefined;
    t.status = status;
    this.tasks.delete(t.id);
    const kind = this.metrics.kindStats(t.kind);
    if (status === 'succeeded') {
      kind.succeeded++;
      t.resolve(value);
    } else {
      if (status === 'cancelled') kind.cancelled++;
      else if (value instanceof TaskTimeoutError) kind.timedOut++;
      else kind.failed++;
      t.reject(value);
    }
    const outcome = status === 'succeeded' ? 'succeeded' : 'failed';
    if (t.userId) this.remember(t.id, outcome);
    if (!this.graph.knows(t.id)) return;
    const { allSettled, firstFailure } = this.graph.settle(t.id, outcome);
    // A failed dependency fails its dependents at once (transitively, through
    // their own finish), unless they run anyway: those wait for all their deps.
    for (const id of firstFailure) {
      const dependent = this.blocked.get(id);
      if (dependent !== undefined && !dependent.runOnDependencyFailure)
        this.finish(dependent, 'failed', new DependencyFailedError(id, t.id, { cause: value }));
    }
    for (const { id, failedDep } of allSettled) {
      const dependent = this.blocked.get(id);
      if (dependent !== undefined && (failedDep === undefined || dependent.runOnDependencyFailure)) this.begin(dependent);
    }
  }

  /** The runtime is shutting down: waiting tasks are cancelled. */
  cancelAll(reason: string): void {
    for (const t of [...this.tasks.values()]) this.cancel(t, new TaskCancelledError(t.id, reason));
  }
}
