/**
 * The region pool: one SharedArrayBuffer split into fixed regions, allocated
 * and released from any thread without locks, with owners, read-only loans,
 * eviction and per-actor quotas. Layout in `layout.ts`.
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
 */
import {
  ActorStoppedError, EvictedError, InvalidArgumentError, PoolExhaustedError, QuotaExceededError, RegionAccessError, StaleHandleError,
} from '../base/errors.js';
import { RegionHandle } from './handle.js';
import {
  kFlagCarrier, kCAllocations, kCBorrows, kCClock, kCLiveLoans, kCEvictions, kCReleases, kCTransfers, kRSeq, kRPins, kFlagEvictable, kFlagOwnerFreed, kLGen, kLHolder,
  kLHolderGen, kLRegion, kLSerial, kLState, kLeaseColumns, kRBorn, kRBorrowers, kRBytes, kREvicted, kRFlags, kRGen, kRLastUse,
  kROwner, kROwnerGen, kRRun, kRState, kRTtl, kRUses, kRegionColumns, kStateBusy, kStateFree, kStateLive, type PoolShared,
} from './layout.js';

/** An actor as the pool sees it: directory slot and generation. */
export interface Holder {
  slot: number;
  gen: number;
}

/** Options of one allocation. */
export interface AllocOptions {
  /** May be reclaimed under pressure by the pool's eviction policy; a later use fails with EvictedError. */
  evictable?: boolean;
  /** For the 'ttl' policy: this allocation's time to live in ms. */
  ttlMs?: number;
}

export interface MemoryStats {
  size: number;
  regionSize: number;
  regions: number;
  used: number;
  free: number;
  /** Bytes of the largest run of free regions: what one allocation can still get without eviction. */
  largestFreeRun: number;
  allocations: number;
  releases: number;
  evictions: number;
  transfers: number;
  borrows: number;
  /** Bytes owned per actor slot (only actors owning something). */
  perAgent: Array<{ slot: number; bytes: number }>;
}

export class Pool {
  readonly shared: PoolShared;
  readonly regionSize: number;
  readonly regions: number;
  private readonly bytes: Uint8Array;
  private readonly bitmap: Int32Array;
  private readonly meta: Int32Array;
  private readonly usage: Int32Array;
  private readonly quota: Int32Array;
  private readonly leases: Int32Array;
  private readonly counters: Int32Array;
  private readonly shift: number;

  constructor(shared: PoolShared) {
    this.shared = shared;
    this.regionSize = shared.regionSize;
    this.regions = shared.regions;
    this.bytes = new Uint8Array(shared.data);
    this.bitmap = new Int32Array(shared.bitmap);
    this.meta = new Int32Array(shared.meta);
    this.usage = new Int32Array(shared.usage);
    this.quota = new Int32Array(shared.quota);
    this.leases = new Int32Array(shared.leases);
    this.counters = new Int32Array(shared.counters);
    this.shift = Math.log2(shared.regionSize);
  }

  /** Milliseconds since the pool was made (fits an Int32 for 24 days; wraps harmlessly for ordering). */
  private now(): number {
    return (Date.now() - this.shared.epoch) | 0;
  }

  private row(region: number, column: number): number {
    return region * kRegionColumns + column;
  }

  // ---------------------------------------------------------------- quotas

  setQuota(slot: number, bytes: number): void {
    Atomics.store(this.quota, slot, bytes);
    Atomics.store(this.usage, slot, 0);
  }

  usageOf(slot: number): number {
    return Atomics.load(this.usage, slot);
  }

  // ------------------------------------------------------------ allocation

  /** Validates a requested size; returns the regions it needs. */
  regionsFor(bytes: unknown): number {
    const limit = this.shared.maxRun * this.regionSize;
    if (typeof bytes !== 'number' || !Number.isInteger(bytes) || bytes < 1 || bytes > limit) {
      throw new InvalidArgumentError('bytes', `an integer from 1 to ${limit} (maxRegionsPerAllocation x regionSize)`, bytes);
    }
    return Math.ceil(bytes / this.regionSize);
  }

  /**
   * Allocates `bytes` for `owner`; evicts evictable allocations when no run is
   * free. Throws QuotaExceededError or PoolExhaustedError.
   */
  allocate(bytes: number, owner: Holder, options: AllocOptions | undefined, ownerName: string): RegionHandle {
    const run = this.regionsFor(bytes);
    const reserved = run * this.regionSize;
    const quota = Atomics.load(this.quota, owner.slot);
    if (quota > 0) {
      const used = Atomics.add(this.usage, owner.slot, reserved);
      if (used + reserved > quota) {
        Atomics.sub(this.usage, owner.slot, reserved);
        throw new QuotaExceededError(ownerName, quota, used, reserved);
      }
    } else {
      Atomics.add(this.usage, owner.slot, reserved);
    }
    let head = this.claimRun(run);
    while (head < 0 && this.evictOne()) head = this.claimRun(run);
    if (head < 0) {
      Atomics.sub(this.usage, owner.slot, reserved);
      const stats = this.stats();
      throw new PoolExhaustedError(
        bytes,
        `${stats.used} of ${stats.size} bytes used, largest free run ${stats.largestFreeRun} bytes, nothing evictable left`,
      );
    }
    return this.publish(head, run, bytes, owner, options?.evictable ? kFlagEvictable : 0, options?.ttlMs ?? 0);
  }

  /** Writes a new allocation's row on its claimed head region and makes it live. */
  private publish(head: number, run: number, bytes: number, owner: Holder, flags: number, ttlMs: number): RegionHandle {
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
   * An allocation that carries one large message: no owner (an actor's stop
   * must not reclaim it while the frame that names it is still in a ring), no
   * quota, no eviction (it fails instead, and the caller uses the ring). The
   * receiving thread frees it right after decoding ({@link freeCarrier}).
   */
  allocateCarrier(bytes: number): RegionHandle {
    const run = this.regionsFor(bytes);
    const head = this.claimRun(run);
    if (head < 0) throw new PoolExhaustedError(bytes, 'no free run for a carried message');
    return this.publish(head, run, bytes, { slot: -1, gen: 0 }, kFlagCarrier, 0);
  }

  /** The bytes of a carrier allocation (the runtime's own, no owner check). */
  carrierView(handle: RegionHandle): Uint8Array {
    return this.bytes.subarray(handle.region << this.shift, (handle.region << this.shift) + handle.byteLength);
  }

  /**
   * The live carrier allocation whose head is `region`, as a handle made
   * from its own row (generation and size), or undefined. Checkpoints are
   * found this way: the directory's region word is the one store that
   * publishes a checkpoint, so a thread that dies while publishing leaves
   * the old one, whole.
   */
  carrierAt(region: number): RegionHandle | undefined {
    if (!Number.isInteger(region) || region < 0 || region >= this.regions) return undefined;
    const m = this.meta;
    const base = region * kRegionColumns;
    if (Atomics.load(m, base + kRState) === kStateFree || (m[base + kRFlags] & kFlagCarrier) === 0) return undefined;
    return new RegionHandle(region, Atomics.load(m, base + kRGen), m[base + kRBytes], 0, 0);
  }

  /** Ends a carrier allocation once its message was decoded. */
  freeCarrier(handle: RegionHandle): void {
    const base = this.lock(handle);
    this.endAllocation(base, false);
  }

  /** Finds and claims `run` contiguous free regions; returns the first or -1. */
  private claimRun(run: number): number {
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

  private isSet(region: number): boolean {
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

  // ---------------------------------------------------------------- access

  /**
   * Locks an allocation's row (live -> busy) after checking `handle` names
   * it. Throws StaleHandleError / EvictedError when it does not. The caller
   * must {@link unlock} (or end the allocation).
   */
  private lock(handle: RegionHandle): number {
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

  private unlock(base: number): void {
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

  /**
   * Checks that `holder` may read (or, with `write`, write) the allocation;
   * counts a use. Returns the byte offset of its data.
   */
  access(handle: RegionHandle, holder: Holder, write: boolean, pin = false): number {
    if (!(handle instanceof RegionHandle)) throw new InvalidArgumentError('handle', 'a RegionHandle', handle);
    const base = this.lock(handle);
    const m = this.meta;
    try {
      if (handle.lease === 0) {
        if (m[base + kROwner] !== holder.slot + 1 || m[base + kROwnerGen] !== holder.gen) {
          throw new RegionAccessError(handle.toString(), 'the caller does not own it (it was transferred, or never theirs)');
        }
      } else {
        this.checkLease(handle, holder);
        if (write) throw new RegionAccessError(handle.toString(), 'it is borrowed (read-only); only its owner writes');
      }
      m[base + kRLastUse] = Atomics.add(this.counters, kCClock, 1);
      m[base + kRUses]++;
      if (pin) m[base + kRPins]++;
    } finally {
      this.unlock(base);
    }
    return handle.region << this.shift;
  }

  /**
   * Ends a pin taken by {@link access}: the handler turn that used a view is
   * over. A handle whose allocation has ended since is ignored.
   */
  unpin(handle: RegionHandle): void {
    let base: number;
    try {
      base = this.lock(handle);
    } catch {
      return;
    }
    if (this.meta[base + kRPins] > 0) this.meta[base + kRPins]--;
    this.unlock(base);
  }

  /** A view of exactly the allocation's bytes, after {@link access}. */
  view(offset: number, byteLength: number): Uint8Array {
    return this.bytes.subarray(offset, offset + byteLength);
  }

  get buffer(): SharedArrayBuffer {
    return this.shared.data;
  }

  private checkLease(handle: RegionHandle, holder: Holder): void {
    const lease = handle.lease - 1;
    const l = this.leases;
    if (lease < 0 || lease >= this.shared.maxLeases) throw new StaleHandleError(handle.toString(), 'names no loan (forged handle)');
    const base = lease * kLeaseColumns;
    if (
      Atomics.load(l, base + kLState) !== 1 ||
      Atomics.load(l, base + kLSerial) !== handle.leaseSerial ||
      l[base + kLRegion] !== handle.region ||
      l[base + kLGen] !== handle.gen
    ) {
      throw new StaleHandleError(handle.toString(), 'loan was released');
    }
    if (l[base + kLHolder] !== holder.slot + 1 || l[base + kLHolderGen] !== holder.gen) {
      throw new RegionAccessError(handle.toString(), 'this loan was made to another actor');
    }
  }

  // -------------------------------------------------------------- releasing

  /** The owner frees its allocation; with loans outstanding it lives on until the last is released. */
  free(handle: RegionHandle, holder: Holder): void {
    if (!(handle instanceof RegionHandle)) throw new InvalidArgumentError('handle', 'a RegionHandle', handle);
    if (handle.lease !== 0) throw new RegionAccessError(handle.toString(), 'a borrower releases its loan with release(), it cannot free');
    const base = this.lock(handle);
    const m = this.meta;
    if (m[base + kROwner] !== holder.slot + 1 || m[base + kROwnerGen] !== holder.gen) {
      this.unlock(base);
      throw new RegionAccessError(handle.toString(), 'only its owner frees it');
    }
    this.endOwnership(base);
  }

  /** With the row locked: the owner lets go; the allocation ends unless loans remain. */
  private endOwnership(base: number): void {
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

  /** With the row locked: ends the allocation, bumps its generation, frees its regions. */
  private endAllocation(base: number, evicted: boolean): void {
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

  // --------------------------------------------------------------- transfer

  /**
   * Moves ownership from `from` to `to` (a transfer with a message). Returns
   * an undo function, for when the message is then refused.
   */
  transfer(handle: RegionHandle, from: Holder, to: Holder): () => void {
    if (!(handle instanceof RegionHandle)) throw new InvalidArgumentError('transfer[]', 'a RegionHandle', handle);
    if (handle.lease !== 0) throw new RegionAccessError(handle.toString(), 'a borrowed region cannot be transferred');
    const base = this.lock(handle);
    const m = this.meta;
    if (m[base + kROwner] !== from.slot + 1 || m[base + kROwnerGen] !== from.gen) {
      this.unlock(base);
      throw new RegionAccessError(handle.toString(), 'only its owner can transfer it');
    }
    const reserved = m[base + kRRun] * this.regionSize;
    const quota = Atomics.load(this.quota, to.slot);
    if (quota > 0) {
      const used = Atomics.add(this.usage, to.slot, reserved);
      if (used + reserved > quota) {
        Atomics.sub(this.usage, to.slot, reserved);
        this.unlock(base);
        throw new QuotaExceededError(`Actor(${to.slot}.${to.gen})`, quota, used, reserved);
      }
    } else {
      Atomics.add(this.usage, to.slot, reserved);
    }
    m[base + kROwner] = to.slot + 1;
    m[base + kROwnerGen] = to.gen;
    Atomics.sub(this.usage, from.slot, reserved);
    this.unlock(base);
    Atomics.add(this.counters, kCTransfers, 1);
    return () => {
      const again = this.lock(handle);
      if (m[again + kROwner] === to.slot + 1 && m[again + kROwnerGen] === to.gen) {
        m[again + kROwner] = from.slot + 1;
        m[again + kROwnerGen] = from.gen;
        Atomics.sub(this.usage, to.slot, reserved);
        Atomics.add(this.usage, from.slot, reserved);
        Atomics.sub(this.counters, kCTransfers, 1);
      }
      this.unlock(again);
    };
  }

  // ------------------------------------------------------------------ loans

  /** Lends the allocation read-only to each holder; returns one loan handle per holder. */
  share(handle: RegionHandle, owner: Holder, holders: Holder[], isLive: (slot: number, gen: number) => boolean): RegionHandle[] {
    for (const holder of holders) {
      if (!isLive(holder.slot, holder.gen)) throw new ActorStoppedError(`Actor(${holder.slot}.${holder.gen})`, 'has stopped: nothing was lent');
    }
    if (!(handle instanceof RegionHandle)) throw new InvalidArgumentError('handle', 'a RegionHandle', handle);
    if (handle.lease !== 0) throw new RegionAccessError(handle.toString(), 'only its owner can lend it');
    const base = this.lock(handle);
    const m = this.meta;
    const loans: RegionHandle[] = [];
    try {
      if (m[base + kROwner] !== owner.slot + 1 || m[base + kROwnerGen] !== owner.gen) {
        throw new RegionAccessError(handle.toString(), 'only its owner can lend it');
      }
      for (const holder of holders) {
        const lease = this.claimLease();
        if (lease < 0) {
          for (const loan of loans) this.dropLease(loan.lease - 1);
          m[base + kRBorrowers] -= loans.length;
          throw new PoolExhaustedError(0, `all ${this.shared.maxLeases} loans are out (maxLeases)`);
        }
        const l = this.leases;
        const lb = lease * kLeaseColumns;
        l[lb + kLRegion] = handle.region;
        l[lb + kLGen] = handle.gen;
        l[lb + kLHolder] = holder.slot + 1;
        l[lb + kLHolderGen] = holder.gen;
        Atomics.add(this.counters, kCLiveLoans, 1);
        m[base + kRBorrowers]++;
        loans.push(new RegionHandle(handle.region, handle.gen, handle.byteLength, lease + 1, Atomics.load(l, lb + kLSerial)));
      }
    } finally {
      this.unlock(base);
    }
    Atomics.add(this.counters, kCBorrows, loans.length);
    return loans;
  }

  private claimLease(): number {
    const l = this.leases;
    for (let lease = 0; lease < this.shared.maxLeases; lease++) {
      if (Atomics.compareExchange(l, lease * kLeaseColumns + kLState, 0, 1) === 0) return lease;
    }
    return -1;
  }

  private dropLease(lease: number): void {
    const base = lease * kLeaseColumns;
    Atomics.sub(this.counters, kCLiveLoans, 1);
    Atomics.add(this.leases, base + kLSerial, 1);
    this.leases[base + kLHolder] = 0;
    Atomics.store(this.leases, base + kLState, 0);
  }

  /** A borrower gives its loan back; the allocation ends if its owner already freed it. */
  release(handle: RegionHandle, holder: Holder): void {
    if (!(handle instanceof RegionHandle)) throw new InvalidArgumentError('handle', 'a RegionHandle', handle);
    if (handle.lease === 0) throw new RegionAccessError(handle.toString(), 'release() is for loans; the owner uses free()');
    const base = this.lock(handle);
    try {
      this.checkLease(handle, holder);
    } catch (err) {
      this.unlock(base);
      throw err;
    }
    this.dropLease(handle.lease - 1);
    this.afterLoanEnded(base);
  }

  /** With the row locked: one loan fewer; ends the allocation when it was the owner's last wish. */
  private afterLoanEnded(base: number): void {
    const m = this.meta;
    m[base + kRBorrowers]--;
    if (m[base + kRBorrowers] === 0 && (m[base + kRFlags] & kFlagOwnerFreed) !== 0) this.endAllocation(base, false);
    else this.unlock(base);
  }

  // ---------------------------------------------------------------- eviction

  /**
   * Reclaims one evictable allocation by the pool's policy; false when none
   * can be. Never an allocation that is lent, or pinned (a handler on some
   * thread holds a view of it in its current turn). A candidate that is busy
   * for an instant (another thread checking a handle) is waited for, not
   * skipped.
   */
  private evictOne(): boolean {
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

  // --------------------------------------------------------- reclamation

  /**
   * Ends what `holder` (an actor that stopped) owns and the loans it holds.
   * Returns the allocations and loans reclaimed.
   */
  reclaim(holder: Holder): { allocations: number; loans: number } {
    let allocations = 0;
    let loans = 0;
    // The common case, an actor that holds nothing, costs two loads.
    const owns = Atomics.load(this.usage, holder.slot) !== 0;
    const borrows = Atomics.load(this.counters, kCLiveLoans) !== 0;
    if (!owns && !borrows) return { allocations, loans };
    const m = this.meta;
    for (let region = 0; owns && region < this.regions; region++) {
      const base = region * kRegionColumns;
      if (Atomics.load(m, base + kRState) === kStateFree) continue;
      if (m[base + kROwner] !== holder.slot + 1 || m[base + kROwnerGen] !== holder.gen) continue;
      if (Atomics.compareExchange(m, base + kRState, kStateLive, kStateBusy) !== kStateLive) {
        region--; // busy for an instant: look at it again
        continue;
      }
      if (m[base + kROwner] !== holder.slot + 1 || m[base + kROwnerGen] !== holder.gen) {
        this.unlock(base);
        continue;
      }
      this.endOwnership(base);
      allocations++;
    }
    if (borrows) loans += this.reclaimLoans((slot, gen) => slot === holder.slot && gen === holder.gen);
    Atomics.store(this.usage, holder.slot, 0);
    return { allocations, loans };
  }

  /** Releases every loan whose holder matches; returns how many. */
  reclaimLoans(matches: (slot: number, gen: number) => boolean): number {
    const l = this.leases;
    let count = 0;
    for (let lease = 0; lease < this.shared.maxLeases; lease++) {
      const lb = lease * kLeaseColumns;
      if (Atomics.load(l, lb + kLState) !== 1) continue;
      const holder = l[lb + kLHolder] - 1;
      if (holder < 0 || !matches(holder, l[lb + kLHolderGen])) continue;
      const region = l[lb + kLRegion];
      const size = this.meta[region * kRegionColumns + kRBytes];
      const handle = new RegionHandle(region, l[lb + kLGen], size, lease + 1, Atomics.load(l, lb + kLSerial));
      let base: number;
      try {
        base = this.lock(handle);
      } catch {
        continue; // the allocation already ended
      }
      if (Atomics.load(l, lb + kLState) !== 1 || l[lb + kLHolder] - 1 !== holder) {
        this.unlock(base);
        continue;
      }
      this.dropLease(lease);
      this.afterLoanEnded(base);
      count++;
    }
    return count;
  }

  /**
   * Reclaims orphans: allocations whose owner is no longer live, and loans
   * whose holder is not. `isLive` asks the actor directory.
   */
  collect(
    isLive: (slot: number, gen: number) => boolean,
    occupied: (slot: number) => boolean,
  ): { allocations: number; bytes: number; loans: number } {
    let allocations = 0;
    let bytes = 0;
    const m = this.meta;
    for (let region = 0; region < this.regions; region++) {
      const base = region * kRegionColumns;
      if (Atomics.load(m, base + kRState) !== kStateLive) continue;
      const owner = m[base + kROwner] - 1;
      if (owner < 0 || isLive(owner, m[base + kROwnerGen])) continue;
      if (Atomics.compareExchange(m, base + kRState, kStateLive, kStateBusy) !== kStateLive) continue;
      if (m[base + kROwner] - 1 !== owner) {
        this.unlock(base);
        continue;
      }
      bytes += m[base + kRRun] * this.regionSize;
      allocations++;
      // The dead owner's slot may hold a newcomer now, whose usage this is not.
      if (occupied(owner)) m[base + kROwner] = 0;
      this.endOwnership(base);
    }
    const loans = this.reclaimLoans((slot, gen) => !isLive(slot, gen));
    return { allocations, bytes, loans };
  }

  // ------------------------------------------------------------------ stats

  stats(): MemoryStats {
    let usedRegions = 0;
    let largest = 0;
    let runLength = 0;
    for (let region = 0; region < this.regions; region++) {
      if (this.isSet(region)) {
        usedRegions++;
        runLength = 0;
      } else {
        runLength++;
        if (runLength > largest) largest = runLength;
      }
    }
    const perAgent: MemoryStats['perAgent'] = [];
    for (let slot = 0; slot < this.usage.length; slot++) {
      const bytes = Atomics.load(this.usage, slot);
      if (bytes !== 0) perAgent.push({ slot, bytes });
    }
    const c = this.counters;
    return {
      size: this.shared.size,
      regionSize: this.regionSize,
      regions: this.regions,
      used: usedRegions * this.regionSize,
      free: (this.regions - usedRegions) * this.regionSize,
      largestFreeRun: largest * this.regionSize,
      allocations: Atomics.load(c, kCAllocations),
      releases: Atomics.load(c, kCReleases),
      evictions: Atomics.load(c, kCEvictions),
      transfers: Atomics.load(c, kCTransfers),
      borrows: Atomics.load(c, kCBorrows),
      perAgent,
    };
  }

  /** @internal For property tests: every live allocation's (head, run, owner). */
  allocationsSnapshot(): Array<{ head: number; run: number; owner: number; borrowers: number }> {
    const out: Array<{ head: number; run: number; owner: number; borrowers: number }> = [];
    for (let region = 0; region < this.regions; region++) {
      const base = region * kRegionColumns;
      if (Atomics.load(this.meta, base + kRState) === kStateFree) continue;
      out.push({ head: region, run: this.meta[base + kRRun], owner: this.meta[base + kROwner] - 1, borrowers: this.meta[base + kRBorrowers] });
    }
    return out;
  }

  /** @internal Regions whose bit is set. */
  takenRegions(): number {
    let taken = 0;
    for (let region = 0; region < this.regions; region++) if (this.isSet(region)) taken++;
    return taken;
  }
}

/** The bitmap word of `region`, the mask of up to `count` bits from it within that word, and how many bits that is. */
function wordMask(region: number, count: number): [word: number, mask: number, bits: number] {
  const bit = region & 31;
  const bits = Math.min(32 - bit, count);
  return [region >>> 5, bits === 32 ? -1 : ((1 << bits) - 1) << bit, bits];
}
