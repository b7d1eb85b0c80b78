/**
 * The encoder: {@link encodeValue} and the writers it dispatches to, one per
 * kind of value, appending the wire format (format.ts) to a {@link Writer}.
 * Every writer that recurses into writeAny lives here; the chain of open
 * containers (chain.ts) names paths and catches cycles, and extensions are
 * looked up in the registry of extensions.ts.
 */

import { SerializationError, describeValue, typeName } from '../../base/errors.js';
import * as chain from './chain.js';
import { fail } from './chain.js';
import * as extensions from './extensions.js';
import type { CodecExtension } from './extensions.js';
import * as format from './format.js';
import { describeThrown, withCause } from './thrown.js';
import * as writer from './writer.js';
import type { Writer } from './writer.js';

// Module-local copies of what the hot path imports (see format.ts: an
// imported binding is read through its module cell at every use).
const {
  kAsciiMax,
  kFixintBase,
  kFixintMax,
  kManualUtf8Max,
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
  kViewKindUint8,
  kViewKinds,
} = format;
const { currentDepth, enter, kKindArray, kKindExtension, kKindMap, kKindObject, kKindSet, keys, kinds, leave, pathAt, setRootPath, unwindTo } = chain;
const { extensionsByProto } = extensions;
const { textEncoder, writeUtf8 } = writer;

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
  const entryDepth = currentDepth();
  if (entryDepth === 0) {
    setRootPath(rootPath ?? 'msg');
    prototypePolluted = -1;
  } else if (kinds[entryDepth - 1] === kKindExtension) {
    keys[entryDepth - 1] = rootPath ?? '';
  }
  try {
    writeAny(w, value);
  } catch (thrown) {
    w.pos = start;
    const err =
      thrown instanceof SerializationError
        ? thrown
        : withCause(new SerializationError(pathAt(currentDepth()), `reading it threw ${describeThrown(thrown)}`), thrown);
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
  fail(
    name === 'object'
      ? `an object with a custom prototype cannot be sent (only plain objects), got ${describeValue(value)}`
      : `class instance of ${name} cannot be sent; register a CodecExtension for ${name}, got ${describeValue(value)}`,
  );
}

function refusedBuiltinReason(value: object): string {
  if (value instanceof Promise) return 'a Promise cannot be sent; await it and send its value';
  if (value instanceof SharedArrayBuffer) {
    return 'a SharedArrayBuffer cannot be sent through the codec (copying would unshare it); send a view of it to copy the bytes';
  }
  return `a ${typeName(value)} cannot be sent: its contents are not observable`;
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
