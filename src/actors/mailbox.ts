/**
 * An actor's in-heap mailbox: a growable circular queue of (message, sender,
 * reply tag, journal entry, trace context) entries. No `Array.shift()`: push and take are O(1) and allocate
 * nothing once the buffer has grown to the actor's working size.
 */
import type { ActorRef } from './ref.js';

/** No reply expected (a tell). Otherwise `askId * kReplyStride + endpoint`. */
export const kNoReply = -1;
/** Multiplier packing (askId, endpoint) into one reply tag. */
export const kReplyStride = 1024;

const kEmpty: unknown[] = [];
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

  private grow(): void {
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
