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
 *
 * Memory ordering: a frame is written with ONE `push` (header and body copied
 * from the producer's scratch), and ringbuf.js publishes a push with a single
 * `Atomics.store` of the write index after copying. The consumer loads the
 * write index with `Atomics.load` before reading, so once it sees the header
 * it also sees the whole body: a torn frame cannot be observed.
 *
 * A message longer than one frame (see {@link Ring.maxFrameBody}) is split into
 * consecutive frames. Because the ring has one producer, the chunks of one
 * message are contiguous in it and the consumer reassembles them in order.
 *
 * Why ringbuf.js and not a hand-written ring: it is a small, kept,
 * wait-free SPSC ring whose push/pop are a handful of Atomics operations,
 * measured at ~20 M msg/s for 32-byte messages in batches, far above what the
 * codec and dispatch allow. Its one known weakness, read and write indices on
 * one cache line (false sharing, nodejs/help#5065), is why the consumer pops
 * a whole batch per ring with one index store (see `Transport.poll`) instead
 * of touching the indices per frame.
 *
 * The rings' SharedArrayBuffers are allocated by the main thread, so what a
 * thread has not read yet survives that thread's death.
 */
import * as ringbuf from 'ringbuf.js';

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

/** Allocates the shared storage of a ring able to hold `bytes` bytes. */
export function allocateRing(bytes: number): SharedArrayBuffer {
  return RingBuffer.getStorageForCapacity(bytes, Uint8Array);
}

/** A typed view over a ring's shared storage, with framed push and pop. */
export class Ring {
  readonly sab: SharedArrayBuffer;
  private readonly ring: ByteRing;
  /** Largest body a single frame carries; longer messages are split. */
  readonly maxFrameBody: number;

  /** ringbuf.js's read index and storage (byte 4, and from byte 8), for {@link peekAll} and {@link advanceTo}. */
  private readonly readIndex: Uint32Array;
  private readonly storage: Uint8Array;

  constructor(sab: SharedArrayBuffer) {
    this.sab = sab;
    this.ring = new RingBuffer(sab, Uint8Array);
    this.readIndex = new Uint32Array(sab, 4, 1);
    this.storage = new Uint8Array(sab, 8);
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
   * (the header in the first 4 bytes). Returns false, writing nothing, when the
   * ring lacks room for the whole frame.
   */
  pushFrame(scratch: Uint8Array, length: number): boolean {
    if (this.ring.availableWrite() < length) return false;
    // ringbuf.js copies with `set` when handed an exact-length view; small
    // frames go through its unrolled loop, which avoids allocating a view.
    const written = length > 256 ? this.ring.push(scratch.subarray(0, length)) : this.ring.push(scratch, length);
    if (written !== length) throw new Error(`ring invariant broken: pushed ${written} of ${length} bytes`);
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
      at += kHeaderBytes + body;
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
    const storage = this.storage;
    const size = storage.length;
    const read = Atomics.load(this.readIndex, 0);
    const first = Math.min(size - read, length);
    target.set(storage.subarray(read, read + first), 0);
    if (first < length) target.set(storage.subarray(0, length - first), first);
    return (read + length) % size;
  }

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
    const read = this.ring.pop(target, length, 0);
    if (read !== length) throw new Error(`ring invariant broken: read ${read} of ${length} bytes`);
  }
}
