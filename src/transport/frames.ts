/**
 * Reading frames back out of a batch of ring bytes (the header layout is in
 * ring.ts, what a body holds, by kind, in kinds.ts): where a frame ends, and
 * the reassembly of a message split over several frames. Kept apart from the transport so that the checks that stand
 * between untrusted bytes and the rest of the runtime can be tested and
 * fuzzed on their own (test/fuzz.test.ts).
 *
 * Today the bytes come from threads of this process; with clustering they
 * will come from other processes. So a header is not trusted: a frame whose
 * header or body runs past the bytes read is reported, never read (the batch
 * buffer is reused, and what lies past the batch is an older batch's bytes),
 * and a split message never grows its buffer past the limit it is read
 * under (`maxMessageBytes`, which every sender checks before sending).
 *
 * Hot path: `frameEnd` is a few comparisons per frame and allocates nothing;
 * a Reassembly is allocated once per inbound ring.
 */
import { DecodeError } from '../base/errors.js';
import { kHeaderBytes, kLengthMask } from './ring.js';

/** The u32 frame header at `bytes[at, at + 4)`, little-endian; `at + 4` must be within the bytes. */
export function frameHeader(bytes: Uint8Array, at: number): number {
  return (bytes[at] | (bytes[at + 1] << 8) | (bytes[at + 2] << 16) | (bytes[at + 3] << 24)) >>> 0;
}

/**
 * Where the frame that starts at `at` ends (one past its last body byte) in
 * `bytes[0, length)`, or -1 when its header or its body runs past `length`.
 */
export function frameEnd(bytes: Uint8Array, at: number, length: number): number {
  if (at + kHeaderBytes > length) return -1;
  const end = at + kHeaderBytes + (frameHeader(bytes, at) & kLengthMask);
  return end <= length ? end : -1;
}

/** The DecodeError for the frame at `at` that {@link frameEnd} refused. */
export function truncatedFrameError(bytes: Uint8Array, at: number, length: number): DecodeError {
  if (at + kHeaderBytes > length) {
    return new DecodeError(`a frame header cut off (${length - at} of ${kHeaderBytes} bytes)`, at);
  }
  const body = frameHeader(bytes, at) & kLengthMask;
  return new DecodeError(`a frame declares a body of ${body} bytes, ${length - at - kHeaderBytes} are there`, at);
}

const kEmpty = new Uint8Array(0);
/** First buffer of a split message (grown by doubling, never past the limit). */
const kFirstBytes = 1024;

/**
 * The parts of one message split over frames, read so far from one ring.
 * Bounded: a message whose parts add up to more than `limit` bytes is not
 * kept; its remaining parts are skipped up to its last frame.
 */
export class Reassembly {
  /** The parts so far are `bytes[0, length)`. */
  bytes: Uint8Array = kEmpty;
  length = 0;
  /** A split message is under way: its first frame was read, its last not yet. */
  active = false;
  /** The message under way grew past `limit`: its parts are skipped, not kept. */
  oversized = false;
  /** Bytes the message under way adds up to, kept or not. */
  declared = 0;
  /** The largest message kept, in bytes (the receiver's `maxMessageBytes`). */
  readonly limit: number;

  constructor(limit: number) {
    this.limit = limit;
  }

  /**
   * Adds `source[start, end)` to the message under way (starting one if none
   * is). Returns false when the message is, or now becomes, larger than
   * `limit`: nothing more is stored for it.
   */
  append(source: Uint8Array, start: number, end: number): boolean {
    this.active = true;
    const n = end - start;
    this.declared += n;
    if (this.oversized) return false;
    const needed = this.length + n;
    if (needed > this.limit) {
      // Checked before growing: a stream of "more" frames cannot make us
      // allocate past the limit.
      this.oversized = true;
      this.bytes = kEmpty;
      this.length = 0;
      return false;
    }
    if (needed > this.bytes.length) {
      const grown = new Uint8Array(Math.min(this.limit, Math.max(needed, this.bytes.length * 2, kFirstBytes)));
      grown.set(this.bytes.subarray(0, this.length));
      this.bytes = grown;
    }
    this.bytes.set(source.subarray(start, end), this.length);
    this.length = needed;
    return true;
  }

  /** Forgets the message under way (handed on, dropped, or refused); lets go of its buffer. */
  clear(): void {
    this.bytes = kEmpty;
    this.length = 0;
    this.declared = 0;
    this.active = false;
    this.oversized = false;
  }
}
