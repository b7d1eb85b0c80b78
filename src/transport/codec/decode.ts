/**
 * The decoder: {@link decodeValue} and the readers it dispatches to, one per
 * tag, rebuilding values from a {@link Reader}. Everything that recurses into
 * readAny lives here, so the per-value dispatch stays in one file; strings,
 * the intern cache, the shape cache and extensions are leaves it calls.
 */

import { Buffer } from 'node:buffer';
import { errorClasses } from '../../base/error-classes.js';
import { DecodeError, typeName } from '../../base/errors.js';
import * as extensions from './extensions.js';
import * as format from './format.js';
import * as intern from './intern.js';
import * as reader from './reader.js';
import { corrupt, corruptAt, type Reader } from './reader.js';
import * as shapeCache from './shapes.js';
import { describeThrown } from './thrown.js';

// Module-local copies of what the hot path imports (see format.ts: an
// imported binding is read through its module cell at every use).
const {
  kFixintBase,
  kInternMax,
  kManualDecodeMax,
  kMaxDepth,
  kPreallocMax,
  kTagArray,
  kTagArrayBuffer,
  kTagAscii,
  kTagBigInt,
  kTagBigInt64,
  kTagDate,
  kTagError,
  kTagExtension,
  kTagFalse,
  kTagFloat64,
  kTagInt32,
  kTagMap,
  kTagNull,
  kTagNullProtoObject,
  kTagObject,
  kTagRegExp,
  kTagSet,
  kTagTrue,
  kTagUndefined,
  kTagUtf16,
  kTagUtf8,
  kTagView,
  kViewKindBuffer,
  kViewKindDataView,
  kViewKindUint8,
  kViewKinds,
} = format;
const { extensionsByTag } = extensions;
const { readInterned } = intern;
const { checkRemaining, latin1, readLongUtf8, readUtf16, readUtf8 } = reader;
const { compileShape, kShapeCompileAfter, kShapeMaxBlockBytes, kShapeMaxKeys, kShapeSlots, sameBlock, shapes } = shapeCache;

/** Values staged for a compiled shape's literal (nested objects stage above their parent's). */
const valueStack: unknown[] = [];
let stackTop = 0;

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
  if (build === undefined && ++shape.sightings >= kShapeCompileAfter && shapeCache.canCompileShapes) {
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

/** Parses an object's key block (the reader at its start), checking it is exactly `blockBytes` long. */
function readKeyBlock(r: Reader, count: number, blockBytes: number): string[] {
  const end = r.pos + blockBytes;
  const keys = new Array<string>(count);
  for (let i = 0; i < count; i++) keys[i] = readKey(r);
  if (r.pos !== end) corrupt(r, `an object's keys take ${r.pos - end + blockBytes} bytes, not ${blockBytes}`);
  return keys;
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
