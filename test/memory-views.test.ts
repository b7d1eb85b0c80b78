/**
 * The per-hop memory path, on one pool in this thread (no runtime, no
 * rings): what a view costs the pool and what a transfer leaves behind.
 *
 * - A view of an allocation that is not evictable takes no pin and counts no
 *   use (no shared clock tick): eviction never picks it, so neither would
 *   change anything. An evictable one is counted and pinned for the turn,
 *   and eviction passes it by until the turn ends.
 * - A view of a multi-region allocation is one typed array over its run.
 * - `giveBack` undoes a transfer exactly (owner, per-actor usage, the
 *   transfer counter), and only while the receiver still owns it.
 */
import { describe, expect, it } from 'vitest';
import { MemoryContext } from '../src/actors/memory.js';
import { EvictedError, PoolExhaustedError } from '../src/base/errors.js';
import { createPoolShared, kCClock, kRegionColumns, kROwner, kRPins, kRUses } from '../src/memory/layout.js';
import { type Holder, Pool } from '../src/memory/pool.js';

const R = 4096;

function setup(regions: number) {
  const shared = createPoolShared(
    { size: regions * R, regionSize: R, maxRegionsPerAllocation: regions, eviction: 'lru', ttlMs: 60_000, maxLeases: 8 },
    4,
  );
  const pool = new Pool(shared);
  const meta = new Int32Array(shared.meta);
  const counters = new Int32Array(shared.counters);
  const holders: Holder[] = [0, 1, 2].map((slot) => ({ slot, gen: 1 }));
  const ctx = holders.map((h, slot) => new MemoryContext(pool, { ...h, name: `Actor(${slot}.1)` }, () => true));
  /** The head row's word `column` of `region`. */
  const row = (region: number, column: number) => meta[region * kRegionColumns + column];
  return { pool, ctx, holders, row, clock: () => Atomics.load(counters, kCClock) };
}

describe('views on the per-hop path', () => {
  it('takes no pin and counts no use for a view of an allocation that is not evictable', () => {
    const { ctx, row, clock } = setup(4);
    const h = ctx[0].alloc(2 * R);
    const before = clock();
    ctx[0].i32(h)[0] = 7;
    ctx[0].bytes(h);
    ctx[0].write(h, [1]);
    expect([row(h.region, kRPins), row(h.region, kRUses), clock()]).toEqual([0, 0, before]);
    ctx[0].endTurn();
    expect(row(h.region, kRPins)).toBe(0);
  });

  it('counts and pins every view of an evictable allocation until the turn ends; eviction passes it by meanwhile', () => {
    const { ctx, row, clock } = setup(2);
    const cache = ctx[0].alloc(2 * R, { evictable: true });
    const before = clock();
    ctx[0].i32(cache);
    ctx[0].f64(cache);
    expect([row(cache.region, kRPins), row(cache.region, kRUses), clock()]).toEqual([2, 2, before + 2]);
    expect(() => ctx[1].alloc(R)).toThrow(PoolExhaustedError);
    ctx[0].endTurn();
    expect(row(cache.region, kRPins)).toBe(0);
    ctx[1].alloc(R); // evicts the cache, no longer pinned
    expect(() => ctx[0].bytes(cache)).toThrow(EvictedError);
  });

  it('gives one typed array over the whole run of a multi-region allocation', () => {
    const { pool, ctx } = setup(8);
    ctx[0].alloc(R);
    const h = ctx[0].alloc(3 * R);
    const words = ctx[0].i32(h);
    expect([words.buffer, words.byteOffset, words.length]).toEqual([pool.buffer, h.region * R, (3 * R) / 4]);
    words[R / 4] = 42; // the first word of its second region
    expect(new Int32Array(pool.buffer, (h.region + 1) * R, 1)[0]).toBe(42);
  });
});

describe('transfer and giveBack', () => {
  it('undoes a transfer exactly: owner, per-actor usage and the transfer count', () => {
    const { pool, ctx, holders, row } = setup(4);
    const [a, b] = holders as [Holder, Holder];
    const h = ctx[0].alloc(3 * R);
    pool.transfer(h, a, b);
    expect([row(h.region, kROwner), pool.usageOf(0), pool.usageOf(1), pool.stats().transfers]).toEqual([2, 0, 3 * R, 1]);
    pool.giveBack(h, a, b);
    expect([row(h.region, kROwner), pool.usageOf(0), pool.usageOf(1), pool.stats().transfers]).toEqual([1, 3 * R, 0, 0]);
    expect(ctx[0].i32(h).length).toBe((3 * R) / 4);
  });

  it('gives nothing back once the receiver no longer owns the region', () => {
    const { pool, ctx, holders, row } = setup(4);
    const [a, b, c] = holders as [Holder, Holder, Holder];
    const h = ctx[0].alloc(R);
    pool.transfer(h, a, b);
    pool.transfer(h, b, c); // the receiver passed it on before the refusal was undone
    pool.giveBack(h, a, b);
    expect([row(h.region, kROwner), pool.usageOf(0), pool.usageOf(1), pool.usageOf(2), pool.stats().transfers]).toEqual([3, 0, 0, R, 2]);
  });
});
