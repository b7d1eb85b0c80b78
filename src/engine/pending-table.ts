/**
 * The table of a thread's pending asks, by ask id. Ids are handed out in
 * sequence (1, 2, 3, ... wrapping below 2^32) and most asks are answered
 * within a few hundred ids, so an id's low bits index a fixed array of
 * slots; an id whose slot is taken (by an ask still waiting after the ids
 * went once around the array, or more waiting at once than there are
 * slots) goes to an overflow Map. Nothing is lost either way; only the
 * cost differs.
 *
 * Why hand-written: a Map with one entry added and one removed per ask
 * rehashes every few asks (it keeps removed entries until it compacts);
 * measured, a Map's set + get + delete was 62 ns where the slot array's
 * was 10, on the path of every ask.
 */

/** Slots in the array (a power of two). */
const kSlots = 1024;
const kMask = kSlots - 1;

export class PendingTable<T> {
  /** The id in each slot; 0: free (ids start at 1). */
  private readonly ids = new Uint32Array(kSlots);
  private readonly values: Array<T | undefined> = new Array<T | undefined>(kSlots).fill(undefined);
  private readonly overflow = new Map<number, T>();
  private count = 0;

  /** Entries waiting. */
  get size(): number {
    return this.count;
  }

  /** Adds `value` for `id` (an integer in 1 .. 2^32-1 not already in the table). */
  set(id: number, value: T): void {
    const i = id & kMask;
    if (this.ids[i] === 0) {
      this.ids[i] = id;
      this.values[i] = value;
    } else this.overflow.set(id, value);
    this.count++;
  }

  get(id: number): T | undefined {
    const i = id & kMask;
    if (this.ids[i] === id) return this.values[i];
    return this.overflow.size === 0 ? undefined : this.overflow.get(id);
  }

  has(id: number): boolean {
    return this.get(id) !== undefined;
  }

  /** Removes `id`; true when it was there. */
  delete(id: number): boolean {
    const i = id & kMask;
    if (this.ids[i] === id) {
      this.ids[i] = 0;
      this.values[i] = undefined;
      this.count--;
      return true;
    }
    if (this.overflow.size === 0 || !this.overflow.delete(id)) return false;
    this.count--;
    return true;
  }

  /**
   * The ids waiting now, smallest first (the order asks were made in, but
   * across the wrap of the ids below 2^32): a copy, so entries may be
   * removed while it is walked. Only a crash or shutdown walks them.
   */
  waitingIds(): number[] {
    const out: number[] = [];
    if (this.count === 0) return out;
    for (let i = 0; i < kSlots; i++) if (this.ids[i] !== 0) out.push(this.ids[i]);
    for (const id of this.overflow.keys()) out.push(id);
    return out.sort((a, b) => a - b);
  }
}
