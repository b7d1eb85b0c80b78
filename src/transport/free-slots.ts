/**
 * Free actor slots of the directory (directory.ts): a lock-free stack shared
 * by every thread, and in front of it one cache per pool thread, so that an
 * actor spawning and stopping children on its own thread (skynet: a million
 * of them) touches shared memory once per {@link kCacheBatch} slots instead
 * of once per slot.
 *
 * Hand-written: no library gives a lock-free slot stack over a
 * SharedArrayBuffer that a dead thread's slots can be taken back from.
 *
 * The shared stack is a Treiber stack whose head is a 64-bit word
 * (tag << 32 | slot + 1) changed by compare-exchange; `next[slot]` links it.
 * The tag, bumped on every change, defeats ABA: a thread that read an old
 * head cannot win a CAS after the head went around. Slots never handed out
 * come from a bump counter (`fresh`) when the stack is empty.
 *
 * A thread's cache lives in shared memory too, one block per endpoint:
 *
 *   word 0            count of cached slots (written by the owner only)
 *   words 1..kCacheMax the cached slots, a stack (top at count)
 *
 * Only the owning thread touches its block while it runs (plain reads and
 * writes, no Atomics: nobody else reads them then). When the thread is gone,
 * the main thread takes its cached slots back ({@link FreeSlots.reclaim})
 * before a replacement is bound to the endpoint; the thread's exit, which
 * the main thread learns of by a message, orders its last writes before
 * that read.
 *
 * Accounting: a cache holds at most {@link kCacheMax} slots, so the table
 * has `maxAgents + threads * kCacheMax` slots: while fewer than `maxAgents`
 * actors are live, some free slot is outside every other thread's cache (in
 * the shared stack or never handed out), and a spawn under the limit always
 * finds one. The limit itself is counted apart (the directory's live count),
 * so it stays exact for users whatever the caches hold.
 *
 * Crash windows leak, never duplicate: slots leave the shared stack (CAS)
 * before the cache count says they are cached, and leave the count before
 * they go back on the stack (CAS), so a thread killed in between loses them
 * rather than handing one slot out twice.
 */

/** Slots moved between a thread's cache and the shared stack at a time. */
const kCacheBatch = 256;
/** Most slots a thread's cache holds. */
export const kCacheMax = 2 * kCacheBatch;
/** Words per endpoint block: the count, the slots, padding so two blocks share no cache line. */
const kCacheWords = 1 + kCacheMax + 15;

/** The caches of `endpoints` endpoints (all empty). */
export function allocateSlotCaches(endpoints: number): SharedArrayBuffer {
  return new SharedArrayBuffer(endpoints * kCacheWords * 4);
}

/** @internal */
export class FreeSlots {
  private readonly slots: number;
  private readonly next: Int32Array;
  private readonly counters: Int32Array;
  private readonly freshWord: number;
  private readonly head: BigInt64Array;
  private readonly caches: Int32Array;
  /** First word of this thread's cache block, or -1: this thread caches nothing (the main thread). */
  private readonly base: number;

  /**
   * `counters[freshWord]`: the next slot never handed out. `owner`: the
   * endpoint whose cache this thread uses, or -1 for none.
   */
  constructor(slots: number, next: Int32Array, counters: Int32Array, freshWord: number, head: BigInt64Array, caches: SharedArrayBuffer, owner: number) {
    this.slots = slots;
    this.next = next;
    this.counters = counters;
    this.freshWord = freshWord;
    this.head = head;
    this.caches = new Int32Array(caches);
    this.base = owner >= 0 ? owner * kCacheWords : -1;
  }

  /** A free slot for this thread, or -1 when none is left anywhere. */
  take(): number {
    const base = this.base;
    if (base < 0) {
      const slot = this.pop();
      return slot >= 0 ? slot : this.takeFresh(1);
    }
    const caches = this.caches;
    let count = caches[base];
    if (count === 0) {
      count = this.refill();
      if (count === 0) return -1;
    }
    caches[base] = count - 1;
    return caches[base + count];
  }

  /** Puts `slot` back: in this thread's cache when `cache` (and it has one), else on the shared stack. */
  put(slot: number, cache: boolean): void {
    const base = this.base;
    if (!cache || base < 0) {
      this.pushChain(slot, slot);
      return;
    }
    const caches = this.caches;
    let count = caches[base];
    if (count === kCacheMax) count = this.flush();
    caches[base + count + 1] = slot;
    caches[base] = count + 1;
  }

  /** Slots in the cache of `endpoint`. */
  cached(endpoint: number): number {
    return Atomics.load(this.caches, endpoint * kCacheWords);
  }

  /** Main thread, once the thread of `endpoint` is gone: its cached slots go back on the shared stack. */
  reclaim(endpoint: number): void {
    const base = endpoint * kCacheWords;
    const count = Atomics.load(this.caches, base);
    if (count === 0) return;
    Atomics.store(this.caches, base, 0);
    this.linkAndPush(base + 1, count);
  }

  /** Fills the empty cache with up to a batch: from the shared stack, else never-used slots. Returns the count. */
  private refill(): number {
    const count = this.popBatch();
    if (count > 0) return count;
    const first = this.takeFresh(kCacheBatch);
    if (first < 0) return 0;
    const end = Math.min(first + kCacheBatch, this.slots);
    const base = this.base;
    // Highest first on the stack: taken lowest first, as one at a time would.
    for (let i = 0; i < end - first; i++) this.caches[base + 1 + i] = end - 1 - i;
    this.caches[base] = end - first;
    return end - first;
  }

  /** Moves the older half of the full cache to the shared stack; returns the count left. */
  private flush(): number {
    const base = this.base;
    const left = kCacheMax - kCacheBatch;
    // The count first: killed before the push, the batch is lost, not duplicated.
    this.caches[base] = 0;
    this.linkAndPush(base + 1, kCacheBatch);
    // The newer half (recently stopped slots, still warm) moves down.
    this.caches.copyWithin(base + 1, base + 1 + kCacheBatch, base + 1 + kCacheMax);
    this.caches[base] = left;
    return left;
  }

  /** Links `count` slots of the caches array from `from` through `next` and pushes them as one chain. */
  private linkAndPush(from: number, count: number): void {
    const caches = this.caches;
    // These slots are this thread's (or a dead thread's): nobody else writes their `next`.
    for (let i = 0; i < count - 1; i++) Atomics.store(this.next, caches[from + i], caches[from + i + 1]);
    this.pushChain(caches[from], caches[from + count - 1]);
  }

  /** Pushes the chain first..last (already linked through `next`) with one CAS. */
  private pushChain(first: number, last: number): void {
    for (;;) {
      const head = Atomics.load(this.head, 0);
      Atomics.store(this.next, last, Number(head & 0xffff_ffffn) - 1);
      const replacement = (((head >> 32n) + 1n) << 32n) | BigInt(first + 1);
      if (Atomics.compareExchange(this.head, 0, head, replacement) === head) return;
    }
  }

  private pop(): number {
    for (;;) {
      const head = Atomics.load(this.head, 0);
      const top = Number(head & 0xffff_ffffn) - 1;
      if (top < 0) return -1;
      const below = Atomics.load(this.next, top);
      const replacement = (((head >> 32n) + 1n) << 32n) | BigInt(below + 1);
      if (Atomics.compareExchange(this.head, 0, head, replacement) === head) return top;
    }
  }

  /**
   * Takes up to a batch off the shared stack with one CAS, into the (empty)
   * cache. The walk down `next` may read links another thread is changing,
   * but then that thread changed the head and tag first, and the CAS fails:
   * when it succeeds, nothing changed the stack since the head was read, so
   * the walked chain is what it held.
   */
  private popBatch(): number {
    const caches = this.caches;
    const base = this.base;
    for (;;) {
      const head = Atomics.load(this.head, 0);
      let slot = Number(head & 0xffff_ffffn) - 1;
      let count = 0;
      // The stack's top is stored where the cache's top will be: taken first again.
      while (slot >= 0 && slot < this.slots && count < kCacheBatch) {
        caches[base + kCacheBatch - count] = slot;
        count++;
        slot = Atomics.load(this.next, slot);
      }
      if (count === 0) return 0;
      const replacement = (((head >> 32n) + 1n) << 32n) | BigInt(slot + 1);
      if (Atomics.compareExchange(this.head, 0, head, replacement) !== head) continue;
      // Taken: move them down to the cache's bottom, top of the stack last.
      if (count < kCacheBatch) caches.copyWithin(base + 1, base + 1 + kCacheBatch - count, base + 1 + kCacheBatch);
      caches[base] = count;
      return count;
    }
  }

  /** First of `count` slots never handed out (fewer when the table ends), or -1. */
  private takeFresh(count: number): number {
    // Checked first so that a full table does not run the counter up forever.
    if (Atomics.load(this.counters, this.freshWord) >= this.slots) return -1;
    const first = Atomics.add(this.counters, this.freshWord, count);
    return first < this.slots ? first : -1;
  }
}
