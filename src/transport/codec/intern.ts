/**
 * The intern cache for short ASCII strings the decoder reads (object keys
 * above all).
 */

import * as format from './format.js';
import * as reader from './reader.js';
import type { Reader } from './reader.js';

// Module-local copies (see format.ts: an imported binding is read through its module cell at every use).
const { kInternMax, kInternSlots } = format;
const { latin1 } = reader;

// Short ASCII strings (object keys above all) repeat from message to message.
// Returning the same string object each time spares an allocation and lets
// V8's property-store caches hit by identity. Two-way set-associative, so two
// keys of one message that hash alike do not evict each other on every
// message (a direct-mapped cache thrashed on `ratio` and `lastError`): a new
// string takes a bucket's first way and pushes the old one to the second.
// Each way keeps a copy of its string's bytes, since comparing bytes to bytes
// is cheaper than to charCodeAt.
const internCache: string[] = new Array<string>(kInternSlots).fill('');
const internBytes = new Uint8Array(kInternSlots * kInternMax);
const internView = new DataView(internBytes.buffer);
const internLengths = new Uint8Array(kInternSlots);

/** @internal */
export function readInterned(r: Reader, start: number, n: number): string {
  // Hash and compare four bytes at a time: a byte loop was most of the cost.
  const bytes = r.bytes;
  const view = r.view;
  const words = n & ~3;
  let hash = n;
  for (let i = 0; i < words; i += 4) hash = Math.imul(hash ^ view.getUint32(start + i, true), 0x01000193);
  for (let i = words; i < n; i++) hash = Math.imul(hash ^ bytes[start + i], 0x01000193);
  hash ^= hash >>> 15;
  const bucket = (hash >>> 5) & (kInternSlots / 2 - 1);
  const first = 2 * bucket;
  if (internMatches(first, r, start, n)) return internCache[first];
  if (internMatches(first + 1, r, start, n)) return internCache[first + 1];
  internCache[first + 1] = internCache[first];
  internLengths[first + 1] = internLengths[first];
  internBytes.copyWithin((first + 1) * kInternMax, first * kInternMax, (first + 1) * kInternMax);
  const s = n === 0 ? '' : latin1(bytes, start, n);
  internCache[first] = s;
  internLengths[first] = n;
  const at = first * kInternMax;
  for (let i = 0; i < n; i++) internBytes[at + i] = bytes[start + i];
  return s;
}

function internMatches(way: number, r: Reader, start: number, n: number): boolean {
  if (internLengths[way] !== n) return false;
  const at = way * kInternMax;
  const view = r.view;
  const words = n & ~3;
  for (let i = 0; i < words; i += 4) if (internView.getUint32(at + i, true) !== view.getUint32(start + i, true)) return false;
  const bytes = r.bytes;
  for (let i = words; i < n; i++) if (internBytes[at + i] !== bytes[start + i]) return false;
  return true;
}
