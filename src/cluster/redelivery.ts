/**
 * The sending side of at-least-once entity delivery (Akka's
 * AtLeastOnceDelivery, for entity refs made with `delivery:
 * 'at-least-once'`).
 *
 * Each message is kept here until the entity's node confirms it: every send
 * is an ask underneath, answered by the entity's node only once a checkpoint
 * that covers the message is written (entities.ts), and the answers ride in
 * the gateway's batches with the other records (so confirmations are
 * batched). A tell's try has no timeout: its node answers when it has
 * handled and saved it, however long its mailbox, and the node's loss
 * settles it with NodeUnreachableError (a slow entity gets no copies).
 *
 * A try that ends in a failure that means "not handled" is sent again,
 * through placement, so after a node is declared down it reaches the
 * entity's new activation:
 *
 * - NodeUnreachableError: at once when the node it names is no longer a
 *   member (membership has moved on); after the backoff while it still is
 *   (refused for backpressure, or shutting down),
 * - ActorCrashedError (the state it changed could not be saved, or its
 *   thread died), ActorStoppedError, MailboxFullError, EntityUnavailableError,
 *   EntitySnapshotError: after a backoff, 50 ms doubling to 2 s.
 *
 * The handler's return value or its own error confirms the message. Any
 * other failure (the message cannot be encoded, or is too large) is final:
 * an ask rejects with it, a tell becomes a dead letter. An ask is sent again
 * until its own timeout, then rejects with AskTimeoutError. A tell is kept
 * until confirmed, and given up as a dead letter after `kMaxTries` tries
 * that were not handled (`'undeliverable'`; `'poison'` after
 * `kPoisonAfterCrashes` tries that crashed its thread), or when this node
 * shuts down (`'shutdown'`). At most `kMaxUnconfirmed` messages are kept; a
 * tell past that is refused (a dead letter, `'dropped-newest'`).
 */
import { ActorCrashedError, AskTimeoutError, MessageTooLargeError, NodeUnreachableError } from '../base/errors.js';
import { kPoisonAfterCrashes, type DeadLetterReason } from '../engine/types.js';
import { notHandled, undeliverable } from './outcomes.js';

/** Called once with a try's outcome. */
export type Outcome = (ok: boolean, value: unknown) => void;

/**
 * One try at delivering an entity message: `done` is called once
 * (AskTimeoutError after `timeoutMs`; 0: no timeout). May throw (the
 * message cannot be encoded), having left nothing pending.
 */
export type Attempt = (module: string, key: string, msg: unknown, timeoutMs: number, done: Outcome) => void;

/** Messages kept unconfirmed at most, on one node. */
export const kMaxUnconfirmed = 100_000;
/** Tries of a tell that were not handled, after which it is a dead letter (about a minute of backoffs, more with slow failures). */
export const kMaxTries = 30;
const kFirstBackoffMs = 50;
const kMaxBackoffMs = 2000;

interface Unconfirmed {
  module: string;
  key: string;
  msg: unknown;
  /** performance.now() past which an ask gives up; Infinity for a tell. */
  deadline: number;
  /** The ask's timeout, as given. */
  timeoutMs: number;
  /** The ask's settlement; undefined for a tell. */
  settle: Outcome | undefined;
  tries: number;
  /** Tries that ended in ActorCrashedError (its thread died under it, or its state could not be saved). */
  crashes: number;
  timer: NodeJS.Timeout | undefined;
}

/** @internal */
export class Redelivery {
  private readonly kept = new Set<Unconfirmed>();
  private closed = false;
  /** Tries sent again. */
  redelivered = 0;

  constructor(
    private readonly node: string,
    private readonly attempt: Attempt,
    /** Whether `node` is a live member (a NodeUnreachableError naming one that is not is sent again at once). */
    private readonly isMember: (node: string) => boolean,
    private readonly deadLetter: (key: string, msg: unknown, reason: DeadLetterReason) => void,
  ) {}

  /** Messages kept until confirmed now. */
  get unconfirmed(): number {
    return this.kept.size;
  }

  /**
   * Sends a tell at least once; false (a dead letter) when too many are
   * unconfirmed, or after close. Throws what the first try throws (a message
   * that cannot be encoded), keeping nothing.
   */
  tell(module: string, key: string, msg: unknown): boolean {
    if (this.closed || this.kept.size >= kMaxUnconfirmed) {
      this.deadLetter(key, msg, this.closed ? 'shutdown' : 'dropped-newest');
      return false;
    }
    const m: Unconfirmed = { module, key, msg, deadline: Infinity, timeoutMs: 0, settle: undefined, tries: 0, crashes: 0, timer: undefined };
    try {
      this.send(m);
    } catch (err) {
      this.kept.delete(m);
      throw err;
    }
    return true;
  }

  /** Sends an ask at least once, until `timeoutMs`. */
  ask(module: string, key: string, msg: unknown, timeoutMs: number): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const settle: Outcome = (ok, value) => (ok ? resolve : reject)(value);
      if (this.closed || this.kept.size >= kMaxUnconfirmed) {
        reject(new NodeUnreachableError(this.node, this.closed ? 'is shutting down' : `keeps ${kMaxUnconfirmed} unconfirmed entity messages`));
        return;
      }
      const m: Unconfirmed = { module, key, msg, deadline: performance.now() + timeoutMs, timeoutMs, settle, tries: 0, crashes: 0, timer: undefined };
      try {
        this.send(m);
      } catch (err) {
        this.kept.delete(m);
        reject(err);
      }
    });
  }

  /** One try; throws only what `attempt` throws. */
  private send(m: Unconfirmed): void {
    m.timer = undefined;
    this.kept.add(m);
    const left = m.deadline - performance.now();
    if (left <= 0) {
      this.kept.delete(m);
      m.settle?.(false, new AskTimeoutError(`Entity(${m.key})`, m.timeoutMs));
      return;
    }
    m.tries++;
    // A tell's try waits as long as its node lives; an ask's, what is left of its timeout.
    this.attempt(m.module, m.key, m.msg, m.settle === undefined ? 0 : Math.ceil(left), (ok, value) => this.outcome(m, ok, value));
  }

  private outcome(m: Unconfirmed, ok: boolean, value: unknown): void {
    if (!this.kept.has(m)) return; // closed meanwhile
    if (ok || !notHandled(value) || performance.now() >= m.deadline) {
      this.kept.delete(m);
      if (m.settle !== undefined) {
        // A try's timeout is what was left of the ask's: the error names the ask's own.
        m.settle(ok, value instanceof AskTimeoutError ? new AskTimeoutError(`Entity(${m.key})`, m.timeoutMs) : value);
      } else if (!ok && undeliverable(value)) {
        this.deadLetter(m.key, m.msg, value instanceof MessageTooLargeError ? 'too-large' : 'undeliverable');
      }
      return;
    }
    if (value instanceof ActorCrashedError) m.crashes++;
    if (m.settle === undefined && (m.crashes >= kPoisonAfterCrashes || m.tries >= kMaxTries)) {
      this.kept.delete(m);
      this.deadLetter(m.key, m.msg, m.crashes >= kPoisonAfterCrashes ? 'poison' : 'undeliverable');
      return;
    }
    this.redelivered++;
    const gone = value instanceof NodeUnreachableError && !this.isMember(value.node);
    const backoff = gone ? 0 : Math.min(kMaxBackoffMs, kFirstBackoffMs * 2 ** (m.tries - 1));
    m.timer = setTimeout(() => this.resend(m), Math.min(backoff, m.deadline - performance.now()));
  }

  /** A try again, from a timer: what it throws (cannot happen for a message that went once) ends the message. */
  private resend(m: Unconfirmed): void {
    try {
      this.send(m);
    } catch (err) {
      this.kept.delete(m);
      if (m.settle !== undefined) m.settle(false, err);
      else this.deadLetter(m.key, m.msg, 'undeliverable');
    }
  }

  /** Shutdown: kept tells become dead letters (`'shutdown'`), kept asks reject with NodeUnreachableError. */
  close(): void {
    this.closed = true;
    for (const m of this.kept) {
      clearTimeout(m.timer);
      if (m.settle === undefined) this.deadLetter(m.key, m.msg, 'shutdown');
      else m.settle(false, new NodeUnreachableError(this.node, 'shut down before the entity confirmed the message'));
    }
    this.kept.clear();
  }
}
