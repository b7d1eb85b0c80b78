/**
 * The actor directory: one table in shared memory, visible to every thread,
 * that says for each actor slot which generation lives there, on which
 * thread, in which state, and how full its mailbox is. Any thread can resolve
 * a ref and check a bounded mailbox without asking another thread.
 *
 * Layout: one SharedArrayBuffer of Int32 columns, each `slots` long:
 *
 *   column     written by                 meaning
 *   kGen       the allocating thread      generation of the current occupant
 *   kState     the hosting thread         kFree / kStarting / kAlive / kStopAsked / kStopping
 *   kThread    allocator, later migration endpoint index of the host thread
 *   kDepth     senders (+1), host (-1)    messages accepted and not yet taken
 *   kCapacity  allocator                  mailbox bound, 0 = unbounded
 *   kPolicy    allocator                  overflow policy code
 *   kNext      the free stack             next free slot, -1 = none
 *   kWaiters   blocked `send` callers     1 when someone awaits room
 *   kCkRegion  the hosting thread         last checkpoint's first region + 1, 0 = none
 *   kCkGen     the hosting thread         its allocation generation
 *   kCkLength  the hosting thread         its length in bytes
 *   kWhy       whoever releases the slot  why its last occupant ended: 0 stopped, 1 crashed
 *
 * The checkpoint columns live here, not in a thread's heap, so the main
 * thread finds an actor's last snapshot after the thread hosting it died.
 *
 * Slot allocation is lock-free (free-slots.ts): fresh slots come from a bump
 * counter, released slots go on a shared stack, and each pool thread keeps a
 * cache of free slots in front of it. The live count, apart, keeps the
 * `maxAgents` limit exact; the table has room for what the caches hold.
 *
 * A ref is (slot, generation). It is live when `gen[slot] === ref.gen` and
 * the state is starting or alive; the generation is bumped each time a slot
 * is reused, so a ref kept after its actor stopped never reaches a newcomer.
 * Generations start at a random base per process (below 2^30, so 2^30
 * reuses of a slot still fit an int32): a ref kept from an earlier process
 * of the same cluster node (a restart under the same name) names a
 * generation this process never gave out, and reaches nothing.
 */
import { randomInt } from 'node:crypto';
import { ActorCounts, allocateActorCounts } from './actor-counts.js';
import { FreeSlots, allocateSlotCaches, kCacheMax } from './free-slots.js';

export const kFree = 0;
export const kStarting = 1;
export const kAlive = 2;
export const kStopping = 3;
/** Alive, with a stop asked that waits (for its handler, or a restart): live for everyone, not brought back by recovery. */
export const kStopAsked = 4;

const kGen = 0;
const kState = 1;
const kThread = 2;
const kDepth = 3;
const kCapacity = 4;
const kPolicy = 5;
const kNext = 6;
const kWaiters = 7;
const kCkRegion = 8;
const kCkGen = 9;
const kCkLength = 10;
const kWhy = 11;
const kColumns = 12;
/** Values of the kWhy column. */
export const kWhyStopped = 0;
export const kWhyCrashed = 1;

/** Overflow policy codes of the kPolicy column: indexes into `overflowPolicies` (actors/spawn-options.ts). */
// Code 0 is 'reject' (the default: nothing is dropped, so no code names it).
export const kPolicyDropOldest = 1;
export const kPolicyDropNewest = 2;

// Words of the `counters` buffer, each on its own 64-byte line so threads
// bumping one do not invalidate the others (false sharing).
const kLiveCount = 0;
/** The first generation minus one (read-only once created). */
const kGenBase = 8;
const kNextFresh = 16;
const kCounterWords = 32;

/** What a worker needs to map the same directory. Plain data: travels through postMessage. */
export interface DirectoryShared {
  slots: number;
  maxAgents: number;
  table: SharedArrayBuffer;
  counters: SharedArrayBuffer;
  freeHead: SharedArrayBuffer;
  /** Each pool thread's cache of free slots (free-slots.ts). */
  slotCaches: SharedArrayBuffer;
  /** Messages handled and restarts per slot (actor-counts.ts). */
  actorCounts: SharedArrayBuffer;
}

export class Directory {
  readonly slots: number;
  readonly maxAgents: number;
  readonly gen: Int32Array;
  readonly state: Int32Array;
  readonly thread: Int32Array;
  readonly depth: Int32Array;
  readonly capacity: Int32Array;
  readonly policy: Int32Array;
  readonly next: Int32Array;
  readonly waiters: Int32Array;
  readonly ckRegion: Int32Array;
  readonly ckGen: Int32Array;
  readonly ckLength: Int32Array;
  readonly why: Int32Array;
  private readonly counters: Int32Array;
  private readonly free: FreeSlots;
  /** Messages handled and restarts per slot, for `rt.inspect()`. */
  readonly actorCounts: ActorCounts;
  readonly shared: DirectoryShared;

  /**
   * A directory for `maxAgents` live actors on `threads` pool threads (each
   * with a cache of free slots: the table has room for them too).
   */
  static create(maxAgents: number, threads: number): Directory {
    const slots = maxAgents + threads * kCacheMax;
    const table = new SharedArrayBuffer(slots * kColumns * 4);
    const counters = new SharedArrayBuffer(kCounterWords * 4);
    const freeHead = new SharedArrayBuffer(8);
    const slotCaches = allocateSlotCaches(threads + 1);
    const dir = new Directory({ slots, maxAgents, table, counters, freeHead, slotCaches, actorCounts: allocateActorCounts(slots) });
    dir.next.fill(-1);
    const base = randomInt(1, 2 ** 30);
    dir.gen.fill(base);
    Atomics.store(dir.counters, kGenBase, base);
    return dir;
  }

  /** `cacheOwner`: the endpoint index of this pool thread, whose slot cache it uses; -1 (the main thread) for none. */
  constructor(shared: DirectoryShared, cacheOwner = -1) {
    this.shared = shared;
    this.slots = shared.slots;
    this.maxAgents = shared.maxAgents;
    const column = (c: number) => new Int32Array(shared.table, c * shared.slots * 4, shared.slots);
    this.gen = column(kGen);
    this.state = column(kState);
    this.thread = column(kThread);
    this.depth = column(kDepth);
    this.capacity = column(kCapacity);
    this.policy = column(kPolicy);
    this.next = column(kNext);
    this.waiters = column(kWaiters);
    this.ckRegion = column(kCkRegion);
    this.ckGen = column(kCkGen);
    this.ckLength = column(kCkLength);
    this.why = column(kWhy);
    this.counters = new Int32Array(shared.counters);
    this.free = new FreeSlots(this.slots, this.next, this.counters, kNextFresh, new BigInt64Array(shared.freeHead), shared.slotCaches, cacheOwner);
    this.actorCounts = new ActorCounts(shared.actorCounts);
  }

  /** The slot's last checkpoint (region, gen, length), or undefined. */
  checkpoint(slot: number): { region: number; gen: number; length: number } | undefined {
    const region = Atomics.load(this.ckRegion, slot) - 1;
    if (region < 0) return undefined;
    return { region, gen: Atomics.load(this.ckGen, slot), length: Atomics.load(this.ckLength, slot) };
  }

  /** Publishes (or, with undefined, clears) the slot's checkpoint. */
  setCheckpoint(slot: number, at: { region: number; gen: number; length: number } | undefined): void {
    if (at === undefined) {
      storeIfChanged(this.ckRegion, slot, 0); // most actors never had one
      return;
    }
    Atomics.store(this.ckGen, slot, at.gen);
    Atomics.store(this.ckLength, slot, at.length);
    Atomics.store(this.ckRegion, slot, at.region + 1);
  }

  /** Slots ever handed out: every live actor's slot is below this. */
  highWater(): number {
    return Math.min(this.slots, Atomics.load(this.counters, kNextFresh));
  }

  /** Generations up to this one were never given out by this process (a ref with one is of another process, or made up). */
  genBase(): number {
    return Atomics.load(this.counters, kGenBase);
  }

  /** Live actors across every thread. */
  liveCount(): number {
    return Atomics.load(this.counters, kLiveCount);
  }

  /**
   * Reserves a slot for a new actor hosted on `thread`, or returns -1 when
   * `maxAgents` actors are already live. The slot's generation is bumped and
   * its state set to starting; the caller owns it until {@link release}.
   */
  allocate(thread: number, capacity: number, policy: number): number {
    if (Atomics.add(this.counters, kLiveCount, 1) >= this.maxAgents) {
      Atomics.sub(this.counters, kLiveCount, 1);
      return -1;
    }
    const slot = this.free.take();
    if (slot < 0) {
      // Unreachable while the caches hold no more than the table has room
      // for; slots lost by a thread killed mid-refill could make it happen.
      Atomics.sub(this.counters, kLiveCount, 1);
      return -1;
    }
    // A reused slot mostly holds these values already (same thread, same
    // bounds, nothing waiting): a load is cheap, an atomic store is a full
    // fence. The slot is this thread's alone until its state is published.
    storeIfChanged(this.thread, slot, thread);
    storeIfChanged(this.capacity, slot, capacity);
    storeIfChanged(this.policy, slot, policy);
    storeIfChanged(this.depth, slot, 0);
    storeIfChanged(this.waiters, slot, 0);
    this.actorCounts.reset(slot);
    Atomics.add(this.gen, slot, 1);
    // Publishing the state last: a thread that sees kStarting with the new
    // generation also sees the columns written above (Atomics are seq-cst).
    Atomics.store(this.state, slot, kStarting);
    return slot;
  }

  /**
   * Marks a slot's actor stopped (or lost in a crash) and puts the slot back
   * for reuse: in this thread's cache when `cache` (a slot this thread
   * allocated; one the main thread handed out goes back where the main
   * thread takes its next one).
   */
  release(slot: number, why = kWhyStopped, cache = false): void {
    Atomics.store(this.why, slot, why);
    // Bump the generation first so refs to the old occupant stop resolving
    // before the slot can be handed out again.
    Atomics.add(this.gen, slot, 1);
    Atomics.store(this.state, slot, kFree);
    this.free.put(slot, cache);
    Atomics.sub(this.counters, kLiveCount, 1);
  }

  /**
   * Why the actor (slot, gen) ended, while its slot has not been reused
   * (release bumps the generation once, reuse once more): 'crashed' or
   * 'stopped'. After reuse the answer is 'stopped'.
   */
  whyGone(slot: number, gen: number): 'stopped' | 'crashed' {
    if (slot < 0 || slot >= this.slots) return 'stopped';
    if (Atomics.load(this.gen, slot) !== gen + 1) return 'stopped';
    return Atomics.load(this.why, slot) === kWhyCrashed ? 'crashed' : 'stopped';
  }

  /** True when (slot, gen) names an actor that is starting or alive. */
  isLive(slot: number, gen: number): boolean {
    if (slot < 0 || slot >= this.slots) return false;
    const state = Atomics.load(this.state, slot);
    return (state === kStarting || state === kAlive || state === kStopAsked) && Atomics.load(this.gen, slot) === gen;
  }

  /** Slots cached by the pool thread of `endpoint`. */
  cachedSlots(endpoint: number): number {
    return this.free.cached(endpoint);
  }

  /** Main thread, once the pool thread of `endpoint` is gone: the slots it cached are free for everyone again. */
  reclaimCachedSlots(endpoint: number): void {
    this.free.reclaim(endpoint);
  }
}

/** `Atomics.store` unless the word holds `value` already (spares the fence of a store on the spawn and stop paths). */
function storeIfChanged(words: Int32Array, index: number, value: number): void {
  if (Atomics.load(words, index) !== value) Atomics.store(words, index, value);
}
