/**
 * The sending side of at-least-once entity delivery (Akka's
 * AtLeastOnceDelivery, for entity refs made with `delivery:
 * 'at-least-once'`).
 *
 * Each message is kept here until the entity's node confirms it: every send
 * is an ask underneath, answered by the entity's node only once a checkpoint
 * that covers the message is written (entities.ts), and the answers ride in
 * the gateway's batches with the other records (so confirmations are
 * batched). A try that ends in a failure that means "not handled" is sent
 * again, through placement, so after a node is declared down it reaches the
 * entity's new activation:
 *
 * - NodeUnreachableError (the node left or was declared down while the
 *   message waited: sent again at once, membership has moved on),
 * - ActorCrashedError (the state it changed could not be saved, or its
 *   thread died), ActorStoppedError, MailboxFullError, EntityUnavailableError,
 *   EntitySnapshotError (sent again after a backoff: 50 ms doubling to 2 s),
 * - for a tell, AskTimeoutError too (its node took longer than
 *   `askTimeoutMs`: it may still handle it, so the entity may see it twice).
 *
 * Any other answer (the handler's return value, or its error) confirms the
 * message. An ask is sent again until its own timeout, then rejects with
 * AskTimeoutError. A tell is kept until confirmed, or until this node shuts
 * down (a dead letter, `'shutdown'`). At most `kMaxUnconfirmed` messages are
 * kept; a tell past that is refused (a dead letter, `'dropped-newest'`).
 */
import {
  ActorCrashedError,
  ActorStoppedError,
  AskTimeoutError,
  EntitySnapshotError,
  EntityUnavailableError,
  MailboxFullError,
  NodeUnreachableError,
} from '../base/errors.js';
import type { DeadLetterReason } from '../engine/types.js';

/** Called once with a try's outcome. */
export type Outcome = (ok: boolean, value: unknown) => void;

/** One try at delivering an entity message: `done` is called once (AskTimeoutError after `timeoutMs`). */
export type Attempt = (module: string, key: string, msg: unknown, timeoutMs: number, done: Outcome) => void;

/** Messages kept unconfirmed at most, on one node. */
export const kMaxUnconfirmed = 100_000;
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
  timer: NodeJS.Timeout | undefined;
}

/** Whether a try's failure means the message was not handled (so it is sent again). */
function notHandled(error: unknown, tell: boolean): boolean {
  return (
    error instanceof NodeUnreachableError ||
    error instanceof ActorCrashedError ||
    error instanceof ActorStoppedError ||
    error instanceof MailboxFullError ||
    error instanceof EntityUnavailableError ||
    error instanceof EntitySnapshotError ||
    (tell && error instanceof AskTimeoutError)
  );
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
    private readonly askTimeoutMs: number,
    private readonly deadLetter: (key: string, msg: unknown, reason: DeadLetterReason) => void,
  ) {}

  /** Messages kept until confirmed now. */
  get unconfirmed(): number {
    return this.kept.size;
  }

  /** Sends a tell at least once; false (a dead letter) when too many are unconfirmed, or after close. */
  tell(module: string, key: string, msg: unknown): boolean {
    if (this.closed || this.kept.size >= kMaxUnconfirmed) {
      this.deadLetter(key, msg, this.closed ? 'shutdown' : 'dropped-newest');
      return false;
    }
    this.send({ module, key, msg, deadline: Infinity, timeoutMs: 0, settle: undefined, tries: 0, timer: undefined });
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
      this.send({ module, key, msg, deadline: performance.now() + timeoutMs, timeoutMs, settle, tries: 0, timer: undefined });
    });
  }

  private send(m: Unconfirmed): void {
    m.timer = undefined;
    this.kept.add(m);
    const tell = m.settle === undefined;
    const left = m.deadline - performance.now();
    if (left <= 0) {
      this.kept.delete(m);
      m.settle?.(false, new AskTimeoutError(`Entity(${m.key})`, m.timeoutMs));
      return;
    }
    const timeoutMs = tell ? this.askTimeoutMs : Math.ceil(left);
    m.tries++;
    this.attempt(m.module, m.key, m.msg, timeoutMs, (ok, value) => {
      if (!this.kept.has(m)) return; // closed meanwhile
      if (ok || !notHandled(value, tell) || performance.now() >= m.deadline) {
        this.kept.delete(m);
        // A try's timeout is what was left of the ask's: the error names the ask's own.
        m.settle?.(ok, value instanceof AskTimeoutError ? new AskTimeoutError(`Entity(${m.key})`, m.timeoutMs) : value);
        return;
      }
      if (this.closed) return;
      this.redelivered++;
      const backoff = value instanceof NodeUnreachableError ? 0 : Math.min(kMaxBackoffMs, kFirstBackoffMs * 2 ** (m.tries - 1));
      m.timer = setTimeout(() => this.send(m), Math.min(backoff, m.deadline - performance.now()));
    });
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
