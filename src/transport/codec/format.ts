/**
 * The codec's wire format: the tag byte that starts every value, the limits
 * the encoder and decoder share, and the typed-array kinds. Everything here
 * is the codec's own (@internal) except kMaxDepth, which index.ts exports.
 *
 * The codec's hot files take these (and their other imports from this
 * folder) as module-local consts, `const { kTagNull } = format;`, not as
 * named imports: V8 folds a module's own const into the code it optimizes
 * (a tag becomes an immediate in readAny's switch, a function a direct
 * call), but reads an imported binding through its module cell at every
 * use. Split into files with plain imports, the codec ran 8-10% more
 * instructions per small message (measured under valgrind).
 *
 * Wire format: one tag byte per value, then its payload (little-endian):
 *
 *   0x00 undefined   0x01 null   0x02 false   0x03 true
 *   0x04 int32       i32                        (integers outside 0..63)
 *   0x05 float64     f64                        (NaN, +-Infinity, -0, fractions)
 *   0x06 bigint64    i64                        (bigints that fit 64 bits)
 *   0x07 bigint      u8 sign, str(hex of |v|)   (any other bigint)
 *   0x08 ascii       u8 length, bytes           (ASCII strings up to 255 chars)
 *   0x09 utf8        u32 length, bytes          (other well-formed strings)
 *   0x0a utf16       u32 units, 2 bytes each    (strings with lone surrogates)
 *   0x0b object      u32 count, u32 key bytes, string key * count,
 *                    value * count (keys as one block: see readPlainObject)
 *   0x0c null-proto object, same payload
 *   0x0d array       u32 length, value * length
 *   0x0e Map         u32 count, (key, value) * count
 *   0x0f Set         u32 count, value * count
 *   0x10 Date        f64 time (NaN for an invalid Date)
 *   0x11 RegExp      str source, str flags
 *   0x12 ArrayBuffer u32 length, bytes
 *   0x13 view        u8 kind (see kViewKinds), u32 byte length, bytes
 *   0x14 Error       name, message, stack|undefined, cause flag [, cause],
 *                    u32 count, (string key, value) * count
 *   0x15 extension   u8 extension tag, whatever the extension writes
 *   0xc0..0xff       the integers 0..63, in the tag byte itself
 *
 */

import { Buffer } from 'node:buffer';

// ---------------------------------------------------------------------------
// Wire tags (see the table above).

export const kTagUndefined = 0x00;
export const kTagNull = 0x01;
export const kTagFalse = 0x02;
export const kTagTrue = 0x03;
export const kTagInt32 = 0x04;
export const kTagFloat64 = 0x05;
export const kTagBigInt64 = 0x06;
export const kTagBigInt = 0x07;
export const kTagAscii = 0x08;
export const kTagUtf8 = 0x09;
export const kTagUtf16 = 0x0a;
export const kTagObject = 0x0b;
export const kTagNullProtoObject = 0x0c;
export const kTagArray = 0x0d;
export const kTagMap = 0x0e;
export const kTagSet = 0x0f;
export const kTagDate = 0x10;
export const kTagRegExp = 0x11;
export const kTagArrayBuffer = 0x12;
export const kTagView = 0x13;
export const kTagError = 0x14;
export const kTagExtension = 0x15;
/** Tags from here to 0xff are the integers 0..63 themselves. */
export const kFixintBase = 0xc0;
export const kFixintMax = 0xff - kFixintBase;

/** The deepest nesting of containers (objects, arrays, Maps, Sets, errors, extensions) a message may have. */
export const kMaxDepth = 512;
/** ASCII strings up to this many chars take the one-byte-length fast path. */
export const kAsciiMax = 255;
/** Strings up to this many chars are UTF-8 encoded by a JS loop; longer ones by TextEncoder.encodeInto. */
export const kManualUtf8Max = 256;
/** UTF-8 runs up to this many bytes are decoded by a JS loop; longer ones by TextDecoder. */
export const kManualDecodeMax = 64;
/** Decoded ASCII strings up to this many bytes go through the intern cache. */
export const kInternMax = 32;
export const kInternSlots = 4096;
/** V8's String::kMaxLength on 64-bit platforms: a longer string throws a RangeError. */
export const kMaxStringLength = 2 ** 29 - 24;
/** Decoded arrays up to this length are preallocated. */
export const kPreallocMax = 1 << 16;

/** Typed array and DataView constructors, by their kind byte on the wire. */
export const kViewKinds = [
  Int8Array,
  Uint8Array,
  Uint8ClampedArray,
  Int16Array,
  Uint16Array,
  Int32Array,
  Uint32Array,
  Float32Array,
  Float64Array,
  BigInt64Array,
  BigUint64Array,
  DataView,
  Buffer,
] as const;
export const kViewKindUint8 = 1;
export const kViewKindDataView = 11;
export const kViewKindBuffer = 12;
