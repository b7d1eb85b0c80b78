/**
 * What an endpoint reports and is configured with, shared by the engine's
 * parts and the runtime: dead letters, failures, Terminated, the settings
 * every endpoint of a runtime shares, the control-plane handler, and the
 * codes `route` answers with. (endpoint.ts re-exports what the runtime and
 * the public API import from there.)
 */
import type { ActorRef, AskOptions, AskStackTraces } from '../actors/ref.js';
import type { OverflowPolicy } from '../actors/spawn-options.js';

/**
 * @internal Ask options of an ask with no timeout (the scheduler's: its own
 * timeouts apply, and a crash, stop or shutdown settles the ask).
 */
export const kUntimedAsk: AskOptions = Object.freeze({});

/** @internal `route`'s result when the message was accepted. */
export const kRouteOk = 0;
/** @internal `route`'s result when a bounded mailbox refused the message. */
export const kRouteFull = 1;
/** @internal `route`'s result when the actor is not alive. */
export const kRouteDead = 2;

/** Why a message became a dead letter. */
export type DeadLetterReason =
  | 'stopped'
  | 'unknown'
  | 'dropped-oldest'
  | 'dropped-newest'
  | 'shutdown'
  | 'crashed'
  | 'stale-term'
  | 'poison'
  | 'node-unreachable'
  | 'too-large'
  | 'undeliverable';

/**
 * Thread deaths with a message being handled after which it is not replayed
 * again: it is handed over once more after the first (at-least-once), and
 * dead-lettered as poison at the second, so one bad message restarts its
 * thread's actors twice, not until their supervisors give up.
 */
export const kPoisonAfterCrashes = 2;

/** A message that could not be delivered, as published on `rt.deadLetters`. */
export interface DeadLetter {
  /** The actor the message was addressed to. */
  recipient: ActorRef;
  /**
   * The message as sent (for a stale-term or poison letter, the message
   * inside its envelope). One that cannot be carried from its pool thread to
   * the main thread is replaced by a description string, `[not encodable: ...]`.
   */
  message: unknown;
  /**
   * The actor that sent it; undefined when it was sent from outside any
   * actor (the main thread, a timer) or after an `await` with no `sender` option.
   */
  sender: ActorRef | undefined;
  /** Why it was not delivered. */
  reason: DeadLetterReason;
}

/**
 * Why a watched actor terminated: it stopped (`'stopped'`, also for an
 * actor that never existed), its supervisor stopped it after a failure
 * (`'failed'`), its thread died and it was not brought back (`'crashed'`),
 * its runtime shut down (`'shutdown'`), or its cluster node left or was
 * declared down (`'node-down'`: nothing more will be heard of it; Akka's
 * `addressTerminated`, Erlang's `noconnection`).
 */
export type TerminatedReason = 'stopped' | 'failed' | 'crashed' | 'shutdown' | 'node-down';

/**
 * What a watcher receives (as an ordinary message) when an actor it watches
 * with `ctx.watch` terminates, for any reason, on any thread.
 */
export interface Terminated {
  /** Always `'terminated'`: tells this message apart in the watcher's `receive`. */
  type: 'terminated';
  /** The watched actor that terminated. */
  actor: ActorRef;
  /** Why it terminated. */
  reason: TerminatedReason;
}

/** A handler that threw or rejected, as published on `rt.failures`. */
export interface ActorFailure {
  /**
   * The actor that failed. A failure of the runtime itself (a pool thread
   * error, a failed crash recovery, a malformed frame) names a ref with slot
   * -1 and the name `'system'`.
   */
  actor: ActorRef;
  /**
   * What was thrown or rejected with. A value that is not an Error is wrapped
   * in one ("Non-error value thrown: ..."), the value kept on its `thrown` property.
   */
  error: Error;
  /**
   * Where it happened: a handler (`receive`; also a message dead-lettered as
   * poison, PoisonMessageError), `postStop`, `preRestart`, rebuilding the
   * state on a `restart`; `timeout`: a handler over `handlerTimeoutMs`, or
   * holding its thread for `blockingHandlerMs` (HandlerTimeoutError);
   * `unhandled-rejection`: a promise on a pool thread rejected with no handler
   * (a `void ctx.spawn(...)` that failed, say); the thread goes on, and the
   * actor named is `system`, since a promise does not record who made it;
   * `init`: a child of `ctx.spawnNow` failed to start (its module did not
   * load, or its `init` or `preStart` threw: ActorInitError), since nobody
   * awaits that spawn.
   */
  phase: 'receive' | 'postStop' | 'preRestart' | 'restart' | 'escalated' | 'checkpoint' | 'crashed' | 'timeout' | 'unhandled-rejection' | 'init';
}

/** @internal Settings every endpoint of one runtime shares. */
export interface EndpointConfig {
  threads: number;
  askTimeoutMs: number;
  /** Which asks create their timeout error at the call (and so carry the caller's stack). */
  askStackTraces: AskStackTraces;
  maxMessageBytes: number;
  throughput: number;
  spinUs: number;
  /** How long the main thread polls its rings while it awaits replies to its asks, before parking (us; 0: never). */
  mainSpinUs: number;
  defaultCapacity: number;
  defaultPolicy: OverflowPolicy;
  inlineLimit: number;
  heartbeatMs: number;
  /** This process's cluster node name (undefined: not in a cluster): refs naming it are local. */
  node: string | undefined;
}

/** @internal Control-plane requests an endpoint cannot serve itself. */
export interface SystemHandler {
  /** A SYSTEM frame (or a local request) arrived; the result answers it. */
  handle(op: string, payload: Record<string, unknown>, from: number): unknown;
  deadLetter(letter: DeadLetter): void;
  failure(failure: ActorFailure): void;
}

/** @internal True for a value that may be a promise (a handler's or a hook's result). */
export function isThenable(value: unknown): value is PromiseLike<unknown> {
  return value !== null && typeof value === 'object' && typeof (value as PromiseLike<unknown>).then === 'function';
}
