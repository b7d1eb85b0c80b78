/**
 * An actor's in-heap mailbox: a growable circular queue of (message, sender,
 * reply tag, journal entry, trace context) entries. No `Array.shift()`: push and take are O(1) and allocate
 * nothing once the buffer has grown to the actor's working size.
 *
 * Most actors of a big tree (skynet's million leaves) are never sent
 * anything: a cell starts with the one shared {@link emptyMailbox} and gets
 * a mailbox of its own at its first message ({@link takeMailbox}). A stopped
 * actor's emptied mailbox goes back to this thread's spare list
 * ({@link recycleMailbox}), buffer and all, for the next actor: spawning
 * and stopping many short-lived actors allocates no mailboxes in the steady
 * state. (Module state: each thread has its own.)
 */
import type { ActorRef } from './ref.js';

/** No reply expected (a tell). Otherwise `askId * kReplyStride + endpoint`. */
export const kNoReply = -1;
/** Multiplier packing (askId, endpoint) into one reply tag. */
export const kReplyStride = 1024;

const kEmpty: unknown[] = [];
/** Most spare mailboxes a thread keeps. */
const kSparesMax = 1024;
/** A mailbox whose buffer grew past this many entries is left to the GC rather than kept. */
const kSpareEntriesMax = 64;
/** Array items per entry: message, sender, reply tag, journal entry, trace context. */
const kStride = 5;

export class Mailbox {
  // Allocated on the first message: a million idle actors cost no arrays.
  private items: unknown[] = kEmpty;
  private mask = -1;
  private head = 0;
  length = 0;

  /**
   * `journal`: the message's journal entry (cross-thread messages), -1 for
   * none. `trace`: the trace context it was sent in (engine/tracing.ts), opaque
   * here; undefined for a message sent outside any trace.
   */
  push(msg: unknown, sender: ActorRef | undefined, replyTag: number, journal = -1, trace: unknown = undefined): void {
    if (this.length > this.mask) this.grow();
    const at = ((this.head + this.length) & this.mask) * kStride;
    this.items[at] = msg;
    this.items[at + 1] = sender;
    this.items[at + 2] = replyTag;
    this.items[at + 3] = journal;
    this.items[at + 4] = trace;
    this.length++;
  }

  /** Index (into the internal array) of the oldest entry; read it with the getters below, then {@link drop}. */
  peekIndex(): number {
    return this.head * kStride;
  }
  msgAt(index: number): unknown {
    return this.items[index];
  }
  senderAt(index: number): ActorRef | undefined {
    return this.items[index + 1] as ActorRef | undefined;
  }
  replyTagAt(index: number): number {
    return this.items[index + 2] as number;
  }
  journalAt(index: number): number {
    return this.items[index + 3] as number;
  }
  traceAt(index: number): unknown {
    return this.items[index + 4];
  }

  /**
   * Takes every entry, oldest first, handing each to `visit` (for the cold
   * paths: stop, forwarding on a migration). The scheduler's hot loop reads
   * entries in place instead, with no callback.
   */
  takeEach(visit: (msg: unknown, sender: ActorRef | undefined, replyTag: number, journal: number, trace: unknown) => void): void {
    while (this.length > 0) {
      const at = this.head * kStride;
      const msg = this.items[at];
      const sender = this.items[at + 1] as ActorRef | undefined;
      const replyTag = this.items[at + 2] as number;
      const journal = this.items[at + 3] as number;
      const trace = this.items[at + 4];
      this.drop();
      visit(msg, sender, replyTag, journal, trace);
    }
  }

  /** Removes the oldest entry (clearing references so they can be collected). */
  drop(): void {
    const at = this.head * kStride;
    this.items[at] = undefined;
    this.items[at + 1] = undefined;
    this.items[at + 4] = undefined;
    this.head = (this.head + 1) & this.mask;
    this.length--;
  }

  /** Entries its buffer holds before it grows again. */
  bufferEntries(): number {
    return this.mask + 1;
  }

  private grow(): void {
    // The shared empty mailbox is never written: a cell swaps it for its own first.
    if (this === emptyMailbox) throw new Error('microswarm: a message was pushed into the shared empty mailbox');
    const size = Math.max(2, (this.mask + 1) * 2);
    const next = new Array<unknown>(size * kStride).fill(undefined);
    for (let i = 0; i < this.length; i++) {
      const from = ((this.head + i) & this.mask) * kStride;
      for (let k = 0; k < kStride; k++) next[i * kStride + k] = this.items[from + k];
    }
    this.items = next;
    this.mask = size - 1;
    this.head = 0;
  }
}

/** The mailbox of every actor not sent anything yet: empty, shared, never pushed into. */
export const emptyMailbox: Mailbox = new Mailbox();

const spares: Mailbox[] = [];

/** A mailbox for an actor's first message: a spare one of this thread, or a new one. */
export function takeMailbox(): Mailbox {
  return spares.pop() ?? new Mailbox();
}

/** A stopped actor's mailbox, emptied: kept for the next actor (unless it is the shared one, not empty, or grown large). */
export function recycleMailbox(mailbox: Mailbox): void {
  if (mailbox === emptyMailbox || mailbox.length !== 0 || mailbox.bufferEntries() > kSpareEntriesMax || spares.length >= kSparesMax) return;
  spares.push(mailbox);
}
