/**
 * The message codec: frames the values actors send each other into bytes that
 * cross threads through SharedArrayBuffer rings, and rebuilds them on the far
 * side.
 *
 * Hand-written, because no library gives us all three of:
 * - error paths naming where an unencodable value sits (`msg.payload.cb`,
 *   `msg.items[3]`), not just "could not clone";
 * - class extensions (actor refs now, memory handles later) keyed by class;
 * - encoding straight into a reusable scratch buffer with zero allocations per
 *   message, and decoding straight out of the (shared) ring bytes.
 * `v8.serialize` allocates a Buffer per call and takes ~3.6 us for
 * `{ type: 'inc', by: 1 }`; `JSON.stringify` + `encodeInto` ~0.9 us and loses
 * types. `bench/codec.bench.ts` measures all three.
 *
 * Where the time goes, measured: encoding `{ type: 'inc', by: 1 }` allocates
 * nothing (V8 does box a double-valued object field when it is read, one
 * HeapNumber each; no JS encoder avoids that). Decoding allocates only the
 * values themselves: short ASCII strings come from an intern cache, and an
 * object of a shape seen before is built by a compiled object literal instead
 * of key-by-key stores (see readPlainObject).
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
 * `str(...)` is {@link Writer.str}: u32 byte length, then UTF-8.
 *
 * What survives the trip, and what does not:
 * - Strings round-trip exactly, lone surrogates included (a string that is not
 *   well-formed UTF-16 is written as raw code units). {@link Writer.str} alone
 *   is plain UTF-8 and turns lone surrogates into U+FFFD, like TextEncoder.
 * - Plain objects (prototype `Object.prototype` or `null`, which is kept):
 *   own enumerable string keys, in order; getters are read and arrive as data
 *   properties; symbol-keyed properties are ignored. A getter that throws
 *   becomes a SerializationError naming the property.
 * - Arrays: holes arrive as `undefined` (the array comes back dense); non-index
 *   properties on an array are dropped.
 * - Shared references are copied, not shared (a value reachable twice arrives
 *   twice); a value that contains itself is refused as a circular reference.
 * - Map and Set keep insertion order. RegExp keeps source and flags, not
 *   `lastIndex`. A Date keeps its time, invalid Dates included.
 * - ArrayBuffer, typed arrays and DataView copy only the view's bytes, never
 *   the rest of the backing buffer; they arrive over a fresh plain ArrayBuffer
 *   (offset 0), also when the original lived in a SharedArrayBuffer. Element
 *   bytes are copied in platform byte order: both ends share one process.
 *   A Node Buffer arrives as a Buffer. A bare SharedArrayBuffer is refused
 *   (copying it would silently unshare it) unless an extension claims it.
 * - Errors: name, message, stack, `cause` (recursively) and own enumerable
 *   properties (`actor`, `option`, ...). A property whose value cannot be
 *   encoded is dropped, for errors only: they carry diagnostics, and a bad
 *   diagnostic must not hide the error. On decode the class is looked up by
 *   `name` in {@link errorClasses}, else a plain `Error` carrying that name.
 * - Extensions ({@link registerExtension}) match an instance whose prototype is
 *   exactly `ctor.prototype` first, then any instance of `ctor` (a subclass
 *   instance is written by its base class's extension and arrives as what
 *   that extension's `read` returns). Both threads must register the same
 *   extensions under the same tags.
 * - Refused: functions, symbols, class instances without an extension (boxed
 *   primitives such as `new Number(1)` included), WeakMap/WeakSet/WeakRef/
 *   Promise, circular references, nesting deeper than {@link kMaxDepth}
 *   containers.
 * - Errors rebuild as genuine Error objects (`util.types.isNativeError`
 *   holds) with the class's prototype, made by the built-in Error constructor
 *   with `new.target` set to the class: the class's own constructor, whose
 *   parameters we cannot know, never runs.
 * - Malformed bytes (corrupt, truncated, a declared length larger than what
 *   is left, nesting deeper than {@link kMaxDepth}, a value that cannot be
 *   rebuilt) make the decoder throw a {@link DecodeError} (a
 *   SerializationError) naming the offset, never another error: every length
 *   is checked against the bytes left before anything is read or allocated
 *   for it, so nothing is read past `Reader.end` and no allocation is larger
 *   than a small multiple of the message. An extension's `read` that throws is
 *   reported the same way, with what it threw as `cause`.
 *
 * Paths in SerializationError start at `rootPath` (default `msg`):
 * `msg.a.b`, `msg["odd key"]`, `msg.items[3]`; a Map key `msg.m.keys()[2]`,
 * a Map value `msg.m.get("k")` (primitive keys) or `msg.m.values()[2]`; a Set
 * member `msg.s.values()[2]`.
 */

import { Buffer } from 'node:buffer';
import { DecodeError, InvalidArgumentError, SerializationError, describeValue, errorClasses, typeName } from '../base/errors.js';

// ---------------------------------------------------------------------------
// Wire tags (see the table above).

const kTagUndefined = 0x00;
const kTagNull = 0x01;
const kTagFalse = 0x02;
const kTagTrue = 0x03;
const kTagInt32 = 0x04;
const kTagFloat64 = 0x05;
const kTagBigInt64 = 0x06;
const kTagBigInt = 0x07;
const kTagAscii = 0x08;
const kTagUtf8 = 0x09;
const kTagUtf16 = 0x0a;
const kTagObject = 0x0b;
const kTagNullProtoObject = 0x0c;
const kTagArray = 0x0d;
const kTagMap = 0x0e;
const kTagSet = 0x0f;
const kTagDate = 0x10;
const kTagRegExp = 0x11;
const kTagArrayBuffer = 0x12;
const kTagView = 0x13;
const kTagError = 0x14;
const kTagExtension = 0x15;
/** Tags from here to 0xff are the integers 0..63 themselves. */
const kFixintBase = 0xc0;
const kFixintMax = 0xff - kFixintBase;

/** The deepest nesting of containers (objects, arrays, Maps, Sets, errors, extensions) a message may have. */
export const kMaxDepth = 512;
/** ASCII strings up to this many chars take the one-byte-length fast path. */
const kAsciiMax = 255;
/** Strings up to this many chars are UTF-8 encoded by a JS loop; longer ones by TextEncoder.encodeInto. */
const kManualUtf8Max = 256;
/** UTF-8 runs up to this many bytes are decoded by a JS loop; longer ones by TextDecoder. */
const kManualDecodeMax = 64;
/** Decoded ASCII strings up to this many bytes go through the intern cache. */
const kInternMax = 32;
const kInternSlots = 4096;
/** V8's String::kMaxLength on 64-bit platforms: a longer string throws a RangeError. */
const kMaxStringLength = 2 ** 29 - 24;
/** Decoded arrays up to this length are preallocated. */
const kPreallocMax = 1 << 16;

/** Typed array and DataView constructors, by their kind byte on the wire. */
const kViewKinds = [
  Int8Array, Uint8Array, Uint8ClampedArray, Int16Array, Uint16Array, Int32Array, Uint32Array,
  Float32Array, Float64Array, BigInt64Array, BigUint64Array, DataView, Buffer,
] as const;
const kViewKindUint8 = 1;
const kViewKindDataView = 11;
const kViewKindBuffer = 12;

const textEncoder = new TextEncoder();
const textDecoder = new TextDecoder();

// ---------------------------------------------------------------------------
// Writer and Reader.

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
    const written = n <= kManualUtf8Max
      ? writeUtf8(this.bytes, start, s, false)
      : textEncoder.encodeInto(s, this.bytes.subarray(start)).written;
    this.view.setUint32(this.pos, written, true);
    this.pos = start + written;
  }
}

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
      const plain = Object.getPrototypeOf(bytes) === Uint8Array.prototype
        ? bytes
        : new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
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
// Extensions.

/**
 * Teaches the codec one class. `write` appends the instance's payload (with
 * the Writer's primitives or nested {@link encodeValue} calls) and `read`
 * reads exactly that back.
 *
 * @example
 * registerExtension({
 *   tag: 1, ctor: ActorRef,
 *   write: (w, ref) => w.u32(ref.id),
 *   read: (r) => new ActorRef(r.u32()),
 * });
 */
export interface CodecExtension<T> {
  /** 0..255, unique; the same on every thread. */
  tag: number;
  ctor: abstract new (...args: never[]) => T;
  write(w: Writer, value: T): void;
  read(r: Reader): T;
}

const extensionsByTag: Array<CodecExtension<unknown> | undefined> = new Array<CodecExtension<unknown> | undefined>(256).fill(undefined);
const extensionsByProto = new Map<object, CodecExtension<unknown>>();

/** Classes the codec encodes itself; an extension may not claim them. */
const kNativeCtors: ReadonlySet<unknown> = new Set<unknown>([
  Object, Array, Map, Set, Date, RegExp, ArrayBuffer, Error, ...kViewKinds,
]);

/**
 * Registers a class extension (see {@link CodecExtension}). Register the same
 * extensions on every thread that sends or receives them.
 * @throws InvalidArgumentError on a tag or class already registered, a tag
 * outside 0..255, or a class the codec encodes natively.
 */
export function registerExtension<T>(ext: CodecExtension<T>): void {
  const { tag, ctor } = ext;
  if (!Number.isInteger(tag) || tag < 0 || tag > 255) {
    throw new InvalidArgumentError('ext.tag', 'an integer from 0 to 255', tag);
  }
  const taken = extensionsByTag[tag];
  if (taken !== undefined) {
    throw new InvalidArgumentError('ext.tag', `a tag not already registered (${tag} is taken by ${taken.ctor.name})`, tag);
  }
  if (typeof ctor !== 'function' || typeof ctor.prototype !== 'object' || ctor.prototype === null) {
    throw new InvalidArgumentError('ext.ctor', 'a class', ctor);
  }
  if (kNativeCtors.has(ctor)) {
    throw new InvalidArgumentError('ext.ctor', 'a class the codec does not encode itself', ctor);
  }
  if (extensionsByProto.has(ctor.prototype as object)) {
    throw new InvalidArgumentError('ext.ctor', 'a class not already registered', ctor);
  }
  if (typeof ext.write !== 'function' || typeof ext.read !== 'function') {
    throw new InvalidArgumentError('ext', 'an object with `write` and `read` functions', ext);
  }
  extensionsByTag[tag] = ext as CodecExtension<unknown>;
  extensionsByProto.set(ctor.prototype as object, ext as CodecExtension<unknown>);
}

// ---------------------------------------------------------------------------
// Encoder state: the chain of containers being written, kept so an error can
// name its path and a cycle can be caught, without building path strings on
// the happy path. Module-level because one thread encodes one value at a
// time; an extension's nested encodeValue call continues the same chain.

const kKindObject = 0;
const kKindArray = 1;
const kKindMap = 2;
const kKindSet = 3;
const kKindExtension = 4;

/** ancestors[d] is the container at depth d; keys[d] which of its children is being written. */
const ancestors: unknown[] = new Array<unknown>(kMaxDepth).fill(undefined);
/** Object key, array/Set index, Map entry (2i for its key, 2i+1 for its value), or an extension's child label. */
const keys: Array<string | number> = new Array<string | number>(kMaxDepth).fill(0);
const kinds: number[] = new Array<number>(kMaxDepth).fill(0);
let depth = 0;
let rootPathOfActive = 'msg';
/** Whether Object.prototype has enumerable keys: -1 not yet checked in this message, else 0 or 1. */
let prototypePolluted = -1;

function objectPrototypeIsPolluted(): boolean {
  if (prototypePolluted < 0) {
    prototypePolluted = 0;
    for (const _ in Object.prototype) {
      prototypePolluted = 1;
      break;
    }
  }
  return prototypePolluted === 1;
}

/** What the codec does with objects whose prototype is a known built-in one. */
const kBuiltinMap = 1;
const kBuiltinSet = 2;
const kBuiltinDate = 3;
const kBuiltinRegExp = 4;
const kBuiltinArrayBuffer = 5;
const kBuiltinView = 6;
const kBuiltinRefused = 7;
const builtinByProto = new Map<object, number>([
  [Map.prototype, kBuiltinMap],
  [Set.prototype, kBuiltinSet],
  [Date.prototype, kBuiltinDate],
  [RegExp.prototype, kBuiltinRegExp],
  [ArrayBuffer.prototype, kBuiltinArrayBuffer],
  ...kViewKinds.map((ctor) => [ctor.prototype as object, kBuiltinView] as [object, number]),
  [WeakMap.prototype, kBuiltinRefused],
  [WeakSet.prototype, kBuiltinRefused],
  [WeakRef.prototype, kBuiltinRefused],
  [FinalizationRegistry.prototype, kBuiltinRefused],
  [Promise.prototype, kBuiltinRefused],
  [SharedArrayBuffer.prototype, kBuiltinRefused],
]);
const viewKindByProto = new Map<object, number>(kViewKinds.map((ctor, kind) => [ctor.prototype as object, kind]));

const kIdentifier = /^[A-Za-z_$][\w$]*$/;
const hasOwn = Object.prototype.hasOwnProperty;

/**
 * Appends one value to `w`. On failure `w.pos` is left where it was.
 * Safe to call from an extension's `write`: the nested value's path then
 * continues the outer one (`msg.ref` + `.${rootPath}` when one is given).
 * @throws SerializationError naming the path of the value that cannot be
 * sent and what it is.
 * @example
 * encodeValue(w, { type: 'inc', by: 1 });
 */
export function encodeValue(w: Writer, value: unknown, rootPath?: string): void {
  const start = w.pos;
  const entryDepth = depth;
  if (entryDepth === 0) {
    rootPathOfActive = rootPath ?? 'msg';
    prototypePolluted = -1;
  } else if (kinds[entryDepth - 1] === kKindExtension) {
    keys[entryDepth - 1] = rootPath ?? '';
  }
  try {
    writeAny(w, value);
  } catch (thrown) {
    w.pos = start;
    const err = thrown instanceof SerializationError
      ? thrown
      : withCause(new SerializationError(pathAt(depth), `reading it threw ${describeThrown(thrown)}`), thrown);
    unwindTo(entryDepth);
    throw err;
  }
}

function writeAny(w: Writer, value: unknown): void {
  switch (typeof value) {
    case 'string':
      writeString(w, value);
      return;
    case 'number':
      writeNumber(w, value);
      return;
    case 'object':
      if (value === null) writeTag(w, kTagNull);
      else writeObjectLike(w, value);
      return;
    case 'boolean':
      writeTag(w, value ? kTagTrue : kTagFalse);
      return;
    case 'undefined':
      writeTag(w, kTagUndefined);
      return;
    case 'bigint':
      writeBigInt(w, value);
      return;
    case 'function':
      fail(`functions cannot be sent, got ${describeValue(value)}`);
    case 'symbol':
      fail(`symbols cannot be sent, got ${describeValue(value)}`);
  }
}

function writeTag(w: Writer, tag: number): void {
  if (w.pos >= w.bytes.length) w.grow(1);
  w.bytes[w.pos++] = tag;
}

function writeNumber(w: Writer, v: number): void {
  // `(v | 0) === v` holds for -0 too; `1 / -0` is -Infinity, which sends it to float64.
  if ((v | 0) === v && (v !== 0 || 1 / v > 0)) {
    if (v >= 0 && v <= kFixintMax) {
      writeTag(w, kFixintBase + v);
      return;
    }
    w.ensure(5);
    w.bytes[w.pos] = kTagInt32;
    w.view.setInt32(w.pos + 1, v, true);
    w.pos += 5;
    return;
  }
  w.ensure(9);
  w.bytes[w.pos] = kTagFloat64;
  w.view.setFloat64(w.pos + 1, v, true);
  w.pos += 9;
}

function writeBigInt(w: Writer, v: bigint): void {
  if (BigInt.asIntN(64, v) === v) {
    w.ensure(9);
    w.bytes[w.pos] = kTagBigInt64;
    w.view.setBigInt64(w.pos + 1, v, true);
    w.pos += 9;
    return;
  }
  // Hex is linear-time both ways (V8 converts power-of-two radixes directly),
  // unlike peeling 64-bit words off with shifts.
  w.ensure(2);
  w.bytes[w.pos] = kTagBigInt;
  w.bytes[w.pos + 1] = v < 0n ? 1 : 0;
  w.pos += 2;
  w.str((v < 0n ? -v : v).toString(16));
}

function writeString(w: Writer, s: string): void {
  const n = s.length;
  if (n <= kAsciiMax) {
    w.ensure(2 + n);
    const bytes = w.bytes;
    const at = w.pos + 2;
    let i = 0;
    for (; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0x80) break;
      bytes[at + i] = c;
    }
    if (i === n) {
      bytes[at - 2] = kTagAscii;
      bytes[at - 1] = n;
      w.pos = at + n;
      return;
    }
  }
  writeUnicodeString(w, s);
}

function writeUnicodeString(w: Writer, s: string): void {
  const n = s.length;
  let written = -1;
  if (n <= kManualUtf8Max) {
    w.ensure(5 + 3 * n);
    written = writeUtf8(w.bytes, w.pos + 5, s, true);
  } else if (s.isWellFormed()) {
    w.ensure(5 + 3 * n);
    written = textEncoder.encodeInto(s, w.bytes.subarray(w.pos + 5)).written;
  }
  if (written >= 0) {
    w.bytes[w.pos] = kTagUtf8;
    w.view.setUint32(w.pos + 1, written, true);
    w.pos += 5 + written;
    return;
  }
  // Lone surrogates: UTF-8 cannot carry them, so send the raw code units.
  w.ensure(5 + 2 * n);
  w.bytes[w.pos] = kTagUtf16;
  w.view.setUint32(w.pos + 1, n, true);
  let at = w.pos + 5;
  const bytes = w.bytes;
  for (let i = 0; i < n; i++, at += 2) {
    const c = s.charCodeAt(i);
    bytes[at] = c & 0xff;
    bytes[at + 1] = c >>> 8;
  }
  w.pos = at;
}

/**
 * Writes `s` as UTF-8 at `bytes[at..]`; room for `3 * s.length` bytes must be
 * there. Returns the bytes written, or -1 at a lone surrogate when `strict`
 * (else the surrogate becomes U+FFFD).
 */
function writeUtf8(bytes: Uint8Array, at: number, s: string, strict: boolean): number {
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

function writeObjectLike(w: Writer, value: object): void {
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto === Object.prototype) {
    writePlainObject(w, value, kTagObject);
    return;
  }
  if (proto === Array.prototype) {
    writeArray(w, value as unknown[]);
    return;
  }
  if (proto === null) {
    writePlainObject(w, value, kTagNullProtoObject);
    return;
  }
  if (extensionsByProto.size !== 0) {
    const ext = extensionsByProto.get(proto as object);
    if (ext !== undefined) {
      writeExtension(w, value, ext);
      return;
    }
  }
  switch (builtinByProto.get(proto as object)) {
    case kBuiltinMap:
      writeMap(w, value as Map<unknown, unknown>);
      return;
    case kBuiltinSet:
      writeSet(w, value as Set<unknown>);
      return;
    case kBuiltinDate:
      w.ensure(9);
      w.bytes[w.pos] = kTagDate;
      w.view.setFloat64(w.pos + 1, (value as Date).getTime(), true);
      w.pos += 9;
      return;
    case kBuiltinRegExp:
      writeTag(w, kTagRegExp);
      w.str((value as RegExp).source);
      w.str((value as RegExp).flags);
      return;
    case kBuiltinArrayBuffer: {
      const ab = value as ArrayBuffer;
      w.ensure(5 + ab.byteLength);
      w.bytes[w.pos] = kTagArrayBuffer;
      w.view.setUint32(w.pos + 1, ab.byteLength, true);
      w.bytes.set(new Uint8Array(ab), w.pos + 5);
      w.pos += 5 + ab.byteLength;
      return;
    }
    case kBuiltinView:
      writeView(w, value as ArrayBufferView, viewKindByProto.get(proto as object)!);
      return;
    case kBuiltinRefused:
      fail(refusedBuiltinReason(value));
  }
  for (let p = proto as object | null; p !== null && extensionsByProto.size !== 0; p = Object.getPrototypeOf(p) as object | null) {
    const ext = extensionsByProto.get(p);
    if (ext !== undefined) {
      writeExtension(w, value, ext);
      return;
    }
  }
  if (value instanceof Error) {
    writeError(w, value);
    return;
  }
  const name = typeName(value);
  fail(name === 'object'
    ? `an object with a custom prototype cannot be sent (only plain objects), got ${describeValue(value)}`
    : `class instance of ${name} cannot be sent; register a CodecExtension for ${name}, got ${describeValue(value)}`);
}

function refusedBuiltinReason(value: object): string {
  if (value instanceof Promise) return 'a Promise cannot be sent; await it and send its value';
  if (value instanceof SharedArrayBuffer) {
    return 'a SharedArrayBuffer cannot be sent through the codec (copying would unshare it); send a view of it to copy the bytes';
  }
  return `a ${typeName(value)} cannot be sent: its contents are not observable`;
}

/** Pushes a container on the chain, refusing cycles and excess depth. Returns its depth. */
function enter(container: object, kind: number): number {
  const d = depth;
  if (d >= kMaxDepth) fail(`nesting deeper than ${kMaxDepth} levels`);
  for (let i = 0; i < d; i++) {
    if (ancestors[i] === container) fail(`circular reference (the value contains itself; it first appears at ${pathAt(i)})`);
  }
  ancestors[d] = container;
  kinds[d] = kind;
  depth = d + 1;
  return d;
}

function leave(d: number): void {
  ancestors[d] = undefined;
  depth = d;
}

/** Drops the chain above `d` after a throw, so it pins no user objects. */
function unwindTo(d: number): void {
  for (let i = d; i < depth && i < kMaxDepth; i++) ancestors[i] = undefined;
  depth = d;
}

function writePlainObject(w: Writer, obj: object, tag: number): void {
  const d = enter(obj, kKindObject);
  w.ensure(9);
  w.bytes[w.pos] = tag;
  const countAt = w.pos + 1;
  w.pos += 9;
  const blockStart = w.pos;
  // for-in walks V8's enum cache and reads each value by field index; it is
  // several times faster than Object.keys + keyed loads. It also lists
  // inherited enumerable keys, which only a polluted Object.prototype has.
  // Checking hasOwn per key costs ~11 ns once objects are megamorphic, so it
  // runs only when Object.prototype has an enumerable key (checked once per
  // message); a prototype of null has nothing to inherit.
  const checkOwn = tag === kTagObject && objectPrototypeIsPolluted();
  // Keys first, as one block the decoder can match against known shapes in
  // one comparison; then the values, by a second (cheap) for-in.
  let count = 0;
  for (const key in obj) {
    if (checkOwn && !hasOwn.call(obj, key)) continue;
    writeString(w, key);
    count++;
  }
  w.view.setUint32(countAt, count, true);
  w.view.setUint32(countAt + 4, w.pos - blockStart, true);
  let written = 0;
  for (const key in obj) {
    if (checkOwn && !hasOwn.call(obj, key)) continue;
    keys[d] = key;
    const value = (obj as Record<string, unknown>)[key];
    if (typeof value === 'number') writeNumber(w, value);
    else writeAny(w, value);
    written++;
  }
  if (written !== count) fail('the object changed while it was being encoded (a getter added or deleted properties)');
  leave(d);
}

function writeArray(w: Writer, arr: unknown[]): void {
  const d = enter(arr, kKindArray);
  const n = arr.length;
  w.ensure(5);
  w.bytes[w.pos] = kTagArray;
  w.view.setUint32(w.pos + 1, n, true);
  w.pos += 5;
  for (let i = 0; i < n; i++) {
    keys[d] = i;
    // Numbers inline: passed to writeAny, an element of a double array would
    // be boxed into a fresh HeapNumber first.
    const value = arr[i];
    if (typeof value === 'number') writeNumber(w, value);
    else writeAny(w, value);
  }
  leave(d);
}

function writeMap(w: Writer, map: Map<unknown, unknown>): void {
  const d = enter(map, kKindMap);
  w.ensure(5);
  w.bytes[w.pos] = kTagMap;
  const countAt = w.pos + 1;
  w.pos += 5;
  let i = 0;
  for (const [key, value] of map) {
    keys[d] = 2 * i;
    writeAny(w, key);
    keys[d] = 2 * i + 1;
    writeAny(w, value);
    i++;
  }
  w.view.setUint32(countAt, i, true);
  leave(d);
}

function writeSet(w: Writer, set: Set<unknown>): void {
  const d = enter(set, kKindSet);
  w.ensure(5);
  w.bytes[w.pos] = kTagSet;
  const countAt = w.pos + 1;
  w.pos += 5;
  let i = 0;
  for (const value of set) {
    keys[d] = i++;
    writeAny(w, value);
  }
  w.view.setUint32(countAt, i, true);
  leave(d);
}

function writeView(w: Writer, view: ArrayBufferView, kind: number): void {
  const length = view.byteLength;
  w.ensure(6 + length);
  w.bytes[w.pos] = kTagView;
  w.bytes[w.pos + 1] = kind;
  w.view.setUint32(w.pos + 2, length, true);
  // Only the view's own bytes: never the rest of its (maybe huge, maybe shared) buffer.
  const source = kind === kViewKindUint8 ? (view as Uint8Array) : new Uint8Array(view.buffer, view.byteOffset, length);
  w.bytes.set(source, w.pos + 6);
  w.pos += 6 + length;
}

function writeExtension(w: Writer, value: object, ext: CodecExtension<unknown>): void {
  const d = enter(value, kKindExtension);
  keys[d] = '';
  w.ensure(2);
  w.bytes[w.pos] = kTagExtension;
  w.bytes[w.pos + 1] = ext.tag;
  w.pos += 2;
  try {
    ext.write(w, value);
  } catch (thrown) {
    if (thrown instanceof SerializationError) throw thrown;
    throw withCause(
      new SerializationError(pathAt(d), `the codec extension for ${ext.ctor.name} (tag ${ext.tag}) threw ${describeThrown(thrown)}`),
      thrown,
    );
  }
  leave(d);
}

function writeError(w: Writer, err: Error): void {
  const d = enter(err, kKindObject);
  writeTag(w, kTagError);
  const name = readQuietly(err, 'name');
  const message = readQuietly(err, 'message');
  const stack = readQuietly(err, 'stack');
  writeString(w, typeof name === 'string' ? name : 'Error');
  writeString(w, typeof message === 'string' ? message : '');
  if (typeof stack === 'string') writeString(w, stack);
  else writeTag(w, kTagUndefined);

  // The cause: a flag byte, then the value; if the value cannot be encoded
  // the flag is rewritten to "no cause" and the bytes dropped.
  writeTag(w, 0);
  const causeFlagAt = w.pos - 1;
  if (hasOwn.call(err, 'cause')) {
    keys[d] = 'cause';
    if (writeDroppable(w, d, () => (err as { cause?: unknown }).cause)) w.bytes[causeFlagAt] = 1;
  }

  w.ensure(4);
  const countAt = w.pos;
  w.pos += 4;
  let count = 0;
  for (const key in err) {
    if (!hasOwn.call(err, key) || key === 'stack' || key === 'message' || key === 'cause') continue;
    keys[d] = key;
    const keyAt = w.pos;
    writeString(w, key);
    if (writeDroppable(w, d, () => (err as unknown as Record<string, unknown>)[key])) count++;
    else w.pos = keyAt;
  }
  w.view.setUint32(countAt, count, true);
  leave(d);
}

/** Writes the value `read` returns; on any failure rewinds and returns false. For error properties only. */
function writeDroppable(w: Writer, d: number, read: () => unknown): boolean {
  const start = w.pos;
  try {
    writeAny(w, read());
    return true;
  } catch {
    w.pos = start;
    unwindTo(d + 1);
    return false;
  }
}

function readQuietly(obj: object, key: string): unknown {
  try {
    return (obj as Record<string, unknown>)[key];
  } catch {
    return undefined;
  }
}

function fail(reason: string): never {
  throw new SerializationError(pathAt(depth), reason);
}

function withCause(err: SerializationError, cause: unknown): SerializationError {
  Object.defineProperty(err, 'cause', { value: cause, writable: true, configurable: true, enumerable: false });
  return err;
}

function describeThrown(thrown: unknown): string {
  return thrown instanceof Error ? `${thrown.name}: ${thrown.message}` : describeValue(thrown);
}

/** The path of the value at depth `upTo` of the current chain. Error paths only. */
function pathAt(upTo: number): string {
  let path = rootPathOfActive;
  for (let d = 0; d < upTo && d < kMaxDepth; d++) path += segment(d);
  return path;
}

function segment(d: number): string {
  const key = keys[d];
  switch (kinds[d]) {
    case kKindObject:
      return typeof key === 'string' && kIdentifier.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`;
    case kKindArray:
      return `[${key}]`;
    case kKindSet:
      return `.values()[${key}]`;
    case kKindMap: {
      const index = (key as number) >> 1;
      if (((key as number) & 1) === 0) return `.keys()[${index}]`;
      let mapKey: unknown;
      try {
        mapKey = [...(ancestors[d] as Map<unknown, unknown>).keys()][index];
      } catch {
        return `.values()[${index}]`;
      }
      if (typeof mapKey === 'string') return `.get(${JSON.stringify(mapKey)})`;
      if (typeof mapKey === 'bigint') return `.get(${mapKey}n)`;
      if (mapKey === null || (typeof mapKey !== 'object' && typeof mapKey !== 'function' && typeof mapKey !== 'symbol')) {
        return `.get(${String(mapKey)})`;
      }
      return `.values()[${index}]`;
    }
    default:
      return key === '' ? '' : `.${key}`;
  }
}

// ---------------------------------------------------------------------------
// Decoder.

/**
 * Reads one value from `r` (written by {@link encodeValue}).
 * @throws DecodeError (a SerializationError) when the bytes are malformed.
 */
export function decodeValue(r: Reader): unknown {
  const stagedFrom = stackTop;
  try {
    const value = readAny(r, extensionLevel);
    if (r.pos > r.end) corrupt(r, 'the value runs past the end of the message');
    return value;
  } catch (err) {
    for (let i = stagedFrom; i < stackTop; i++) valueStack[i] = undefined;
    stackTop = stagedFrom;
    throw err;
  }
}

function readAny(r: Reader, level: number): unknown {
  const at = r.pos;
  if (at >= r.end) corrupt(r, 'the message ends before its value does');
  const tag = r.bytes[at];
  r.pos = at + 1;
  if (tag >= kFixintBase) return tag - kFixintBase;
  switch (tag) {
    case kTagAscii: {
      const n = r.bytes[at + 1];
      r.pos = at + 2 + n;
      // Negated so that a length byte past the end of `bytes` (undefined, so
      // NaN) fails too.
      if (!(r.pos <= r.end)) corruptAt(at, 'a string runs past the end of the message');
      return n <= kInternMax ? readInterned(r, at + 2, n) : latin1(r.bytes, at + 2, n);
    }
    case kTagObject:
      return readPlainObject(r, level);
    case kTagInt32:
      return r.i32();
    case kTagFloat64:
      return r.f64();
    case kTagUndefined:
      return undefined;
    case kTagNull:
      return null;
    case kTagFalse:
      return false;
    case kTagTrue:
      return true;
    case kTagArray:
      return readArray(r, level);
    case kTagUtf8: {
      const n = r.u32();
      const start = r.pos;
      checkRemaining(r, n);
      r.pos = start + n;
      return n <= kManualDecodeMax ? readUtf8(r.bytes, start, n) : readLongUtf8(r, start, n);
    }
    case kTagUtf16:
      return readUtf16(r);
    case kTagNullProtoObject:
      return readObject(r, Object.create(null) as object, level);
    case kTagBigInt64: {
      checkRemaining(r, 8);
      const v = r.view.getBigInt64(r.pos, true);
      r.pos += 8;
      return v;
    }
    case kTagBigInt:
      return readBigInt(r);
    case kTagMap:
      return readMap(r, level);
    case kTagSet:
      return readSet(r, level);
    case kTagDate:
      return new Date(r.f64());
    case kTagRegExp:
      return readRegExp(r);
    case kTagArrayBuffer: {
      const n = r.u32();
      return copyOut(r, n).buffer;
    }
    case kTagView:
      return readView(r);
    case kTagError:
      return readError(r, level);
    case kTagExtension:
      return readExtension(r, level);
    default:
      corruptAt(at, `unknown tag 0x${tag.toString(16)}`);
  }
}

// Building an object by assigning keys one at a time costs a map transition
// per key through a megamorphic store (~1 us for 20 keys, as slow as
// JSON.parse); an object literal with those keys builds it in one step
// (~25 ns). So each shape (key sequence) seen kShapeCompileAfter times gets a
// compiled literal, `(v, b) => ({ "type": v[b], "by": v[b + 1] })`.
//
// An object's keys travel as one block before its values, so a shape is
// recognised by hashing and comparing that block four bytes at a time, with
// no per-key work at all. Values are staged on a stack for the literal
// (nested objects stage above their parent's). Objects with many keys, and
// null-prototype ones, take the assignment path; so do one-off shapes
// (dictionaries), which never reach kShapeCompileAfter.
const kShapeMaxKeys = 32;
const kShapeMaxBlockBytes = 1024;
const kShapeSlots = 1024;
const kShapeCompileAfter = 4;
type ShapeBuilder = (values: unknown[], base: number) => object;
interface Shape {
  /** The key block as it appears on the wire. */
  readonly block: Uint8Array;
  readonly blockView: DataView;
  readonly keys: readonly string[];
  sightings: number;
  build: ShapeBuilder | undefined;
}
const shapes: Array<Shape | undefined> = new Array<Shape | undefined>(kShapeSlots).fill(undefined);
const valueStack: unknown[] = [];
let stackTop = 0;
/** False once `new Function` has been refused (--disallow-code-generation-from-strings). */
let canCompileShapes = true;

function readPlainObject(r: Reader, level: number): object {
  if (level >= kMaxDepth) corrupt(r, `nesting deeper than ${kMaxDepth} levels`);
  const count = r.u32();
  const blockBytes = r.u32();
  const blockStart = r.pos;
  checkRemaining(r, blockBytes + count);
  if (count > kShapeMaxKeys || blockBytes > kShapeMaxBlockBytes) return readObjectEntries(r, {}, count, blockBytes, level);

  const view = r.view;
  const words = blockBytes & ~3;
  let hash = blockBytes;
  for (let i = 0; i < words; i += 4) hash = Math.imul(hash ^ view.getUint32(blockStart + i, true), 0x01000193);
  for (let i = words; i < blockBytes; i++) hash = Math.imul(hash ^ r.bytes[blockStart + i], 0x01000193);
  hash ^= hash >>> 15;
  // Two-way set-associative, like the intern cache: two shapes that hash
  // alike must not evict each other forever (neither would ever compile).
  const first = 2 * ((hash >>> 7) & (kShapeSlots / 2 - 1));
  let shape = shapes[first];
  if (shape === undefined || !sameBlock(shape, r, blockStart, blockBytes, count)) {
    shape = shapes[first + 1];
    if (shape === undefined || !sameBlock(shape, r, blockStart, blockBytes, count)) {
      const block = r.bytes.slice(blockStart, blockStart + blockBytes);
      const keys = readKeyBlock(r, count, blockBytes);
      shape = { block, blockView: new DataView(block.buffer), keys, sightings: 0, build: undefined };
      shapes[first + 1] = shapes[first];
      shapes[first] = shape;
    }
  }
  r.pos = blockStart + blockBytes;
  const keys = shape.keys;

  let build = shape.build;
  if (build === undefined && ++shape.sightings >= kShapeCompileAfter && canCompileShapes) {
    build = shape.build = compileShape(keys);
  }
  if (build === undefined) {
    const target = {};
    for (let i = 0; i < count; i++) assignEntry(target, keys[i], readAny(r, level + 1));
    return target;
  }
  const base = stackTop;
  stackTop = base + count;
  for (let i = 0; i < count; i++) valueStack[base + i] = readAny(r, level + 1);
  const obj = build(valueStack, base);
  // Drop the staged values so the stack pins nothing between messages.
  for (let i = base; i < base + count; i++) valueStack[i] = undefined;
  stackTop = base;
  return obj;
}

function sameBlock(shape: Shape, r: Reader, start: number, n: number, count: number): boolean {
  // The count too: a corrupt count with a known key block must not take the
  // shape's keys (readKeyBlock, which would refuse it, does not run on a hit).
  if (shape.block.length !== n || shape.keys.length !== count) return false;
  const view = r.view;
  const known = shape.blockView;
  const words = n & ~3;
  for (let i = 0; i < words; i += 4) if (known.getUint32(i, true) !== view.getUint32(start + i, true)) return false;
  const bytes = r.bytes;
  const block = shape.block;
  for (let i = words; i < n; i++) if (block[i] !== bytes[start + i]) return false;
  return true;
}

/** Parses an object's key block (the reader at its start), checking it is exactly `blockBytes` long. */
function readKeyBlock(r: Reader, count: number, blockBytes: number): string[] {
  const end = r.pos + blockBytes;
  const keys = new Array<string>(count);
  for (let i = 0; i < count; i++) keys[i] = readKey(r);
  if (r.pos !== end) corrupt(r, `an object's keys take ${r.pos - end + blockBytes} bytes, not ${blockBytes}`);
  return keys;
}

function compileShape(keys: readonly string[]): ShapeBuilder | undefined {
  // Keys are JSON string literals (valid JS); `__proto__` is written
  // computed, since `"__proto__": v` in a literal would set the prototype.
  const fields = keys.map((key, i) => `${key === '__proto__' ? '["__proto__"]' : JSON.stringify(key)}: v[b + ${i}]`);
  try {
    return new Function('v', 'b', `return { ${fields.join(', ')} };`) as ShapeBuilder;
  } catch {
    canCompileShapes = false;
    return undefined;
  }
}

function assignEntry(target: object, key: string, value: unknown): void {
  // Plain assignment of "__proto__" would set the prototype instead.
  if (key === '__proto__') Object.defineProperty(target, key, { value, writable: true, enumerable: true, configurable: true });
  else (target as Record<string, unknown>)[key] = value;
}

function readObject(r: Reader, obj: object, level: number): object {
  if (level >= kMaxDepth) corrupt(r, `nesting deeper than ${kMaxDepth} levels`);
  const count = r.u32();
  const blockBytes = r.u32();
  checkRemaining(r, blockBytes + count);
  return readObjectEntries(r, obj, count, blockBytes, level);
}

function readObjectEntries(r: Reader, obj: object, count: number, blockBytes: number, level: number): object {
  const keys = readKeyBlock(r, count, blockBytes);
  for (let i = 0; i < count; i++) assignEntry(obj, keys[i], readAny(r, level + 1));
  return obj;
}

function readKey(r: Reader): string {
  const at = r.pos;
  const bytes = r.bytes;
  if (bytes[at] === kTagAscii) {
    const n = bytes[at + 1];
    r.pos = at + 2 + n;
    if (!(r.pos <= r.end)) corruptAt(at, 'an object key runs past the end of the message');
    return n <= kInternMax ? readInterned(r, at + 2, n) : latin1(bytes, at + 2, n);
  }
  const key = readAny(r, kMaxDepth - 1);
  if (typeof key !== 'string') corrupt(r, `an object key is a ${typeName(key)}`);
  return key;
}

function readArray(r: Reader, level: number): unknown[] {
  if (level >= kMaxDepth) corrupt(r, `nesting deeper than ${kMaxDepth} levels`);
  const n = r.u32();
  checkRemaining(r, n);
  // Preallocating is twice as fast as push, but V8 gives a huge `new Array(n)`
  // slow dictionary elements.
  if (n > kPreallocMax) {
    const arr: unknown[] = [];
    for (let i = 0; i < n; i++) arr.push(readAny(r, level + 1));
    return arr;
  }
  const arr = new Array<unknown>(n);
  const bytes = r.bytes;
  for (let i = 0; i < n; i++) {
    // Small integers inline: a call to readAny per element was half the cost.
    const at = r.pos;
    const tag = bytes[at];
    if (tag >= kFixintBase && at < r.end) {
      r.pos = at + 1;
      arr[i] = tag - kFixintBase;
    } else {
      arr[i] = readAny(r, level + 1);
    }
  }
  return arr;
}

function readMap(r: Reader, level: number): Map<unknown, unknown> {
  if (level >= kMaxDepth) corrupt(r, `nesting deeper than ${kMaxDepth} levels`);
  const n = r.u32();
  checkRemaining(r, 2 * n);
  const map = new Map<unknown, unknown>();
  for (let i = 0; i < n; i++) {
    const key = readAny(r, level + 1);
    map.set(key, readAny(r, level + 1));
  }
  return map;
}

function readSet(r: Reader, level: number): Set<unknown> {
  if (level >= kMaxDepth) corrupt(r, `nesting deeper than ${kMaxDepth} levels`);
  const n = r.u32();
  checkRemaining(r, n);
  const set = new Set<unknown>();
  for (let i = 0; i < n; i++) set.add(readAny(r, level + 1));
  return set;
}

function readView(r: Reader): ArrayBufferView {
  const kind = r.u8();
  const n = r.u32();
  const ctor = kViewKinds[kind];
  if (ctor === undefined) corrupt(r, `unknown typed array kind ${kind}`);
  const copy = copyOut(r, n);
  if (kind === kViewKindUint8) return copy;
  if (kind === kViewKindDataView) return new DataView(copy.buffer);
  if (kind === kViewKindBuffer) return Buffer.from(copy.buffer);
  const elementSize = (ctor as { BYTES_PER_ELEMENT: number }).BYTES_PER_ELEMENT;
  if (n % elementSize !== 0) corrupt(r, `${ctor.name} of ${n} bytes`);
  return new (ctor as Uint8ArrayConstructor)(copy.buffer);
}

/** Copies the next `n` bytes into a fresh plain ArrayBuffer (never a view of the ring). */
function copyOut(r: Reader, n: number): Uint8Array {
  const start = r.pos;
  checkRemaining(r, n);
  r.pos = start + n;
  return r.bytes.slice(start, start + n);
}

/** Nesting level of the extension whose `read` is running (its nested decodeValue calls continue from it). */
let extensionLevel = 0;

function readExtension(r: Reader, level: number): unknown {
  // An extension's read may call decodeValue, which may meet another
  // extension: counted like any container, or crafted input would recurse
  // until the stack overflows.
  if (level >= kMaxDepth) corrupt(r, `nesting deeper than ${kMaxDepth} levels`);
  const at = r.pos;
  const extTag = r.u8();
  const ext = extensionsByTag[extTag];
  if (ext === undefined) corrupt(r, `no codec extension is registered for tag ${extTag} on this thread`);
  const outer = extensionLevel;
  extensionLevel = level + 1;
  try {
    return ext.read(r);
  } catch (thrown) {
    if (thrown instanceof DecodeError) throw thrown;
    // A constructor refusing what it read (or a bug in a read): still
    // malformed input to whoever called decodeValue.
    throw new DecodeError(`the codec extension for ${ext.ctor.name} (tag ${extTag}) threw ${describeThrown(thrown)}`, at, { cause: thrown });
  } finally {
    extensionLevel = outer;
  }
}

function readBigInt(r: Reader): bigint {
  const negative = r.u8() === 1;
  const at = r.pos;
  const hex = r.str();
  let magnitude: bigint;
  try {
    // BigInt('0x') would be 0n; the encoder never writes an empty magnitude.
    if (hex.length === 0) throw new SyntaxError('no digits');
    magnitude = BigInt(`0x${hex}`);
  } catch (thrown) {
    throw new DecodeError(`a bigint whose magnitude is not hex digits (${describeThrown(thrown)})`, at, { cause: thrown });
  }
  return negative ? -magnitude : magnitude;
}

function readRegExp(r: Reader): RegExp {
  const at = r.pos;
  const source = r.str();
  const flags = r.str();
  try {
    return new RegExp(source, flags);
  } catch (thrown) {
    throw new DecodeError(`a RegExp that does not compile (${describeThrown(thrown)})`, at, { cause: thrown });
  }
}

/** A UTF-8 run too long for the JS loop; a huge one may exceed the engine's longest string. */
function readLongUtf8(r: Reader, start: number, n: number): string {
  try {
    return textDecoder.decode(r.bytes.subarray(start, start + n));
  } catch (thrown) {
    throw new DecodeError(`a string of ${n} bytes that cannot be built (${describeThrown(thrown)})`, start, { cause: thrown });
  }
}

function readError(r: Reader, level: number): Error {
  if (level >= kMaxDepth) corrupt(r, `nesting deeper than ${kMaxDepth} levels`);
  const name = readAny(r, level + 1);
  const message = readAny(r, level + 1);
  const stack = readAny(r, level + 1);
  const hasCause = r.u8() === 1;
  const cause = hasCause ? readAny(r, level + 1) : undefined;
  if (typeof name !== 'string' || typeof message !== 'string') corrupt(r, 'an error without a name or message');

  // A genuine Error object (util.types.isNativeError holds) whose prototype
  // is the class's: the class's own constructor never runs, since we cannot
  // know its parameters. Stack capture is off, the stack is the sender's.
  const cls = errorClasses.get(name) ?? Error;
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  let err: Error;
  try {
    err = Reflect.construct(Error, [], cls) as Error;
  } finally {
    Error.stackTraceLimit = limit;
  }
  const hidden = { writable: true, enumerable: false, configurable: true } as const;
  Object.defineProperty(err, 'message', { ...hidden, value: message });
  if (typeof stack === 'string') Object.defineProperty(err, 'stack', { ...hidden, value: stack });
  else delete (err as { stack?: string }).stack;
  if (hasCause) Object.defineProperty(err, 'cause', { ...hidden, value: cause });

  const count = r.u32();
  checkRemaining(r, 2 * count);
  for (let i = 0; i < count; i++) {
    const key = readKey(r);
    const value = readAny(r, level + 1);
    Object.defineProperty(err, key, { value, writable: true, enumerable: true, configurable: true });
  }
  if (err.name !== name) Object.defineProperty(err, 'name', { ...hidden, value: name });
  return err;
}

function readUtf16(r: Reader): string {
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
 */
function readUtf8(bytes: Uint8Array, start: number, n: number): string {
  if (n > kManualDecodeMax) return textDecoder.decode(bytes.subarray(start, start + n));
  let s = '';
  const end = start + n;
  for (let p = start; p < end;) {
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

function latin1(bytes: Uint8Array, start: number, n: number): string {
  return String.fromCharCode.apply(null, bytes.subarray(start, start + n) as unknown as number[]);
}

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

function readInterned(r: Reader, start: number, n: number): string {
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

function checkRemaining(r: Reader, n: number): void {
  if (n > r.end - r.pos) corrupt(r, `a length of ${n} runs past the end of the message (${r.end - r.pos} bytes left)`);
}

function corrupt(r: Reader, detail: string): never {
  throw new DecodeError(detail, r.pos);
}

function corruptAt(offset: number, detail: string): never {
  throw new DecodeError(detail, offset);
}

// ---------------------------------------------------------------------------
// Whole-buffer helpers for tests and cold paths.

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
