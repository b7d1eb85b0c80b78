/**
 * The Reader: a cursor over one message's bytes (in place, often a ring's
 * shared memory), its bounds-checked primitives, the string decoders, and the
 * DecodeError helpers every reading function uses.
 */

import { DecodeError, InvalidArgumentError } from '../../base/errors.js';
import * as format from './format.js';
import { describeThrown } from './thrown.js';

// Module-local copies (see format.ts: an imported binding is read through its module cell at every use).
const { kManualDecodeMax, kMaxStringLength } = format;

const textDecoder = new TextDecoder();

/**
 * Reads values out of a byte range, typically a message in a ring. The bytes
 * are read in place; nothing decoded keeps a reference to them.
 *
 * @example
 * const r = new Reader();
 * r.reset(ringBytes, start, end);
 * const msg = decodeValue(r);
 */
export class Reader {
  /** The bytes being read (a plain Uint8Array view, possibly of shared memory). */
  bytes: Uint8Array = new Uint8Array(0);
  /** A DataView over the same bytes, indexed like `bytes`. */
  view: DataView = new DataView(this.bytes.buffer);
  /** The next byte to read. */
  pos = 0;
  /** One past the last byte of the message. */
  end = 0;

  /**
   * Points the reader at `bytes[start, end)`. `bytes` may be a view into a
   * SharedArrayBuffer; passing the same Uint8Array every time (a ring's view)
   * reuses the DataView instead of allocating one.
   */
  reset(bytes: Uint8Array, start: number, end: number): void {
    if (bytes !== this.bytes) {
      // A Buffer or other subclass could override `slice` (Buffer's returns a
      // view, not a copy); decoding relies on the plain Uint8Array methods.
      const plain = Object.getPrototypeOf(bytes) === Uint8Array.prototype ? bytes : new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      this.bytes = plain;
      this.view = new DataView(plain.buffer, plain.byteOffset, plain.byteLength);
    }
    if (!(start >= 0 && start <= end && end <= bytes.length)) {
      throw new InvalidArgumentError('start..end', `a range inside the ${bytes.length} bytes given`, `${start}..${end}`);
    }
    this.pos = start;
    this.end = end;
  }

  /** Reads one byte. The u8/u32/i32/f64 readers throw a SerializationError past `end`. */
  u8(): number {
    if (this.pos >= this.end) corrupt(this, 'the message ends inside a value');
    return this.bytes[this.pos++];
  }

  u32(): number {
    if (this.pos + 4 > this.end) corrupt(this, 'the message ends inside a value');
    const v = this.view.getUint32(this.pos, true);
    this.pos += 4;
    return v;
  }

  i32(): number {
    if (this.pos + 4 > this.end) corrupt(this, 'the message ends inside a value');
    const v = this.view.getInt32(this.pos, true);
    this.pos += 4;
    return v;
  }

  f64(): number {
    if (this.pos + 8 > this.end) corrupt(this, 'the message ends inside a value');
    const v = this.view.getFloat64(this.pos, true);
    this.pos += 8;
    return v;
  }

  /**
   * Throws a DecodeError unless `n` more bytes are left: for a reader about
   * to allocate for a declared count (at least one byte per item).
   */
  need(n: number): void {
    checkRemaining(this, n);
  }

  /** Reads a string written by {@link Writer.str}. */
  str(): string {
    const length = this.u32();
    const start = this.pos;
    checkRemaining(this, length);
    this.pos = start + length;
    return length <= kManualDecodeMax ? readUtf8(this.bytes, start, length) : readLongUtf8(this, start, length);
  }
}

// ---------------------------------------------------------------------------
// Strings.

/** @internal A UTF-8 run too long for the JS loop; a huge one may exceed the engine's longest string. */
export function readLongUtf8(r: Reader, start: number, n: number): string {
  try {
    return textDecoder.decode(r.bytes.subarray(start, start + n));
  } catch (thrown) {
    throw new DecodeError(`a string of ${n} bytes that cannot be built (${describeThrown(thrown)})`, start, { cause: thrown });
  }
}

/** @internal */
export function readUtf16(r: Reader): string {
  const n = r.u32();
  const start = r.pos;
  checkRemaining(r, 2 * n);
  if (n > kMaxStringLength) corrupt(r, `a string of ${n} code units, longer than this engine's longest string`);
  r.pos = start + 2 * n;
  const bytes = r.bytes;
  let s = '';
  const chunk: number[] = [];
  for (let i = 0; i < n; i++) {
    chunk.push(bytes[start + 2 * i] | (bytes[start + 2 * i + 1] << 8));
    if (chunk.length === 4096) {
      s += String.fromCharCode(...chunk);
      chunk.length = 0;
    }
  }
  return s + String.fromCharCode(...chunk);
}

/**
 * UTF-8 from `bytes[start, start + n)`: a JS loop for short runs, TextDecoder
 * for long ones. Either way the result is a string, malformed UTF-8 included,
 * and nothing outside the run is read: a sequence cut off by the end of the
 * run sends the whole run to TextDecoder (which replaces it with U+FFFD).
 * @internal
 */
export function readUtf8(bytes: Uint8Array, start: number, n: number): string {
  if (n > kManualDecodeMax) return textDecoder.decode(bytes.subarray(start, start + n));
  let s = '';
  const end = start + n;
  for (let p = start; p < end; ) {
    const b = bytes[p++];
    if (b < 0x80) {
      s += String.fromCharCode(b);
    } else if (p + (b < 0xe0 ? 1 : b < 0xf0 ? 2 : 3) > end) {
      return textDecoder.decode(bytes.subarray(start, end));
    } else if (b < 0xe0) {
      s += String.fromCharCode(((b & 0x1f) << 6) | (bytes[p++] & 0x3f));
    } else if (b < 0xf0) {
      s += String.fromCharCode(((b & 0x0f) << 12) | ((bytes[p++] & 0x3f) << 6) | (bytes[p++] & 0x3f));
    } else {
      const cp = ((b & 0x07) << 18) | ((bytes[p++] & 0x3f) << 12) | ((bytes[p++] & 0x3f) << 6) | (bytes[p++] & 0x3f);
      s += String.fromCharCode(0xd800 + ((cp - 0x10000) >> 10), 0xdc00 + ((cp - 0x10000) & 0x3ff));
    }
  }
  return s;
}

/** @internal */
export function latin1(bytes: Uint8Array, start: number, n: number): string {
  return String.fromCharCode.apply(null, bytes.subarray(start, start + n) as unknown as number[]);
}

// ---------------------------------------------------------------------------
// Malformed input.

/** @internal */
export function checkRemaining(r: Reader, n: number): void {
  if (n > r.end - r.pos) corrupt(r, `a length of ${n} runs past the end of the message (${r.end - r.pos} bytes left)`);
}

/** @internal */
export function corrupt(r: Reader, detail: string): never {
  throw new DecodeError(detail, r.pos);
}

/** @internal */
export function corruptAt(offset: number, detail: string): never {
  throw new DecodeError(detail, offset);
}
