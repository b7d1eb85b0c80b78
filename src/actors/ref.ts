import { InvalidArgumentError, InvalidOptionError } from '../base/errors.js';
import type { RegionHandle } from '../memory/handle.js';

/**
 * When an ask creates the `AskTimeoutError` it may reject with, and so whose
 * stack that error carries (the runtime option `askStackTraces`):
 * - `'never'` (default): no ask does; every timeout error is made when it
 *   fires, and names the actor asked and, when an actor asked in the
 *   synchronous part of its handler, the asking actor. A stack capture costs about half a microsecond per frame (4-6 us
 *   for an ask from a service's code, measured), more than the ask itself:
 *   a main-thread ask's p50 went from 6.9 us to 2.5 us without it. Akka's
 *   and Orleans' ask timeouts carry no caller stack either.
 * - `'main-thread'`: asks made on the main thread create it at the call, so
 *   a timeout shows the service's stack; actors' asks as `'never'`;
 * - `'always'`: every ask creates it at the call (the handler's frame shows).
 */
export type AskStackTraces = 'main-thread' | 'always' | 'never';

/** @internal The values `askStackTraces` accepts. */
export const askStackTraceModes: readonly AskStackTraces[] = ['main-thread', 'always', 'never'];

/** Options of {@link ActorRef.ask}. */
export interface AskOptions {
  /** Rejects with `AskTimeoutError` after this many milliseconds. Default: the runtime's `askTimeoutMs`. */
  timeoutMs?: number;
  /** Rejects with `AskAbortedError` when aborted; the message may still be handled. */
  signal?: AbortSignal;
  /** Regions whose ownership moves to the receiver with this message (see TellOptions.transfer). */
  transfer?: RegionHandle[];
}

/** Options of {@link ActorRef.tell}. */
export interface TellOptions {
  /**
   * The sender the receiver sees as `ctx.sender`. Inside the synchronous part
   * of a handler it defaults to the running actor; after an `await` there is
   * no implicit sender, so pass `ctx.self` when the receiver needs one.
   */
  sender?: ActorRef;
  /**
   * Region handles (from `ctx.memory.alloc`) whose ownership moves to the
   * receiver with this message, as a transferred ArrayBuffer does: the
   * receiver owns them when the message arrives and the sender has lost
   * access. If the message is refused, they stay with the sender.
   */
  transfer?: RegionHandle[];
}

/** @internal What a ref needs from the thread it is used on. */
export interface RefHost {
  tell(ref: ActorRef, msg: unknown, options: TellOptions | undefined): boolean;
  ask(ref: ActorRef, msg: unknown, options: AskOptions | undefined, timeoutError: Error | undefined): Promise<unknown>;
  send(ref: ActorRef, msg: unknown, options: TellOptions | undefined): Promise<void>;
  makeTimeoutError(ref: ActorRef, options: AskOptions | undefined): Error | undefined;
}

let defaultHost: RefHost | undefined;

/** @internal Sets the host that refs decoded on this thread talk through. */
export function setDecodingHost(host: RefHost | undefined): void {
  defaultHost = host;
}

/**
 * The address of an actor. Plain data: (slot, generation, name). It can be
 * put inside messages and spawn arguments, and used from any thread,
 * including the main thread; it keeps naming the same actor wherever that
 * actor runs, and stops resolving once that actor has stopped.
 *
 * `Msg` and `Reply` type `tell` and `ask`.
 */
export class ActorRef<Msg = unknown, Reply = unknown> {
  /** Index of the actor's row in the shared directory. */
  readonly slot: number;
  /** Generation of the actor in its slot: a reused slot gets a new one. */
  readonly gen: number;
  /** The registered name, when the actor was spawned with one. */
  readonly name: string | undefined;
  /**
   * The cluster node the actor lives on, when that is another node than this
   * process (see the README's Cluster section); `undefined` for an actor of
   * this process. `slot` and `gen` are then that node's.
   */
  readonly node: string | undefined;
  #host: RefHost | undefined;

  /** @internal Refs are made by the runtime; user code receives them. */
  constructor(slot: number, gen: number, name: string | undefined, host: RefHost | undefined = defaultHost, node?: string) {
    this.slot = slot;
    this.gen = gen;
    this.name = name;
    this.node = node;
    this.#host = host;
  }

  /** A stable printable id, `slot.gen`, or `node/slot.gen` for an actor of another node. */
  get id(): string {
    return this.node === undefined ? `${this.slot}.${this.gen}` : `${this.node}/${this.slot}.${this.gen}`;
  }

  /** True when both refs name the same actor. */
  equals(other: unknown): boolean {
    return other instanceof ActorRef && other.slot === this.slot && other.gen === this.gen && other.node === this.node;
  }

  /** `Actor(name#slot.gen)`, or `Actor(slot.gen)` for an unnamed actor: how errors and logs name it. */
  toString(): string {
    return this.name === undefined ? `Actor(${this.id})` : `Actor(${this.name}#${this.id})`;
  }

  /** The ref as plain data, for `JSON.stringify` (a ref sent in a message travels through the codec instead). */
  toJSON(): {
    /** {@link ActorRef.slot} */
    slot: number;
    /** {@link ActorRef.gen} */
    gen: number;
    /** {@link ActorRef.name}, when the actor has one. */
    name?: string;
    /** {@link ActorRef.node}, when the actor is on another node. */
    node?: string;
  } {
    const json: { slot: number; gen: number; name?: string; node?: string } = { slot: this.slot, gen: this.gen };
    if (this.name !== undefined) json.name = this.name;
    if (this.node !== undefined) json.node = this.node;
    return json;
  }

  /**
   * Sends a message without waiting. Returns true when the message was
   * accepted into the mailbox; false when a bounded mailbox refused it
   * (`'reject'`: the caller decides; `'drop-newest'`: also published as a
   * dead letter) or the actor has stopped (published as a dead letter).
   * Throws `SerializationError` at once when a cross-thread message cannot be encoded.
   */
  tell(msg: Msg, options?: TellOptions): boolean {
    return this.host().tell(this, msg, options);
  }

  /**
   * Sends a message and resolves with the handler's return value. Rejects
   * with the handler's error, `AskTimeoutError`, `AskAbortedError`,
   * `ActorStoppedError` or `MailboxFullError`.
   */
  ask(msg: Msg, options?: AskOptions): Promise<Reply> {
    const host = this.host();
    // Created here only when askStackTraces asks for it, so that its stack points at the caller.
    const timeoutError = host.makeTimeoutError(this, options);
    return host.ask(this, msg, options, timeoutError) as Promise<Reply>;
  }

  /**
   * Sends a message, waiting while a bounded mailbox is full (backpressure).
   * Resolves when the message was accepted; rejects with `ActorStoppedError`
   * when the actor stops first.
   */
  send(msg: Msg, options?: TellOptions): Promise<void> {
    return this.host().send(this, msg, options);
  }

  private host(): RefHost {
    // A ref that travelled inside a message is bound to the thread that
    // decoded it; one built before any runtime existed binds lazily.
    const host = this.#host ?? defaultHost;
    if (host === undefined) throw new Error(`${this.toString()} is not bound to a running runtime on this thread`);
    this.#host = host;
    return host;
  }
}

/**
 * @internal The ref a failure of the runtime itself is published under on
 * `rt.failures` (a pool thread's error, a malformed frame, an unhandled
 * rejection): slot -1, named `'system'`.
 */
export function systemRef(host: RefHost): ActorRef {
  return new ActorRef(-1, 0, 'system', host);
}

/**
 * @internal `ref` must be an ActorRef of an actor of this process (not of
 * another cluster node): for the calls that act on an actor where it lives
 * (stop, suspend, resume, checkpoint, migrate, watch, region transfer).
 */
export function checkLocalRef(ref: unknown, call: string): asserts ref is ActorRef {
  if (!(ref instanceof ActorRef)) throw new InvalidArgumentError('ref', 'an ActorRef', ref);
  if (ref.node !== undefined)
    throw new InvalidArgumentError('ref', `an actor of this node (${call} does not reach the actors of other nodes)`, ref.toString());
}

/** @internal Validates an AskOptions object; returns the timeout to use. */
export function checkAskOptions(options: AskOptions | undefined, defaultTimeoutMs: number): number {
  if (options === undefined) return defaultTimeoutMs;
  if (options === null || typeof options !== 'object') throw new InvalidOptionError('options', 'an object', options);
  const { timeoutMs, signal } = options;
  for (const key of Object.keys(options)) {
    if (key !== 'timeoutMs' && key !== 'signal' && key !== 'transfer')
      throw new InvalidOptionError(key, 'one of timeoutMs, signal, transfer', (options as Record<string, unknown>)[key]);
  }
  if (timeoutMs !== undefined && (typeof timeoutMs !== 'number' || !(timeoutMs > 0) || !Number.isFinite(timeoutMs))) {
    throw new InvalidOptionError('timeoutMs', 'a finite number above 0', timeoutMs);
  }
  if (signal !== undefined && !(signal instanceof AbortSignal)) {
    throw new InvalidOptionError('signal', 'an AbortSignal', signal);
  }
  return timeoutMs ?? defaultTimeoutMs;
}
