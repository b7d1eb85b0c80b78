/**
 * The shared region pool on real threads: layout and stats, views, ownership
 * and transfer with tell/ask, and read-only loans (share/release). Typed
 * errors are in `memory-errors.test.ts`, eviction and reclamation in
 * `memory-eviction.test.ts`, large messages in
 * `memory-large-messages.test.ts`.
 *
 * Actors come from `fixtures/memory-agent.ts`; its strict commands throw, so
 * an ask rejects with the pool's typed error. The tests share one runtime (a
 * few start their own); each spawns its own actors, which are stopped after
 * it, and the pool must then be empty (so every test also checks reclamation
 * at stop). The helpers are in `fixtures/memory-tests.ts`.
 */
import { describe, expect, it } from 'vitest';
import {
  ActorStoppedError,
  InvalidArgumentError,
  PoolExhaustedError,
  RegionAccessError,
  RegionHandle,
  type Runtime,
  StaleHandleError,
} from '../src/index.js';
import { Gate, eventually, guarded } from './fixtures/helpers.js';
import type { GiveReport, ViewReport } from './fixtures/memory-agent.js';
import {
  type Agent,
  KiB,
  MiB,
  R,
  alloc,
  allBytes,
  ask,
  cause,
  cleanUpAfterEach,
  free,
  gates,
  mainRuntime,
  ownRuntime,
  perAgent,
  pool,
  read,
  release,
  share,
  since,
  spawn,
  thrown,
  tracked,
} from './fixtures/memory-tests.js';
import type { ProbeMsg } from './fixtures/probe.js';

const probeUrl = new URL('./fixtures/probe.ts', import.meta.url);

cleanUpAfterEach();

/** 16 regions of 4 KiB, 'lru', at most 8 loans at once. */
const main = mainRuntime();

// ------------------------------------------------------------------ layout

describe('pool layout and stats', () => {
  it('defaults to 28 MiB in 64 KiB regions: 448 regions, all free', async () => {
    const rt = await ownRuntime();
    expect(rt.memory.stats()).toEqual({
      size: 28 * MiB,
      regionSize: 64 * KiB,
      regions: 448,
      used: 0,
      free: 28 * MiB,
      largestFreeRun: 28 * MiB,
      allocations: 0,
      releases: 0,
      evictions: 0,
      evictionPolicy: 'lru',
      transfers: 0,
      borrows: 0,
      perAgent: [],
    });
  });

  it('takes size and regionSize from the options', async () => {
    const rt = await ownRuntime({ memory: { size: 1 * MiB, regionSize: 256 * KiB } });
    const stats = rt.memory.stats();
    expect([stats.size, stats.regionSize, stats.regions, stats.free, stats.largestFreeRun]).toEqual([MiB, 256 * KiB, 4, MiB, MiB]);
    const [a] = await spawn(rt, [0]);
    expect((await alloc(a, 256 * KiB + 1)).region).toBe(0);
    expect(rt.memory.stats()).toMatchObject({ used: 512 * KiB, largestFreeRun: 512 * KiB });
  });

  it('places an allocation larger than one region on a contiguous run of whole regions', async () => {
    const rt = main();
    const [a] = await spawn(rt, [0]);
    const big = await alloc(a, 3 * R + 1); // 4 regions
    expect(big.byteLength).toBe(3 * R + 1);
    expect(big.region).toBe(0);
    let stats = rt.memory.stats();
    expect([stats.used, stats.free, stats.largestFreeRun]).toEqual([4 * R, 12 * R, 12 * R]);
    const next = await alloc(a, 2 * R);
    expect(next.region).toBe(4); // after the run, not inside it
    stats = rt.memory.stats();
    expect([stats.used, stats.largestFreeRun]).toEqual([6 * R, 10 * R]);
    expect(stats.perAgent).toEqual(perAgent([a, 6 * R]));
  });

  it('shows a hole left by a freed allocation in largestFreeRun (fragmentation)', async () => {
    const rt = main();
    const [a] = await spawn(rt, [0]);
    await alloc(a, R); // region 0
    const middle = await alloc(a, R); // region 1
    await alloc(a, 14 * R); // regions 2-15
    expect(middle.region).toBe(1);
    expect(rt.memory.stats().largestFreeRun).toBe(0);
    await free(a, middle);
    const stats = rt.memory.stats();
    expect([stats.used, stats.free, stats.largestFreeRun]).toEqual([15 * R, R, R]);
    // One free region: a 2-region allocation cannot be placed, a 1-region one reuses the hole.
    expect(await cause(alloc(a, R + 1))).toBeInstanceOf(PoolExhaustedError);
    expect((await alloc(a, 10)).region).toBe(1);
  });

  it('refuses an allocation above maxRegionsPerAllocation regions with InvalidArgumentError naming bytes', async () => {
    const rt = await ownRuntime({ memory: pool(16, { maxRegionsPerAllocation: 2 }) });
    const [a] = await spawn(rt, [0]);
    expect((await alloc(a, 2 * R)).byteLength).toBe(2 * R);
    const err = await cause(alloc(a, 2 * R + 1));
    expect(err).toBeInstanceOf(InvalidArgumentError);
    expect((err as InvalidArgumentError).option).toBe('bytes');
    expect((err as InvalidArgumentError).value).toBe(2 * R + 1);
    expect(err.message).toContain(String(2 * R)); // the limit
    expect(rt.memory.stats().used).toBe(2 * R);
  });

  it('lets one allocation span the whole pool by default, and no more', async () => {
    const rt = main();
    const [a] = await spawn(rt, [1]);
    expect(await cause(alloc(a, 16 * R + 1))).toBeInstanceOf(InvalidArgumentError);
    const all = await alloc(a, 16 * R);
    expect(rt.memory.stats()).toMatchObject({ used: 16 * R, free: 0, largestFreeRun: 0 });
    await free(a, all);
    expect(rt.memory.stats().used).toBe(0);
  });
});

// ------------------------------------------------------------------- views

describe('views', () => {
  it('are exactly byteLength long, over the pool buffer at the region, with no copy', async () => {
    const rt = main();
    const [a] = await spawn(rt, [0]);
    await alloc(a, 100);
    const h = await alloc(a, 1001);
    expect(h.region).toBe(1);
    expect(await ask<ViewReport>(a, { type: 'views', handle: h })).toEqual({
      bytes: 1001,
      f32: 250,
      f64: 125,
      i32: 250,
      u32: 250,
      i16: 500,
      u16: 500,
      i8: 1001,
      shared: true,
      byteOffset: 1 * R,
      aliased: true,
    });
    expect(await ask(a, { type: 'f64', handle: await alloc(a, 3 * R) })).toBe((3 * R) / 8);
  });

  it('show the owner what it wrote, on a later read on the same thread', async () => {
    const rt = main();
    const [a] = await spawn(rt, [0]);
    const h = await alloc(a, 64, undefined, 5);
    await ask(a, { type: 'writeAt', handle: h, data: [1, 2, 3], offset: 10 });
    expect(await ask(a, { type: 'write', handle: h, value: 9 })).toBeUndefined(); // byte 0
    const bytes = await read(a, h);
    expect(bytes.length).toBe(64);
    expect(Array.from(bytes.subarray(0, 14))).toEqual([9, 5, 5, 5, 5, 5, 5, 5, 5, 5, 1, 2, 3, 5]);
    expect(await ask(a, { type: 'sum', handle: h })).toBe(9 + 5 * 60 + 1 + 2 + 3);
  });

  it('write() refuses data that would end past the allocation, naming offset', async () => {
    const rt = main();
    const [a] = await spawn(rt, [0]);
    const h = await alloc(a, 16, undefined, 0);
    for (const offset of [14, -1, 1.5]) {
      const err = await cause(ask(a, { type: 'writeAt', handle: h, data: [1, 2, 3], offset }));
      expect(err).toBeInstanceOf(InvalidArgumentError);
      expect((err as InvalidArgumentError).option).toBe('offset');
    }
    await ask(a, { type: 'writeAt', handle: h, data: [1, 2, 3], offset: 13 }); // ends exactly at 16
    expect(Array.from(await read(a, h))).toEqual([...new Array<number>(13).fill(0), 1, 2, 3]);
  });
});

// -------------------------------------------------------------- ownership

describe('ownership and transfer', () => {
  it('refuses a read by an actor that neither owns nor borrows the region (RegionAccessError)', async () => {
    const rt = main();
    const [a, sameThread, otherThread] = await spawn(rt, [0, 0, 1]);
    const h = await alloc(a, 100, undefined, 1);
    for (const stranger of [sameThread, otherThread]) {
      expect(await cause(read(stranger, h))).toBeInstanceOf(RegionAccessError);
      expect(await cause(ask(stranger, { type: 'writeAt', handle: h, data: [7] }))).toBeInstanceOf(RegionAccessError);
      expect(await cause(free(stranger, h))).toBeInstanceOf(RegionAccessError);
    }
    expect(allBytes(await read(a, h), 1)).toBe(true);
  });

  it('moves a region from thread 0 to thread 1 with tell: the receiver reads, the sender loses access at once', async () => {
    const rt = main();
    const before = rt.memory.stats();
    const [a, b] = await spawn(rt, [0, 1]);
    const h = await alloc(a, 5000, undefined, 7);
    await ask(a, { type: 'writeAt', handle: h, data: [1, 2, 3], offset: 4990 });
    const report = await ask<GiveReport>(a, { type: 'giveCheck', handles: [h], to: b, via: 'tell' });
    expect(report).toEqual({ sent: true, after: ['RegionAccessError'] });
    const seen = await read(b, h);
    expect(seen.length).toBe(5000);
    expect(Array.from(seen.subarray(4988, 4995))).toEqual([7, 7, 1, 2, 3, 7, 7]);
    expect(seen.subarray(0, 4990).every((x) => x === 7)).toBe(true);
    expect(await cause(read(a, h))).toBeInstanceOf(RegionAccessError);
    expect(since(rt, before).transfers).toBe(1);
    expect(rt.memory.stats().perAgent).toEqual(perAgent([b, 2 * R]));
    // The receiver also got the handle in the message.
    expect(
      await eventually(
        () => ask<RegionHandle[]>(b, { type: 'held' }),
        (held) => held.length === 1,
      ),
    ).toEqual([h]);
    // The new owner writes and frees; the old one can do neither.
    await ask(b, { type: 'writeAt', handle: h, data: [42] });
    expect(await cause(free(a, h))).toBeInstanceOf(RegionAccessError);
    await free(b, h);
    expect(rt.memory.stats().used).toBe(0);
  });

  it('moves a region with ask: the receiver answers from the bytes, the sender lost access when it asked', async () => {
    const rt = main();
    const before = rt.memory.stats();
    const [a, b] = await spawn(rt, [0, 1]);
    const h = await alloc(a, 1000, undefined, 3);
    const report = await ask<GiveReport>(a, { type: 'giveCheck', handles: [h], to: b, via: 'ask' });
    expect(report).toEqual({ sent: 3000, after: ['RegionAccessError'] });
    expect(await ask(b, { type: 'sum', handle: h })).toBe(3000);
    expect(since(rt, before).transfers).toBe(1);
  });

  it('refuses to transfer a region the sender does not own (RegionAccessError) and moves nothing', async () => {
    const rt = main();
    const before = rt.memory.stats();
    const [a, b, c] = await spawn(rt, [0, 1, 1]);
    const mine = await alloc(a, 100, undefined, 1);
    const theirs = await alloc(b, 100, undefined, 2);
    // The first handle is the sender's own: it must come back when the second fails.
    const err = await cause(ask(a, { type: 'giveCheck', handles: [mine, theirs], to: c, via: 'tell' }));
    expect(err).toBeInstanceOf(RegionAccessError);
    expect(allBytes(await read(a, mine), 1)).toBe(true);
    expect(allBytes(await read(b, theirs), 2)).toBe(true);
    expect(await cause(read(c, mine))).toBeInstanceOf(RegionAccessError);
    expect(await ask(c, { type: 'held' })).toEqual([]);
    expect(since(rt, before).transfers).toBe(0);
    expect(rt.memory.stats().perAgent).toEqual(perAgent([a, R], [b, R]));
  });

  it('refuses a transfer to a stopped actor with ActorStoppedError; the sender keeps the region', async () => {
    const rt = main();
    const before = rt.memory.stats();
    const [a, gone] = await spawn(rt, [0, 1]);
    await rt.stop(gone);
    const h = await alloc(a, 100, undefined, 4);
    for (const via of ['tell', 'ask'] as const) {
      const err = await cause(ask(a, { type: 'giveCheck', handles: [h], to: gone, via }));
      expect(err).toBeInstanceOf(ActorStoppedError);
      expect(allBytes(await read(a, h), 4)).toBe(true);
    }
    expect(since(rt, before).transfers).toBe(0);
    expect(rt.memory.stats().perAgent).toEqual(perAgent([a, R]));
  });

  it('refuses a transfer from the main thread (it owns nothing) with RegionAccessError', async () => {
    const rt = main();
    const before = rt.memory.stats();
    const [a, b] = await spawn(rt, [0, 1]);
    const h = await alloc(a, 100, undefined, 6);
    expect(thrown(() => b.tell({ type: 'take', handle: h }, { transfer: [h] }))).toBeInstanceOf(RegionAccessError);
    const asked = await b.ask({ type: 'sum', handle: h }, { transfer: [h] }).then(
      () => 'answered',
      (e: unknown) => e,
    );
    expect(asked).toBeInstanceOf(RegionAccessError);
    expect(allBytes(await read(a, h), 6)).toBe(true);
    expect(await cause(read(b, h))).toBeInstanceOf(RegionAccessError);
    expect(since(rt, before).transfers).toBe(0);
  });

  it('leaves the region with the sender when a full mailbox refuses the message', async () => {
    const rt = main();
    const before = rt.memory.stats();
    const [a] = await spawn(rt, [0]);
    const busy = await rt.spawn<ProbeMsg, unknown>(probeUrl, undefined, { thread: 1, mailbox: { capacity: 1, overflow: 'reject' } });
    tracked(rt).refs.push(busy);
    const gate = new Gate();
    gates.push(gate);
    void busy.ask({ type: 'hold', channel: gate.channel }, { timeoutMs: 20_000 }).catch(() => undefined);
    await guarded(gate.entered, 5_000, 'the probe entering its hold handler');
    expect(busy.tell({ type: 'log', value: 'fills the mailbox' })).toBe(true);
    const h = await alloc(a, 100, undefined, 8);
    const report = await ask<GiveReport>(a, { type: 'giveCheck', handles: [h], to: busy as unknown as Agent, via: 'tell' });
    expect(report).toEqual({ sent: false, after: [null] });
    expect(allBytes(await read(a, h), 8)).toBe(true);
    expect(since(rt, before).transfers).toBe(0);
    expect(rt.memory.stats().perAgent).toEqual(perAgent([a, R]));
  });

  it('needs { sender: ctx.self } to transfer after an await', async () => {
    const rt = main();
    const [a, b] = await spawn(rt, [0, 1]);
    const h = await alloc(a, 100, undefined, 2);
    expect(await cause(ask(a, { type: 'giveAfterAwait', handle: h, to: b, withSender: false }))).toBeInstanceOf(RegionAccessError);
    expect(allBytes(await read(a, h), 2)).toBe(true);
    expect(await ask(a, { type: 'giveAfterAwait', handle: h, to: b, withSender: true })).toBe(true);
    expect(allBytes(await read(b, h), 2)).toBe(true);
    expect(await cause(read(a, h))).toBeInstanceOf(RegionAccessError);
  });
});

// ------------------------------------------------------------------ loans

describe('loans: share and release', () => {
  /** An owner on thread 0 that lent one allocation to three borrowers on both threads, through `take` messages. */
  async function lent(rt: Runtime) {
    const [owner, b1, b2, b3, stranger] = await spawn(rt, [0, 1, 0, 1, 1]);
    const h = await alloc(owner, 3000, undefined, 9);
    const loans = await ask<RegionHandle[]>(owner, { type: 'share', handle: h, to: [b1, b2, b3] });
    return { owner, borrowers: [b1, b2, b3], stranger, h, loans };
  }

  it('lends one allocation read-only to actors on both threads; every borrower reads it', async () => {
    const rt = main();
    const before = rt.memory.stats();
    const { owner, borrowers, h, loans } = await lent(rt);
    expect(loans).toHaveLength(3);
    for (const loan of loans) {
      expect(loan).toBeInstanceOf(RegionHandle);
      expect(loan.borrowed).toBe(true);
      expect([loan.region, loan.gen, loan.byteLength]).toEqual([h.region, h.gen, h.byteLength]);
    }
    for (const [i, borrower] of borrowers.entries()) {
      expect(allBytes(await read(borrower, loans[i]), 9)).toBe(true);
      // The loan also reached the borrower in the `take` message.
      const held = await eventually(
        () => ask<RegionHandle[]>(borrower, { type: 'held' }),
        (list) => list.length === 1,
      );
      expect(held[0]).toEqual(loans[i]);
    }
    // The owner's writes show through the loans.
    await ask(owner, { type: 'writeAt', handle: h, data: [1], offset: 2999 });
    expect((await read(borrowers[2], loans[2]))[2999]).toBe(1);
    expect(since(rt, before).borrows).toBe(3);
    expect(rt.memory.stats().perAgent).toEqual(perAgent([owner, R]));
  });

  it('refuses a borrower that writes, frees or transfers its loan (RegionAccessError)', async () => {
    const rt = main();
    const { owner, borrowers, h, loans } = await lent(rt);
    const [b1] = borrowers;
    expect(await cause(ask(b1, { type: 'writeAt', handle: loans[0], data: [1] }))).toBeInstanceOf(RegionAccessError);
    expect(await ask(b1, { type: 'write', handle: loans[0], value: 1 })).toMatchObject({ error: 'RegionAccessError' });
    expect(await cause(free(b1, loans[0]))).toBeInstanceOf(RegionAccessError);
    expect(await cause(ask(b1, { type: 'giveCheck', handles: [loans[0]], to: owner, via: 'tell' }))).toBeInstanceOf(RegionAccessError);
    expect(await cause(share(b1, loans[0], [owner]))).toBeInstanceOf(RegionAccessError);
    // ...and the owner releasing its own handle, as if it were a loan.
    expect(await cause(release(owner, h))).toBeInstanceOf(RegionAccessError);
    expect(allBytes(await read(owner, h), 9)).toBe(true);
    expect(allBytes(await read(b1, loans[0]), 9)).toBe(true);
  });

  it('refuses a loan forwarded to another actor (RegionAccessError)', async () => {
    const rt = main();
    const { borrowers, stranger, loans } = await lent(rt);
    expect(await cause(read(stranger, loans[0]))).toBeInstanceOf(RegionAccessError);
    expect(await cause(read(borrowers[1], loans[0]))).toBeInstanceOf(RegionAccessError); // a borrower, with another's loan
    expect(await cause(release(stranger, loans[0]))).toBeInstanceOf(RegionAccessError);
    expect(allBytes(await read(borrowers[0], loans[0]), 9)).toBe(true); // the loan is still good
  });

  it('keeps a freed allocation for its borrowers and returns it to the pool after the last release', async () => {
    const rt = main();
    const { owner, borrowers, h, loans } = await lent(rt);
    const before = rt.memory.stats();
    await free(owner, h);
    expect(rt.memory.stats().used).toBe(R);
    expect(rt.memory.stats().perAgent).toEqual([]); // the owner owns nothing any more
    for (const [i, borrower] of borrowers.entries()) expect(allBytes(await read(borrower, loans[i]), 9)).toBe(true);
    await release(borrowers[0], loans[0]);
    await release(borrowers[1], loans[1]);
    expect(rt.memory.stats().used).toBe(R);
    expect(allBytes(await read(borrowers[2], loans[2]), 9)).toBe(true);
    await release(borrowers[2], loans[2]);
    expect(rt.memory.stats().used).toBe(0);
    expect(since(rt, before).releases).toBe(1);
    expect(await cause(read(borrowers[2], loans[2]))).toBeInstanceOf(StaleHandleError);
  });

  it('answers a double release with StaleHandleError, while the allocation lives and after it ended', async () => {
    const rt = main();
    const { owner, borrowers, h, loans } = await lent(rt);
    await release(borrowers[0], loans[0]);
    expect(await cause(release(borrowers[0], loans[0]))).toBeInstanceOf(StaleHandleError);
    expect(await cause(read(borrowers[0], loans[0]))).toBeInstanceOf(StaleHandleError);
    // The row of the released loan is reused by a new loan: the old handle stays stale.
    const [again] = await share(owner, h, [borrowers[0]]);
    expect(await cause(release(borrowers[0], loans[0]))).toBeInstanceOf(StaleHandleError);
    expect(allBytes(await read(borrowers[0], again), 9)).toBe(true);
    await free(owner, h);
    await release(borrowers[0], again);
    await release(borrowers[1], loans[1]);
    await release(borrowers[2], loans[2]);
    expect(rt.memory.stats().used).toBe(0);
    expect(await cause(release(borrowers[1], loans[1]))).toBeInstanceOf(StaleHandleError);
  });

  it("makes the owner's handle stale once freed, even while loans are out (double free, use after free)", async () => {
    const rt = main();
    const { owner, borrowers, h, loans } = await lent(rt);
    await free(owner, h);
    expect(await cause(free(owner, h))).toBeInstanceOf(StaleHandleError);
    expect(await cause(read(owner, h))).toBeInstanceOf(StaleHandleError);
    expect(await cause(share(owner, h, [borrowers[0]]))).toBeInstanceOf(StaleHandleError);
    expect(allBytes(await read(borrowers[0], loans[0]), 9)).toBe(true);
  });

  it('refuses a share beyond maxLeases loans with PoolExhaustedError and lends nothing', async () => {
    const rt = main(); // maxLeases: 8
    const before = rt.memory.stats();
    const [owner, b1, b2, b3] = await spawn(rt, [0, 1, 0, 1]);
    const h = await alloc(owner, 100, undefined, 1);
    const nine = [b1, b2, b3, b1, b2, b3, b1, b2, b3];
    const err = await cause(share(owner, h, nine));
    expect(err).toBeInstanceOf(PoolExhaustedError);
    expect(err.message).toContain('maxLeases');
    expect(since(rt, before).borrows).toBe(0);
    // No loan row leaked: eight loans still fit, and the allocation ends with them.
    const loans = await share(owner, h, nine.slice(1));
    await free(owner, h);
    for (const [i, loan] of loans.entries()) await release(nine[i + 1], loan);
    expect(rt.memory.stats().used).toBe(0);
  });

  it('refuses share() to refs that are not actor refs, with InvalidArgumentError, and lends nothing', async () => {
    const rt = main();
    const before = rt.memory.stats();
    const [owner] = await spawn(rt, [0]);
    const h = await alloc(owner, 100);
    for (const to of [[], 'x', [42], [{ slot: 3, gen: 0 }]]) {
      expect(await cause(ask(owner, { type: 'shareRaw', handle: h, to }))).toBeInstanceOf(InvalidArgumentError);
    }
    expect(since(rt, before).borrows).toBe(0);
    await free(owner, h);
    expect(rt.memory.stats().used).toBe(0); // no phantom loan keeps it alive
  });
});
