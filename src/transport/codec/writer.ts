/**
 * The Writer: the growable scratch buffer values are encoded into, its
 * primitives (u8, u32, i32, f64, str), and the UTF-8 loop it shares with the
 * string writers of encode.ts.
 */

import { InvalidArgumentError } from '../../base/errors.js';
import * as format from './format.js';

// Module-local copies (see format.ts: an imported binding is read through its module cell at every use).
const { kManualUtf8Max } = format;

/** @internal */
export const textEncoder = new TextEncoder();

/**
 * A growable scratch buffer the encoder writes into. Keep one per sender and
 * `reset()` it per message: once grown to the largest message it allocates
 * nothing more.
 *
 * @example
 * const w = new Writer();
 * w.reset();
 * encodeValue(w, { type: 'inc', by: 1 });
 * ring.push(w.bytes, 0, w.pos);
 */
export class Writer {
  /** The scratch bytes (plain ArrayBuffer); valid bytes are `[0, pos)`. */
  bytes: Uint8Array;
  /** A DataView over `bytes.buffer`, replaced when `bytes` grows. */
  view: DataView;
  /** Where the next byte goes; the message so far is `bytes[0, pos)`. */
  pos = 0;

  constructor(initialBytes = 4096) {
    if (!Number.isInteger(initialBytes) || initialBytes < 1) {
      throw new InvalidArgumentError('initialBytes', 'an integer from 1 and up', initialBytes);
    }
    this.bytes = new Uint8Array(initialBytes);
    this.view = new DataView(this.bytes.buffer);
  }

  /** Starts a new message, keeping the buffer. */
  reset(): void {
    this.pos = 0;
  }

  /** Makes room for `extra` more bytes after `pos`, doubling the buffer as needed. */
  ensure(extra: number): void {
    if (this.pos + extra > this.bytes.length) this.grow(extra);
  }

  /** @internal Kept out of `ensure` so the check inlines and this does not. */
  grow(extra: number): void {
    const needed = this.pos + extra;
    let size = this.bytes.length * 2;
    while (size < needed) size *= 2;
    const bytes = new Uint8Array(size);
    bytes.set(this.bytes.subarray(0, this.pos));
    this.bytes = bytes;
    this.view = new DataView(bytes.buffer);
  }

  /** Appends one byte. */
  u8(v: number): void {
    this.ensure(1);
    this.bytes[this.pos++] = v;
  }

  /** Appends an unsigned 32-bit integer, little-endian. */
  u32(v: number): void {
    this.ensure(4);
    this.view.setUint32(this.pos, v, true);
    this.pos += 4;
  }

  /** Appends a signed 32-bit integer, little-endian. */
  i32(v: number): void {
    this.ensure(4);
    this.view.setInt32(this.pos, v, true);
    this.pos += 4;
  }

  /** Appends a float64, little-endian. */
  f64(v: number): void {
    this.ensure(8);
    this.view.setFloat64(this.pos, v, true);
    this.pos += 8;
  }

  /**
   * Writes `s` as a u32 byte length and UTF-8 (lone surrogates become U+FFFD).
   * Short strings take a JS loop; long ones TextEncoder.encodeInto.
   */
  str(s: string): void {
    const n = s.length;
    this.ensure(4 + 3 * n);
    const start = this.pos + 4;
    const written = n <= kManualUtf8Max ? writeUtf8(this.bytes, start, s, false) : textEncoder.encodeInto(s, this.bytes.subarray(start)).written;
    this.view.setUint32(this.pos, written, true);
    this.pos = start + written;
  }
}

/**
 * Writes `s` as UTF-8 at `bytes[at..]`; room for `3 * s.length` bytes must be
 * there. Returns the bytes written, or -1 at a lone surrogate when `strict`
 * (else the surrogate becomes U+FFFD).
 * @internal
 */
export function writeUtf8(bytes: Uint8Array, at: number, s: string, strict: boolean): number {
  let p = at;
  for (let i = 0, n = s.length; i < n; i++) {
    let c = s.charCodeAt(i);
    if (c < 0x80) {
      bytes[p++] = c;
      continue;
    }
    if (c < 0x800) {
      bytes[p++] = 0xc0 | (c >> 6);
      bytes[p++] = 0x80 | (c & 0x3f);
      continue;
    }
    if (c >= 0xd800 && c <= 0xdfff) {
      const next = i + 1 < n ? s.charCodeAt(i + 1) : 0;
      if (c <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
        const cp = 0x10000 + ((c - 0xd800) << 10) + (next - 0xdc00);
        bytes[p++] = 0xf0 | (cp >> 18);
        bytes[p++] = 0x80 | ((cp >> 12) & 0x3f);
        bytes[p++] = 0x80 | ((cp >> 6) & 0x3f);
        bytes[p++] = 0x80 | (cp & 0x3f);
        i++;
        continue;
      }
      if (strict) return -1;
      c = 0xfffd;
    }
    bytes[p++] = 0xe0 | (c >> 12);
    bytes[p++] = 0x80 | ((c >> 6) & 0x3f);
    bytes[p++] = 0x80 | (c & 0x3f);
  }
  return p - at;
}
