/**
 * Shared-memory layout of the region pool. Every thread maps the same
 * buffers (see `PoolShared`); all cross-thread state changes go through
 * Atomics on these words.
 *
 *   data      SharedArrayBuffer(size): the regions' bytes, region i at i * regionSize
 *   bitmap    Int32 words, bit r set = region r taken (by an allocation or
 *             being reclaimed); claimed and released with compare-exchange
 *   meta      Int32 columns, one row per region (below)
 *   usage     Int32 per actor slot: bytes of regions that actor owns
 *   quota     Int32 per actor slot: its memoryQuota in bytes, 0 = none
 *   leases    Int32 columns, one row per lease (a read-only loan, see `share`)
 *   counters  Int32 words on separate cache lines (allocations, releases, ...)
 *
 * Region rows (meta); only the head region of an allocation holds them:
 *
 *   kRState     kStateFree | kStateLive | kStateBusy (being freed or evicted)
 *   kRGen       generation: bumped whenever the allocation ends (free, evict)
 *   kRRun       regions in the allocation (head); 0 elsewhere
 *   kRBytes     bytes requested
 *   kROwner     owner actor slot + 1 (0: none)
 *   kROwnerGen  owner actor generation
 *   kRFlags     kFlagEvictable | kFlagOwnerFreed
 *   kRBorrowers live leases on the allocation
 *   kRLastUse   logical clock (a shared counter) at the last use, for 'lru'
 *   kRUses      uses, for 'lfu'
 *   kRBorn      pool time (ms) at allocation, for 'ttl'
 *   kRTtl       ttl in ms for the 'ttl' policy (0: the pool's default)
 *   kREvicted   bit (gen & 31) set when generation gen ended by eviction: tells
 *               EvictedError from StaleHandleError for the last 32 generations
 *   kRSeq       logical clock at allocation, for 'fifo'
 *   kRPins      handler turns using a view of it right now: eviction skips it
 */

export const kStateFree = 0;
export const kStateLive = 1;
export const kStateBusy = 2;

export const kRState = 0;
export const kRGen = 1;
export const kRRun = 2;
export const kRBytes = 3;
export const kROwner = 4;
export const kROwnerGen = 5;
export const kRFlags = 6;
export const kRBorrowers = 7;
export const kRLastUse = 8;
export const kRUses = 9;
export const kRBorn = 10;
export const kRTtl = 11;
export const kREvicted = 12;
export const kRSeq = 13;
export const kRPins = 14;
export const kRegionColumns = 15;

export const kFlagEvictable = 1;
export const kFlagOwnerFreed = 2;
/** Carries one large message: owned by no actor (no stop reclaims it), freed by the receiving thread after decoding. */
export const kFlagCarrier = 4;

/** Lease rows: a borrower's read-only loan of one allocation. */
export const kLState = 0; // 0 free, 1 live
export const kLRegion = 1;
export const kLGen = 2; // allocation generation the lease is for
export const kLHolder = 3; // holder actor slot + 1
export const kLHolderGen = 4;
export const kLSerial = 5; // bumped at each reuse of the row, so an old lease handle is stale
export const kLeaseColumns = 6;

/** Counter words, 16 apart (one 64-byte line each). */
export const kCAllocations = 0;
export const kCReleases = 16;
export const kCEvictions = 32;
export const kCTransfers = 48;
export const kCBorrows = 64;
/** The logical clock: bumped at every allocation and use, orders 'lru' and 'fifo' exactly. */
export const kCClock = 80;
/** Loans outstanding across the pool: an actor's stop scans the loan table only when some exist. */
export const kCLiveLoans = 96;
const kCounterWords = 112;

export const evictionPolicies = ['lru', 'lfu', 'fifo', 'ttl'] as const;
/**
 * Which evictable allocation the pool reclaims first under pressure: `'lru'` the least recently used, `'lfu'` the least
 * used, `'fifo'` the oldest, `'ttl'` the one with the least time left to live.
 */
export type EvictionPolicy = (typeof evictionPolicies)[number];

/** What a worker needs to map the pool. Plain data: travels through postMessage. */
export interface PoolShared {
  size: number;
  regionSize: number;
  regions: number;
  maxRun: number;
  maxLeases: number;
  /** Actor slots of the directory (its table may be larger than `maxAgents`): one usage and one quota word each. */
  agents: number;
  policy: EvictionPolicy;
  ttlMs: number;
  /** Date.now() when the pool was made: the clock's zero. */
  epoch: number;
  data: SharedArrayBuffer;
  bitmap: SharedArrayBuffer;
  meta: SharedArrayBuffer;
  usage: SharedArrayBuffer;
  quota: SharedArrayBuffer;
  leases: SharedArrayBuffer;
  counters: SharedArrayBuffer;
}

/** Options of the pool (`Runtime.start({ memory })`). */
export interface MemoryOptions {
  /** Bytes of the pool. Default 28 MiB. A multiple of `regionSize`. */
  size?: number;
  /** Bytes of one region: a power of two from 4 KiB. Default 64 KiB. */
  regionSize?: number;
  /** Most regions one allocation may span. Default: all of them (size / regionSize). */
  maxRegionsPerAllocation?: number;
  /** How evictable allocations are reclaimed under pressure. Default 'lru'. */
  eviction?: EvictionPolicy;
  /** For 'ttl': default time to live of an evictable allocation, ms. Default 60,000. */
  ttlMs?: number;
  /** Read-only loans outstanding at once, across the pool. Default 4096. */
  maxLeases?: number;
}

export function createPoolShared(
  options: Required<Omit<MemoryOptions, 'maxRegionsPerAllocation'>> & { maxRegionsPerAllocation: number },
  agents: number,
): PoolShared {
  const regions = options.size / options.regionSize;
  const meta = new SharedArrayBuffer(regions * kRegionColumns * 4);
  return {
    size: options.size,
    regionSize: options.regionSize,
    regions,
    maxRun: options.maxRegionsPerAllocation,
    maxLeases: options.maxLeases,
    agents,
    policy: options.eviction,
    ttlMs: options.ttlMs,
    epoch: Date.now(),
    data: new SharedArrayBuffer(options.size),
    bitmap: new SharedArrayBuffer(Math.ceil(regions / 32) * 4),
    meta,
    usage: new SharedArrayBuffer(agents * 4),
    quota: new SharedArrayBuffer(agents * 4),
    leases: new SharedArrayBuffer(options.maxLeases * kLeaseColumns * 4),
    counters: new SharedArrayBuffer(kCounterWords * 4),
  };
}
