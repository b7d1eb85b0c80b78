/**
 * The region pool: one SharedArrayBuffer split into fixed regions, allocated
 * and released from any thread without locks, with owners, read-only loans,
 * eviction and per-actor quotas. Layout in `layout.ts`.
 *
 * The Pool is the facade actors and the runtime call: it checks owners,
 * quotas and handles, and leaves the lock-free bitmap, the allocation rows
 * and eviction to the RegionTable (`regions.ts`), and loans to Loans
 * (`loans.ts`).
 */
import { ActorStoppedError, InvalidArgumentError, PoolExhaustedError, QuotaExceededError, RegionAccessError } from '../base/errors.js';
import { RegionHandle } from './handle.js';
import {
  kFlagCarrier,
  kCAllocations,
  kCBorrows,
  kCClock,
  kCLiveLoans,
  kCEvictions,
  kCReleases,
  kCTransfers,
  kRPins,
  kFlagEvictable,
  kRBorrowers,
  kRBytes,
  kRFlags,
  kRGen,
  kRLastUse,
  kROwner,
  kROwnerGen,
  kRRun,
  kRState,
  kRUses,
  kRegionColumns,
  kStateBusy,
  kStateFree,
  kStateLive,
  type EvictionPolicy,
  type PoolShared,
} from './layout.js';
import { Loans } from './loans.js';
import { RegionTable, type Holder } from './regions.js';

export type { Holder } from './regions.js';

/** Options of one allocation. */
export interface AllocOptions {
  /** May be reclaimed under pressure by the pool's eviction policy; a later use fails with EvictedError. */
  evictable?: boolean;
  /** For the 'ttl' policy: this allocation's time to live in ms. */
  ttlMs?: number;
}

/**
 * The shared region pool's usage and counters, from `rt.memory.stats()`.
 * Byte figures count whole regions; counters run from `Runtime.start`. Read
 * while other threads keep allocating, so the figures may be a moment apart.
 */
export interface MemoryStats {
  /** Bytes of the pool (the `memory.size` option). */
  size: number;
  /** Bytes of one region, the unit of allocation (the `memory.regionSize` option). */
  regionSize: number;
  /** Regions in the pool: `size / regionSize`. */
  regions: number;
  /** Bytes of the regions taken now, by actors' allocations and the runtime's own (large messages in transit, checkpoints). */
  used: number;
  /** Bytes of the regions free now: `size - used`. */
  free: number;
  /** Bytes of the largest run of free regions: what one allocation can still get without eviction. */
  largestFreeRun: number;
  /** Allocations made, the runtime's own (large messages, checkpoints) included. */
  allocations: number;
  /** Allocations that ended other than by eviction: freed, reclaimed from a stopped actor, or the runtime's own once done with. */
  releases: number;
  /** Evictable allocations the pool reclaimed under pressure. */
  evictions: number;
  /** The policy that picks what is evicted (the `memory.eviction` option). */
  evictionPolicy: EvictionPolicy;
  /** Ownership transfers with a message (`transfer` option); one undone because the message was refused is not counted. */
  transfers: number;
  /** Read-only loans made by `share` (one per actor lent to), released or not. */
  borrows: number;
  /** Bytes owned per actor slot (only actors owning something). */
  perAgent: Array<{
    /** The owning actor's slot ({@link ActorRef.slot}). */
    slot: number;
    /** Bytes of the regions it owns (whole regions), the figure its `memoryQuota` is checked against. */
    bytes: number;
  }>;
}

/** What `reclaim` returns for a holder that owned and borrowed nothing (the case of almost every stop): one object, not one per stop. */
const kReclaimedNothing: Readonly<{ allocations: number; loans: number }> = Object.freeze({ allocations: 0, loans: 0 });

export class Pool {
  readonly shared: PoolShared;
  readonly regionSize: number;
  readonly regions: number;
  private readonly bytes: Uint8Array;
  private readonly meta: Int32Array;
  private readonly usage: Int32Array;
  private readonly quota: Int32Array;
  private readonly counters: Int32Array;
  private readonly shift: number;
  private readonly table: RegionTable;
  private readonly loans: Loans;

  constructor(shared: PoolShared) {
    this.shared = shared;
    this.regionSize = shared.regionSize;
    this.regions = shared.regions;
    this.bytes = new Uint8Array(shared.data);
    this.usage = new Int32Array(shared.usage);
    this.quota = new Int32Array(shared.quota);
    this.counters = new Int32Array(shared.counters);
    this.shift = Math.log2(shared.regionSize);
    this.table = new RegionTable(shared, this.usage, this.counters);
    this.loans = new Loans(this.table, this.counters);
    this.meta = this.table.meta;
  }

  // ---------------------------------------------------------------- quotas

  setQuota(slot: number, bytes: number): void {
    // Mostly 0 already (a reused slot, an actor with no quota that owned
    // nothing): a load spares the fence of an atomic store.
    if (Atomics.load(this.quota, slot) !== bytes) Atomics.store(this.quota, slot, bytes);
    if (Atomics.load(this.usage, slot) !== 0) Atomics.store(this.usage, slot, 0);
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
    let head = this.table.claimRun(run);
    while (head < 0 && this.table.evictOne()) head = this.table.claimRun(run);
    if (head < 0) {
      Atomics.sub(this.usage, owner.slot, reserved);
      const stats = this.stats();
      throw new PoolExhaustedError(
        bytes,
        `${stats.used} of ${stats.size} bytes used, largest free run ${stats.largestFreeRun} bytes, nothing evictable left`,
      );
    }
    return this.table.publish(head, run, bytes, owner, options?.evictable ? kFlagEvictable : 0, options?.ttlMs ?? 0);
  }

  /**
   * An allocation that carries one large message: no owner (an actor's stop
   * must not reclaim it while the frame that names it is still in a ring), no
   * quota, no eviction (it fails instead, and the caller uses the ring). The
   * receiving thread frees it right after decoding ({@link freeCarrier}).
   */
  allocateCarrier(bytes: number): RegionHandle {
    const run = this.regionsFor(bytes);
    const head = this.table.claimRun(run);
    if (head < 0) throw new PoolExhaustedError(bytes, 'no free run for a carried message');
    return this.table.publish(head, run, bytes, { slot: -1, gen: 0 }, kFlagCarrier, 0);
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
    const base = this.table.lock(handle);
    this.table.endAllocation(base, false);
  }

  // ---------------------------------------------------------------- access

  /**
   * Checks that `holder` may read (or, with `write`, write) the allocation.
   * Only an evictable allocation counts the use (its clock and use count,
   * which only eviction reads) and, with `pin`, is pinned until
   * {@link unpin}: eviction never picks any other, so a view of one needs
   * neither, and its flags never change while it lives. Returns true when it
   * pinned, so that the caller unpins exactly those (the common case, a
   * frame or buffer that is not a cache entry, costs one lock and no shared
   * counter).
   */
  access(handle: RegionHandle, holder: Holder, write: boolean, pin = false): boolean {
    if (!(handle instanceof RegionHandle)) throw new InvalidArgumentError('handle', 'a RegionHandle', handle);
    const base = this.table.lock(handle);
    const m = this.meta;
    let pinned = false;
    try {
      if (handle.lease === 0) {
        if (m[base + kROwner] !== holder.slot + 1 || m[base + kROwnerGen] !== holder.gen) {
          throw new RegionAccessError(handle.toString(), 'the caller does not own it (it was transferred, or never theirs)');
        }
      } else {
        this.loans.check(handle, holder);
        if (write) throw new RegionAccessError(handle.toString(), 'it is borrowed (read-only); only its owner writes');
      }
      if ((m[base + kRFlags] & kFlagEvictable) !== 0) {
        m[base + kRLastUse] = Atomics.add(this.counters, kCClock, 1);
        m[base + kRUses]++;
        if (pin) {
          m[base + kRPins]++;
          pinned = true;
        }
      }
    } finally {
      this.table.unlock(base);
    }
    return pinned;
  }

  /** Byte offset of the allocation's data in {@link buffer}: its regions are contiguous, from the head region on. */
  offsetOf(handle: RegionHandle): number {
    return handle.region << this.shift;
  }

  /**
   * Ends a pin taken by {@link access}: the handler turn that used a view is
   * over. A handle whose allocation has ended since is ignored.
   */
  unpin(handle: RegionHandle): void {
    let base: number;
    try {
      base = this.table.lock(handle);
    } catch {
      return;
    }
    if (this.meta[base + kRPins] > 0) this.meta[base + kRPins]--;
    this.table.unlock(base);
  }

  /** A view of exactly the allocation's bytes, after {@link access}. */
  view(offset: number, byteLength: number): Uint8Array {
    return this.bytes.subarray(offset, offset + byteLength);
  }

  get buffer(): SharedArrayBuffer {
    return this.shared.data;
  }

  // -------------------------------------------------------------- releasing

  /** The owner frees its allocation; with loans outstanding it lives on until the last is released. */
  free(handle: RegionHandle, holder: Holder): void {
    if (!(handle instanceof RegionHandle)) throw new InvalidArgumentError('handle', 'a RegionHandle', handle);
    if (handle.lease !== 0) throw new RegionAccessError(handle.toString(), 'a borrower releases its loan with release(), it cannot free');
    const base = this.table.lock(handle);
    const m = this.meta;
    if (m[base + kROwner] !== holder.slot + 1 || m[base + kROwnerGen] !== holder.gen) {
      this.table.unlock(base);
      throw new RegionAccessError(handle.toString(), 'only its owner frees it');
    }
    this.table.endOwnership(base);
  }

  // --------------------------------------------------------------- transfer

  /**
   * Moves ownership from `from` to `to` (a transfer with a message). When the
   * message is then refused, {@link giveBack} undoes it. Allocates nothing:
   * it runs on every hop of a handle. Hand-written: ownership lives in the
   * pool's shared rows, which no library knows.
   */
  transfer(handle: RegionHandle, from: Holder, to: Holder): void {
    if (!(handle instanceof RegionHandle)) throw new InvalidArgumentError('transfer[]', 'a RegionHandle', handle);
    if (handle.lease !== 0) throw new RegionAccessError(handle.toString(), 'a borrowed region cannot be transferred');
    const base = this.table.lock(handle);
    const m = this.meta;
    if (m[base + kROwner] !== from.slot + 1 || m[base + kROwnerGen] !== from.gen) {
      this.table.unlock(base);
      throw new RegionAccessError(handle.toString(), 'only its owner can transfer it');
    }
    const reserved = m[base + kRRun] * this.regionSize;
    const quota = Atomics.load(this.quota, to.slot);
    if (quota > 0) {
      const used = Atomics.add(this.usage, to.slot, reserved);
      if (used + reserved > quota) {
        Atomics.sub(this.usage, to.slot, reserved);
        this.table.unlock(base);
        throw new QuotaExceededError(`Actor(${to.slot}.${to.gen})`, quota, used, reserved);
      }
    } else {
      Atomics.add(this.usage, to.slot, reserved);
    }
    m[base + kROwner] = to.slot + 1;
    m[base + kROwnerGen] = to.gen;
    Atomics.sub(this.usage, from.slot, reserved);
    this.table.unlock(base);
    Atomics.add(this.counters, kCTransfers, 1);
  }

  /**
   * Undoes {@link transfer} of `handle` from `from` to `to` (its message was
   * refused): ownership goes back to `from` if `to` still has it. The
   * allocation may have ended in between (the receiver stopped and its stop
   * reclaimed it): then StaleHandleError, and nothing is left to give back.
   */
  giveBack(handle: RegionHandle, from: Holder, to: Holder): void {
    const base = this.table.lock(handle);
    const m = this.meta;
    if (m[base + kROwner] === to.slot + 1 && m[base + kROwnerGen] === to.gen) {
      const reserved = m[base + kRRun] * this.regionSize;
      m[base + kROwner] = from.slot + 1;
      m[base + kROwnerGen] = from.gen;
      Atomics.sub(this.usage, to.slot, reserved);
      Atomics.add(this.usage, from.slot, reserved);
      Atomics.sub(this.counters, kCTransfers, 1);
    }
    this.table.unlock(base);
  }

  // ------------------------------------------------------------------ loans

  /** Lends the allocation read-only to each holder; returns one loan handle per holder. */
  share(handle: RegionHandle, owner: Holder, holders: Holder[], isLive: (slot: number, gen: number) => boolean): RegionHandle[] {
    for (const holder of holders) {
      if (!isLive(holder.slot, holder.gen)) throw new ActorStoppedError(`Actor(${holder.slot}.${holder.gen})`, 'has stopped: nothing was lent');
    }
    if (!(handle instanceof RegionHandle)) throw new InvalidArgumentError('handle', 'a RegionHandle', handle);
    if (handle.lease !== 0) throw new RegionAccessError(handle.toString(), 'only its owner can lend it');
    const base = this.table.lock(handle);
    const m = this.meta;
    let loans: RegionHandle[];
    try {
      if (m[base + kROwner] !== owner.slot + 1 || m[base + kROwnerGen] !== owner.gen) {
        throw new RegionAccessError(handle.toString(), 'only its owner can lend it');
      }
      loans = this.loans.lend(handle, base, holders);
    } finally {
      this.table.unlock(base);
    }
    Atomics.add(this.counters, kCBorrows, loans.length);
    return loans;
  }

  /** A borrower gives its loan back; the allocation ends if its owner already freed it. */
  release(handle: RegionHandle, holder: Holder): void {
    this.loans.release(handle, holder);
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
    if (!owns && !borrows) return kReclaimedNothing;
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
        this.table.unlock(base);
        continue;
      }
      this.table.endOwnership(base);
      allocations++;
    }
    if (borrows) loans += this.reclaimLoans((slot, gen) => slot === holder.slot && gen === holder.gen);
    Atomics.store(this.usage, holder.slot, 0);
    return { allocations, loans };
  }

  /** Releases every loan whose holder matches; returns how many. */
  reclaimLoans(matches: (slot: number, gen: number) => boolean): number {
    return this.loans.reclaim(matches);
  }

  /**
   * Reclaims orphans: allocations whose owner is no longer live, and loans
   * whose holder is not. `isLive` asks the actor directory.
   */
  collect(isLive: (slot: number, gen: number) => boolean, occupied: (slot: number) => boolean): { allocations: number; bytes: number; loans: number } {
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
        this.table.unlock(base);
        continue;
      }
      bytes += m[base + kRRun] * this.regionSize;
      allocations++;
      // The dead owner's slot may hold a newcomer now, whose usage this is not.
      if (occupied(owner)) m[base + kROwner] = 0;
      this.table.endOwnership(base);
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
      if (this.table.isSet(region)) {
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
      evictionPolicy: this.shared.policy,
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
    for (let region = 0; region < this.regions; region++) if (this.table.isSet(region)) taken++;
    return taken;
  }
}
