/**
 * A thread's journal of the cross-thread messages it has taken out of its
 * rings and not yet finished handling: what makes "nothing accepted is lost"
 * hold when the thread dies. Once a frame leaves a ring it lives only in the
 * thread's heap (a mailbox); the journal keeps a copy in shared memory,
 * allocated by the main thread, until the handler of that message is done.
 * When the thread dies, the main thread reads what is not done, in order, and
 * the replacement thread replays it before it reads the rings (so per-sender
 * order holds: the journal holds what came out of a ring before what is
 * still in it). The replacement takes the journal over as it is: a replayed
 * message keeps its entry until it is done, so a replacement that dies in
 * turn, before or while it replays, leaves every such message for the next.
 * (Emptying the journal and handing the entries over in the recovery task
 * lost them when the replacement died before replaying them.)
 *
 * Hand-written because nothing off the shelf fits: entries are appended in
 * arrival order but finished out of order (by different actors), and only
 * the oldest finished ones can be reclaimed: a byte ring whose tail skips
 * over finished entries. One writer (the owning thread); the main thread
 * reads it only after that thread is gone.
 *
 * Layout: 16 header words, then the data ring. Entry (4-byte aligned):
 *   i32 length of the body in bytes, or kWrap: the rest of the ring is unused
 *   i32 state | crashes << 2 | from << 8
 *         state (2 bits): kQueued, kRunning, kDone, kInDoubt (its handler
 *         was running when a thread died, and it has not run since)
 *         crashes (6 bits): how many thread deaths this message was blamed
 *         for (kept in the entry, which a replacement replays as it is), so a
 *         message that takes its thread down every time is recognised as
 *         poison instead of being replayed forever
 *   body: the frame body as it came out of the ring (layouts by kind: kinds.ts)
 *
 * Taking a batch out of a ring is one step for a thread that dies: the
 * thread copies the batch without consuming it, journals its messages
 * (`beginBatch`, `append`: not visible yet), then `commitBatch` records where
 * the ring's read index, its `consumed` count and the journal's head will
 * stand, arms the record with one store, and only then moves them;
 * `endBatch` disarms it. Dying before the arming store leaves the batch in
 * the ring (its entries were never visible); dying after it, the main
 * thread finishes the commit (`takenBatch`). So a message is never in
 * neither place, nor in both.
 *
 * When the ring is full (a slow actor holds the oldest entry while others
 * keep coming), new messages are still accepted, unjournaled, and counted:
 * those are lost if the thread dies before they are handled.
 */

import { DecodeError } from '../base/errors.js';
import { WordSource, copyWords } from './word-source.js';

const kHead = 0;
const kTail = 1;
const kUnjournaled = 2;
// A batch being taken out of a ring (see beginBatch): 1 + the ring's sender
// while its commit is under way, else 0; then where the journal's head, the
// ring's read index and the ring's `consumed` count stand once it is taken.
const kBatchFrom = 4;
const kBatchHead = 5;
const kBatchRead = 6;
const kBatchConsumed = 7;
const kHeaderWords = 16;
const kWrap = -1;

/** `pending`'s blame: every entry whose handler was running (an async one in flight may be the culprit). */
export const kBlameRunning = -2;
/** `pending`'s blame: no entry (the thread was killed on request, or died outside any handler we can name). */
export const kBlameNone = -1;

const kQueued = 0;
const kRunning = 1;
const kDone = 2;
/**
 * Its handler was running when a thread died, and has not run since: still
 * `running` to a reader (in doubt, for at-most-once delivery), but not to
 * blame for a later death of a replacement it did not run on.
 */
const kInDoubt = 3;
const kStateMask = 0x3;
const kCrashShift = 2;
const kMaxCrashes = 0x3f;

/** An entry read back after the thread died. */
export interface JournalEntry {
  /** Its offset: the replacement thread replays it as this same entry, and marks it done when it is. */
  at: number;
  from: number;
  /** The handler of this message was running when the thread died. */
  running: boolean;
  /** Thread deaths this message was blamed for, this one included (see `kPoisonAfterCrashes`). */
  crashes: number;
  body: Uint8Array;
}

export function allocateJournal(bytes: number): SharedArrayBuffer {
  return new SharedArrayBuffer(kHeaderWords * 4 + (bytes & ~3));
}

export class Journal {
  private readonly header: Int32Array;
  private readonly words: Int32Array;
  private readonly bytes: Uint8Array;
  /** What entries are copied from, as words. */
  private readonly source = new WordSource();
  private readonly size: number;
  private head: number;
  private tail: number;
  /** Between beginBatch and commitBatch: appended entries are not published yet. */
  private batching = false;

  constructor(sab: SharedArrayBuffer) {
    this.header = new Int32Array(sab, 0, kHeaderWords);
    this.size = sab.byteLength - kHeaderWords * 4;
    this.words = new Int32Array(sab, kHeaderWords * 4, this.size >> 2);
    this.bytes = new Uint8Array(sab, kHeaderWords * 4, this.size);
    this.head = Atomics.load(this.header, kHead);
    this.tail = Atomics.load(this.header, kTail);
  }

  /**
   * Copies a frame body in; returns the entry's offset, or -1 when there is
   * no room (the message goes on unjournaled, and is counted). `crashes`:
   * the count a replayed message carries over from the thread that died.
   */
  append(from: number, source: Uint8Array, start: number, end: number, crashes = 0): number {
    const length = end - start;
    const need = 8 + ((length + 3) & ~3);
    if (this.head === this.tail && this.head !== 0) {
      // Empty: start over at 0, so an entry never has to wrap around an empty ring.
      this.head = 0;
      this.tail = 0;
      Atomics.store(this.header, kTail, 0);
      Atomics.store(this.header, kHead, 0);
    }
    let at = this.head;
    if (at >= this.tail) {
      if (at + need > this.size || (at + need === this.size && this.tail === 0)) {
        // Not enough at the end: wrap, if the start has room (head must not reach tail).
        if (need >= this.tail) return this.full();
        if (at + 4 <= this.size) this.words[at >> 2] = kWrap;
        at = 0;
      }
    } else if (at + need >= this.tail) return this.full();
    const w = at >> 2;
    this.words[w + 1] = kQueued | (Math.min(crashes, kMaxCrashes) << kCrashShift) | (from << 8);
    this.copyIn(source, start, length, w + 2);
    this.words[w] = length;
    let next = at + need;
    if (next === this.size) next = 0;
    this.head = next;
    if (!this.batching) Atomics.store(this.header, kHead, next);
    return at;
  }

  /**
   * Copies `source[start, start + length)` to the data ring from word
   * `word` on: by words (word-source.ts) when the source allows it,
   * as a ring batch's frames always do (they are padded to words).
   */
  private copyIn(source: Uint8Array, start: number, length: number, word: number): void {
    const span = (length + 3) & ~3;
    const from = this.source.wordsOf(source, start, span);
    if (from === undefined) {
      this.bytes.set(source.subarray(start, start + length), word << 2);
      return;
    }
    copyWords(this.words, word, from, (source.byteOffset + start) >> 2, span >> 2);
  }

  /** The owning thread starts journaling a batch it has copied out of a ring and not consumed yet. */
  beginBatch(): void {
    this.batching = true;
  }

  /**
   * The batch's messages are journaled: records that the ring from `from`
   * will be consumed up to `read` and its `consumed` count be `consumed`,
   * arms the record (from here on the batch counts as taken, whatever
   * happens), and publishes the batch's entries. The caller then moves the
   * ring's read index and count, and calls `endBatch`.
   */
  commitBatch(from: number, read: number, consumed: number): void {
    this.batching = false;
    Atomics.store(this.header, kBatchHead, this.head);
    Atomics.store(this.header, kBatchRead, read);
    Atomics.store(this.header, kBatchConsumed, consumed);
    Atomics.store(this.header, kBatchFrom, from + 1);
    Atomics.store(this.header, kHead, this.head);
  }

  /** The ring's read index and count are moved: the batch's record is done with. */
  endBatch(): void {
    Atomics.store(this.header, kBatchFrom, 0);
  }

  /**
   * After the owner died (the main thread, before `pending`): a batch whose
   * commit was armed and not ended. Its entries are published here; the
   * caller moves the ring's read index and count to the values returned.
   */
  takenBatch(): { from: number; read: number; consumed: number } | undefined {
    const from = Atomics.load(this.header, kBatchFrom) - 1;
    if (from < 0) return undefined;
    this.head = Atomics.load(this.header, kBatchHead);
    Atomics.store(this.header, kHead, this.head);
    Atomics.store(this.header, kBatchFrom, 0);
    return { from, read: Atomics.load(this.header, kBatchRead), consumed: Atomics.load(this.header, kBatchConsumed) };
  }

  private full(): number {
    Atomics.add(this.header, kUnjournaled, 1);
    return -1;
  }

  /** The handler of entry `at` starts. */
  running(at: number): void {
    const w = (at >> 2) + 1;
    this.words[w] = (this.words[w] & ~kStateMask) | kRunning;
  }

  /** Entry `at` is finished (handled, failed, or dead-lettered); reclaims what can be. */
  done(at: number): void {
    const w = (at >> 2) + 1;
    this.words[w] = (this.words[w] & ~kStateMask) | kDone;
    // Reclaims from the tail while entries there are done (the tail may sit
    // on a wrap marker, so this runs whatever entry finished).
    let tail = this.tail;
    while (tail !== this.head) {
      const length = this.words[tail >> 2];
      if (length === kWrap) {
        tail = 0;
        continue;
      }
      if ((this.words[(tail >> 2) + 1] & kStateMask) !== kDone) break;
      tail += 8 + ((length + 3) & ~3);
      if (tail === this.size) tail = 0;
    }
    this.tail = tail;
    Atomics.store(this.header, kTail, tail);
  }

  /** Bytes held by entries not yet reclaimed. */
  used(): number {
    const head = Atomics.load(this.header, kHead);
    const tail = Atomics.load(this.header, kTail);
    return head >= tail ? head - tail : this.size - tail + head;
  }

  /** Messages accepted without a journal entry (it was full). */
  unjournaled(): number {
    return Atomics.load(this.header, kUnjournaled);
  }

  /**
   * The entries not done, oldest first (read by the main thread after the
   * owner died). `blame` says which took the thread down (its count goes
   * up): the entry at that offset (when its handler was running),
   * kBlameRunning (every running one) or kBlameNone. The dead thread's bytes
   * are not trusted: an index or entry that does not fit the journal (a
   * length past its end or past the head, a misplaced wrap marker, an
   * unknown state) ends the walk with a DecodeError instead of a read out of
   * bounds or a loop.
   * @throws DecodeError when the journal is corrupt.
   */
  pending(blame = kBlameRunning): JournalEntry[] {
    const out: JournalEntry[] = [];
    const size = this.size;
    let at = Atomics.load(this.header, kTail);
    const head = Atomics.load(this.header, kHead);
    if (!isIndex(at, size) || !isIndex(head, size)) {
      throw new DecodeError(`journal indices out of range (tail ${at}, head ${head}, ${size} bytes)`, 0);
    }
    // Bytes from the tail to the head, the skipped end of the ring included:
    // every step uses some up, so the walk ends.
    let left = head >= at ? head - at : size - at + head;
    while (left > 0) {
      const length = this.words[at >> 2];
      if (length === kWrap) {
        // Written only when an entry did not fit at the end: never at 0.
        if (at === 0 || size - at > left) throw new DecodeError('a journal wrap marker where no entry wraps', at);
        left -= size - at;
        at = 0;
        continue;
      }
      if (length < 0 || at + 8 > size || length > size - at - 8) {
        throw new DecodeError(`a journal entry of ${length} bytes, past the end of the journal (${size} bytes)`, at);
      }
      const span = 8 + ((length + 3) & ~3);
      if (span > left) throw new DecodeError(`a journal entry of ${length} bytes, past the journal's head`, at);
      const meta = this.words[(at >> 2) + 1];
      const state = meta & kStateMask;
      if (state !== kDone) {
        const running = state === kRunning || state === kInDoubt;
        // Only a handler that ran on the thread that just died can be to blame.
        const blamed = state === kRunning && (blame === kBlameRunning || blame === at);
        const crashes = ((meta >>> kCrashShift) & kMaxCrashes) + (blamed ? 1 : 0);
        // Kept in the entry itself (a replacement replays this same entry: it
        // takes the journal over as it is): the count, so a message that
        // takes the replacement down too is blamed a second time; and
        // kInDoubt for one that was running, so a replacement that dies
        // before running it again does not blame it.
        if (state === kRunning) {
          this.words[(at >> 2) + 1] = (meta & ~(kMaxCrashes << kCrashShift) & ~kStateMask) | (Math.min(crashes, kMaxCrashes) << kCrashShift) | kInDoubt;
        }
        out.push({ at, from: meta >>> 8, running, crashes, body: this.bytes.slice(at + 8, at + 8 + length) });
      }
      left -= span;
      at += span;
      if (at === size) at = 0;
    }
    return out;
  }

  /**
   * Empties the journal: only for one that cannot be read back (corrupt),
   * by the main thread before a replacement takes it over.
   */
  reset(): void {
    Atomics.store(this.header, kBatchFrom, 0);
    Atomics.store(this.header, kHead, 0);
    Atomics.store(this.header, kTail, 0);
    this.head = 0;
    this.tail = 0;
  }

  /**
   * A copy of entry `at`'s body while its handler runs, else undefined (the
   * main thread's watchdog, naming the message of a handler that holds its
   * thread). The owner is alive: the caller must check that the same handler
   * still runs after reading, or throw the copy away.
   */
  runningBody(at: number): Uint8Array | undefined {
    if (at < 0 || (at & 3) !== 0 || at + 8 > this.size) return undefined;
    const length = this.words[at >> 2];
    if ((this.words[(at >> 2) + 1] & kStateMask) !== kRunning || length < 0 || at + 8 + length > this.size) return undefined;
    return this.bytes.slice(at + 8, at + 8 + length);
  }
}

/** A byte offset an entry may start at: 4-aligned, inside the ring. */
function isIndex(at: number, size: number): boolean {
  return at >= 0 && at < size && (at & 3) === 0;
}
