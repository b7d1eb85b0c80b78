/**
 * How the shared region pool takes memory back, on real threads: eviction of
 * evictable allocations under each policy ('lru', 'lfu', 'fifo', 'ttl'), with
 * what every policy shares (EvictedError for every use of an evicted handle;
 * non-evictable, lent, freed-but-lent and in-use allocations are never
 * evicted; the counters), and reclamation when an actor stops and by
 * `rt.memory.collect()`.
 *
 * Actors come from `fixtures/memory-agent.ts`. Each policy has a 4-region
 * runtime shared by its tests, reclamation the file's 16-region one; each
 * test spawns its own actors, which are stopped after it, and the pool must
 * then be empty. Eviction tests swap the worker's clock for a fake one (the
 * `clock` command), so time-based order does not depend on the machine's
 * speed. The helpers are in `fixtures/memory-tests.ts`.
 */
import { describe, expect, it } from 'vitest';
import { EvictedError, PoolExhaustedError, type RegionHandle, type Runtime, StaleHandleError } from '../src/index.js';
import type { MemoryMsg } from './fixtures/memory-agent.js';
import {
  R,
  alloc,
  allBytes,
  ask,
  cause,
  cleanUpAfterEach,
  evictionSetup,
  free,
  mainRuntime,
  outcome,
  ownRuntime,
  perAgent,
  pool,
  read,
  readable,
  release,
  share,
  sharedRuntime,
  since,
  spawn,
} from './fixtures/memory-tests.js';

cleanUpAfterEach();

/** 16 regions of 4 KiB, 'lru', at most 8 loans at once. */
const main = mainRuntime();

// --------------------------------------------------------------- eviction

describe("eviction: 'lru' (and what every policy shares)", () => {
  const lru = sharedRuntime({ memory: pool(4, { eviction: 'lru' }) });

  it('evicts the allocation used least recently, not the oldest', async () => {
    const rt = lru();
    const before = rt.memory.stats();
    const { x, tick } = await evictionSetup(rt);
    const a = await alloc(x, R, { evictable: true }, 1); // region 0, the oldest
    await tick();
    const b = await alloc(x, R, { evictable: true }, 2); // region 1
    await tick();
    await alloc(x, 2 * R); // regions 2-3, not evictable
    await tick();
    await ask(x, { type: 'touch', handle: a, times: 1 }); // a is now the most recent
    await tick();
    const c = await alloc(x, R, undefined, 3);
    expect(c.region).toBe(b.region);
    expect(await readable(x, [a, b, c])).toEqual(['ok', 'EvictedError', 'ok']);
    expect(since(rt, before).evictions).toBe(1);
  });

  it('regression: orders uses within the same millisecond (a just-touched allocation is not evicted first)', async () => {
    const rt = lru();
    const { x } = await evictionSetup(rt); // the clock stands still
    const a = await alloc(x, R, { evictable: true }, 1);
    const b = await alloc(x, R, { evictable: true }, 2);
    await alloc(x, 2 * R);
    await ask(x, { type: 'touch', handle: a, times: 1 }); // used after b was last used
    await alloc(x, R);
    expect(await readable(x, [a, b])).toEqual(['ok', 'EvictedError']);
  });

  it('fails every use of an evicted handle with EvictedError, a StaleHandleError', async () => {
    const rt = lru();
    const { x, other } = await evictionSetup(rt);
    const gone = await alloc(x, 4 * R, { evictable: true });
    await alloc(x, R);
    const uses: MemoryMsg[] = [
      { type: 'read', handle: gone },
      { type: 'writeAt', handle: gone, data: [1] },
      { type: 'views', handle: gone },
      { type: 'freeStrict', handle: gone },
      { type: 'shareRaw', handle: gone, to: [other] },
      { type: 'giveCheck', handles: [gone], to: other, via: 'tell' },
    ];
    for (const use of uses) {
      const err = await cause(ask(x, use));
      expect(err).toBeInstanceOf(EvictedError);
      expect(err).toBeInstanceOf(StaleHandleError);
      expect(err.name).toBe('EvictedError');
    }
    expect(await ask(x, { type: 'sum', handle: gone })).toMatchObject({ error: 'EvictedError' });
    expect(await outcome(read(other, gone))).toBe('EvictedError');
  });

  it('never evicts non-evictable or lent allocations; PoolExhaustedError once nothing evictable is left', async () => {
    const rt = lru();
    const before = rt.memory.stats();
    const { x, other } = await evictionSetup(rt);
    const lentOut = await alloc(x, R, { evictable: true }, 1); // region 0, the oldest
    const [loan] = await share(x, lentOut, [other]);
    const pinned = await alloc(x, R, undefined, 2);
    const cache = await alloc(x, R, { evictable: true }, 3);
    const theirs = await alloc(other, R, undefined, 4);
    await alloc(x, R); // evicts the cache, the only candidate
    expect(await readable(x, [lentOut, pinned, cache])).toEqual(['ok', 'ok', 'EvictedError']);
    const err = await cause(alloc(other, R));
    expect(err).toBeInstanceOf(PoolExhaustedError);
    expect(err.message).toContain('nothing evictable');
    expect(await readable(other, [loan, theirs])).toEqual(['ok', 'ok']);
    // Once the loan is back, the allocation is evictable again.
    await release(other, loan);
    await alloc(other, R);
    expect(await readable(x, [lentOut, pinned])).toEqual(['EvictedError', 'ok']);
    expect(since(rt, before).evictions).toBe(2);
  });

  it("keeps a freed allocation with loans out: it is no one's cache to evict", async () => {
    const rt = lru();
    const { x, other } = await evictionSetup(rt);
    const lent = await alloc(x, 4 * R, { evictable: true }, 6);
    const [loan] = await share(x, lent, [other]);
    await free(x, lent);
    expect(await cause(alloc(x, R))).toBeInstanceOf(PoolExhaustedError);
    expect(allBytes(await read(other, loan), 6)).toBe(true);
  });

  /**
   * `a` on thread 0 and `b` on thread 1, each owning a one-byte flag region
   * the other holds a loan of (so both can spin on them with Atomics), and
   * one more region pinned: one region of the 4 is left for `b`'s cache.
   */
  async function racers(rt: Runtime) {
    const [a, b] = await spawn(rt, [0, 1]);
    const flagB = await alloc(b, 1, undefined, 0);
    const flagA = await alloc(a, 1, undefined, 0);
    const [flagBLoan] = await share(b, flagB, [a]);
    const [flagALoan] = await share(a, flagA, [b]);
    await alloc(a, R);
    return { a, b, flagA, flagB, flagALoan, flagBLoan };
  }

  type Placed = { handle: RegionHandle; foreign: number | null };

  it.each(['read', 'write'] as const)(
    'regression: does not evict a cache entry its owner uses through a view in its current turn (%s): the allocation fails instead, and succeeds once the turn ends',
    async (mode) => {
      const rt = lru();
      const { a, b, flagA, flagB, flagALoan, flagBLoan } = await racers(rt);
      const cache = await alloc(b, R, { evictable: true });
      // b uses its cache in a loop on thread 1, inside one handler turn, while a needs its region.
      const using = ask(b, { type: 'hammer', handle: cache, mode, flag: flagB, stop: flagALoan, value: 1, ms: 5_000 });
      const refused = await ask<Placed>(a, { type: 'allocOnFlag', flag: flagBLoan, stop: flagA, value: 1, bytes: R, fill: 0x22, watchMs: 0 }).then(
        () => 'placed',
        (e: unknown) => (e as Error).name,
      );
      await using;
      // Pinned by b's turn: evicting it would let b write into a's new bytes.
      expect(refused).toBe('PoolExhaustedError');
      // b's writes landed in b's own allocation (pool memory is not zeroed, so a read proves nothing here).
      if (mode === 'write') expect(allBytes(await read(b, cache), 0x11)).toBe(true);
      // b's turn is over: now the same allocation evicts the cache.
      const placed = await alloc(a, R);
      expect(placed.region).toBe(cache.region);
      expect(await outcome(read(b, cache))).toBe('EvictedError');
      await free(a, placed);
    },
  );

  it('counts allocations, releases, evictions, transfers, borrows, and bytes per actor', async () => {
    const rt = lru();
    const before = rt.memory.stats();
    const [a, b] = await spawn(rt, [0, 1]);
    const h2 = await alloc(a, 2 * R); // regions 0-1
    const h1 = await alloc(a, R, { evictable: true }); // region 2
    expect(since(rt, before)).toEqual({ allocations: 2, releases: 0, evictions: 0, transfers: 0, borrows: 0 });
    expect(rt.memory.stats().perAgent).toEqual(perAgent([a, 3 * R]));
    await ask(a, { type: 'giveCheck', handles: [h2], to: b, via: 'tell' });
    for (const loan of await share(a, h1, [b, b])) await release(b, loan);
    expect(rt.memory.stats().perAgent).toEqual(perAgent([a, R], [b, 2 * R]));
    await alloc(b, 2 * R); // regions 2-3: evicts h1
    await free(b, h2);
    expect(since(rt, before)).toEqual({ allocations: 3, releases: 1, evictions: 1, transfers: 1, borrows: 2 });
    expect(rt.memory.stats().perAgent).toEqual(perAgent([b, 2 * R]));
  });
});

describe("eviction: 'lfu'", () => {
  const lfu = sharedRuntime({ memory: pool(4, { eviction: 'lfu' }) });

  it('evicts the allocation used least often, not the least recent', async () => {
    const { x, tick } = await evictionSetup(lfu());
    const a = await alloc(x, R, { evictable: true }); // region 0
    const b = await alloc(x, R, { evictable: true }); // region 1
    await alloc(x, 2 * R);
    await ask(x, { type: 'touch', handle: a, times: 5 });
    await tick();
    await ask(x, { type: 'touch', handle: b, times: 2 }); // more recent, less often
    await alloc(x, R);
    expect(await readable(x, [a, b])).toEqual(['ok', 'EvictedError']);
  });
});

describe("eviction: 'fifo'", () => {
  const fifo = sharedRuntime({ memory: pool(4, { eviction: 'fifo' }) });

  it('evicts the allocation made first, wherever it lies and however recently used', async () => {
    const { x, tick } = await evictionSetup(fifo());
    const scratch = await alloc(x, R); // region 0 for now
    await tick();
    const first = await alloc(x, R, { evictable: true }); // region 1
    await tick();
    await free(x, scratch);
    const second = await alloc(x, R, { evictable: true }); // region 0, made later
    expect([first.region, second.region]).toEqual([1, 0]);
    await alloc(x, 2 * R);
    await tick();
    await ask(x, { type: 'touch', handle: first, times: 3 }); // recent and frequent: lru or lfu would keep it
    await alloc(x, R);
    expect(await readable(x, [first, second])).toEqual(['EvictedError', 'ok']);
  });

  it('regression: orders allocations made within the same millisecond', async () => {
    const { x } = await evictionSetup(fifo()); // the clock stands still
    const scratch = await alloc(x, R);
    const first = await alloc(x, R, { evictable: true }); // region 1
    await free(x, scratch);
    const second = await alloc(x, R, { evictable: true }); // region 0, made later
    await alloc(x, 2 * R);
    await alloc(x, R);
    expect(await readable(x, [first, second])).toEqual(['EvictedError', 'ok']);
  });
});

describe("eviction: 'ttl'", () => {
  const ttl = sharedRuntime({ memory: pool(4, { eviction: 'ttl', ttlMs: 5_000 }) });

  it("evicts the allocation with the shortest time left to live (its own ttlMs or the pool's)", async () => {
    const rt = ttl();
    const before = rt.memory.stats();
    const { x } = await evictionSetup(rt);
    const long = await alloc(x, R, { evictable: true, ttlMs: 120_000 }); // region 0
    const short = await alloc(x, R, { evictable: true, ttlMs: 1_000 }); // region 1
    const byDefault = await alloc(x, R, { evictable: true }); // region 2: the pool's 5 s
    await alloc(x, R); // region 3
    await alloc(x, R); // evicts `short`
    expect(await readable(x, [long, short, byDefault])).toEqual(['ok', 'EvictedError', 'ok']);
    await alloc(x, R); // evicts `byDefault`
    expect(await readable(x, [long, byDefault])).toEqual(['ok', 'EvictedError']);
    expect(since(rt, before).evictions).toBe(2);
    expect(rt.memory.stats().evictionPolicy).toBe('ttl'); // the label of microswarm_memory_evictions_total
  });

  it('counts the time already lived: an old long-lived entry can have less left than a young short one', async () => {
    const { x } = await evictionSetup(ttl());
    await alloc(x, R); // region 0
    const old = await alloc(x, R, { evictable: true, ttlMs: 10_000 }); // region 1
    await ask(x, { type: 'clock', mode: 'advance', ms: 9_000 }); // 1 s left
    const young = await alloc(x, R, { evictable: true, ttlMs: 5_000 }); // region 2, 5 s left
    await ask(x, { type: 'touch', handle: old, times: 3 });
    await alloc(x, R);
    await alloc(x, R);
    expect(await readable(x, [old, young])).toEqual(['EvictedError', 'ok']);
  });
});

describe('eviction: a one-region pool', () => {
  it('regression: an evicted handle still fails with EvictedError after its region was evicted again', async () => {
    const rt = await ownRuntime({ memory: pool(1) });
    const [x] = await spawn(rt, [0]);
    const first = await alloc(x, R, { evictable: true });
    const second = await alloc(x, R, { evictable: true }); // evicts first
    await alloc(x, R, { evictable: true }); // evicts second, in the same region
    expect(await outcome(read(x, second))).toBe('EvictedError');
    expect(await outcome(read(x, first))).toBe('EvictedError');
  });
});

// ------------------------------------------------------------ reclamation

describe('reclamation', () => {
  it("frees a stopped actor's allocations and releases its loans; loans it made live on", async () => {
    const rt = main();
    const [doomed, borrower, lender] = await spawn(rt, [0, 1, 1]);
    await alloc(doomed, 3 * R); // 3 regions
    await alloc(doomed, 10, { evictable: true }); // 1 region
    const lentByDoomed = await alloc(doomed, R, undefined, 5); // 1 region, lent to borrower
    const [loanToBorrower] = await share(doomed, lentByDoomed, [borrower]);
    const lenderOwn = await alloc(lender, R, undefined, 8); // 1 region, lent to doomed, then freed by lender
    const [loanToDoomed] = await share(lender, lenderOwn, [doomed]);
    await free(lender, lenderOwn);
    expect(rt.memory.stats().used).toBe(6 * R);
    const before = rt.memory.stats();

    await rt.stop(doomed);
    // Gone: its own allocations but the lent one (4 regions), and the lender's
    // allocation that only doomed's loan kept alive (1 region).
    expect(rt.memory.stats().used).toBe(1 * R);
    expect(since(rt, before).releases).toBe(3);
    expect(rt.memory.stats().perAgent).toEqual([]);
    expect(allBytes(await read(borrower, loanToBorrower), 5)).toBe(true);
    expect(await cause(read(lender, loanToDoomed))).toBeInstanceOf(StaleHandleError);
    await release(borrower, loanToBorrower);
    expect(rt.memory.stats().used).toBe(0);
  });

  it('frees a region transferred to an actor that then stops', async () => {
    const rt = main();
    const [a, b] = await spawn(rt, [0, 1]);
    const h = await alloc(a, 2 * R, undefined, 1);
    await ask(a, { type: 'giveCheck', handles: [h], to: b, via: 'tell' });
    await rt.stop(b);
    expect(rt.memory.stats().used).toBe(0);
    expect(await cause(read(a, h))).toBeInstanceOf(StaleHandleError);
  });

  it('collect() reports what it reclaimed, leaves live actors alone, and sweeps loans held by stopped actors', async () => {
    const rt = main();
    const [a, b, gone] = await spawn(rt, [0, 1, 1]);
    const kept = await alloc(a, R, undefined, 1);
    const lent = await alloc(b, 2 * R, undefined, 2);
    const [loan] = await share(b, lent, [a]);
    expect(rt.memory.collect()).toEqual({ allocations: 0, bytes: 0, loans: 0 });
    expect(allBytes(await read(a, kept), 1)).toBe(true);
    expect(allBytes(await read(a, loan), 2)).toBe(true);
    expect(rt.memory.stats().used).toBe(3 * R);

    // A loan made to an actor that has already stopped is an orphan only
    // collect() finds (refusing such a share would do as well; a leak would not).
    await rt.stop(gone);
    const orphan = await alloc(b, R);
    const shared = await outcome(share(b, orphan, [gone]));
    expect(['ok', 'ActorStoppedError']).toContain(shared);
    await free(b, orphan);
    expect(rt.memory.collect()).toEqual({ allocations: 0, bytes: 0, loans: shared === 'ok' ? 1 : 0 });
    expect(rt.memory.stats().used).toBe(3 * R);
    expect(allBytes(await read(a, loan), 2)).toBe(true);
  });

  it("regression: releases a stopped actor's loans after collect() swept a loan of the previous actor in its slot", async () => {
    const rt = main();
    const [owner, gone] = await spawn(rt, [0, 1]);
    await rt.stop(gone);
    const first = await alloc(owner, R);
    const shared = await outcome(share(owner, first, [gone])); // a loan to an actor already stopped
    await free(owner, first);
    const [successor] = await spawn(rt, [1]); // takes the slot `gone` left
    expect(successor.slot).toBe(gone.slot);
    rt.memory.collect(); // sweeps the loan made to `gone`, if there was one
    expect(shared === 'ok' ? rt.memory.stats().used : 0).toBe(0);
    const second = await alloc(owner, R, undefined, 3);
    const [loan] = await share(owner, second, [successor]);
    await free(owner, second);
    expect(allBytes(await read(successor, loan), 3)).toBe(true);
    await rt.stop(successor); // its loan is the last one: the allocation ends
    expect(rt.memory.stats().used).toBe(0);
  });
});
