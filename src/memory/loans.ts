/**
 * Read-only loans of an allocation (`share` / `release`): the lease table in
 * shared memory, one row per loan, each naming the allocation (region,
 * generation) and its borrower. A loan handle carries its lease row and the
 * row's serial, so a handle kept after its loan was released is refused.
 * @internal
 */
import { InvalidArgumentError, PoolExhaustedError, RegionAccessError, StaleHandleError } from '../base/errors.js';
import { RegionHandle } from './handle.js';
import {
  kCLiveLoans,
  kLGen,
  kLHolder,
  kLHolderGen,
  kLRegion,
  kLSerial,
  kLState,
  kLeaseColumns,
  kRBorrowers,
  kRBytes,
  kRegionColumns,
  type PoolShared,
} from './layout.js';
import type { Holder, RegionTable } from './regions.js';

/** @internal The lease table of one pool. */
export class Loans {
  private readonly table: RegionTable;
  private readonly leases: Int32Array;
  private readonly counters: Int32Array;
  private readonly shared: PoolShared;

  constructor(table: RegionTable, counters: Int32Array) {
    this.table = table;
    this.shared = table.shared;
    this.leases = new Int32Array(table.shared.leases);
    this.counters = counters;
  }

  /** Throws unless `handle` is a live loan made to `holder`. */
  check(handle: RegionHandle, holder: Holder): void {
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

  /**
   * With the allocation's row locked (at `base`) and its owner checked: one
   * loan per holder, or none (PoolExhaustedError when the lease table is full).
   */
  lend(handle: RegionHandle, base: number, holders: Holder[]): RegionHandle[] {
    const m = this.table.meta;
    const loans: RegionHandle[] = [];
    for (const holder of holders) {
      const lease = this.claim();
      if (lease < 0) {
        for (const loan of loans) this.drop(loan.lease - 1);
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
    return loans;
  }

  private claim(): number {
    const l = this.leases;
    for (let lease = 0; lease < this.shared.maxLeases; lease++) {
      if (Atomics.compareExchange(l, lease * kLeaseColumns + kLState, 0, 1) === 0) return lease;
    }
    return -1;
  }

  private drop(lease: number): void {
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
    const base = this.table.lock(handle);
    try {
      this.check(handle, holder);
    } catch (err) {
      this.table.unlock(base);
      throw err;
    }
    this.drop(handle.lease - 1);
    this.table.afterLoanEnded(base);
  }

  /** Releases every loan whose holder matches; returns how many. */
  reclaim(matches: (slot: number, gen: number) => boolean): number {
    const l = this.leases;
    let count = 0;
    for (let lease = 0; lease < this.shared.maxLeases; lease++) {
      const lb = lease * kLeaseColumns;
      if (Atomics.load(l, lb + kLState) !== 1) continue;
      const holder = l[lb + kLHolder] - 1;
      if (holder < 0 || !matches(holder, l[lb + kLHolderGen])) continue;
      const region = l[lb + kLRegion];
      const size = this.table.meta[region * kRegionColumns + kRBytes];
      const handle = new RegionHandle(region, l[lb + kLGen], size, lease + 1, Atomics.load(l, lb + kLSerial));
      let base: number;
      try {
        base = this.table.lock(handle);
      } catch {
        continue; // the allocation already ended
      }
      if (Atomics.load(l, lb + kLState) !== 1 || l[lb + kLHolder] - 1 !== holder) {
        this.table.unlock(base);
        continue;
      }
      this.drop(lease);
      this.table.afterLoanEnded(base);
      count++;
    }
    return count;
  }
}
