/**
 * Message framing over one ringbuf.js ring: a single-producer single-consumer
 * byte ring in a SharedArrayBuffer. One ring exists per (sender thread,
 * receiver thread) pair, which is exactly ringbuf.js's SPSC contract.
 *
 * Frame layout (little-endian):
 *
 *   +-----------------+---------------------------+
 *   | u32 header      | body: header & kLengthMask |
 *   +-----------------+---------------------------+
 *   header bit 31 (kMoreFlag): the message continues in the next frame
 *   header bit 30 (kContinuedFlag): this frame continues a message begun in
 *                 an earlier frame (so a reader that starts mid-message, a
 *                 replacement thread or a peek, knows it is not a first frame)
 *   bits 0-29:    body length (frames are at most half a ring of <= 1 GiB)
 *   then 0-3 bytes of padding: every frame starts on a 4-byte boundary of
 *   the ring (`wordAlign`), so that frames are copied in and out of the
 *   shared memory a 32-bit word at a time (a byte loop, or `set`, into a
 *   SharedArrayBuffer costs 2-4x as much per byte; measured), as Aeron and
 *   Agrona align their records.
 *
 * Memory ordering: a frame (or a run of whole frames) is copied into the
 * storage first, then published with ONE `Atomics.store` of the write index.
 * The consumer loads the write index with `Atomics.load` before reading, so
 * once it sees the header it also sees the whole body: a torn frame cannot
 * be observed.
 *
 * A message longer than one frame (see {@link Ring.maxFrameBody}) is split into
 * consecutive frames. Because the ring has one producer, the chunks of one
 * message are contiguous in it and the consumer reassembles them in order.
 *
 * What ringbuf.js gives: the ring's shared layout (u32 write index at byte
 * 0, u32 read index at byte 4, storage from byte 8, one element kept empty so
 * that full and empty differ), its allocation, and `availableRead`,
 * `availableWrite` and `empty` over it. The copies in and out are ours
 * (`pushFrames`, `peekAll`): ringbuf.js's `push` and `pop` copy byte by byte
 * unless handed an exact-length view of a whole array, and load both indices
 * twice per push; word copies of aligned frames halved the sending thread's
 * cost per message in the ring (measured in a profile of tell-cross-thread).
 * Its known weakness, read and write indices on one cache line (false
 * sharing, nodejs/help#5065), is why the consumer takes a whole batch per
 * ring with one index store (see `Transport.poll`) instead of touching the
 * indices per frame.
 *
 * The rings' SharedArrayBuffers are allocated by the main thread, so what a
 * thread has not read yet survives that thread's death.
 */
import * as ringbuf from 'ringbuf.js';
import { WordSource, copyWords } from './word-source.js';

/** The part of ringbuf.js's RingBuffer we use (its shipped typings are not valid TypeScript). */
interface ByteRing {
  push(elements: Uint8Array, length?: number, offset?: number): number;
  pop(elements: Uint8Array, length?: number, offset?: number): number;
  empty(): boolean;
  capacity(): number;
  availableRead(): number;
  availableWrite(): number;
}
interface ByteRingClass {
  new (sab: SharedArrayBuffer, type: Uint8ArrayConstructor): ByteRing;
  getStorageForCapacity(capacity: number, type: Uint8ArrayConstructor): SharedArrayBuffer;
}
const RingBuffer = (ringbuf as unknown as { RingBuffer: ByteRingClass }).RingBuffer;

/** Bytes of the u32 frame header. */
export const kHeaderBytes = 4;
/** Set in a frame header when the message continues in the next frame. */
export const kMoreFlag = 0x8000_0000;
/** Set in a frame header when the frame continues a message begun in an earlier frame. */
export const kContinuedFlag = 0x4000_0000;
/** Mask of the body length in a frame header. */
export const kLengthMask = 0x3fff_ffff;

/** `n` rounded up to a whole number of 32-bit words: the bytes a frame of `n` takes, or where the frame after one ending at `n` starts. */
export function wordAlign(n: number): number {
  return (n + 3) & ~3;
}

/** Allocates the shared storage of a ring able to hold about `bytes` bytes (its storage a whole number of words). */
export function allocateRing(bytes: number): SharedArrayBuffer {
  // ringbuf.js keeps one element of its storage empty: capacity + 1 elements.
  return RingBuffer.getStorageForCapacity(wordAlign(Math.max(8, bytes)) - 1, Uint8Array);
}

/** A typed view over a ring's shared storage, with framed push and pop. */
export class Ring {
  readonly sab: SharedArrayBuffer;
  private readonly ring: ByteRing;
  /** Largest body a single frame carries; longer messages are split. */
  readonly maxFrameBody: number;

  /** ringbuf.js's read index and storage (byte 4, and from byte 8), for {@link peekAll} and {@link advanceTo}. */
  private readonly readIndex: Uint32Array;
  /** ringbuf.js's write index (byte 0), which only this ring's one producer stores (see `pushFrames`). */
  private readonly writeIndex: Uint32Array;
  private readonly storage: Uint8Array;
  /** The storage as 32-bit words, for the word copies in and out. */
  private readonly storageWords: Int32Array;
  /** What the producer copies from, as words. */
  private readonly source = new WordSource();
  /**
   * The write index as this ring's one producer last stored it (a ring is
   * written by one thread only, through one Ring: a replacement thread
   * makes its own Ring from the storage).
   */
  private write: number;
  /** The consumer's read index as the producer last loaded it: at or behind the true one. */
  private readSeen: number;

  constructor(sab: SharedArrayBuffer) {
    this.sab = sab;
    this.ring = new RingBuffer(sab, Uint8Array);
    this.readIndex = new Uint32Array(sab, 4, 1);
    this.writeIndex = new Uint32Array(sab, 0, 1);
    this.storage = new Uint8Array(sab, 8);
    if (this.storage.length % 4 !== 0) throw new Error(`a ring's storage must be whole words (allocateRing), got ${this.storage.length} bytes`);
    this.storageWords = new Int32Array(sab, 8, this.storage.length >> 2);
    this.write = Atomics.load(this.writeIndex, 0);
    this.readSeen = Atomics.load(this.readIndex, 0);
    // Leave room for the header, and keep frames at most half the ring so a
    // producer is not stalled waiting for the ring to be entirely empty.
    this.maxFrameBody = Math.max(64, Math.floor(this.ring.capacity() / 2) - kHeaderBytes);
  }

  /** Free bytes for the producer. */
  availableWrite(): number {
    return this.ring.availableWrite();
  }

  /** True when the consumer has nothing to read. */
  isEmpty(): boolean {
    return this.ring.empty();
  }

  /**
   * Pushes one frame whose header and body already sit in `scratch[0, length)`
   * (the header in the first 4 bytes), padded to a whole word with what
   * follows it in `scratch`. Returns false, writing nothing, when the ring
   * lacks room for the whole frame.
   */
  pushFrame(scratch: Uint8Array, length: number): boolean {
    return this.pushFrames(scratch, 0, length);
  }

  /**
   * Pushes `src[start, start + wordAlign(length))`, whole frames back to
   * back, with one store of the write index: a backlog goes out in one copy,
   * not a push per frame. False, writing nothing, when the ring lacks room
   * for all of it. Writes ringbuf.js's layout directly, as `peekAll` reads
   * it (one store of the write index, the copy by words; the read
   * index is loaded only when the one last seen leaves too little room): its
   * `push` copies byte by byte, and checks and loads the indices twice per
   * push.
   */
  pushFrames(src: Uint8Array, start: number, length: number): boolean {
    const span = wordAlign(length);
    const size = this.storage.length;
    const write = this.write;
    // ringbuf.js's room: one element stays empty, so that full and empty
    // differ. The consumer's index is read again only when the one last read
    // leaves too little room: it only moves forward, so an old value
    // understates the room, never overstates it, and the shared cache line
    // the consumer writes is not loaded on every push.
    let read = this.readSeen;
    if (size - 1 - ((write - read + size) % size) < span) {
      read = this.readSeen = Atomics.load(this.readIndex, 0);
      if (size - 1 - ((write - read + size) % size) < span) return false;
    }
    const first = Math.min(size - write, span);
    const words = this.source.wordsOf(src, start, span);
    if (words === undefined) {
      // Not word-aligned in its buffer, or ending in a partial word of it (never the transport's own sources).
      const storage = this.storage;
      for (let i = 0; i < first; i++) storage[write + i] = src[start + i] ?? 0;
      for (let i = first; i < span; i++) storage[i - first] = src[start + i] ?? 0;
    } else {
      const from = (src.byteOffset + start) >> 2;
      copyWords(this.storageWords, write >> 2, words, from, first >> 2);
      copyWords(this.storageWords, 0, words, from + (first >> 2), (span - first) >> 2);
    }
    this.write = (write + span) % size;
    Atomics.store(this.writeIndex, 0, this.write);
    return true;
  }

  /** Bytes the consumer can read now: always whole frames, since frames are published whole. */
  availableRead(): number {
    return this.ring.availableRead();
  }

  /**
   * Calls `each(body)` for the first frame of every message the consumer has
   * not read, without consuming anything: for the main thread, counting what
   * waits for a thread that died (its reader is gone, so only the producer
   * moves, and only forward). Frames say whether they continue a message
   * ({@link kContinuedFlag}), so a ring whose reader had taken the first part
   * of a split message (its tail is at the head of the ring) is read right.
   * Reads ringbuf.js's storage directly: its layout (u32 write index at byte
   * 0, u32 read index at byte 4, storage from byte 8) is part of what
   * `getStorageForCapacity` promises. Not a hot path: it copies what it reads.
   */
  peekMessages(each: (body: Uint8Array) => void): void {
    const write = Atomics.load(new Uint32Array(this.sab, 0, 1), 0);
    const read = Atomics.load(new Uint32Array(this.sab, 4, 1), 0);
    const storage = new Uint8Array(this.sab, 8);
    const size = storage.length;
    const length = (write - read + size) % size;
    const bytes = new Uint8Array(length);
    const first = Math.min(size - read, length);
    bytes.set(storage.subarray(read, read + first), 0);
    bytes.set(storage.subarray(0, length - first), first);
    const view = new DataView(bytes.buffer);
    for (let at = 0; at + kHeaderBytes <= length; ) {
      const header = view.getUint32(at, true);
      const body = header & kLengthMask;
      // A body past what the ring holds is not a message (and not read).
      if (body > length - at - kHeaderBytes) break;
      if ((header & kContinuedFlag) === 0) each(bytes.subarray(at + kHeaderBytes, at + kHeaderBytes + body));
      at = wordAlign(at + kHeaderBytes + body);
    }
  }

  /**
   * Copies the first `length` readable bytes (whole frames) into
   * `target[0, length)` without consuming them; returns the read index that
   * consuming them will store (see {@link advanceTo}). A journaling reader
   * takes a batch in three steps (copy, journal, consume) so that a thread
   * that dies in between leaves every message in the ring or in its journal.
   * Reads ringbuf.js's storage directly (its layout: see `peekMessages`).
   */
  peekAll(target: Uint8Array, length: number): number {
    const size = this.storage.length;
    const read = Atomics.load(this.readIndex, 0);
    const first = Math.min(size - read, length);
    // Keyed by the view: its `buffer` getter costs more than a small batch's copy (see word-source.ts).
    if (target !== this.target || this.targetWords.length < length >> 2) {
      this.target = target;
      this.targetWords = new Int32Array(target.buffer, target.byteOffset, target.length >> 2);
    }
    // Whole words: frames (and so the read index and `length`) are word-aligned.
    copyWords(this.targetWords, 0, this.storageWords, read >> 2, first >> 2);
    copyWords(this.targetWords, first >> 2, this.storageWords, 0, (length - first) >> 2);
    return (read + length) % size;
  }

  /** The last target seen by `peekAll`, and its bytes as words. */
  private target: Uint8Array | undefined;
  private targetWords: Int32Array<ArrayBufferLike> = new Int32Array(0);

  /**
   * Consumes up to read index `read` (from {@link peekAll}): one store, which
   * frees the room for the producer. Also used by the main thread to finish a
   * dead reader's batch that its journal holds (the reader is gone, so the
   * index is the main thread's to move; it only moves forward).
   */
  advanceTo(read: number): void {
    Atomics.store(this.readIndex, 0, read);
  }

  /**
   * Pops everything readable (whole frames) into `target[0, n)` with one
   * read of each index and one store: the consumer's per-batch cost, instead
   * of per frame, on indices that share a cache line with the producer's.
   */
  popAll(target: Uint8Array, length: number): void {
    this.advanceTo(this.peekAll(target, length));
  }
}
