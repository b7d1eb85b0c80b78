import type { ActorContext } from './context.js';
import type { Task } from './task.js';
import type { Proposal } from './envelope.js';

/** A member's answer to a proposal. */
export interface VoteAnswer {
  /** True to approve the proposal, false to reject it. Anything but a boolean makes the vote faulty. */
  approve: boolean;
  /** Why, in the member's words: kept on its vote in the result. Ignored unless a string. */
  reason?: string;
  /** The proposal's id, when the member names it (a vote naming another is not counted). */
  proposal?: string;
}
import { InvalidOptionError } from '../base/errors.js';
import { resolveStrategy, type ResolvedStrategy, type SupervisorStrategy } from './supervision.js';
import { checkCapabilities, checkCapacity } from './agent-checks.js';

/**
 * The brand that marks a definition made by {@link defineActor}. A registered
 * symbol, so a definition is recognised even when the actor module and the
 * runtime loaded two copies of microswarm.
 */
const kActorBrand: unique symbol = Symbol.for('microswarm.actor') as never;
/** @internal Where a definition keeps its validated supervisor strategy. */
export const kStrategy: unique symbol = Symbol.for('microswarm.strategy') as never;

/** What an actor module's default export describes. */
export interface ActorSpec<Args, State, Msg, Reply> {
  /** Makes the private state from the spawn arguments. May be async. */
  init(args: Args, ctx: ActorContext<Msg>): State | Promise<State>;
  /**
   * Handles one message. The return value (or the value its promise resolves
   * to) answers an `ask`; it is ignored for a `tell`. An async handler is
   * awaited before the next message: handlers are never reentrant.
   */
  receive(state: State, msg: Msg, ctx: ActorContext<Msg>): Reply | Promise<Reply>;
  /**
   * Called after `init`, before the first message (and, unless `postRestart`
   * is given, after each restart). An error here fails the start like one in `init`.
   */
  preStart?(state: State, ctx: ActorContext<Msg>): void | Promise<void>;
  /** Called once after the actor stopped handling messages; errors are reported, not thrown. */
  postStop?(state: State, ctx: ActorContext<Msg>): void | Promise<void>;
  /**
   * Called on the failed instance before a restart, after its children were
   * stopped and its timers cancelled. Default: `postStop`. Errors are reported, not thrown.
   */
  preRestart?(state: State, error: Error, ctx: ActorContext<Msg>): void | Promise<void>;
  /** Called on the new instance after a restart. Default: `preStart`. */
  postRestart?(state: State, error: Error, ctx: ActorContext<Msg>): void | Promise<void>;
  /**
   * Checkpoints: what of the state to keep (any value the codec carries).
   * Taken by `rt.checkpoint(ref)`, or after every `checkpointEvery` messages.
   */
  snapshot?(state: State): unknown;
  /**
   * Rebuilds the state from the last snapshot, instead of `init`, when the
   * actor restarts or is brought back after its thread died.
   */
  restore?(data: unknown, args: Args, ctx: ActorContext<Msg>): State | Promise<State>;
  /** Take a checkpoint after every this many messages handled (needs `snapshot`). Default: never on its own. */
  checkpointEvery?: number;
  /**
   * A handler running (or, async, unsettled) longer than this is reported on
   * `rt.failures` with phase 'timeout'. It is not cut off. Default: no limit.
   */
  handlerTimeoutMs?: number;
  /** How this actor supervises its children. Default: one-for-one, restart, at most 10 restarts a minute. */
  supervisor?: SupervisorStrategy;
  /**
   * Makes this actor an agent of the task scheduler (`rt.tasks`): handles
   * one task placed on it. The return value (or its promise) is the task's
   * result; a throw fails the attempt (retried per the task's `retry`).
   * `task.signal` fires when the task is cancelled or its attempt timed out.
   * Tasks arrive through the mailbox like messages, one at a time.
   */
  task?(state: State, task: Task, ctx: ActorContext<Msg>): unknown;
  /**
   * Makes this actor able to vote on a swarm's proposals (`swarm.propose`):
   * answer `{ approve, reason? }` or a boolean. A throw or a malformed
   * answer counts as a faulty vote.
   */
  vote?(state: State, proposal: Proposal, ctx: ActorContext<Msg>): VoteAnswer | boolean | Promise<VoteAnswer | boolean>;
  /** What this agent can do: a task's `requires` must all be among them. Default none. */
  capabilities?: readonly string[];
  /**
   * Tasks the scheduler hands this agent at once. They wait in its mailbox
   * and run one at a time (handlers are never reentrant): more than 1 hides
   * the round trip between tasks, like a prefetch count. Default 1.
   */
  capacity?: number;
}

/** An actor definition, as returned by {@link defineActor}. */
export interface ActorDefinition<Args = unknown, State = unknown, Msg = unknown, Reply = unknown> extends ActorSpec<Args, State, Msg, Reply> {
  /**
   * Internal: marks an object made by {@link defineActor} (the registered
   * symbol `Symbol.for('microswarm.actor')`), which {@link isActorDefinition}
   * checks. Set by `defineActor`; do not set it yourself.
   */
  readonly [kActorBrand]: true;
  /** @internal The validated `supervisor` strategy. */
  readonly [kStrategy]: ResolvedStrategy;
  /**
   * Type-level only, never set at run time: carries the type parameters so
   * {@link MessageOf}, {@link ReplyOf} and {@link ArgsOf} can infer them from
   * `typeof def`.
   */
  readonly __types?: {
    /** Type-level only: carries the spawn-argument type; never set at run time. */
    args: Args;
    /** Type-level only: carries the message type; never set at run time. */
    msg: Msg;
    /** Type-level only: carries the reply type; never set at run time. */
    reply: Reply;
  };
}

/**
 * Defines an actor. Make it the default export of an actor module, then spawn
 * that module with `rt.spawn(new URL('./counter.js', import.meta.url), args)`.
 *
 * @example
 * ```ts
 * type Msg = { type: 'inc'; by: number } | { type: 'get' };
 * export default defineActor({
 *   init: (args: { start: number }) => ({ n: args.start }),
 *   receive(state, msg: Msg) {
 *     if (msg.type === 'inc') { state.n += msg.by; return; }
 *     return state.n;
 *   },
 * });
 * ```
 */
export function defineActor<Args, State, Msg, Reply>(spec: ActorSpec<Args, State, Msg, Reply>): ActorDefinition<Args, State, Msg, Awaited<Reply>> {
  if (spec === null || typeof spec !== 'object') {
    throw new TypeError(`defineActor expects an object with init and receive, got ${spec === null ? 'null' : typeof spec}`);
  }
  if (typeof spec.init !== 'function') throw new TypeError('defineActor: `init` must be a function');
  if (typeof spec.receive !== 'function') throw new TypeError('defineActor: `receive` must be a function');
  for (const hook of ['preStart', 'postStop', 'preRestart', 'postRestart', 'snapshot', 'restore'] as const) {
    if (spec[hook] !== undefined && typeof spec[hook] !== 'function') {
      throw new InvalidOptionError(`defineActor: ${hook}`, 'a function when given', spec[hook]);
    }
  }
  if ((spec.snapshot === undefined) !== (spec.restore === undefined)) {
    throw new InvalidOptionError('defineActor: restore', 'given together with snapshot (checkpoints need both)', spec.restore);
  }
  const every = spec.checkpointEvery;
  if (every !== undefined && (typeof every !== 'number' || !Number.isInteger(every) || every < 1 || spec.snapshot === undefined)) {
    throw new InvalidOptionError('defineActor: checkpointEvery', 'an integer from 1 up, with snapshot and restore defined', every);
  }
  const limit = spec.handlerTimeoutMs;
  if (limit !== undefined && (typeof limit !== 'number' || !Number.isFinite(limit) || limit <= 0)) {
    throw new InvalidOptionError('defineActor: handlerTimeoutMs', 'a finite number above 0', limit);
  }
  if (spec.task !== undefined && typeof spec.task !== 'function') throw new InvalidOptionError('defineActor: task', 'a function when given', spec.task);
  if (spec.vote !== undefined && typeof spec.vote !== 'function') throw new InvalidOptionError('defineActor: vote', 'a function when given', spec.vote);
  if (spec.capabilities !== undefined) checkCapabilities('defineActor: capabilities', spec.capabilities);
  if (spec.capacity !== undefined) checkCapacity('defineActor: capacity', spec.capacity);
  const strategy = resolveStrategy(spec.supervisor, 'defineActor: supervisor');
  return Object.freeze({ ...spec, [kActorBrand]: true as const, [kStrategy]: strategy }) as ActorDefinition<Args, State, Msg, Awaited<Reply>>;
}

/** True for a value made by {@link defineActor} (of any copy of microswarm). */
export function isActorDefinition(value: unknown): value is ActorDefinition {
  return (
    value !== null &&
    typeof value === 'object' &&
    (value as Record<symbol, unknown>)[kActorBrand] === true &&
    typeof (value as ActorDefinition).receive === 'function' &&
    typeof (value as ActorDefinition).init === 'function'
  );
}

/** Message type accepted by an actor definition. */
export type MessageOf<D> = D extends ActorDefinition<unknown, unknown, infer M, unknown> ? M : unknown;
/** Reply type of an actor definition. */
export type ReplyOf<D> = D extends ActorDefinition<unknown, unknown, unknown, infer R> ? R : unknown;
/** Spawn-argument type of an actor definition. */
export type ArgsOf<D> = D extends ActorDefinition<infer A, unknown, unknown, unknown> ? A : unknown;
