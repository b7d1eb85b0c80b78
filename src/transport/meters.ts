/**
 * Counters in shared memory, one block per endpoint, for metrics
 * (`rt.metrics()`, src/observe/metrics.ts): the hot path bumps a word, the
 * main thread reads them all when Prometheus scrapes. No lock, no message,
 * no allocation per count.
 *
 * Layout: one SharedArrayBuffer of Int32 words, then one byte per actor slot.
 *
 *   line 0     header: kEndpointsWord, kSlotsWord, kSampleWord (written by the
 *              main thread: sample one message in N, 0 = histograms off),
 *              kModuleCountWord (entries claimed, bumped with Atomics.add)
 *   modules    kModules entries of kEntryWords: word 0 = label byte length + 1
 *              (0: not written yet), then the label's UTF-8 bytes
 *   blocks     one block of kBlockWords per endpoint (its own 64-byte lines):
 *
 *     kSent + path        messages sent, by path (local, cross-thread, remote)
 *     kAsks + what        asks started, timed out, aborted
 *     kHandled + module   messages handled, by module index
 *     kSpawned + module   actors started (not restarts, not recoveries)
 *     kStopped + module   actors stopped
 *     kRestarted + module actors restarted by their supervisor
 *     kHandlerTime + module * kHistWords   sampled handler time (log2 us buckets, then the sum in us)
 *     kMailboxTime        sampled time in mailbox
 *     kAskTime            sampled ask latency (sent to answered)
 *     kMailboxLength      sampled mailbox length at enqueue (log2 buckets of a count)
 *
 *   slot bytes  the module index of each slot's actor (for live actors by module)
 *
 * Who writes: every word of a block is written by the thread of its
 * endpoint only (a replacement thread continues its predecessor's block:
 * counts never go back). It writes with plain stores, as turns.ts does: this
 * is on the per-message path and a sequentially consistent store costs a
 * fence. Int32Array stores wrap at 2^32 by themselves. The main thread reads
 * with Atomics.load; an aligned 32-bit word is never torn, and a count read a
 * moment late is counted at the next read. The module table is written by any
 * thread: a slot is claimed with Atomics.add, its bytes written, then its
 * length word published with Atomics.store (so a reader that sees the length
 * sees the bytes). Two threads registering one module at once may each claim
 * an entry: the reader sums entries by label, so that costs only an entry.
 *
 * Wrap: a word holds a count modulo 2^32. The reader keeps the last raw value
 * of each word and a running total in a double, and adds the difference
 * modulo 2^32 ({@link foldDelta}); it must read every word before it moves by
 * 2^32 (the runtime folds every few seconds while metrics are on).
 */

/** Module indexes per block; the last one is 'other' (modules past the table). */
const kModules = 64;
/** The module index counts go to once the table is full. */
const kOtherModule = kModules - 1;
/** Log2 buckets of a histogram: bucket b holds values below 2^b (the last one: everything above). */
export const kBuckets = 28;
/** Words of one histogram: its buckets, then the sum of the values. */
export const kHistWords = kBuckets + 1;

const kLineWords = 16;
const kEndpointsWord = 0;
const kSlotsWord = 1;
const kSampleWord = 2;
const kModuleCountWord = 3;
const kLabelBytes = 124;
const kEntryWords = 1 + kLabelBytes / 4;
const kModulesStart = kLineWords;
const kBlocksStart = kModulesStart + Math.ceil((kModules * kEntryWords) / kLineWords) * kLineWords;

/** Paths of a sent message (`kSent + path`). */
export const kPathLocal = 0;
export const kPathCross = 1;
export const kPathRemote = 2;
/** Ask outcomes counted (`kAsks + what`). */
export const kAskStarted = 0;
export const kAskTimedOut = 1;
export const kAskAborted = 2;

/** Word offsets inside a block. */
export const kSent = 0;
export const kAsks = 4;
export const kHandled = kLineWords;
export const kSpawned = kHandled + kModules;
export const kStopped = kSpawned + kModules;
export const kRestarted = kStopped + kModules;
export const kHandlerTime = kRestarted + kModules;
export const kMailboxTime = kHandlerTime + kModules * kHistWords;
export const kAskTime = kMailboxTime + kHistWords;
export const kMailboxLength = kAskTime + kHistWords;
/** Words of one endpoint's block (whole 64-byte lines). */
const kBlockWords = Math.ceil((kMailboxLength + kHistWords) / kLineWords) * kLineWords;

/** Bytes of the shared buffer for `endpoints` endpoints and `slots` actor slots. */
function byteLength(endpoints: number, slots: number): number {
  return (kBlocksStart + endpoints * kBlockWords) * 4 + slots;
}

/** Allocates the counters of `endpoints` endpoints (the main thread does, at start). */
export function allocateMeters(endpoints: number, slots: number): SharedArrayBuffer {
  const sab = new SharedArrayBuffer(byteLength(endpoints, slots));
  const words = new Int32Array(sab, 0, kBlocksStart);
  words[kEndpointsWord] = endpoints;
  words[kSlotsWord] = slots;
  return sab;
}

/** The bucket of `value` (a duration in whole microseconds, or a count): 0 for 0 and below, else 1 + floor(log2 value), at most the last. */
export function bucketOf(value: number): number {
  if (!(value >= 1)) return 0;
  const b = 32 - Math.clz32(Math.min(value, 0x7fff_ffff));
  return b < kBuckets ? b : kBuckets - 1;
}

/** The difference between two readings of a wrapping 32-bit counter word: what was added in between (mod 2^32). */
export function foldDelta(last: number, raw: number): number {
  return (raw - last) >>> 0;
}

/** Both sides' view of the buffer. */
class MeterWords {
  protected readonly words: Int32Array;
  protected readonly bytes: Uint8Array;
  protected readonly slotBytes: Uint8Array;
  readonly endpoints: number;

  constructor(sab: SharedArrayBuffer) {
    const header = new Int32Array(sab, 0, kLineWords);
    this.endpoints = header[kEndpointsWord];
    const slots = header[kSlotsWord];
    const slotsAt = (kBlocksStart + this.endpoints * kBlockWords) * 4;
    this.words = new Int32Array(sab, 0, slotsAt / 4);
    this.bytes = new Uint8Array(sab, 0, slotsAt);
    this.slotBytes = new Uint8Array(sab, slotsAt, slots);
  }

  /** The label of module index `index`, undefined while its entry is not written. */
  protected label(index: number): string | undefined {
    if (index === kOtherModule) return 'other';
    const at = kModulesStart + index * kEntryWords;
    const length = Atomics.load(this.words, at) - 1;
    if (length < 0) return undefined;
    return new TextDecoder().decode(this.bytes.slice((at + 1) * 4, (at + 1) * 4 + length));
  }
}

/** The owner's side: one endpoint's block, and the module table. */
export class MeterWriter extends MeterWords {
  /** Index of this endpoint's block's first word. */
  private readonly base: number;

  constructor(sab: SharedArrayBuffer, endpoint: number) {
    super(sab);
    this.base = kBlocksStart + endpoint * kBlockWords;
  }

  /** Adds `n` to word `offset` of this endpoint's block. */
  add(offset: number, n: number): void {
    this.words[this.base + offset] += n;
  }

  /** Adds one to word `offset` of this endpoint's block. */
  bump(offset: number): void {
    this.words[this.base + offset]++;
  }

  /** Records `value` in the histogram at `offset` (its bucket, and its sum). */
  observe(offset: number, value: number): void {
    const words = this.words;
    const at = this.base + offset;
    words[at + bucketOf(value)]++;
    words[at + kBuckets] += value;
  }

  /** Sample one message in how many (0: histograms are off). */
  sampleEvery(): number {
    return Atomics.load(this.words, kSampleWord);
  }

  /** Records the module of the actor in `slot` (read when live actors are counted by module). */
  setSlotModule(slot: number, module: number): void {
    // A reused slot mostly has the same module already: a load spares the store's fence.
    if (slot >= 0 && slot < this.slotBytes.length && Atomics.load(this.slotBytes, slot) !== module) Atomics.store(this.slotBytes, slot, module);
  }

  /** The module index of `label`, claiming an entry when it has none (cold: once per module per thread). */
  moduleIndex(label: string): number {
    const encoded = new TextEncoder().encode(label).subarray(0, kLabelBytes);
    const claimed = Math.min(Atomics.load(this.words, kModuleCountWord), kOtherModule);
    for (let index = 0; index < claimed; index++) if (this.sameLabel(index, encoded)) return index;
    const index = Atomics.add(this.words, kModuleCountWord, 1);
    if (index >= kOtherModule) return kOtherModule;
    const at = kModulesStart + index * kEntryWords;
    this.bytes.set(encoded, (at + 1) * 4);
    Atomics.store(this.words, at, encoded.length + 1);
    return index;
  }

  private sameLabel(index: number, encoded: Uint8Array): boolean {
    const at = kModulesStart + index * kEntryWords;
    if (Atomics.load(this.words, at) - 1 !== encoded.length) return false;
    const start = (at + 1) * 4;
    for (let i = 0; i < encoded.length; i++) if (this.bytes[start + i] !== encoded[i]) return false;
    return true;
  }
}

/** The main thread's side: reads every block, folds the words into running totals. */
export class MeterReader extends MeterWords {
  /** Running totals per word of every block (doubles: they do not wrap). */
  private readonly totals: Float64Array;
  /** The raw word values at the last fold. */
  private readonly last: Int32Array;

  constructor(sab: SharedArrayBuffer) {
    super(sab);
    this.totals = new Float64Array(this.endpoints * kBlockWords);
    this.last = new Int32Array(this.endpoints * kBlockWords);
    this.fold();
  }

  /** Sets the sampling: one message in `every` (0: histograms off). */
  setSampleEvery(every: number): void {
    Atomics.store(this.words, kSampleWord, every);
  }

  /** Reads every word and adds what moved since the last fold to its total. */
  fold(): void {
    const words = this.words;
    const totals = this.totals;
    const last = this.last;
    for (let i = 0; i < totals.length; i++) {
      const raw = Atomics.load(words, kBlocksStart + i);
      totals[i] += foldDelta(last[i], raw);
      last[i] = raw;
    }
  }

  /** The total of word `offset` of `endpoint`'s block (as of the last fold). */
  total(endpoint: number, offset: number): number {
    return this.totals[endpoint * kBlockWords + offset];
  }

  /** The total of word `offset` over every endpoint. */
  sum(offset: number): number {
    let sum = 0;
    for (let e = 0; e < this.endpoints; e++) sum += this.totals[e * kBlockWords + offset];
    return sum;
  }

  /** Module labels by index (entries not written yet are left out; 'other' is kOtherModule). */
  modules(): Map<number, string> {
    const labels = new Map<number, string>();
    const claimed = Math.min(Atomics.load(this.words, kModuleCountWord), kOtherModule);
    for (let index = 0; index < claimed; index++) {
      const label = this.label(index);
      if (label !== undefined) labels.set(index, label);
    }
    labels.set(kOtherModule, 'other');
    return labels;
  }

  /** The module index recorded for `slot`. */
  slotModule(slot: number): number {
    return Atomics.load(this.slotBytes, slot);
  }
}
