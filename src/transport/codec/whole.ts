/** Whole-buffer helpers for tests and cold paths: {@link encode} and {@link decode}. */

import { decodeValue } from './decode.js';
import { encodeValue } from './encode.js';
import { Reader, corrupt } from './reader.js';
import { Writer } from './writer.js';

let scratch: Writer | undefined;
let scratchBusy = false;
const kScratchKeepBytes = 1 << 20;

/**
 * Encodes a whole value into a fresh Uint8Array (a copy; the scratch buffer
 * behind it is reused). For cold paths: hot ones keep their own Writer.
 * @example
 * const bytes = encode({ type: 'inc', by: 1 });
 */
export function encode(value: unknown, rootPath?: string): Uint8Array {
  // Re-entrant calls (from an extension's write) get their own Writer.
  const w = scratchBusy ? new Writer(256) : (scratch ??= new Writer());
  const owned = !scratchBusy;
  scratchBusy = true;
  try {
    w.reset();
    encodeValue(w, value, rootPath);
    return w.bytes.slice(0, w.pos);
  } finally {
    if (owned) {
      scratchBusy = false;
      // Do not pin the buffer of one huge message forever.
      if (w.bytes.length > kScratchKeepBytes) scratch = undefined;
    }
  }
}

/**
 * Decodes a whole buffer holding exactly one encoded value.
 * @throws DecodeError (a SerializationError) when the bytes are malformed or have trailing bytes.
 */
export function decode(bytes: Uint8Array): unknown {
  const r = new Reader();
  r.reset(bytes, 0, bytes.length);
  const value = decodeValue(r);
  if (r.pos !== r.end) corrupt(r, `${r.end - r.pos} bytes left over after the value`);
  return value;
}
