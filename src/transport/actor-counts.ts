/**
 * Per-actor counts in shared memory, for `rt.inspect()`: messages handled
 * and restarts, one Int32 word each per directory slot.
 *
 *   word            written by                          read by
 *   handled[slot]   the thread hosting the actor, once  any thread (inspect)
 *                   per batch of its messages (runCell)
 *   restarts[slot]  the thread hosting the actor, when  any thread
 *                   a restart or a rehost completed
 *
 * Only the hosting thread writes a slot's words (a migrated actor's new
 * thread takes over after the old one handed it off), so `handled` adds with
 * a plain load and store, as the meters do (meters.ts): no other writer can
 * race it, and an aligned Int32Array element is read and written whole
 * (tear-free) without Atomics. A locked add per batch cost about 12 ns a
 * message where every batch is one message (savina-threadring). Readers use
 * `Atomics.load`. The allocator zeroes both words before it publishes the
 * slot's new occupant (directory.ts `allocate`), and the slot's release, an
 * Atomics write after the last count (the dispatcher writes none for a cell
 * whose slot it released during the batch), orders the two, so a newcomer
 * never inherits counts.
 * A count wraps past 2^31 - 1 messages; readers take it as unsigned (`>>> 0`),
 * which holds up to 2^32 - 1.
 *
 * Kept in its own buffer, not in the directory's table: the columns there are
 * the directory's protocol, these are statistics.
 */

const kWordsPerSlot = 2;
const kHandled = 0;
const kRestarts = 1;

/** Allocates the counts of `slots` actors (zeroed). */
export function allocateActorCounts(slots: number): SharedArrayBuffer {
  return new SharedArrayBuffer(slots * kWordsPerSlot * 4);
}

/** @internal A view of the per-actor counts. */
export class ActorCounts {
  private readonly words: Int32Array;

  constructor(shared: SharedArrayBuffer) {
    this.words = new Int32Array(shared);
  }

  /** `count` messages of the actor in `slot` were handled (called once per batch, not per message). */
  handled(slot: number, count: number): void {
    this.words[slot * kWordsPerSlot + kHandled] += count;
  }

  /** The actor in `slot` was restarted (or brought back after its thread died). */
  restarted(slot: number): void {
    Atomics.add(this.words, slot * kWordsPerSlot + kRestarts, 1);
  }

  /** Zeroes the slot's counts (a new actor takes it). */
  reset(slot: number): void {
    // Loads first: most slots are reused by actors that handled nothing (skynet's leaves).
    if (Atomics.load(this.words, slot * kWordsPerSlot + kHandled) !== 0) Atomics.store(this.words, slot * kWordsPerSlot + kHandled, 0);
    if (Atomics.load(this.words, slot * kWordsPerSlot + kRestarts) !== 0) Atomics.store(this.words, slot * kWordsPerSlot + kRestarts, 0);
  }

  /** Messages handled by the actor in `slot` since it was spawned. */
  handledBy(slot: number): number {
    return Atomics.load(this.words, slot * kWordsPerSlot + kHandled) >>> 0;
  }

  /** Restarts of the actor in `slot` since it was spawned. */
  restartsOf(slot: number): number {
    return Atomics.load(this.words, slot * kWordsPerSlot + kRestarts);
  }
}
