/**
 * The shared region pool's typed errors on real threads: bad sizes and
 * options to alloc, double free and every use after free (StaleHandleError),
 * stale handles that never read the allocation reusing their region, handles
 * forged from seeded random numbers or with a wrong byteLength, an exhausted
 * pool, memoryQuota (QuotaExceededError, on alloc and on transfer), and
 * InvalidOptionError for bad memory options to Runtime.start and a bad
 * memoryQuota at spawn.
 *
 * Actors come from `fixtures/memory-agent.ts`; its strict commands throw, so
 * an ask rejects with the pool's typed error itself. The tests share one
 * runtime; each spawns its own actors, which are stopped after it, and the
 * pool must then be empty. The helpers are in `fixtures/memory-tests.ts`.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  EvictedError,
  InvalidArgumentError,
  InvalidOptionError,
  PoolExhaustedError,
  QuotaExceededError,
  type RegionHandle,
  Runtime,
  StaleHandleError,
  describeValue,
  type RuntimeOptions,
} from '../src/index.js';
import { eventually } from './fixtures/helpers.js';
import type { MemoryMsg } from './fixtures/memory-agent.js';
import {
  R,
  agentUrl,
  alloc,
  allBytes,
  ask,
  cause,
  cleanUpAfterEach,
  free,
  mainRuntime,
  outcome,
  perAgent,
  read,
  share,
  since,
  spawn,
} from './fixtures/memory-tests.js';

cleanUpAfterEach();

/** 16 regions of 4 KiB, 'lru', at most 8 loans at once. */
const main = mainRuntime();

// -------------------------------------------------------------- bad input

describe('bad input gets typed errors', () => {
  it.each([0, -1, 1.5, NaN, '8', 16 * R + 1, Infinity, null])('alloc(%j) is InvalidArgumentError naming bytes', async (bytes) => {
    const rt = main();
    const [a] = await spawn(rt, [0]);
    const err = await cause(ask(a, { type: 'allocStrict', bytes }));
    expect(err).toBeInstanceOf(InvalidArgumentError);
    expect((err as InvalidArgumentError).option).toBe('bytes');
    expect(Object.is((err as InvalidArgumentError).value, bytes)).toBe(true);
    expect(err.message).toContain('`bytes`');
    expect(err.message).toContain(describeValue(bytes));
    expect(rt.memory.stats()).toMatchObject({ used: 0, perAgent: [] });
  });

  it('refuses bad alloc options, naming them', async () => {
    const rt = main();
    const [a] = await spawn(rt, [0]);
    const cases: Array<[unknown, string]> = [
      [5, 'options'],
      [{ evictable: 'yes' }, 'evictable'],
      [{ ttlMs: 0 }, 'ttlMs'],
      [{ ttlMs: 1.5 }, 'ttlMs'],
    ];
    for (const [options, name] of cases) {
      const err = await cause(ask(a, { type: 'allocStrict', bytes: 10, options }));
      expect(err).toBeInstanceOf(InvalidArgumentError);
      expect((err as InvalidArgumentError).option).toBe(name);
    }
    expect(rt.memory.stats().used).toBe(0);
  });

  it('answers a double free with StaleHandleError', async () => {
    const rt = main();
    const before = rt.memory.stats();
    const [a] = await spawn(rt, [0]);
    const h = await alloc(a, 100);
    await free(a, h);
    const err = await cause(free(a, h));
    expect(err).toBeInstanceOf(StaleHandleError);
    expect(err).not.toBeInstanceOf(EvictedError);
    expect((err as StaleHandleError).handle).toBe(String(h));
    expect(await ask(a, { type: 'free', handle: h })).toMatchObject({ error: 'StaleHandleError' });
    expect(since(rt, before).releases).toBe(1);
  });

  it('answers every use after free with StaleHandleError', async () => {
    const rt = main();
    const before = rt.memory.stats();
    const [a, b] = await spawn(rt, [0, 1]);
    const h = await alloc(a, 100, undefined, 1);
    await free(a, h);
    const uses: MemoryMsg[] = [
      { type: 'read', handle: h },
      { type: 'views', handle: h },
      { type: 'writeAt', handle: h, data: [1] },
      { type: 'touch', handle: h, times: 1 },
      { type: 'shareRaw', handle: h, to: [b] },
      { type: 'giveCheck', handles: [h], to: b, via: 'tell' },
    ];
    for (const use of uses) expect(await cause(ask(a, use))).toBeInstanceOf(StaleHandleError);
    expect(rt.memory.stats().used).toBe(0);
    expect(since(rt, before)).toMatchObject({ transfers: 0, borrows: 0 });
  });

  it('never lets a stale handle read the allocation that reused its region', async () => {
    const rt = main();
    const [a, b] = await spawn(rt, [0, 1]);
    const old = await alloc(a, 100, undefined, 1);
    await free(a, old);
    const reused = await alloc(b, 100, undefined, 2); // same region, next generation
    const mine = await alloc(a, 100, undefined, 3);
    expect(reused.region).toBe(old.region);
    expect(reused.gen).not.toBe(old.gen);
    // Neither the old owner nor the new owner (who owns that very region now) reads through it.
    for (const agent of [a, b]) {
      expect(await cause(read(agent, old))).toBeInstanceOf(StaleHandleError);
      expect(await cause(ask(agent, { type: 'writeAt', handle: old, data: [9] }))).toBeInstanceOf(StaleHandleError);
      expect(await cause(free(agent, old))).toBeInstanceOf(StaleHandleError);
    }
    expect(allBytes(await read(b, reused), 2)).toBe(true);
    expect(allBytes(await read(a, mine), 3)).toBe(true);
  });

  it('refuses handles forged from random numbers in an actor, and the pool is unchanged', async () => {
    const seed = 20_240_611;
    const rt = main();
    const [a, b] = await spawn(rt, [0, 1]);
    const h = await alloc(a, 2 * R, undefined, 5); // regions 0-1: region 1 is inside it
    const [loan] = await share(a, h, [b]);
    const before = rt.memory.stats();
    const number = fc.oneof(fc.integer({ min: -3, max: 20 }), fc.integer(), fc.constantFrom(NaN, 1.5, 2 ** 31, 2 ** 32 - 1, -0));
    const forged = fc.sample(
      fc.record({ region: number, gen: number, byteLength: number, lease: fc.oneof(fc.constant(0), number), leaseSerial: number }),
      { numRuns: 40, seed },
    );
    // Plus near misses: the right region, one field off.
    forged.push(
      { region: h.region, gen: h.gen, byteLength: h.byteLength - 1, lease: 0, leaseSerial: 0 },
      { region: h.region, gen: h.gen + 1, byteLength: h.byteLength, lease: 0, leaseSerial: 0 },
      { region: h.region, gen: h.gen - 1, byteLength: h.byteLength, lease: 0, leaseSerial: 0 },
      { region: 1, gen: 0, byteLength: R, lease: 0, leaseSerial: 0 },
      { region: h.region, gen: h.gen, byteLength: h.byteLength, lease: loan.lease, leaseSerial: loan.leaseSerial + 1 },
      { region: h.region, gen: h.gen, byteLength: h.byteLength, lease: 99_999, leaseSerial: 0 },
    );
    const genuine = (f: (typeof forged)[number]) =>
      f.region === h.region &&
      f.gen === h.gen &&
      f.byteLength === h.byteLength &&
      (f.lease === 0 || (f.lease === loan.lease && f.leaseSerial === loan.leaseSerial));
    const results: string[] = [];
    for (const f of forged.filter((x) => !genuine(x))) {
      for (const agent of [a, b]) {
        for (const op of ['read', 'write', 'release', 'share', 'give'] as const) {
          const name = await outcome(ask(agent, { type: 'forge', ...f, op, to: [agent === a ? b : a] }));
          results.push(`${name} <- ${agent === a ? 'owner' : 'borrower'} ${op} ${JSON.stringify(f)} (seed ${seed})`);
        }
      }
    }
    // Nothing was ever evicted in this pool, so not EvictedError either.
    expect(results.filter((r) => !/^(StaleHandleError|RegionAccessError) /.test(r))).toEqual([]);
    expect(rt.memory.stats()).toEqual(before);
    expect(allBytes(await read(a, h), 5)).toBe(true);
    expect(allBytes(await read(b, loan), 5)).toBe(true);
  });

  it('refuses a handle with a wrong byteLength for every operation, even from the owner (StaleHandleError)', async () => {
    const rt = main();
    const before = rt.memory.stats();
    const [a, b] = await spawn(rt, [0, 1]);
    const h = await alloc(a, 100, undefined, 4);
    const results: Record<string, string> = {};
    for (const byteLength of [99, 101, 8 * R]) {
      for (const op of ['read', 'write', 'share', 'give', 'free'] as const) {
        results[`${op} ${byteLength}`] = await outcome(ask(a, { type: 'forge', region: h.region, gen: h.gen, byteLength, op, to: [b] }));
      }
    }
    expect(Object.entries(results).filter(([, name]) => name !== 'StaleHandleError')).toEqual([]);
    expect(allBytes(await read(a, h), 4)).toBe(true);
    expect(rt.memory.stats().used).toBe(R);
    expect(since(rt, before)).toEqual({ allocations: 1, releases: 0, evictions: 0, transfers: 0, borrows: 0 });
  });

  it('fails with PoolExhaustedError, naming the usage, when no run is free and nothing is evictable', async () => {
    const rt = main();
    const [a, b] = await spawn(rt, [0, 1]);
    await alloc(a, 8 * R);
    await alloc(b, 8 * R);
    const err = await cause(alloc(a, 10));
    expect(err).toBeInstanceOf(PoolExhaustedError);
    expect((err as PoolExhaustedError).requested).toBe(10);
    expect(err.message).toContain(`${16 * R} of ${16 * R} bytes used`);
    expect(rt.memory.stats().perAgent).toEqual(perAgent([a, 8 * R], [b, 8 * R]));
  });

  it('enforces memoryQuota in whole regions with QuotaExceededError', async () => {
    const rt = main();
    const [limited] = await spawn(rt, [0], { memoryQuota: R + 100 });
    const [unlimited] = await spawn(rt, [0]);
    const first = await alloc(limited, 1); // 1 byte, but a whole region counts
    const err = await cause(alloc(limited, 1));
    expect(err).toBeInstanceOf(QuotaExceededError);
    const quota = err as QuotaExceededError;
    expect([quota.quota, quota.used, quota.requested]).toEqual([R + 100, R, R]);
    expect(quota.actor).toBe(limited.toString());
    expect(rt.memory.stats().perAgent).toEqual(perAgent([limited, R]));
    await alloc(unlimited, 4 * R); // others are not limited by it
    await free(limited, first);
    await alloc(limited, 100); // room again
    expect(await cause(alloc(limited, 2 * R))).toBeInstanceOf(QuotaExceededError);
  });

  it("refuses a transfer past the receiver's memoryQuota with QuotaExceededError; the region stays with the sender", async () => {
    const rt = main();
    const [sender] = await spawn(rt, [0]);
    const [receiver] = await spawn(rt, [1], { memoryQuota: R });
    const held = await alloc(receiver, R); // its whole quota
    const h = await alloc(sender, R, undefined, 7);
    const answer = await ask<unknown>(sender, { type: 'give', handle: h, to: receiver });
    expect(answer).toMatchObject({ error: 'QuotaExceededError' });
    expect(allBytes(await read(sender, h), 7)).toBe(true); // still the sender's
    expect(await outcome(read(receiver, h))).toBe('RegionAccessError');
    await free(receiver, held);
    expect(await ask<unknown>(sender, { type: 'give', handle: h, to: receiver })).toBe(true); // room now
    await eventually(
      () => ask<RegionHandle[]>(receiver, { type: 'held' }),
      (got) => got.length === 1,
    );
    expect(allBytes(await read(receiver, h), 7)).toBe(true);
    await free(receiver, h);
  });

  describe('Runtime.start memory options', () => {
    const cases: Array<[string, Record<string, unknown>, string, unknown]> = [
      ['size not a multiple of regionSize', { size: 3 * R + 1, regionSize: R }, 'memory.size', 3 * R + 1],
      ['size 0', { size: 0 }, 'memory.size', 0],
      ['regionSize 3000', { regionSize: 3000 }, 'memory.regionSize', 3000],
      ['regionSize 2048', { regionSize: 2048 }, 'memory.regionSize', 2048],
      ['regionSize not a power of two', { size: 12 * R, regionSize: 3 * R }, 'memory.regionSize', 3 * R],
      ["eviction 'random'", { eviction: 'random' }, 'memory.eviction', 'random'],
      ['ttlMs 0', { ttlMs: 0 }, 'memory.ttlMs', 0],
      ['maxLeases 0', { maxLeases: 0 }, 'memory.maxLeases', 0],
      ['maxRegionsPerAllocation 0', { size: 4 * R, regionSize: R, maxRegionsPerAllocation: 0 }, 'memory.maxRegionsPerAllocation', 0],
      ['maxRegionsPerAllocation above the regions', { size: 4 * R, regionSize: R, maxRegionsPerAllocation: 5 }, 'memory.maxRegionsPerAllocation', 5],
      ['an unknown key', { regions: 4 }, 'memory.regions', 4],
    ];
    it.each(cases)('refuses %s with InvalidOptionError naming it', async (_, memory, option, value) => {
      const err = await Runtime.start({ threads: 1, memory: memory as RuntimeOptions['memory'] }).then(
        async (rt) => {
          await rt.shutdown();
          return undefined;
        },
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(InvalidOptionError);
      expect((err as InvalidOptionError).option).toBe(option);
      expect((err as InvalidOptionError).value).toBe(value);
      expect((err as Error).message).toContain(`\`${option}\``);
      expect((err as Error).message).toContain(describeValue(value));
    });

    it('refuses a memory option that is not an object', async () => {
      const err = await Runtime.start({ threads: 1, memory: 5 as unknown as RuntimeOptions['memory'] }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(InvalidOptionError);
      expect((err as InvalidOptionError).option).toBe('memory');
    });
  });

  it.each([0, -1, 1.5, '4096', NaN, 2 ** 31])('refuses memoryQuota = %j at spawn with InvalidOptionError', async (memoryQuota) => {
    const rt = main();
    const live = rt.stats().liveActors;
    const err = await rt.spawn(agentUrl, undefined, { memoryQuota: memoryQuota as number }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidOptionError);
    expect((err as InvalidOptionError).option).toBe('memoryQuota');
    expect(Object.is((err as InvalidOptionError).value, memoryQuota)).toBe(true);
    expect(rt.stats().liveActors).toBe(live);
  });
});
