/**
 * The region table under the pool: which regions are taken (a bitmap), each
 * allocation's row on its head region, the row's state changes (publish,
 * lock, end) and eviction. Layout in `layout.ts`; the Pool (`pool.ts`) is the
 * facade that checks owners and quotas on top of it.
 *
 * Allocation (lock-free): a bitmap, one bit per region. To take a run of n
 * regions a thread finds n clear bits and sets them word by word with
 * compare-exchange; if another thread set one of them first, it clears what
 * it had set and looks again. A set bit is owned by exactly one allocation,
 * so no region is ever handed to two owners. Release clears the bits last,
 * after the allocation's row is reset, so a new owner never sees old state.
 *
 * An allocation's row (on its head region) changes state by compare-exchange:
 *
 *   free --claim bits, write row--> live --CAS live->busy--> (free | evict | transfer) --> free | live
 *
 * `busy` is held for a few instructions by the one thread that won the CAS;
 * readers that meet it wait for it to pass. Every ended allocation bumps the
 * row's generation, so a handle (region, gen) kept after free or eviction is
 * refused (StaleHandleError / EvictedError) instead of reading another
 * allocation's bytes.
 * @internal
 */
import { EvictedError, StaleHandleError } from '../base/errors.js';
import { RegionHandle } from './handle.js';
import {
  kCAllocations,
  kCClock,
  kCEvictions,
  kCReleases,
  kFlagEvictable,
  kFlagOwnerFreed,
  kRBorn,
  kRBorrowers,
  kRBytes,
  kREvicted,
  kRFlags,
  kRGen,
  kRLastUse,
  kROwner,
  kROwnerGen,
  kRPins,
  kRRun,
  kRSeq,
  kRState,
  kRTtl,
  kRUses,
  kRegionColumns,
  kStateBusy,
  kStateFree,
  kStateLive,
  type PoolShared,
} from './layout.js';

/** An actor as the pool sees it: directory slot and generation. */
export interface Holder {
  slot: number;
  gen: number;
}

/** @internal The bitmap and the allocation rows of one pool, shared by every thread that maps it. */
export class RegionTable {
  readonly shared: PoolShared;
  readonly regionSize: number;
  readonly regions: number;
  /** The allocation rows, kRegionColumns words per region. */
  readonly meta: Int32Array;
  private readonly bitmap: Int32Array;
  private readonly usage: Int32Array;
  private readonly counters: Int32Array;

  constructor(shared: PoolShared, usage: Int32Array, counters: Int32Array) {
    this.shared = shared;
    this.regionSize = shared.regionSize;
    this.regions = shared.regions;
    this.meta = new Int32Array(shared.meta);
    this.bitmap = new Int32Array(shared.bitmap);
    this.usage = usage;
    this.counters = counters;
  }

  /** Milliseconds since the pool was made (fits an Int32 for 24 days; wraps harmlessly for ordering). */
  now(): number {
    return (Date.now() - this.shared.epoch) | 0;
  }

  // ------------------------------------------------------------ the bitmap

  /** Finds and claims `run` contiguous free regions; returns the first or -1. */
  claimRun(run: number): number {
    const regions = this.regions;
    let start = 0;
    while (start + run <= regions) {
      // Find `run` clear bits from `start`.
      let clear = 0;
      let at = start;
      while (at < regions && clear < run) {
        if (this.isSet(at)) {
          clear = 0;
          start = at + 1;
        } else clear++;
        at++;
      }
      if (clear < run) return -1;
      const conflict = this.setBits(start, run);
      if (conflict < 0) return start;
      start = conflict + 1; // someone took a region of our run: look past it
    }
    return -1;
  }

  isSet(region: number): boolean {
    return (Atomics.load(this.bitmap, region >>> 5) & (1 << (region & 31))) !== 0;
  }

  /**
   * Sets bits [first, first + count) a word at a time; returns -1, or a
   * region that was already set (after undoing its own sets).
   */
  private setBits(first: number, count: number): number {
    let done = 0;
    while (done < count) {
      const region = first + done;
      const [word, mask, inWord] = wordMask(region, count - done);
      for (;;) {
        const old = Atomics.load(this.bitmap, word);
        if ((old & mask) !== 0) {
          if (done > 0) this.clearBits(first, done);
          let taken = region;
          while (((old >>> (taken & 31)) & 1) === 0) taken++;
          return taken;
        }
        if (Atomics.compareExchange(this.bitmap, word, old, old | mask) === old) break;
      }
      done += inWord;
    }
    return -1;
  }

  private clearBits(first: number, count: number): void {
    for (let done = 0; done < count; ) {
      const [word, mask, inWord] = wordMask(first + done, count - done);
      for (;;) {
        const old = Atomics.load(this.bitmap, word);
        if (Atomics.compareExchange(this.bitmap, word, old, old & ~mask) === old) break;
      }
      done += inWord;
    }
  }

  // -------------------------------------------------------------- the rows

  /** Writes a new allocation's row on its claimed head region and makes it live. */
  publish(head: number, run: number, bytes: number, owner: Holder, flags: number, ttlMs: number): RegionHandle {
    const m = this.meta;
    const base = head * kRegionColumns;
    const now = this.now();
    m[base + kRRun] = run;
    m[base + kRBytes] = bytes;
    m[base + kROwner] = owner.slot + 1;
    m[base + kROwnerGen] = owner.gen;
    m[base + kRFlags] = flags;
    m[base + kRBorrowers] = 0;
    const tick = Atomics.add(this.counters, kCClock, 1);
    m[base + kRLastUse] = tick;
    m[base + kRSeq] = tick;
    m[base + kRUses] = 0;
    m[base + kRBorn] = now;
    m[base + kRTtl] = ttlMs;
    m[base + kRPins] = 0;
    const gen = Atomics.load(m, base + kRGen);
    // Publishing the state last: a thread that sees `live` sees the row.
    Atomics.store(m, base + kRState, kStateLive);
    Atomics.add(this.counters, kCAllocations, 1);
    return new RegionHandle(head, gen, bytes, 0, 0);
  }

  /**
   * Locks an allocation's row (live -> busy) after checking `handle` names
   * it. Throws StaleHandleError / EvictedError when it does not. The caller
   * must {@link unlock} (or end the allocation).
   */
  lock(handle: RegionHandle): number {
    const region = handle.region;
    if (!Number.isInteger(region) || region < 0 || region >= this.regions) throw new StaleHandleError(handle.toString(), 'does not exist');
    const m = this.meta;
    const base = region * kRegionColumns;
    for (;;) {
      const state = Atomics.load(m, base + kRState);
      if (Atomics.load(m, base + kRGen) !== handle.gen || state === kStateFree) throw this.staleError(handle);
      if (state === kStateLive && Atomics.compareExchange(m, base + kRState, kStateLive, kStateBusy) === kStateLive) {
        if (Atomics.load(m, base + kRGen) !== handle.gen) {
          Atomics.store(m, base + kRState, kStateLive);
          throw this.staleError(handle);
        }
        if (m[base + kRBytes] !== handle.byteLength) {
          Atomics.store(m, base + kRState, kStateLive);
          throw new StaleHandleError(handle.toString(), 'has another size (a forged handle)');
        }
        if (handle.lease === 0 && (m[base + kRFlags] & kFlagOwnerFreed) !== 0) {
          // The owner freed it; only its loans keep it alive.
          Atomics.store(m, base + kRState, kStateLive);
          throw new StaleHandleError(handle.toString());
        }
        return base;
      }
      // busy: another thread holds the row for a few instructions
    }
  }

  unlock(base: number): void {
    Atomics.store(this.meta, base + kRState, kStateLive);
  }

  private staleError(handle: RegionHandle): StaleHandleError {
    const base = handle.region * kRegionColumns;
    const age = (Atomics.load(this.meta, base + kRGen) - handle.gen) | 0;
    // A past generation of this row within the last 32: its end is known.
    if (age > 0 && age <= 32 && (Atomics.load(this.meta, base + kREvicted) & (1 << (handle.gen & 31))) !== 0) {
      return new EvictedError(handle.toString());
    }
    return new StaleHandleError(handle.toString());
  }

  /** With the row locked: the owner lets go; the allocation ends unless loans remain. */
  endOwnership(base: number): void {
    const m = this.meta;
    const owner = m[base + kROwner] - 1;
    const reserved = m[base + kRRun] * this.regionSize;
    if (owner >= 0) Atomics.sub(this.usage, owner, reserved);
    m[base + kROwner] = 0;
    m[base + kROwnerGen] = 0;
    if (m[base + kRBorrowers] > 0) {
      m[base + kRFlags] |= kFlagOwnerFreed;
      this.unlock(base);
      return;
    }
    this.endAllocation(base, false);
  }

  /** With the row locked: one loan fewer; ends the allocation when it was the owner's last wish. */
  afterLoanEnded(base: number): void {
    const m = this.meta;
    m[base + kRBorrowers]--;
    if (m[base + kRBorrowers] === 0 && (m[base + kRFlags] & kFlagOwnerFreed) !== 0) this.endAllocation(base, false);
    else this.unlock(base);
  }

  /** With the row locked: ends the allocation, bumps its generation, frees its regions. */
  endAllocation(base: number, evicted: boolean): void {
    const m = this.meta;
    const head = base / kRegionColumns;
    const run = m[base + kRRun];
    const gen = m[base + kRGen];
    // Remember how this generation ended (for the last 32 generations).
    if (evicted) m[base + kREvicted] |= 1 << (gen & 31);
    else m[base + kREvicted] &= ~(1 << (gen & 31));
    m[base + kRRun] = 0;
    m[base + kRBytes] = 0;
    m[base + kRFlags] = 0;
    m[base + kRBorrowers] = 0;
    Atomics.store(m, base + kRGen, (gen + 1) | 0);
    Atomics.store(m, base + kRState, kStateFree);
    this.clearBits(head, run); // last: only now may another allocation take them
    Atomics.add(this.counters, evicted ? kCEvictions : kCReleases, 1);
  }

  // ---------------------------------------------------------------- eviction

  /**
   * Reclaims one evictable allocation by the pool's policy; false when none
   * can be. Never an allocation that is lent, or pinned (a handler on some
   * thread holds a view of it in its current turn). A candidate that is busy
   * for an instant (another thread checking a handle) is waited for, not
   * skipped.
   */
  evictOne(): boolean {
    const m = this.meta;
    const policy = this.shared.policy;
    const now = this.now();
    for (let attempt = 0; attempt < 10_000; attempt++) {
      let victim = -1;
      let best = Infinity;
      let sawBusy = false;
      for (let region = 0; region < this.regions; region++) {
        const base = region * kRegionColumns;
        const state = Atomics.load(m, base + kRState);
        if (state === kStateBusy) {
          if ((m[base + kRFlags] & kFlagEvictable) !== 0) sawBusy = true;
          continue;
        }
        if (state !== kStateLive) continue;
        if ((m[base + kRFlags] & kFlagEvictable) === 0 || m[base + kRBorrowers] > 0 || m[base + kRRun] === 0 || m[base + kRPins] > 0) continue;
        let score: number;
        if (policy === 'lru') score = m[base + kRLastUse];
        else if (policy === 'lfu') score = m[base + kRUses];
        else if (policy === 'fifo') score = m[base + kRSeq];
        else score = m[base + kRBorn] + (m[base + kRTtl] || this.shared.ttlMs) - now; // time left to live
        if (score < best) {
          best = score;
          victim = region;
        }
      }
      if (victim < 0) {
        if (sawBusy) continue; // a candidate was busy for an instant: look again
        return false;
      }
      const base = victim * kRegionColumns;
      if (Atomics.compareExchange(m, base + kRState, kStateLive, kStateBusy) !== kStateLive) continue; // raced: look again
      if ((m[base + kRFlags] & kFlagEvictable) === 0 || m[base + kRBorrowers] > 0 || m[base + kRPins] > 0) {
        this.unlock(base);
        continue;
      }
      const owner = m[base + kROwner] - 1;
      if (owner >= 0) Atomics.sub(this.usage, owner, m[base + kRRun] * this.regionSize);
      m[base + kROwner] = 0;
      this.endAllocation(base, true);
      return true;
    }
    return false;
  }
}

/** The bitmap word of `region`, the mask of up to `count` bits from it within that word, and how many bits that is. */
function wordMask(region: number, count: number): [word: number, mask: number, bits: number] {
  const bit = region & 31;
  const bits = Math.min(32 - bit, count);
  return [region >>> 5, bits === 32 ? -1 : ((1 << bits) - 1) << bit, bits];
}
