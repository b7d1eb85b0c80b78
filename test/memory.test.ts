/**
 * The shared region pool on real threads: layout and stats, views, ownership
 * and transfer with tell/ask, read-only loans (share/release), typed errors
 * for bad input and stale or forged handles, quotas, eviction under each
 * policy, reclamation when an actor stops, `rt.memory.collect()`, and large
 * messages carried through the pool.
 *
 * Actors come from `fixtures/memory-agent.ts`; its strict commands throw, so
 * an ask rejects with the pool's typed error. Tests of a describe share one
 * runtime; each spawns its own actors, which are stopped after it, and the
 * pool must then be empty (so every test also checks reclamation at stop).
 * Eviction tests swap the worker's clock for a fake one (the `clock`
 * command), so time-based order does not depend on the machine's speed.
 */
import fc from 'fast-check';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  type ActorRef,
  ActorStoppedError,
  EvictedError,
  HandlerError,
  InvalidArgumentError,
  InvalidOptionError,
  PoolExhaustedError,
  QuotaExceededError,
  RegionAccessError,
  RegionHandle,
  Runtime,
  StaleHandleError,
  describeValue,
  type MemoryStats,
  type RuntimeOptions,
  type SpawnOptions,
} from '../src/index.js';
import { Gate, eventually, guarded } from './fixtures/helpers.js';
import type { GiveReport, MemoryMsg, ViewReport } from './fixtures/memory-agent.js';
import type { ProbeMsg } from './fixtures/probe.js';

const agentUrl = new URL('./fixtures/memory-agent.ts', import.meta.url);
const probeUrl = new URL('./fixtures/probe.ts', import.meta.url);

type Agent = ActorRef<MemoryMsg, unknown>;

const KiB = 1024;
const MiB = 1024 * KiB;
/** Region size of the small pools most tests use. */
const R = 4 * KiB;
/** A pool of `regions` regions of 4 KiB. */
const pool = (regions: number, more: RuntimeOptions['memory'] = {}): RuntimeOptions['memory'] => ({ size: regions * R, regionSize: R, ...more });

let gates: Gate[] = [];
/** Runtimes started for one test only: shut down after it. */
let ownRuntimes: Runtime[] = [];
/** Per runtime, the actors a test spawned (stopped after it) and those whose thread clock it swapped. */
const spawned = new Map<Runtime, { refs: ActorRef[]; clocks: Agent[] }>();

/**
 * The agents here answer bad input by throwing, and the tests go on with the
 * same agent: their supervisor resumes them (Akka's Resume) instead of the
 * default restart, which would free what they own.
 */
const resume = { decider: () => 'resume' as const };

/**
 * A runtime on two threads shared by the tests of the enclosing describe
 * (or of the file, at top level).
 */
function sharedRuntime(options: RuntimeOptions): () => Runtime {
  let rt: Runtime | undefined;
  beforeAll(async () => {
    rt = await Runtime.start({ threads: 2, supervisor: resume, ...options });
  });
  afterAll(async () => {
    await rt?.shutdown();
  });
  return () => {
    if (rt === undefined) throw new Error('the shared runtime did not start');
    return rt;
  };
}

/** A runtime for this test alone (shut down after it). */
async function ownRuntime(options: RuntimeOptions = {}): Promise<Runtime> {
  const rt = await Runtime.start({ threads: 2, supervisor: resume, ...options });
  ownRuntimes.push(rt);
  return rt;
}

function tracked(rt: Runtime): { refs: ActorRef[]; clocks: Agent[] } {
  let entry = spawned.get(rt);
  if (entry === undefined) spawned.set(rt, (entry = { refs: [], clocks: [] }));
  return entry;
}

afterEach(async () => {
  for (const gate of gates) gate.release();
  const leaks: string[] = [];
  for (const [rt, { refs, clocks }] of spawned) {
    if (ownRuntimes.includes(rt)) continue;
    for (const agent of clocks) await agent.ask({ type: 'clock', mode: 'real' }).catch(() => undefined);
    await Promise.all(refs.map((ref) => rt.stop(ref)));
    const { used, perAgent } = rt.memory.stats();
    if (used !== 0 || perAgent.length !== 0) leaks.push(`after stopping every actor: used ${used}, perAgent ${JSON.stringify(perAgent)}`);
    rt.memory.collect(); // the next test starts clean even so
  }
  spawned.clear();
  await Promise.all(ownRuntimes.map((rt) => rt.shutdown()));
  for (const gate of gates) gate.close();
  ownRuntimes = [];
  gates = [];
  expect(leaks).toEqual([]);
});

/** Spawns one memory agent per entry of `threads`, on that thread (stopped after the test). */
async function spawn(rt: Runtime, threads: number[], options: SpawnOptions = {}): Promise<Agent[]> {
  const agents = await Promise.all(threads.map((thread) => rt.spawn<MemoryMsg, unknown>(agentUrl, undefined, { ...options, thread })));
  tracked(rt).refs.push(...agents);
  return agents;
}

function ask<T>(agent: Agent, msg: MemoryMsg): Promise<T> {
  return agent.ask(msg) as Promise<T>;
}

/** Allocates through `agent`, strictly (an error rejects). */
function alloc(agent: Agent, bytes: number, options?: { evictable?: boolean; ttlMs?: number }, fill?: number): Promise<RegionHandle> {
  return ask<RegionHandle>(agent, { type: 'allocStrict', bytes, options, fill });
}

/** A copy of the allocation's bytes, as `agent` reads them. */
function read(agent: Agent, handle: RegionHandle): Promise<Uint8Array> {
  return ask<Uint8Array>(agent, { type: 'read', handle });
}

function free(agent: Agent, handle: RegionHandle): Promise<unknown> {
  return ask(agent, { type: 'freeStrict', handle });
}

function release(agent: Agent, handle: RegionHandle): Promise<unknown> {
  return ask(agent, { type: 'releaseStrict', handle });
}

/** Lends `handle` from `owner` to `to`, in order; the loans are not sent to the borrowers. */
function share(owner: Agent, handle: RegionHandle, to: Agent[]): Promise<RegionHandle[]> {
  return ask<RegionHandle[]>(owner, { type: 'shareRaw', handle, to });
}

/** The typed error a strict command failed with (an ask rejects with what the handler threw). */
async function cause(promise: Promise<unknown>): Promise<Error> {
  const err = await promise.then(
    (value) => {
      throw new Error(`expected the command to fail, it answered ${JSON.stringify(value)}`);
    },
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(Error);
  expect(err).not.toBeInstanceOf(HandlerError);
  return err as Error;
}

/** 'ok', or the name of the error a strict command failed with. */
function outcome(promise: Promise<unknown>): Promise<string> {
  return promise.then(
    () => 'ok',
    (err: unknown) => (err instanceof Error && !(err instanceof HandlerError) ? err.name : `unexpected ${String(err)}`),
  );
}

/** What a synchronous call threw; fails if it returned. */
function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error('expected the call to throw, and it returned');
}

function allBytes(bytes: Uint8Array, value: number): boolean {
  return bytes.every((b) => b === value);
}

type Counters = Pick<MemoryStats, 'allocations' | 'releases' | 'evictions' | 'transfers' | 'borrows'>;

/** How the counters moved since `before`. */
function since(rt: Runtime, before: MemoryStats): Counters {
  const now = rt.memory.stats();
  return {
    allocations: now.allocations - before.allocations,
    releases: now.releases - before.releases,
    evictions: now.evictions - before.evictions,
    transfers: now.transfers - before.transfers,
    borrows: now.borrows - before.borrows,
  };
}

/** Sorted by slot, as stats().perAgent is. */
function perAgent(...entries: Array<[Agent, number]>): MemoryStats['perAgent'] {
  return entries.map(([agent, bytes]) => ({ slot: agent.slot, bytes })).sort((x, y) => x.slot - y.slot);
}

/** 16 regions of 4 KiB, 'lru', at most 8 loans at once. */
const main = sharedRuntime({ memory: pool(16, { maxLeases: 8 }) });

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

// --------------------------------------------------------------- eviction

/** Which of `handles` `agent` can still read: 'ok', or the error name. */
function readable(agent: Agent, handles: RegionHandle[]): Promise<string[]> {
  return Promise.all(handles.map((h) => outcome(read(agent, h))));
}

/**
 * Agents on a 4-region pool: `x` on thread 0, whose thread clock is frozen
 * (`tick` moves it 10 ms on), and `other` on thread 1.
 */
async function evictionSetup(rt: Runtime) {
  const [x, other] = await spawn(rt, [0, 1]);
  tracked(rt).clocks.push(x);
  await ask(x, { type: 'clock', mode: 'freeze' });
  const tick = () => ask(x, { type: 'clock', mode: 'advance', ms: 10 });
  return { x, other, tick };
}

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

// ---------------------------------------------------------- large messages

describe('large messages', () => {
  const pattern = (n: number, salt = 0) => Uint8Array.from({ length: n }, (_, i) => (i * 31 + salt) & 0xff);
  const carried = sharedRuntime({ inlineLimit: 4096 }); // the default pool
  const smallRing = sharedRuntime({ inlineLimit: 4096, ringBytes: 4096, memory: pool(128) });

  it('carries a 300 KB Uint8Array told and asked across threads through the pool, then frees the carrier', async () => {
    const rt = carried();
    const before = rt.memory.stats();
    const [a, b] = await spawn(rt, [0, 1]);
    const payload = pattern(300_000);
    b.tell({ type: 'keep', payload });
    const kept = await ask<Uint8Array>(b, { type: 'kept' });
    expect(kept).toBeInstanceOf(Uint8Array);
    expect(Buffer.compare(kept, payload)).toBe(0);
    expect(since(rt, before).allocations).toBe(1); // the carrier...
    expect(rt.memory.stats()).toMatchObject({ used: 0, perAgent: [] }); // ...already freed by the receiver

    const echoed = await ask<Uint8Array>(b, { type: 'echo', payload: pattern(300_000, 7) });
    expect(Buffer.compare(echoed, pattern(300_000, 7))).toBe(0);
    // Main thread -> a (thread 0), then actor to actor: a -> b (thread 1).
    const relayed = await ask<Uint8Array>(a, { type: 'relay', to: b, payload: pattern(300_001, 3) });
    expect(Buffer.compare(relayed, pattern(300_001, 3))).toBe(0);
    expect(since(rt, before)).toMatchObject({ allocations: 4, releases: 4 });
    expect(rt.memory.stats().used).toBe(0);
  });

  it('decodes a carried payload into its own memory: reusing the carrier regions does not change it', async () => {
    const rt = smallRing(); // 512 KiB pool
    const before = rt.memory.stats();
    const [a, b] = await spawn(rt, [0, 1]);
    const payload = { bytes: pattern(200_000), text: `${'x'.repeat(100_000)}ü`, list: Array.from({ length: 2000 }, (_, i) => ({ i })) };
    b.tell({ type: 'keep', payload });
    await ask(b, { type: 'held' });
    expect(since(rt, before).allocations).toBe(1);
    const everything = await alloc(a, 128 * R, undefined, 0xee); // overwrites the regions the carrier used
    expect(everything.region).toBe(0);
    const kept = await ask<typeof payload>(b, { type: 'kept' });
    expect(Buffer.compare(kept.bytes, payload.bytes)).toBe(0);
    expect(kept.text).toBe(payload.text);
    expect(kept.list).toEqual(payload.list);
  });

  it('falls back to a small ring when the pool has no free run, and evicts no cache for it', async () => {
    const rt = smallRing();
    const [a, b] = await spawn(rt, [0, 1]);
    const caches = await Promise.all(Array.from({ length: 4 }, (_, i) => alloc(a, 32 * R, { evictable: true }, i + 1)));
    const before = rt.memory.stats();
    expect(before.free).toBe(0);
    const payload = pattern(300_000, 1);
    b.tell({ type: 'keep', payload });
    expect(Buffer.compare(await ask<Uint8Array>(b, { type: 'kept' }), payload)).toBe(0);
    const echoed = await ask<Uint8Array>(b, { type: 'echo', payload });
    expect(Buffer.compare(echoed, payload)).toBe(0);
    expect(since(rt, before)).toEqual({ allocations: 0, releases: 0, evictions: 0, transfers: 0, borrows: 0 });
    for (const [i, h] of caches.entries()) expect(await ask(a, { type: 'verify', handle: h, fill: i + 1 })).toBe(true);
  });

  it('sends a message larger than the whole pool through a small ring', async () => {
    const rt = smallRing();
    const before = rt.memory.stats();
    const [b] = await spawn(rt, [1]);
    const payload = pattern(600_000, 2); // the pool holds 512 KiB
    const echoed = await ask<Uint8Array>(b, { type: 'echo', payload });
    expect(Buffer.compare(echoed, payload)).toBe(0);
    expect(since(rt, before).allocations).toBe(0);
    expect(rt.memory.stats().used).toBe(0);
  });
});
