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
 */
import {
  BrokenCircuitError, BulkheadRejectedError, CircuitState, ConsecutiveBreaker, ConstantBackoff, ExponentialBackoff, TimeoutStrategy, bulkhead,
  circuitBreaker, decorrelatedJitterGenerator, handleWhen, retry, timeout, type BulkheadPolicy, type RetryPolicy,
} from 'cockatiel';
import { Task } from '../actors/task.js';
import type { ActorRef } from '../actors/ref.js';
import {
  ActorCrashedError, ActorStoppedError, DependencyFailedError, InvalidArgumentError, InvalidOptionError, NoCapableAgentError, QueueFullError,
  RuntimeClosedError, TaskCancelledError, TaskTimeoutError, toError,
} from '../base/errors.js';
import { DependencyGraph } from './dag.js';
import { place, strategies, batchCostOf, canTake, meanMs, type Agent, type PlacementContext, type Strategy } from './placement.js';
import { TaskQueue, priorities, type Priority, type Queued } from './queue.js';
import { AgentKindStats, KindStats, RateCounter, Window, type Percentiles } from './stats.js';
import { solveAssignment } from './assign.js';

export type { Priority, Strategy };
export { priorities, strategies };

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

/** `Runtime.start({ tasks })`: the scheduler's settings. */
export interface SchedulerOptions {
  /** Default placement strategy. Default `'least-loaded'`. */
  strategy?: Strategy;
  /** Tasks waiting (blocked, queued, between retries) at most; beyond, `submit` throws QueueFullError. Default 100 000. */
  maxQueue?: number;
  /** Aging: a task gains one priority level per this many ms of waiting. Default 5000. */
  agingMs?: number;
  /** Bulkhead: tasks running at once overall. Default unlimited. */
  maxInFlight?: number;
  /** Bulkhead: tasks running at once per agent (on top of its capacity). Default unlimited. */
  maxInFlightPerAgent?: number;
  /** Circuit breaker per agent: opens after `failures` consecutive failures, half-opens for one probe after `halfOpenAfterMs`. Default 5 and 5000. */
  breaker?: { failures?: number; halfOpenAfterMs?: number };
  /** `timeoutMs: 'adaptive'`: percentile x factor of a kind's recent durations, clamped; `maxMs` until `minSamples` are seen. */
  adaptiveTimeout?: { percentile?: number; factor?: number; minMs?: number; maxMs?: number; minSamples?: number };
  /** Re-placements of a task whose agent crashed or stopped, on top of its retries. Default 3. */
  maxReplacements?: number;
  /** Plain function tasks running at once per pool thread (the rest wait in the scheduler's priority queue). Default 1. */
  functionConcurrency?: number;
}

/** @internal Resolved scheduler settings. */
export interface ResolvedSchedulerOptions {
  strategy: Strategy;
  maxQueue: number;
  agingMs: number;
  maxInFlight: number;
  maxInFlightPerAgent: number;
  breakerFailures: number;
  halfOpenAfterMs: number;
  adaptive: { percentile: number; factor: number; minMs: number; maxMs: number; minSamples: number };
  maxReplacements: number;
  functionConcurrency: number;
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

function placeKeyOf(t: TaskRecord): string {
  return (t.placeKey ??= `${t.strategy}\u0000${t.kind}\u0000${t.requires.join('\u0000')}`);
}

/** A failure that must not be retried (cancelled, or out of its retry budget): unwrapped when the task finishes. */
class Final {
  constructor(readonly error: Error) {}
}

interface TaskRecord extends Queued {
  readonly id: string;
  readonly kind: string;
  readonly payload: unknown;
  readonly module: string | undefined;
  readonly requires: readonly string[];
  readonly benefit: number;
  readonly priority: Priority;
  readonly strategy: Strategy;
  readonly timeoutMs: number | 'adaptive' | undefined;
  readonly retry: RetryOptions | undefined;
  readonly deps: string[];
  readonly runOnDependencyFailure: boolean;
  /** The id was given by the user (remembered after the task finished, for later dependents). */
  readonly userId: boolean;
  /** Set once the task is cancelled (its signal, `handle.cancel()`, shutdown). */
  cancelReason: TaskCancelledError | undefined;
  status: TaskStatus;
  attempts: number;
  failuresUsed: number;
  replacementsUsed: number;
  /** Between a failed attempt and the next (counted in `retrying`). */
  inRetryWait: boolean;
  /** Requirements, kind and strategy: tasks of one class are placeable or not together (see dispatch). Made when first needed. */
  placeKey: string | undefined;
  /** Removes the listener on the submit's `signal`. */
  unlisten: (() => void) | undefined;
  enqueuedAt: number;
  /** The attempt waiting for placement. */
  pending: { resolve(value: unknown): void; reject(error: unknown): void } | undefined;
  agent: Agent | undefined;
  resolve(value: unknown): void;
  reject(error: unknown): void;
  readonly handle: TaskHandle;
}

const kSpecFields: ReadonlySet<string> = new Set([
  'kind', 'payload', 'module', 'priority', 'requires', 'dependsOn', 'onDependencyFailure', 'timeoutMs', 'retry', 'signal', 'strategy', 'id', 'benefit',
]);

/** Finished tasks with ids of the user's remembered for later dependents (and id uniqueness). */
const kRecentOutcomes = 100_000;

const lanes: Record<Priority, number> = { critical: 0, high: 1, normal: 2, low: 3 };

export function resolveSchedulerOptions(value: unknown): ResolvedSchedulerOptions {
  if (value === undefined) value = {};
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new InvalidOptionError('tasks', 'an object', value);
  const o = value as Record<string, unknown>;
  const known = ['strategy', 'maxQueue', 'agingMs', 'maxInFlight', 'maxInFlightPerAgent', 'breaker', 'adaptiveTimeout', 'maxReplacements', 'functionConcurrency'];
  for (const key of Object.keys(o)) if (!known.includes(key)) throw new InvalidOptionError(`tasks.${key}`, `one of the known options (${known.join(', ')})`, o[key]);
  const strategy = (o.strategy ?? 'least-loaded') as Strategy;
  if (!strategies.includes(strategy)) throw new InvalidOptionError('tasks.strategy', `one of ${strategies.map((s) => `'${s}'`).join(', ')}`, o.strategy);
  const breaker = subObject('tasks.breaker', o.breaker, ['failures', 'halfOpenAfterMs']);
  const adaptive = subObject('tasks.adaptiveTimeout', o.adaptiveTimeout, ['percentile', 'factor', 'minMs', 'maxMs', 'minSamples']);
  const minMs = positive('tasks.adaptiveTimeout.minMs', adaptive.minMs, 50);
  const maxMs = positive('tasks.adaptiveTimeout.maxMs', adaptive.maxMs, 60_000);
  if (maxMs < minMs) throw new InvalidOptionError('tasks.adaptiveTimeout.maxMs', `a number from minMs (${minMs}) up`, adaptive.maxMs);
  const percentile = adaptive.percentile ?? 0.99;
  if (typeof percentile !== 'number' || !(percentile > 0 && percentile <= 1)) {
    throw new InvalidOptionError('tasks.adaptiveTimeout.percentile', 'a number above 0, at most 1', adaptive.percentile);
  }
  return {
    strategy,
    maxQueue: integer('tasks.maxQueue', o.maxQueue, 1, 2 ** 31 - 1, 100_000),
    agingMs: positive('tasks.agingMs', o.agingMs, 5000),
    maxInFlight: o.maxInFlight === Infinity ? Infinity : integer('tasks.maxInFlight', o.maxInFlight, 1, 2 ** 31 - 1, Infinity),
    maxInFlightPerAgent: o.maxInFlightPerAgent === Infinity ? Infinity : integer('tasks.maxInFlightPerAgent', o.maxInFlightPerAgent, 1, 2 ** 31 - 1, Infinity),
    breakerFailures: integer('tasks.breaker.failures', breaker.failures, 1, 1_000_000, 5),
    halfOpenAfterMs: positive('tasks.breaker.halfOpenAfterMs', breaker.halfOpenAfterMs, 5000),
    adaptive: {
      percentile,
      factor: positive('tasks.adaptiveTimeout.factor', adaptive.factor, 3),
      minMs,
      maxMs,
      minSamples: integer('tasks.adaptiveTimeout.minSamples', adaptive.minSamples, 1, 512, 20),
    },
    maxReplacements: integer('tasks.maxReplacements', o.maxReplacements, 0, 1000, 3),
    functionConcurrency: integer('tasks.functionConcurrency', o.functionConcurrency, 1, 1024, 1),
  };
}

function subObject(name: string, value: unknown, known: string[]): Record<string, unknown> {
  if (value === undefined) return {};
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new InvalidOptionError(name, 'an object', value);
  for (const key of Object.keys(value)) if (!known.includes(key)) throw new InvalidOptionError(`${name}.${key}`, `one of ${known.join(', ')}`, (value as Record<string, unknown>)[key]);
  return value as Record<string, unknown>;
}

function integer(name: string, value: unknown, min: number, max: number, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) throw new InvalidOptionError(name, `an integer from ${min} to ${max}`, value);
  return value;
}

function positive(name: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) throw new InvalidOptionError(name, 'a finite number above 0', value);
  return value;
}

/** An agent is gone (crashed with its thread, stopped) or could not take the attempt: the task is placed again. */
function isAgentLoss(error: unknown): boolean {
  return (
    error instanceof ActorCrashedError ||
    error instanceof ActorStoppedError ||
    error instanceof BrokenCircuitError ||
    error instanceof BulkheadRejectedError
  );
}

/** Retries everything but a Final; backoff policies are shared by tasks with the same settings. */
const noDelay = retry(handleWhen((e) => !(e instanceof Final)), { maxAttempts: Number.MAX_SAFE_INTEGER, backoff: new ConstantBackoff(0) });

export class TaskScheduler {
  private readonly options: ResolvedSchedulerOptions;
  private readonly executor: TaskExecutor;
  private readonly now: () => number;
  private readonly queue: TaskQueue<TaskRecord>;
  private readonly graph = new DependencyGraph();
  /** Outcomes read from the handles of the task being submitted (see `check`). */
  private readonly finishedDeps = new Map<string, 'succeeded' | 'failed'>();
  /**
   * Outcomes of the last finished tasks that had an id of the user's, by id:
   * a task submitted later may name one. (A generated id is only known
   * through its handle, which carries its own outcome.)
   */
  private readonly recent = new Map<string, 'succeeded' | 'failed'>();
  private readonly tasks = new Map<string, TaskRecord>();
  /** Tasks blocked on dependencies, by id. */
  private readonly blocked = new Map<string, TaskRecord>();
  private readonly agents: Agent[] = [];
  private readonly agentsByKey = new Map<string, Agent>();
  private readonly cursor = { at: 0 };
  /** The overall bulkhead (cockatiel), when `maxInFlight` is set. */
  private readonly total: BulkheadPolicy | undefined;
  private readonly retryPolicies = new Map<string, RetryPolicy>();
  private readonly kinds = new Map<string, KindStats>();
  private readonly waitWindow = new Window();
  private readonly runWindow = new Window();
  private readonly rate = new RateCounter();
  private decisions = 0;
  private running = 0;
  private retrying = 0;
  private nextId = 0;
  private dispatchQueued = false;
  private closed = false;
  private readonly ctx: PlacementContext;

  /** @internal */
  constructor(options: ResolvedSchedulerOptions, executor: TaskExecutor, now: () => number = Date.now) {
    this.options = options;
    this.executor = executor;
    this.now = now;
    this.queue = new TaskQueue(options.agingMs);
    this.total = options.maxInFlight === Infinity ? undefined : bulkhead(options.maxInFlight, 0);
    this.ctx = {
      now: 0,
      halfOpenAfterMs: options.halfOpenAfterMs,
      depth: (agent) => executor.depth(agent.ref),
      elu: (agent) => executor.elu(agent.ref),
      kind: (kind) => this.kinds.get(kind),
    };
  }

  // ------------------------------------------------------------- agents

  /** @internal An agent started (or came back): the scheduler may place tasks on it. */
  addAgent(ref: ActorRef, capabilities: readonly string[], capacity: number): void {
    const key = `${ref.slot}.${ref.gen}`;
    const known = this.agentsByKey.get(key);
    if (known !== undefined) {
      known.alive = true;
      return;
    }
    const limit = Math.min(capacity, this.options.maxInFlightPerAgent);
    const breaker = circuitBreaker(handleWhen((e) => !(e instanceof TaskCancelledError)), {
      halfOpenAfter: this.options.halfOpenAfterMs,
      breaker: new ConsecutiveBreaker(this.options.breakerFailures),
    });
    const agent: Agent = {
      ref, capabilities: new Set(capabilities), capacity, limit, inFlight: 0, breaker, breakerState: 'closed', openedAt: 0, failStreak: 0,
      byKind: new Map(), successes: 0, failures: 0, latency: new Window(), alive: true,
    };
    breaker.onStateChange((state) => {
      agent.breakerState = state === CircuitState.Closed ? 'closed' : state === CircuitState.HalfOpen ? 'half-open' : 'open';
      if (state === CircuitState.Open) agent.openedAt = Date.now();
      // Half-open is due later: look again then.
      if (state === CircuitState.Open) setTimeout(() => this.dispatchSoon(), this.options.halfOpenAfterMs).unref?.();
    });
    this.agents.push(agent);
    this.agentsByKey.set(key, agent);
    this.dispatchSoon();
  }

  /** Drops agents that are no longer alive (stopped, lost with a thread). */
  private pruneAgents(): void {
    for (let i = this.agents.length - 1; i >= 0; i--) {
      const agent = this.agents[i];
      if (!this.executor.isAlive(agent.ref)) {
        agent.alive = false;
        if (agent.inFlight === 0) {
          this.agents.splice(i, 1);
          this.agentsByKey.delete(`${agent.ref.slot}.${agent.ref.gen}`);
        }
      }
    }
  }

  // ------------------------------------------------------------- submit

  /**
   * Submits a task. Returns its handle at once; `handle.result` settles
   * when it finished. Throws (synchronously) InvalidArgumentError for a bad
   * spec, QueueFullError beyond `maxQueue`, DependencyCycleError,
   * NoCapableAgentError when no live agent has every required capability.
   */
  submit<Result = unknown, Payload = unknown>(spec: TaskSpec<Payload>): TaskHandle<Result> {
    if (this.closed) throw new RuntimeClosedError('tasks.submit');
    const t = this.check(spec);
    if (this.waiting() >= this.options.maxQueue) throw new QueueFullError(this.options.maxQueue);
    if (t.module === undefined && t.requires.length > 0) {
      this.pruneAgents();
      if (!this.agents.some((a) => a.alive && t.requires.every((r) => a.capabilities.has(r)))) {
        throw new NoCapableAgentError([...t.requires], [...new Set(this.agents.flatMap((a) => [...a.capabilities]))].sort());
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

  private check(spec: unknown): TaskRecord {
    if (spec === null || typeof spec !== 'object' || Array.isArray(spec)) throw new InvalidArgumentError('spec', 'an object', spec);
    const s = spec as TaskSpec & Record<string, unknown>;
    for (const key in s) if (!kSpecFields.has(key)) throw new InvalidArgumentError(`spec.${key}`, `one of the known fields (${[...kSpecFields].join(', ')})`, s[key]);
    const module = s.module === undefined ? undefined : this.executor.moduleUrl(s.module);
    if (s.kind !== undefined && (typeof s.kind !== 'string' || s.kind.length === 0)) throw new InvalidArgumentError('spec.kind', 'a non-empty string', s.kind);
    if (module === undefined && s.kind === undefined) throw new InvalidArgumentError('spec.kind', 'a non-empty string (or give `module` for a function task)', s.kind);
    const priority = s.priority ?? 'normal';
    if (!priorities.includes(priority)) throw new InvalidArgumentError('spec.priority', `one of ${priorities.map((p) => `'${p}'`).join(', ')}`, s.priority);
    const requires = s.requires === undefined ? [] : s.requires;
    if (!Array.isArray(requires) || requires.some((r) => typeof r !== 'string' || r.length === 0)) {
      throw new InvalidArgumentError('spec.requires', 'an array of non-empty strings', s.requires);
    }
    if (module !== undefined && requires.length > 0) throw new InvalidArgumentError('spec.requires', 'absent for a function task (it runs on no agent)', s.requires);
    const strategy = s.strategy ?? this.options.strategy;
    if (!strategies.includes(strategy)) throw new InvalidArgumentError('spec.strategy', `one of ${strategies.map((x) => `'${x}'`).join(', ')}`, s.strategy);
    const timeoutMs = s.timeoutMs;
    if (timeoutMs !== undefined && timeoutMs !== 'adaptive' && (typeof timeoutMs !== 'number' || !Number.isFinite(timeoutMs) || timeoutMs <= 0)) {
      throw new InvalidArgumentError('spec.timeoutMs', "a finite number above 0, or 'adaptive'", timeoutMs);
    }
    let retryOptions: RetryOptions | undefined;
    if (s.retry !== undefined) {
      const r = s.retry as unknown as Record<string, unknown>;
      if (r === null || typeof r !== 'object') throw new InvalidArgumentError('spec.retry', 'an object { retries, initialDelayMs?, maxDelayMs? }', s.retry);
      for (const key of Object.keys(r)) if (!['retries', 'initialDelayMs', 'maxDelayMs'].includes(key)) throw new InvalidArgumentError(`spec.retry.${key}`, 'one of retries, initialDelayMs, maxDelayMs', r[key]);
      if (typeof r.retries !== 'number' || !Number.isInteger(r.retries) || r.retries < 0 || r.retries > 1000) throw new InvalidArgumentError('spec.retry.retries', 'an integer from 0 to 1000', r.retries);
      for (const key of ['initialDelayMs', 'maxDelayMs'] as const) {
        const v = r[key];
        if (v !== undefined && (typeof v !== 'number' || !Number.isFinite(v) || v < 0)) throw new InvalidArgumentError(`spec.retry.${key}`, 'a finite number from 0 up', v);
      }
      retryOptions = { retries: r.retries, initialDelayMs: (r.initialDelayMs as number | undefined) ?? 100, maxDelayMs: (r.maxDelayMs as number | undefined) ?? 10_000 };
      if ((retryOptions.maxDelayMs as number) < (retryOptions.initialDelayMs as number)) {
        throw new InvalidArgumentError('spec.retry.maxDelayMs', `a number from initialDelayMs (${retryOptions.initialDelayMs}) up`, r.maxDelayMs);
      }
    }
    if (s.signal !== undefined && !(s.signal instanceof AbortSignal)) throw new InvalidArgumentError('spec.signal', 'an AbortSignal', s.signal);
    const benefit = s.benefit ?? 1;
    if (typeof benefit !== 'number' || !Number.isFinite(benefit) || benefit <= 0) throw new InvalidArgumentError('spec.benefit', 'a finite number above 0', s.benefit);
    const onFailure = s.onDependencyFailure ?? 'fail';
    if (onFailure !== 'fail' && onFailure !== 'run') throw new InvalidArgumentError('spec.onDependencyFailure', "'fail' or 'run'", s.onDependencyFailure);
    let id: string;
    if (s.id !== undefined) {
      if (typeof s.id !== 'string' || s.id.length === 0 || s.id.length > 256) throw new InvalidArgumentError('spec.id', 'a non-empty string of at most 256 characters', s.id);
      if (this.idTaken(s.id)) throw new InvalidArgumentError('spec.id', 'an id no remembered task has', s.id);
      id = s.id;
    } else {
      do id = `t${++this.nextId}`;
      while (this.idTaken(id));
    }
    let deps: string[] = [];
    if (s.dependsOn !== undefined) {
      if (!Array.isArray(s.dependsOn)) throw new InvalidArgumentError('spec.dependsOn', 'an array of task handles or ids', s.dependsOn);
      deps = s.dependsOn.map((d: unknown, i: number) => {
        if (typeof d === 'string' && d.length > 0) return d;
        if (d !== null && typeof d === 'object' && typeof (d as TaskHandle).id === 'string') {
          // A handle says how its task ended, even once the scheduler has forgotten it.
          const handle = d as TaskHandle;
          if (handle.status === 'succeeded' || handle.status === 'failed' || handle.status === 'cancelled') {
            this.finishedDeps.set(handle.id, handle.status === 'succeeded' ? 'succeeded' : 'failed');
          }
          return handle.id;
        }
        throw new InvalidArgumentError(`spec.dependsOn[${i}]`, 'a task handle or a non-empty id', d);
      });
      deps = [...new Set(deps)];
    }
    let resolve!: (value: unknown) => void;
    let reject!: (error: unknown) => void;
    const result = new Promise<unknown>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    result.catch(() => undefined); // an unobserved failure is not an unhandled rejection of the runtime
    const record = {
      id, kind: s.kind ?? module ?? '', payload: s.payload, module, requires: [...requires], benefit, priority, strategy,
      timeoutMs: timeoutMs as number | 'adaptive' | undefined, retry: retryOptions, deps, runOnDependencyFailure: onFailure === 'run', userId: s.id !== undefined,
      placeKey: undefined,
      cancelReason: undefined, status: 'queued' as TaskStatus, attempts: 0, failuresUsed: 0, replacementsUsed: 0, inRetryWait: false, unlisten: undefined, enqueuedAt: 0,
      pending: undefined, agent: undefined, resolve, reject, key: 0, lane: lanes[priority], queued: false,
    } as Omit<TaskRecord, 'handle'> as TaskRecord;
    const scheduler = this;
    (record as { handle: TaskHandle }).handle = {
      id,
      get status() {
        return record.status;
      },
      get attempts() {
        return record.attempts;
      },
      result,
      cancel(reason?: string) {
        if (scheduler.isFinished(record)) return false;
        scheduler.cancel(record, new TaskCancelledError(id, reason ?? 'cancelled by handle.cancel()'));
        return true;
      },
    };
    return record;
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

  private idTaken(id: string): boolean {
    return this.tasks.has(id) || this.recent.has(id) || this.graph.isSubmitted(id);
  }

  private isFinished(t: TaskRecord): boolean {
    return t.status === 'succeeded' || t.status === 'failed' || t.status === 'cancelled';
  }

  // ------------------------------------------------------------- running

  /** Runs a ready task's attempts under its retry policy. */
  private begin(t: TaskRecord): void {
    this.blocked.delete(t.id);
    t.status = 'queued';
    const failed = (error: unknown) => {
      const err = error instanceof Final ? error.error : toError(error);
      this.finish(t, t.cancelReason !== undefined ? 'cancelled' : 'failed', err);
    };
    // The first attempt runs at once; only when it fails (and may be
    // retried) does cockatiel's retry policy take over: its first call
    // hands that failure back, so the policy applies its backoff before the
    // second attempt exactly as if it had run the first itself.
    this.attempt(t).then(
      (value) => this.finish(t, 'succeeded', value),
      (first: unknown) => {
        if (first instanceof Final) {
          failed(first);
          return;
        }
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
          .then((value) => this.finish(t, 'succeeded', value), failed);
      },
    );
  }

  private retryPolicyFor(t: TaskRecord): RetryPolicy {
    if (t.retry === undefined || t.retry.retries === 0) return noDelay;
    const key = `${t.retry.initialDelayMs}/${t.retry.maxDelayMs}`;
    let policy = this.retryPolicies.get(key);
    if (policy === undefined) {
      policy = retry(handleWhen((e) => !(e instanceof Final)), {
        maxAttempts: Number.MAX_SAFE_INTEGER,
        backoff: new ExponentialBackoff({ initialDelay: t.retry.initialDelayMs, maxDelay: t.retry.maxDelayMs, generator: decorrelatedJitterGenerator }),
      });
      this.retryPolicies.set(key, policy);
    }
    return policy;
  }

  /**
   * One attempt: waits for placement, runs, and turns its failure into a
   * retry (thrown as is) or a final one (thrown as Final) by the task's budget.
   */
  private async attempt(t: TaskRecord): Promise<unknown> {
    if (t.cancelReason !== undefined) throw new Final(t.cancelReason);
    t.attempts++;
    try {
      // Agent tasks and function tasks alike wait in the queue for a slot.
      return await new Promise((resolve, reject) => {
        t.pending = { resolve, reject };
        t.status = 'queued';
        t.enqueuedAt = this.now();
        this.queue.push(t, t.lane, t.enqueuedAt);
        this.dispatchSoon();
      });
    } catch (error) {
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
      throw err;
    }
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

  /**
   * Starts a plain function task on a free function slot of the pool. It
   * waited in this scheduler's priority queue, not in Piscina's: Piscina
   * hands out queued work only when a task finishes, so function tasks
   * queued there would hold the runtime's own control tasks (spawn, stop,
   * recovery) behind them (measured: a spawn waited 1.5 s). The slot is
   * free again when the function returns, even if the task was abandoned
   * earlier (its timeout passed twice).
   */
  private startFunction(t: TaskRecord): void {
    this.queue.remove(t);
    const pending = t.pending as NonNullable<TaskRecord['pending']>;
    t.pending = undefined;
    this.waitWindow.push(this.now() - t.enqueuedAt);
    this.functionsRunning++;
    this.runFunction(t, () => {
      this.functionsRunning--;
      this.dispatchSoon();
    }).then(pending.resolve, pending.reject);
  }

  private functionsRunning = 0;

  private async runFunction(t: TaskRecord, slotFree: () => void): Promise<unknown> {
    t.status = 'running';
    this.running++;
    const began = this.now();
    let abandon: (error: unknown) => void = () => undefined;
    const abandoned = new Promise<never>((_, reject) => (abandon = reject));
    const run = () => {
      const inner = this.executor.runFunction(t.module as string, t.payload);
      inner.then(slotFree, slotFree);
      return inner;
    };
    try {
      const value = await Promise.race([
        // A running function cannot be stopped without killing its thread: a timeout only abandons it.
        this.withTimeout(t, run, () => undefined, abandon),
        abandoned,
      ]);
      this.recordRun(t, undefined, true, this.now() - began);
      return value;
    } catch (error) {
      this.recordRun(t, undefined, false, this.now() - began);
      throw error;
    } finally {
      this.running--;
    }
  }

  /**
   * Runs `run` under the task's timeout. Cooperative: when it passes,
   * `onTimeout` asks the agent to stop (its `task.signal` fires) and the
   * attempt ends when `run` settles: a task never runs twice at once. One
   * that ignores its signal gets as long again; then `onAbandon` fails the
   * task for good with TaskTimeoutError (no retry, which could run it
   * twice), while its slot stays taken until it does answer.
   */
  private withTimeout(t: TaskRecord, run: () => Promise<unknown>, onTimeout: () => void, onAbandon: (error: unknown) => void): Promise<unknown> {
    const ms = this.timeoutFor(t);
    // No timeout: no wrapper (this runs once per attempt).
    return ms === undefined ? run() : this.timed(t, ms, run, onTimeout, onAbandon);
  }

  private async timed(t: TaskRecord, ms: number, run: () => Promise<unknown>, onTimeout: () => void, onAbandon: (error: unknown) => void): Promise<unknown> {
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

  /** The timeout of the task's next attempt, if any. */
  timeoutFor(t: { timeoutMs: number | 'adaptive' | undefined; kind: string }): number | undefined {
    if (t.timeoutMs === undefined || typeof t.timeoutMs === 'number') return t.timeoutMs;
    const a = this.options.adaptive;
    const stats = this.kinds.get(t.kind);
    if (stats === undefined || stats.durations.count < a.minSamples) return a.maxMs;
    return Math.min(a.maxMs, Math.max(a.minMs, stats.durations.quantile(a.percentile) * a.factor));
  }

  private dispatchSoon(): void {
    if (this.dispatchQueued || this.closed) return;
    this.dispatchQueued = true;
    queueMicrotask(() => {
      this.dispatchQueued = false;
      this.dispatch();
    });
  }

  /** Places what it can: tasks in key order, each by its strategy; `optimal-batch` ones together. */
  private dispatch(): void {
    if (this.queue.size === 0) return;
    this.pruneAgents();
    const ctx = this.ctx;
    ctx.now = Date.now();
    ctx.waitUntil = undefined;
    let free = 0;
    for (const agent of this.agents) if (agent.alive) free += Math.max(0, agent.limit - agent.inFlight);
    const functionSlots = this.executor.functionSlots();
    free += Math.max(0, functionSlots - this.functionsRunning);
    if (free === 0) return;
    const batch: TaskRecord[] = [];
    // Looking further than the free slots lets tasks whose agents are free
    // pass tasks whose agents are busy; bounded so a long queue costs little.
    // Tasks of a class (requirements, kind, strategy) that found no agent in
    // this pass are skipped without counting, so tasks nobody can take now
    // (their capability's agents are gone or busy) do not hide the ones
    // behind them; the look-ahead over the others is bounded.
    const noAgent = new Set<string>();
    let evaluated = 0;
    const lookAhead = free * 4 + 64;
    this.queue.walk(Infinity, (t) => {
      if (this.total !== undefined && this.total.executionSlots === 0) return false;
      if (t.module !== undefined) {
        if (this.functionsRunning >= functionSlots) return true; // waits; agent tasks behind it may go
        this.startFunction(t);
        return --free > 0;
      }
      if (noAgent.size > 0 && noAgent.has(placeKeyOf(t))) return true;
      if (++evaluated > lookAhead) return false;
      if (t.strategy === 'optimal-batch') {
        batch.push(t);
        return true;
      }
      const agent = place(t.strategy, this.agents, t, ctx, this.cursor);
      this.decided();
      if (agent === undefined) {
        noAgent.add(placeKeyOf(t));
        return true;
      }
      this.start(t, agent);
      return --free > 0;
    });
    if (batch.length === 1) {
      const agent = place('utility', this.agents, batch[0], ctx, this.cursor);
      this.decided();
      if (agent !== undefined) this.start(batch[0], agent);
    } else if (batch.length > 1) this.placeBatch(batch);
    // Tasks chose to wait for a busy agent: look again when that wait ends,
    // even if nothing else happens by then.
    if (ctx.waitUntil !== undefined && this.queue.size > 0) this.wakeAt(ctx.waitUntil);
  }

  private wakeTimer: ReturnType<typeof setTimeout> | undefined;
  private wakeAtMs = Infinity;

  private wakeAt(at: number): void {
    if (this.wakeTimer !== undefined && this.wakeAtMs <= at) return;
    if (this.wakeTimer !== undefined) clearTimeout(this.wakeTimer);
    this.wakeAtMs = at;
    this.wakeTimer = setTimeout(() => {
      this.wakeTimer = undefined;
      this.wakeAtMs = Infinity;
      this.dispatchSoon();
    }, Math.max(1, at - Date.now()));
    this.wakeTimer.unref?.();
  }

  /**
   * `optimal-batch`: assigns the batch to agents' free slots at the least
   * total expected completion time, exactly (see assign.ts). Each free slot
   * is a row of its own: the k-th task handed to an agent waits behind the
   * k - 1 before it and those already there, so its cost is its own
   * expected time there plus that wait. Minimising the sum of completion
   * times this way is the classic matching formulation of scheduling on
   * unrelated machines (each slot a machine position).
   */
  private placeBatch(batch: TaskRecord[]): void {
    const ctx = this.ctx;
    const open: Agent[] = [];
    const position: number[] = [];
    const any = { kind: '', requires: [] as string[], benefit: 1 };
    let slotsLeft = this.total === undefined ? Infinity : this.total.executionSlots;
    for (const agent of this.agents) {
      if (!canTake(agent, any, ctx)) continue;
      const free = Math.min(agent.limit - agent.inFlight, batch.length, slotsLeft);
      for (let k = 0; k < free; k++) {
        open.push(agent);
        position.push(agent.inFlight + k);
      }
    }
    if (open.length === 0) return;
    const cols = batch.length;
    // One more row per task: leaving it queued, at the cost of waiting for
    // the best agent that is full now (its queue, then the task). A task
    // goes to a free slot only where that is sooner than waiting.
    const rows = open.length + cols;
    const data = new Float64Array(rows * cols).fill(Infinity);
    // Each task is credited twice its best possible time (on the fastest
    // agent that can do it): with completion times alone, the least total
    // would run short tasks first and leave the long ones for the end, on
    // whatever is free then (SPT: good for the mean, bad for the makespan);
    // the credit makes the long ones go first, to the fast agents (LPT, the
    // classic makespan heuristic), while the assignment itself stays exact.
    const credit = batch.map((task) => 2 * this.bestCost(task));
    for (let i = 0; i < open.length; i++) {
      const agent = open[i];
      const wait = position[i] * meanMs(agent);
      for (let j = 0; j < cols; j++) {
        const task = batch[j];
        if (canTake(agent, task, ctx)) data[i * cols + j] = wait + batchCostOf(agent, task, ctx) - credit[j];
      }
    }
    for (let j = 0; j < cols; j++) {
      // Waiting is an option only until the task has waited as long as its
      // best free slot would take: a busy agent that never frees up must
      // not hold it forever.
      let bestReal = Infinity;
      for (let i = 0; i < open.length; i++) bestReal = Math.min(bestReal, data[i * cols + j]);
      const waited = ctx.now - batch[j].enqueuedAt;
      if (waited < bestReal + credit[j]) {
        data[(open.length + j) * cols + j] = this.deferCost(batch[j]) - credit[j];
        if (Number.isFinite(bestReal)) ctx.waitUntil = Math.min(ctx.waitUntil ?? Infinity, batch[j].enqueuedAt + bestReal + credit[j]);
      }
    }
    const solution = solveAssignment({ rows, cols, data });
    this.decisions += cols;
    for (let j = 0; j < cols; j++) this.rate.tick(ctx.now);
    for (let j = 0; j < cols; j++) {
      const row = solution.rowOf[j];
      if (row < 0 || row >= open.length || (this.total !== undefined && this.total.executionSlots === 0)) continue;
      if (open[row].inFlight < open[row].limit) this.start(batch[j], open[row]);
    }
  }

  /** The least expected cost of `task` on any live agent able to do it (0 if none). */
  private bestCost(task: TaskRecord): number {
    let best = Infinity;
    for (const agent of this.agents) {
      if (!agent.alive || !task.requires.every((r) => agent.capabilities.has(r))) continue;
      best = Math.min(best, batchCostOf(agent, task, this.ctx));
    }
    return Number.isFinite(best) ? best : 0;
  }

  /** What leaving `task` queued costs: its finish on the best agent that is full now, behind what it holds (Infinity: none). */
  private deferCost(task: TaskRecord): number {
    let best = Infinity;
    for (const agent of this.agents) {
      if (agent.inFlight < agent.limit || !agent.alive || agent.breakerState !== 'closed') continue;
      if (!task.requires.every((r) => agent.capabilities.has(r))) continue;
      const cost = agent.inFlight * meanMs(agent) + batchCostOf(agent, task, this.ctx);
      if (cost < best) best = cost;
    }
    return best;
  }

  private decided(): void {
    this.decisions++;
    this.rate.tick(this.ctx.now);
  }

  /** Starts an attempt on `agent`: its slots are taken synchronously (bulkheads), then the ask runs. */
  private start(t: TaskRecord, agent: Agent): void {
    this.queue.remove(t);
    const pending = t.pending as NonNullable<TaskRecord['pending']>;
    t.pending = undefined;
    t.status = 'running';
    t.agent = agent;
    this.running++;
    const began = this.now();
    this.waitWindow.push(began - t.enqueuedAt);
    const task = new Task(t.id, t.kind, t.payload, t.attempts);
    agent.inFlight++;
    // The timeout is innermost, per attempt. The breaker sees every outcome:
    // while it is closed and the agent has not failed since its last
    // success, the attempt runs outside its wrapper (the hot path) and only a
    // failure is fed to it (and the success after one), which is what a
    // consecutive-failure breaker counts; otherwise the attempt runs through it.
    const timed = () =>
      this.withTimeout(
        t,
        () => this.executor.runOnAgent(agent.ref, task),
        () => this.executor.cancelOnAgent(agent.ref, t.id, task.attempt, 'its attempt timed out'),
        (error) => pending.reject(error),
      );
    const viaBreaker = agent.breakerState !== 'closed' || agent.failStreak > 0;
    const call = viaBreaker ? () => agent.breaker.execute(timed) : timed;
    // Bulkheads (cockatiel) when configured: overall, then the agent's. The
    // slots are taken synchronously (an async function runs up to its first
    // await at once), so two decisions in one pass cannot overbook them.
    const perAgent = this.agentBulkhead(agent);
    const guarded = perAgent === undefined ? call : () => perAgent.execute(call);
    const run = this.total === undefined ? guarded() : this.total.execute(guarded);
    run.then(
      (value) => {
        if (!viaBreaker && agent.failStreak > 0) this.feedBreaker(agent, undefined);
        agent.failStreak = 0;
        this.settleRun(t, agent, true, began);
        pending.resolve(value);
      },
      (error: unknown) => {
        if (!(error instanceof TaskCancelledError) && !(error instanceof BrokenCircuitError) && !(error instanceof BulkheadRejectedError)) {
          if (!viaBreaker) this.feedBreaker(agent, error);
          agent.failStreak++;
        }
        this.settleRun(t, agent, false, began, error);
        pending.reject(error);
      },
    );
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
      policy = bulkhead(agent.limit, 0);
      this.agentBulkheads.set(agent, policy);
    }
    return policy;
  }

  private settleRun(t: TaskRecord, agent: Agent, ok: boolean, began: number, error?: unknown): void {
    agent.inFlight--;
    this.running--;
    t.agent = undefined;
    const cancelled = t.cancelReason !== undefined;
    if (!cancelled && !(error instanceof BrokenCircuitError) && !(error instanceof BulkheadRejectedError)) this.recordRun(t, agent, ok, this.now() - began);
    this.dispatchSoon();
  }

  private recordRun(t: TaskRecord, agent: Agent | undefined, ok: boolean, ms: number): void {
    this.runWindow.push(ms);
    const kind = this.kindStats(t.kind);
    if (ok) kind.durations.push(ms);
    if (agent === undefined) return;
    let stats = agent.byKind.get(t.kind);
    if (stats === undefined) {
      stats = new AgentKindStats();
      agent.byKind.set(t.kind, stats);
    }
    stats.record(ok, ms);
    if (ok) {
      agent.successes++;
      agent.latency.push(ms);
    } else agent.failures++;
  }

  private kindStats(kind: string): KindStats {
    let stats = this.kinds.get(kind);
    if (stats === undefined) {
      stats = new KindStats();
      this.kinds.set(kind, stats);
    }
    return stats;
  }

  /** Cancels a task: out of the queue if it waits; its agent told if it runs (its `task.signal` fires there). */
  private cancel(t: TaskRecord, error: TaskCancelledError): void {
    if (this.isFinished(t) || t.cancelReason !== undefined) return;
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
    if (this.isFinished(t)) return;
    this.leaveRetryWait(t);
    this.blocked.delete(t.id);
    t.unlisten?.();
    t.unlisten = undefined;
    t.status = status;
    this.tasks.delete(t.id);
    const kind = this.kindStats(t.kind);
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
      if (dependent !== undefined && !dependent.runOnDependencyFailure) this.finish(dependent, 'failed', new DependencyFailedError(id, t.id, { cause: value }));
    }
    for (const { id, failedDep } of allSettled) {
      const dependent = this.blocked.get(id);
      if (dependent !== undefined && (failedDep === undefined || dependent.runOnDependencyFailure)) this.begin(dependent);
    }
  }

  // ------------------------------------------------------------- public

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
    return this.tasks.get(id)?.handle;
  }

  stats(): SchedulerStats {
    const now = Date.now();
    const sizes = this.queue.sizes();
    const byKind: SchedulerStats['byKind'] = {};
    for (const [kind, s] of this.kinds) {
      byKind[kind] = {
        succeeded: s.succeeded, failed: s.failed, cancelled: s.cancelled, timedOut: s.timedOut, runMs: s.durations.summary(),
        timeoutMs: this.timeoutFor({ timeoutMs: 'adaptive', kind }),
      };
    }
    this.pruneAgents();
    return {
      queued: { critical: sizes[0], high: sizes[1], normal: sizes[2], low: sizes[3] },
      blocked: this.blocked.size,
      retrying: this.retrying,
      running: this.running,
      waitMs: this.waitWindow.summary(),
      runMs: this.runWindow.summary(),
      decisionsPerSecond: this.rate.rate(now),
      decisions: this.decisions,
      byKind,
      agents: this.agents.map((a) => ({
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
    if (this.closed) return;
    this.closed = true;
    for (const t of [...this.tasks.values()]) this.cancel(t, new TaskCancelledError(t.id, 'the runtime shut down'));
  }
}
