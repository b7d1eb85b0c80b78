/**
 * The scheduler's record of one task, and how a submitted spec becomes one:
 * every field checked (InvalidArgumentError names the bad one), defaults
 * filled in, an id given, dependencies read, and the handle the user gets.
 */
import { InvalidArgumentError, TaskCancelledError } from '../base/errors.js';
import type { Outcome } from './dag.js';
import { strategies, type Agent, type Strategy } from './placement.js';
import { priorities, type Priority, type Queued } from './queue.js';
import type { RetryOptions, TaskExecutor, TaskHandle, TaskSpec, TaskStatus } from './types.js';

/** @internal */
export function placeKeyOf(t: TaskRecord): string {
  return (t.placeKey ??= `${t.strategy}\u0000${t.kind}\u0000${t.requires.join('\u0000')}`);
}

/** @internal A failure that must not be retried (cancelled, or out of its retry budget): unwrapped when the task finishes. */
export class Final {
  constructor(readonly error: Error) {}
}

/** @internal */
export interface TaskRecord extends Queued {
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
  'kind',
  'payload',
  'module',
  'priority',
  'requires',
  'dependsOn',
  'onDependencyFailure',
  'timeoutMs',
  'retry',
  'signal',
  'strategy',
  'id',
  'benefit',
]);

const lanes: Record<Priority, number> = { critical: 0, high: 1, normal: 2, low: 3 };

/** @internal */
export function isFinished(t: TaskRecord): boolean {
  return t.status === 'succeeded' || t.status === 'failed' || t.status === 'cancelled';
}

/** @internal What making a record needs of the scheduler's book of tasks. */
export interface RecordHost {
  /** True when a task the scheduler remembers has this id. */
  idTaken(id: string): boolean;
  /** A fresh generated id. */
  newId(): string;
  /** A dependency given as a handle has finished: its outcome, read from the handle. */
  dependencyFinished(id: string, outcome: Outcome): void;
  /** `handle.cancel()` of a task not yet finished. */
  cancel(t: TaskRecord, error: TaskCancelledError): void;
}

const ignore = (): void => undefined;
/** The `requires` of the many tasks that require nothing (never written to). */
const kNone: readonly string[] = Object.freeze([]);

/**
 * A task's handle, what `rt.tasks.submit` returns: a view of its record.
 * A class, not an object literal with getters: one allocation per task,
 * the accessors on the prototype.
 */
class Handle implements TaskHandle {
  readonly id: string;
  readonly result: Promise<unknown>;
  // Not the handle's own enumerable properties: a logged handle shows its id and result.
  readonly #record: TaskRecord;
  readonly #host: RecordHost;

  constructor(record: TaskRecord, result: Promise<unknown>, host: RecordHost) {
    this.id = record.id;
    this.result = result;
    this.#record = record;
    this.#host = host;
  }

  get status(): TaskStatus {
    return this.#record.status;
  }

  get attempts(): number {
    return this.#record.attempts;
  }

  cancel(reason?: string): boolean {
    if (isFinished(this.#record)) return false;
    this.#host.cancel(this.#record, new TaskCancelledError(this.id, reason ?? 'cancelled by handle.cancel()'));
    return true;
  }
}

/** @internal Checks a spec and makes the task's record and handle (nothing is registered yet). */
export function createRecord(spec: unknown, executor: TaskExecutor, defaultStrategy: Strategy, host: RecordHost): TaskRecord {
  if (spec === null || typeof spec !== 'object' || Array.isArray(spec)) throw new InvalidArgumentError('spec', 'an object', spec);
  const s = spec as TaskSpec & Record<string, unknown>;
  for (const key in s)
    if (!kSpecFields.has(key)) throw new InvalidArgumentError(`spec.${key}`, `one of the known fields (${[...kSpecFields].join(', ')})`, s[key]);
  const module = s.module === undefined ? undefined : executor.moduleUrl(s.module);
  if (s.kind !== undefined && (typeof s.kind !== 'string' || s.kind.length === 0))
    throw new InvalidArgumentError('spec.kind', 'a non-empty string', s.kind);
  if (module === undefined && s.kind === undefined)
    throw new InvalidArgumentError('spec.kind', 'a non-empty string (or give `module` for a function task)', s.kind);
  const priority = s.priority ?? 'normal';
  if (!priorities.includes(priority)) throw new InvalidArgumentError('spec.priority', `one of ${priorities.map((p) => `'${p}'`).join(', ')}`, s.priority);
  const requires = s.requires === undefined ? [] : s.requires;
  if (!Array.isArray(requires) || requires.some((r) => typeof r !== 'string' || r.length === 0)) {
    throw new InvalidArgumentError('spec.requires', 'an array of non-empty strings', s.requires);
  }
  if (module !== undefined && requires.length > 0)
    throw new InvalidArgumentError('spec.requires', 'absent for a function task (it runs on no agent)', s.requires);
  const strategy = s.strategy ?? defaultStrategy;
  if (!strategies.includes(strategy)) throw new InvalidArgumentError('spec.strategy', `one of ${strategies.map((x) => `'${x}'`).join(', ')}`, s.strategy);
  const timeoutMs = s.timeoutMs;
  if (timeoutMs !== undefined && timeoutMs !== 'adaptive' && (typeof timeoutMs !== 'number' || !Number.isFinite(timeoutMs) || timeoutMs <= 0)) {
    throw new InvalidArgumentError('spec.timeoutMs', "a finite number above 0, or 'adaptive'", timeoutMs);
  }
  let retryOptions: RetryOptions | undefined;
  if (s.retry !== undefined) {
    const r = s.retry as unknown as Record<string, unknown>;
    if (r === null || typeof r !== 'object') throw new InvalidArgumentError('spec.retry', 'an object { retries, initialDelayMs?, maxDelayMs? }', s.retry);
    for (const key of Object.keys(r))
      if (!['retries', 'initialDelayMs', 'maxDelayMs'].includes(key))
        throw new InvalidArgumentError(`spec.retry.${key}`, 'one of retries, initialDelayMs, maxDelayMs', r[key]);
    if (typeof r.retries !== 'number' || !Number.isInteger(r.retries) || r.retries < 0 || r.retries > 1000)
      throw new InvalidArgumentError('spec.retry.retries', 'an integer from 0 to 1000', r.retries);
    for (const key of ['initialDelayMs', 'maxDelayMs'] as const) {
      const v = r[key];
      if (v !== undefined && (typeof v !== 'number' || !Number.isFinite(v) || v < 0))
        throw new InvalidArgumentError(`spec.retry.${key}`, 'a finite number from 0 up', v);
    }
    retryOptions = {
      retries: r.retries,
      initialDelayMs: (r.initialDelayMs as number | undefined) ?? 100,
      maxDelayMs: (r.maxDelayMs as number | undefined) ?? 10_000,
    };
    if ((retryOptions.maxDelayMs as number) < (retryOptions.initialDelayMs as number)) {
      throw new InvalidArgumentError('spec.retry.maxDelayMs', `a number from initialDelayMs (${retryOptions.initialDelayMs}) up`, r.maxDelayMs);
    }
  }
  if (s.signal !== undefined && !(s.signal instanceof AbortSignal)) throw new InvalidArgumentError('spec.signal', 'an AbortSignal', s.signal);
  const benefit = s.benefit ?? 1;
  if (typeof benefit !== 'number' || !Number.isFinite(benefit) || benefit <= 0)
    throw new InvalidArgumentError('spec.benefit', 'a finite number above 0', s.benefit);
  const onFailure = s.onDependencyFailure ?? 'fail';
  if (onFailure !== 'fail' && onFailure !== 'run') throw new InvalidArgumentError('spec.onDependencyFailure', "'fail' or 'run'", s.onDependencyFailure);
  let id: string;
  if (s.id !== undefined) {
    if (typeof s.id !== 'string' || s.id.length === 0 || s.id.length > 256)
      throw new InvalidArgumentError('spec.id', 'a non-empty string of at most 256 characters', s.id);
    if (host.idTaken(s.id)) throw new InvalidArgumentError('spec.id', 'an id no remembered task has', s.id);
    id = s.id;
  } else {
    do id = host.newId();
    while (host.idTaken(id));
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
          host.dependencyFinished(handle.id, handle.status === 'succeeded' ? 'succeeded' : 'failed');
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
  result.catch(ignore); // an unobserved failure is not an unhandled rejection of the runtime
  const record = {
    id,
    kind: s.kind ?? module ?? '',
    payload: s.payload,
    module,
    requires: requires.length === 0 ? kNone : [...requires],
    benefit,
    priority,
    strategy,
    timeoutMs: timeoutMs as number | 'adaptive' | undefined,
    retry: retryOptions,
    deps,
    runOnDependencyFailure: onFailure === 'run',
    userId: s.id !== undefined,
    placeKey: undefined,
    cancelReason: undefined,
    status: 'queued' as TaskStatus,
    attempts: 0,
    failuresUsed: 0,
    replacementsUsed: 0,
    inRetryWait: false,
    unlisten: undefined,
    enqueuedAt: 0,
    pending: undefined,
    agent: undefined,
    resolve,
    reject,
    key: 0,
    lane: lanes[priority],
    queued: false,
    handle: undefined as unknown as TaskHandle,
  } as TaskRecord;
  (record as { handle: TaskHandle }).handle = new Handle(record, result, host);
  return record;
}
