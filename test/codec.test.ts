import { types } from 'node:util';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Reader, Writer, decode, decodeValue, encode, encodeValue, kMaxDepth, registerExtension } from '../src/transport/codec/index.js';
import { ActorStoppedError, HandlerError, InvalidArgumentError, SerializationError } from '../src/base/errors.js';

/** Fixed so a failing property run replays; fast-check prints the path to shrink from. */
const kSeed = 42;

function roundTrip<T>(value: T): T {
  return decode(encode(value)) as T;
}

/** Runs `fn`, expecting a SerializationError, and returns it. */
function catchSerialization(fn: () => unknown): SerializationError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(SerializationError);
    return err as SerializationError;
  }
  throw new Error('expected a SerializationError, nothing was thrown');
}

/**
 * Asserts `actual` is an exact copy of `expected` as the codec promises one:
 * Object.is on primitives (so -0 and NaN count), same prototypes, same own
 * enumerable keys in the same order, array holes read as present undefined,
 * Map/Set order, view bytes (over a fresh buffer at offset 0), errors' name,
 * message, stack and cause. Stricter than toStrictEqual, which for instance
 * compares objects' `constructor` properties by identity.
 */
function assertSame(actual: unknown, expected: unknown, path = 'value'): void {
  const differ = (what: string): never => {
    throw new Error(`${path}: ${what}`);
  };
  if (typeof expected !== 'object' || expected === null) {
    if (!Object.is(actual, expected)) differ(`expected ${String(expected)}, got ${String(actual)}`);
    return;
  }
  // biome-ignore lint/correctness/noVoidTypeReturn: differ() returns never; the return narrows `actual` for the lines below.
  if (typeof actual !== 'object' || actual === null) return differ(`expected an object, got ${String(actual)}`);
  if (actual === expected) differ('the decoded value is the original object');
  if (Object.getPrototypeOf(actual) !== Object.getPrototypeOf(expected)) differ('prototypes differ');
  if (expected instanceof Date) {
    if (!Object.is((actual as Date).getTime(), expected.getTime())) differ('times differ');
  } else if (expected instanceof RegExp) {
    if ((actual as RegExp).source !== expected.source || (actual as RegExp).flags !== expected.flags) differ('regexps differ');
  } else if (expected instanceof ArrayBuffer) {
    expect(new Uint8Array(actual as ArrayBuffer), path).toEqual(new Uint8Array(expected));
  } else if (ArrayBuffer.isView(expected)) {
    const view = actual as ArrayBufferView;
    expect(view.byteOffset, `${path}.byteOffset`).toBe(0);
    expect(view.buffer, `${path}.buffer`).toBeInstanceOf(ArrayBuffer);
    expect(view.buffer.byteLength, `${path}.buffer.byteLength`).toBe(expected.byteLength);
    expect(new Uint8Array(view.buffer), path).toEqual(new Uint8Array(expected.buffer, expected.byteOffset, expected.byteLength));
  } else if (expected instanceof Map) {
    const got = [...(actual as Map<unknown, unknown>)];
    const want = [...expected];
    if (got.length !== want.length) differ(`sizes differ: ${got.length} vs ${want.length}`);
    want.forEach(([k, v], i) => {
      assertSame(got[i][0], k, `${path}.keys()[${i}]`);
      assertSame(got[i][1], v, `${path}.values()[${i}]`);
    });
  } else if (expected instanceof Set) {
    const got = [...(actual as Set<unknown>)];
    const want = [...expected];
    if (got.length !== want.length) differ(`sizes differ: ${got.length} vs ${want.length}`);
    want.forEach((v, i) => assertSame(got[i], v, `${path}.values()[${i}]`));
  } else if (Array.isArray(expected)) {
    const got = actual as unknown[];
    if (got.length !== expected.length) differ(`lengths differ: ${got.length} vs ${expected.length}`);
    for (let i = 0; i < expected.length; i++) {
      if (!(i in got)) differ(`[${i}] is a hole`);
      assertSame(got[i], i in expected ? expected[i] : undefined, `${path}[${i}]`);
    }
    return;
  }
  if (expected instanceof Error) {
    const err = actual as Error;
    if (err.name !== expected.name || err.message !== expected.message || err.stack !== expected.stack) differ('name, message or stack differ');
    if ('cause' in err !== 'cause' in expected) differ('one has a cause, the other not');
    if ('cause' in expected) assertSame(err.cause, expected.cause, `${path}.cause`);
  }
  if (ArrayBuffer.isView(expected) || expected instanceof ArrayBuffer) return;
  const keys = Object.keys(expected);
  expect(Object.keys(actual), `${path} keys`).toEqual(keys);
  for (const key of keys) {
    assertSame((actual as Record<string, unknown>)[key], (expected as Record<string, unknown>)[key], `${path}[${JSON.stringify(key)}]`);
  }
}

// -------------------------------------------------------------------------
// Arbitraries.

/** Any UTF-16 code unit, lone surrogates included. */
const codeUnit = fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c));
const stringArb = fc.oneof(
  fc.string(),
  fc.string({ unit: 'binary' }),
  fc.string({ unit: 'grapheme' }),
  fc.string({ unit: codeUnit }),
  // Past the one-byte-length and JS-loop thresholds (255 / 256 chars).
  fc.string({ unit: fc.oneof(fc.constant('a'), fc.constant('é'), fc.constant('😀'), codeUnit), minLength: 240, maxLength: 600 }),
);
const numberArb = fc.oneof(
  fc.integer({ min: -1, max: 70 }),
  fc.integer(),
  fc.double(),
  fc.constantFrom(-0, 0, NaN, Infinity, -Infinity, 2 ** 31, -(2 ** 31), 2 ** 31 - 1, 2 ** 53, Number.MIN_VALUE, -Number.MAX_VALUE),
);
const bigintArb = fc.oneof(fc.bigInt(), fc.bigInt({ min: -(2n ** 64n), max: 2n ** 64n }), fc.bigInt({ min: -(2n ** 700n), max: 2n ** 700n }));
/** A view at a nonzero offset into a larger buffer, of the given constructor. */
function offsetView<T>(make: (buffer: ArrayBuffer, offset: number, length: number) => T, elementSize: number): fc.Arbitrary<T> {
  return fc.tuple(fc.uint8Array({ maxLength: 64 }), fc.nat({ max: 3 }), fc.nat({ max: 3 })).map(([bytes, before, after]) => {
    const length = Math.floor(bytes.length / elementSize);
    const buffer = new ArrayBuffer((before + length + after) * elementSize);
    new Uint8Array(buffer, before * elementSize).set(bytes.subarray(0, length * elementSize));
    return make(buffer, before * elementSize, length);
  });
}
const binaryArb = fc.oneof(
  fc.uint8Array(),
  fc.int8Array(),
  fc.uint8ClampedArray(),
  fc.int16Array(),
  fc.uint16Array(),
  fc.int32Array(),
  fc.uint32Array(),
  fc.float32Array(),
  fc.float64Array(),
  fc.bigInt64Array(),
  fc.bigUint64Array(),
  fc.uint8Array().map((u) => u.buffer),
  offsetView((b, o, n) => new Uint16Array(b, o, n), 2),
  offsetView((b, o, n) => new Float64Array(b, o, n), 8),
  offsetView((b, o, n) => new BigInt64Array(b, o, n), 8),
  offsetView((b, o, n) => new DataView(b, o, n), 1),
  fc.uint8Array().map((u) => Buffer.from(u)),
);
const dateArb = fc.date();
const regexpArb = fc.constantFrom(/a/, /x+y?/gimsu, /[\u{1F600}-\u{1F64F}]/u, /\d+(?<n>z)/y);

const { value: valueArb } = fc.letrec<{ value: unknown; container: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constantFrom(undefined, null, true, false),
    numberArb,
    stringArb,
    bigintArb,
    dateArb,
    regexpArb,
    binaryArb,
    tie('container'),
  ),
  container: fc.oneof(
    fc.array(tie('value'), { maxLength: 6 }),
    fc.dictionary(fc.oneof(fc.string(), stringArb, fc.constantFrom('__proto__', 'constructor', '0', '12', 'a b')), tie('value'), { maxKeys: 6 }),
    fc.array(fc.tuple(tie('value'), tie('value')), { maxLength: 4 }).map((entries) => new Map(entries)),
    fc.array(tie('value'), { maxLength: 4 }).map((items) => new Set(items)),
    fc.tuple(fc.constantFrom('Error', 'TypeError', 'ActorStoppedError', 'CustomError'), stringArb, tie('value')).map(([name, message, cause]) => {
      if (name === 'ActorStoppedError') return new ActorStoppedError(message);
      if (name === 'TypeError') return new TypeError(message, { cause });
      const err = new Error(message, { cause });
      if (name !== 'Error') err.name = name;
      return err;
    }),
  ),
}));

// -------------------------------------------------------------------------

describe('round trip (properties)', () => {
  it('decodes what it encodes, for arbitrary nested values', () => {
    fc.assert(
      fc.property(valueArb, (value) => {
        const bytes = encode(value);
        const decoded = decode(bytes);
        assertSame(decoded, value);
        // Independent of how toStrictEqual treats -0, NaN, Dates or errors:
        // the decoded value must encode to the very same bytes.
        expect(encode(decoded)).toEqual(bytes);
      }),
      { seed: kSeed, numRuns: 400 },
    );
  });

  it('carries fc.anything(): null prototypes, sparse arrays, -0, odd keys', () => {
    const anything = fc.anything({
      withBigInt: true,
      withDate: true,
      withMap: true,
      withSet: true,
      withTypedArray: true,
      withNullPrototype: true,
      withSparseArray: true,
      withUnicodeString: true,
      stringUnit: 'binary',
      // Boxed primitives (new Number(1)) are class instances the codec refuses.
      withBoxedValues: false,
      withObjectString: false,
    });
    fc.assert(
      fc.property(anything, (value) => {
        const bytes = encode(value);
        const decoded = decode(bytes);
        assertSame(decoded, value);
        expect(encode(decoded)).toEqual(bytes);
      }),
      { seed: kSeed, numRuns: 300 },
    );
  });

  it('encodes through a reused Writer exactly as through encode()', () => {
    const w = new Writer(16);
    fc.assert(
      fc.property(fc.array(valueArb, { maxLength: 4 }), (values) => {
        w.reset();
        for (const v of values) encodeValue(w, v);
        const r = new Reader();
        r.reset(w.bytes, 0, w.pos);
        for (const v of values) assertSame(decodeValue(r), v);
        expect(r.pos).toBe(w.pos);
      }),
      { seed: kSeed, numRuns: 100 },
    );
  });
});

describe('primitives', () => {
  it.each([
    ['undefined', undefined],
    ['null', null],
    ['true', true],
    ['false', false],
    ['0', 0],
    ['63 (last one-byte int)', 63],
    ['64', 64],
    ['-1', -1],
    ['int32 max', 2 ** 31 - 1],
    ['int32 min', -(2 ** 31)],
    ['2^31', 2 ** 31],
    ['0.1', 0.1],
    ['NaN', NaN],
    ['Infinity', Infinity],
    ['-Infinity', -Infinity],
    ['bigint 0', 0n],
    ['int64 max', 2n ** 63n - 1n],
    ['int64 min', -(2n ** 63n)],
    ['2^64', 2n ** 64n],
    ['-(2^64)', -(2n ** 64n)],
    ['2^1000 - 1', 2n ** 1000n - 1n],
  ])('%s', (_label, value) => {
    expect(Object.is(roundTrip(value), value)).toBe(true);
  });

  it('keeps -0 apart from 0', () => {
    expect(Object.is(roundTrip(-0), -0)).toBe(true);
    expect(Object.is(roundTrip(0), 0)).toBe(true);
    expect(Object.is(roundTrip([-0])[0], -0)).toBe(true);
  });

  it('sends small integers in one byte', () => {
    expect(encode(5).length).toBe(1);
    expect(encode(64).length).toBe(5);
    // tag, count, key-block bytes, "type", "by", then "inc" and 1
    expect(encode({ type: 'inc', by: 1 }).length).toBe(1 + 4 + 4 + 6 + 4 + 5 + 1);
  });
});

describe('strings', () => {
  it.each([
    ['empty', ''],
    ['ASCII', 'inc'],
    ['accents', 'héllo wörld'],
    ['emoji', '😀👍🏽 family: 👨‍👩‍👧'],
    ['CJK', '中文字符 日本語 한국어'],
    ['lone high surrogate', 'a\ud800b'],
    ['lone low surrogate at the end', 'ab\udc00'],
    ['reversed pair', '\udc00\ud800'],
    ['255 ASCII chars', 'x'.repeat(255)],
    ['256 ASCII chars', 'x'.repeat(256)],
    ['long with emoji', '😀'.repeat(500)],
    ['long with a lone surrogate', `${'é'.repeat(400)}\ud800`],
    ['NUL and controls', '\0\x01\x7f\x80\xff'],
  ])('%s round-trips exactly', (_label, s) => {
    expect(roundTrip(s)).toBe(s);
    expect(roundTrip({ [s]: s })).toStrictEqual({ [s]: s });
  });

  it('Writer.str / Reader.str are plain UTF-8, lone surrogates becoming U+FFFD', () => {
    const w = new Writer(8);
    const long = 'ü'.repeat(1000);
    for (const s of ['', 'abc', '中文😀', long]) w.str(s);
    w.str('a\ud800');
    const r = new Reader();
    r.reset(w.bytes, 0, w.pos);
    expect([r.str(), r.str(), r.str(), r.str(), r.str()]).toEqual(['', 'abc', '中文😀', long, 'a\ufffd']);
    expect(r.pos).toBe(w.pos);
    // The prefix is the UTF-8 byte length.
    w.reset();
    w.str('é');
    expect(Array.from(w.bytes.subarray(0, w.pos))).toEqual([2, 0, 0, 0, 0xc3, 0xa9]);
  });
});

describe('containers', () => {
  it('turns array holes into undefined', () => {
    // biome-ignore lint/suspicious/noSparseArray: the hole is what this test sends.
    const decoded = roundTrip([1, , 3]);
    expect(decoded).toStrictEqual([1, undefined, 3]);
    expect(1 in decoded).toBe(true);
  });

  it('keeps key order, null prototypes and an own "__proto__" key', () => {
    const obj = JSON.parse('{"b":1,"__proto__":{"x":1},"a":2,"1":3}') as Record<string, unknown>;
    const decoded = roundTrip(obj);
    expect(Object.getPrototypeOf(decoded)).toBe(Object.prototype);
    expect(Object.keys(decoded)).toEqual(['1', 'b', '__proto__', 'a']);
    expect(Object.getOwnPropertyDescriptor(decoded, '__proto__')?.value).toEqual({ x: 1 });

    const bare = Object.create(null) as Record<string, unknown>;
    bare.k = 'v';
    const back = roundTrip(bare);
    expect(Object.getPrototypeOf(back)).toBeNull();
    expect(back.k).toBe('v');
  });

  it('builds repeated shapes right (compiled literal path), "__proto__" key included', () => {
    const w = new Writer();
    const r = new Reader();
    for (let i = 0; i < 50; i++) {
      const msg = JSON.parse(`{"type":"t${i % 3}","by":${i},"__proto__":${i},"z":[${i}]}`) as unknown;
      w.reset();
      encodeValue(w, msg);
      r.reset(w.bytes, 0, w.pos);
      const out = decodeValue(r) as Record<string, unknown>;
      expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
      expect(Object.keys(out)).toEqual(['type', 'by', '__proto__', 'z']);
      expect(out).toStrictEqual(msg);
    }
  });

  it('ignores symbol keys and non-enumerable properties; reads getters', () => {
    const obj = {
      a: 1,
      [Symbol('s')]: 2,
      get g() {
        return 'got';
      },
    };
    Object.defineProperty(obj, 'hidden', { value: 3, enumerable: false });
    expect(roundTrip(obj)).toStrictEqual({ a: 1, g: 'got' });
  });

  it('sends own keys only, even when Object.prototype is polluted', () => {
    (Object.prototype as Record<string, unknown>).polluted = 'yes';
    try {
      const decoded = roundTrip({ a: 1, nested: { b: 2 } });
      expect(Object.keys(decoded)).toEqual(['a', 'nested']);
      expect(Object.keys(decoded.nested)).toEqual(['b']);
    } finally {
      delete (Object.prototype as Record<string, unknown>).polluted;
    }
  });

  it('copies shared references rather than sharing them', () => {
    const shared = { n: 1 };
    const decoded = roundTrip({ a: shared, b: shared });
    expect(decoded).toStrictEqual({ a: { n: 1 }, b: { n: 1 } });
    expect(decoded.a).not.toBe(decoded.b);
  });

  it('carries Map and Set in insertion order, object keys included', () => {
    const map = new Map<unknown, unknown>([
      [{ k: 1 }, 'obj'],
      ['s', [1, 2]],
      [NaN, null],
      [2n, new Set(['x', 'y'])],
    ]);
    const decoded = roundTrip(map);
    expect([...decoded.keys()]).toStrictEqual([{ k: 1 }, 's', NaN, 2n]);
    expect(decoded).toStrictEqual(map);
  });

  it('carries Date (invalid too) and RegExp', () => {
    expect(roundTrip(new Date(0)).getTime()).toBe(0);
    expect(Number.isNaN(roundTrip(new Date(NaN)).getTime())).toBe(true);
    const re = roundTrip(/a+(?<n>b)/giu);
    expect(re).toBeInstanceOf(RegExp);
    expect([re.source, re.flags]).toEqual(['a+(?<n>b)', 'giu']);
  });

  it(`accepts ${kMaxDepth} levels of nesting`, () => {
    let deep: unknown = 'bottom';
    for (let i = 0; i < kMaxDepth; i++) deep = [deep];
    let back = roundTrip(deep);
    for (let i = 0; i < kMaxDepth; i++) back = (back as unknown[])[0];
    expect(back).toBe('bottom');
  });
});

describe('binary data', () => {
  const ctors = [
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
  ] as const;

  it.each(ctors.map((ctor) => [ctor.name, ctor] as const))('%s at an offset copies only the view', (_name, ctor) => {
    const backing = new ArrayBuffer(1024);
    new Uint8Array(backing).forEach((_, i, all) => {
      all[i] = (i * 7) & 0xff;
    });
    const view = new ctor(backing, 16, 3);
    const bytes = encode(view);
    expect(bytes.length).toBeLessThan(64);
    const decoded = decode(bytes) as typeof view;
    expect(decoded).toBeInstanceOf(ctor);
    expect(decoded.byteOffset).toBe(0);
    expect(decoded.buffer.byteLength).toBe(3 * ctor.BYTES_PER_ELEMENT);
    expect(decoded).toStrictEqual(view.slice());
  });

  it('DataView at an offset', () => {
    const backing = new Uint8Array([9, 9, 1, 2, 3, 9]);
    const decoded = roundTrip(new DataView(backing.buffer, 2, 3));
    expect(decoded).toBeInstanceOf(DataView);
    expect(new Uint8Array(decoded.buffer)).toEqual(new Uint8Array([1, 2, 3]));
  });

  it('ArrayBuffer and Node Buffer', () => {
    const ab = new Uint8Array([1, 2, 3]).buffer;
    expect(new Uint8Array(roundTrip(ab))).toEqual(new Uint8Array([1, 2, 3]));
    const buf = Buffer.from('hello');
    const back = roundTrip(buf);
    expect(Buffer.isBuffer(back)).toBe(true);
    expect(back.toString()).toBe('hello');
  });

  it('copies a SharedArrayBuffer-backed view into a plain ArrayBuffer', () => {
    const shared = new Uint8Array(new SharedArrayBuffer(16));
    shared.set([1, 2, 3, 4, 5], 4);
    const decoded = roundTrip(shared.subarray(4, 9));
    expect(decoded.buffer).toBeInstanceOf(ArrayBuffer);
    expect(decoded.buffer.byteLength).toBe(5);
    expect(Array.from(decoded)).toEqual([1, 2, 3, 4, 5]);
    shared[4] = 99;
    expect(decoded[0]).toBe(1);
  });

  it('decodes out of SharedArrayBuffer bytes, copying binary payloads out', () => {
    const bytes = encode({ type: 'blob', payload: new Uint8Array([7, 8, 9]), text: `héllo 😀 ${'long'.repeat(40)}` });
    const ring = new Uint8Array(new SharedArrayBuffer(bytes.length + 32));
    ring.set(bytes, 10);
    const r = new Reader();
    r.reset(ring, 10, 10 + bytes.length);
    const decoded = decodeValue(r) as { payload: Uint8Array; text: string };
    expect(decoded.payload.buffer).toBeInstanceOf(ArrayBuffer);
    expect(Array.from(decoded.payload)).toEqual([7, 8, 9]);
    expect(decoded.text).toBe(`héllo 😀 ${'long'.repeat(40)}`);
    ring.fill(0);
    expect(Array.from(decoded.payload)).toEqual([7, 8, 9]);
  });
});

describe('errors', () => {
  it('rebuilds listed classes without calling their constructors', () => {
    const original = new ActorStoppedError('counter#1', 'was stopped by its supervisor');
    const decoded = roundTrip(original);
    expect(decoded).toBeInstanceOf(ActorStoppedError);
    expect(decoded.name).toBe('ActorStoppedError');
    expect(decoded.actor).toBe('counter#1');
    expect(decoded.message).toBe(original.message);
    expect(decoded.stack).toBe(original.stack);
    expect(types.isNativeError(decoded)).toBe(true);
    expect(Object.keys(decoded)).toEqual(Object.keys(original));
  });

  it('follows cause chains, rebuilding each class', () => {
    const root = new TypeError('bad input');
    const mid = new HandlerError('worker#2', { cause: root });
    const top = new Error('ask failed', { cause: mid });
    const decoded = roundTrip(top);
    expect(decoded).toBeInstanceOf(Error);
    expect(decoded.cause).toBeInstanceOf(HandlerError);
    const decodedMid = decoded.cause as HandlerError;
    expect(decodedMid.actor).toBe('worker#2');
    expect(decodedMid.cause).toBeInstanceOf(TypeError);
    expect((decodedMid.cause as Error).message).toBe('bad input');
    expect(Object.getOwnPropertyDescriptor(decoded, 'cause')?.enumerable).toBe(false);
    expect(decoded).toStrictEqual(top);
  });

  it('rebuilds an unlisted class as a plain Error keeping its name', () => {
    class CustomError extends Error {
      override name = 'CustomError';
      code = 'E_CUSTOM';
    }
    const decoded = roundTrip(new CustomError('custom'));
    expect(Object.getPrototypeOf(decoded)).toBe(Error.prototype);
    expect(decoded.name).toBe('CustomError');
    expect((decoded as unknown as { code: string }).code).toBe('E_CUSTOM');
    expect(decoded.message).toBe('custom');
  });

  it('drops error properties that cannot be encoded, keeps the rest', () => {
    const err = new Error('with junk') as Error & Record<string, unknown>;
    err.callback = () => 1;
    err.self = err;
    err.value = { ok: true, bad: Symbol('x') };
    err.kept = [1, 'two'];
    err.cause = new WeakMap();
    const decoded = roundTrip(err) as Error & Record<string, unknown>;
    expect(Object.keys(decoded)).toEqual(['kept']);
    expect(decoded.kept).toEqual([1, 'two']);
    expect('cause' in decoded).toBe(false);
  });

  it('drops a cause that fails halfway through, bytes included', () => {
    // biome-ignore lint/suspicious/noThenProperty: a cause that looks like a thenable is part of what this test sends.
    const err = new Error('outer', { cause: { written: 'first', then: () => 0 } }) as Error & { after?: string };
    err.after = 'still here';
    const decoded = roundTrip({ err, next: 'intact' });
    expect('cause' in decoded.err).toBe(false);
    expect((decoded.err as Error & { after?: string }).after).toBe('still here');
    expect(decoded.next).toBe('intact');
  });

  it('sends a SerializationError with its path', () => {
    const decoded = roundTrip(new SerializationError('msg.a', 'because'));
    expect(decoded).toBeInstanceOf(SerializationError);
    expect(decoded.path).toBe('msg.a');
    expect(decoded.message).toBe('Cannot send msg.a: because');
  });
});

describe('refused values name their path', () => {
  class Foo {
    x = 1;
  }
  const circular: Record<string, unknown> = { a: { b: {} } };
  (circular.a as { b: Record<string, unknown> }).b.back = circular.a;

  it.each<[string, () => unknown, string, RegExp]>([
    ['a function', () => ({ payload: { cb() {} } }), 'msg.payload.cb', /functions cannot be sent, got `\[function cb\]` \(function\)/],
    ['a symbol in an array', () => ({ items: [1, 2, 3, Symbol('s')] }), 'msg.items[3]', /symbols cannot be sent/],
    ['a class instance', () => ({ p: new Foo() }), 'msg.p', /class instance of Foo/],
    ['a WeakMap', () => ({ w: new WeakMap() }), 'msg.w', /a WeakMap cannot be sent/],
    ['a WeakSet', () => [new WeakSet()], 'msg[0]', /a WeakSet cannot be sent/],
    ['a Promise', () => ({ p: Promise.resolve(1) }), 'msg.p', /a Promise cannot be sent/],
    ['a bare SharedArrayBuffer', () => ({ sab: new SharedArrayBuffer(8) }), 'msg.sab', /SharedArrayBuffer cannot be sent/],
    ['a circular reference', () => circular, 'msg.a.b.back', /circular reference .*msg\.a\)/],
    ['an odd key', () => ({ 'a b': { 'c-d': () => 0 } }), 'msg["a b"]["c-d"]', /functions/],
    [
      'a Map key',
      () => ({
        m: new Map<unknown, unknown>([
          [1, 1],
          [() => 0, 2],
        ]),
      }),
      'msg.m.keys()[1]',
      /functions/,
    ],
    ['a Map value under a string key', () => ({ m: new Map([['k', Symbol('v')]]) }), 'msg.m.get("k")', /symbols/],
    ['a Map value under an object key', () => ({ m: new Map([[{}, Symbol('v')]]) }), 'msg.m.values()[0]', /symbols/],
    ['a Set member', () => ({ s: new Set([1, new Foo()]) }), 'msg.s.values()[1]', /class instance of Foo/],
    ['the root itself', () => () => 0, 'msg', /functions/],
  ])('%s', (_label, make, path, message) => {
    const err = catchSerialization(() => encode(make()));
    expect(err.path).toBe(path);
    expect(err.message).toMatch(message);
    expect(err.message.startsWith(`Cannot send ${path}: `)).toBe(true);
  });

  it(`nesting deeper than ${kMaxDepth} levels`, () => {
    let deep: unknown = 0;
    for (let i = 0; i <= kMaxDepth; i++) deep = { d: deep };
    const err = catchSerialization(() => encode(deep));
    expect(err.message).toMatch(`nesting deeper than ${kMaxDepth} levels`);
    expect(err.path).toBe(`msg${'.d'.repeat(kMaxDepth)}`);
  });

  it('a throwing getter, with what it threw as the cause', () => {
    const boom = new RangeError('boom');
    const err = catchSerialization(() =>
      encode({
        outer: {
          get bad() {
            throw boom;
          },
        },
      }),
    );
    expect(err.path).toBe('msg.outer.bad');
    expect(err.message).toMatch(/threw RangeError: boom/);
    expect(err.cause).toBe(boom);
  });

  it('a getter throwing a non-Error', () => {
    const err = catchSerialization(() =>
      encode([
        {
          get x(): never {
            throw undefined;
          },
        },
      ]),
    );
    expect(err.path).toBe('msg[0].x');
    expect(err.message).toMatch(/`undefined` \(undefined\)/);
  });

  it('uses the given root path', () => {
    const err = catchSerialization(() => encode({ a: () => 0 }, 'reply'));
    expect(err.path).toBe('reply.a');
  });

  it('leaves the Writer where it was, and the next message unaffected', () => {
    const w = new Writer(8);
    encodeValue(w, 'first');
    const before = w.pos;
    catchSerialization(() => encodeValue(w, { ok: [1, 2, 3], bad: [new Foo()] }));
    expect(w.pos).toBe(before);
    encodeValue(w, { fine: 1 });
    const r = new Reader();
    r.reset(w.bytes, 0, w.pos);
    expect([decodeValue(r), decodeValue(r)]).toStrictEqual(['first', { fine: 1 }]);
    // The failed message's containers are not remembered as ancestors.
    const again = { ok: 1 };
    expect(roundTrip({ a: again, b: again })).toStrictEqual({ a: { ok: 1 }, b: { ok: 1 } });
  });
});

describe('extensions', () => {
  class Point {
    constructor(
      readonly x: number,
      readonly y: number,
    ) {}
  }
  class Point3 extends Point {}
  class Envelope {
    constructor(
      readonly label: string,
      readonly body: unknown,
    ) {}
  }
  class Faulty {}
  registerExtension<Point>({
    tag: 200,
    ctor: Point,
    write: (w, p) => {
      w.f64(p.x);
      w.f64(p.y);
    },
    read: (r) => new Point(r.f64(), r.f64()),
  });
  registerExtension<Envelope>({
    tag: 201,
    ctor: Envelope,
    write: (w, e) => {
      w.str(e.label);
      encodeValue(w, e.body, 'body');
    },
    read: (r) => new Envelope(r.str(), decodeValue(r)),
  });
  registerExtension<Faulty>({
    tag: 202,
    ctor: Faulty,
    write: () => {
      throw new Error('cannot write');
    },
    read: () => new Faulty(),
  });

  it('writes and reads registered classes, nested anywhere', () => {
    const decoded = roundTrip({ at: new Point(1.5, -2), all: [new Point(0, 0)], env: new Envelope('e', { p: new Point(3, 4) }) });
    expect(decoded.at).toBeInstanceOf(Point);
    expect(decoded.at).toEqual(new Point(1.5, -2));
    expect(decoded.all[0]).toBeInstanceOf(Point);
    expect(decoded.env).toBeInstanceOf(Envelope);
    expect((decoded.env.body as { p: Point }).p).toEqual(new Point(3, 4));
  });

  it('writes a subclass instance with its base class extension', () => {
    expect(roundTrip(new Point3(1, 2))).toEqual(new Point(1, 2));
  });

  it('names paths through nested encodeValue calls', () => {
    const err = catchSerialization(() => encode({ env: new Envelope('e', { f: () => 0 }) }));
    expect(err.path).toBe('msg.env.body.f');
  });

  it('turns an extension that throws into a SerializationError', () => {
    const err = catchSerialization(() => encode({ list: [new Faulty()] }));
    expect(err.path).toBe('msg.list[0]');
    expect(err.message).toMatch(/codec extension for Faulty \(tag 202\) threw Error: cannot write/);
  });

  it('catches cycles through an extension', () => {
    const env = new Envelope('loop', {} as Record<string, unknown>);
    (env.body as Record<string, unknown>).self = env;
    const err = catchSerialization(() => encode(env));
    expect(err.message).toMatch(/circular reference/);
    expect(err.path).toBe('msg.body.self');
  });

  it('refuses a taken tag, a taken class, a native class and a bad tag', () => {
    class Other {}
    const codec = { write: () => {}, read: () => new Other() };
    expect(() => registerExtension({ tag: 200, ctor: Other, ...codec })).toThrow(InvalidArgumentError);
    expect(() => registerExtension({ tag: 200, ctor: Other, ...codec })).toThrow(/200 is taken by Point/);
    expect(() => registerExtension({ tag: 203, ctor: Point, write: () => {}, read: () => new Point(0, 0) })).toThrow(InvalidArgumentError);
    expect(() => registerExtension({ tag: 204, ctor: Map, write: () => {}, read: () => new Map() })).toThrow(/does not encode itself/);
    expect(() => registerExtension({ tag: 256, ctor: Other, ...codec })).toThrow(/from 0 to 255/);
    expect(() => registerExtension({ tag: 1.5, ctor: Other, ...codec })).toThrow(InvalidArgumentError);
  });

  it('reports an extension tag unknown on the decoding side as corrupt input', () => {
    const bytes = encode(new Point(1, 2));
    bytes[1] = 250;
    expect(() => decode(bytes)).toThrow(/no codec extension is registered for tag 250/);
  });
});

describe('Writer and Reader', () => {
  it('grows past its initial size for a 1 MB string', () => {
    const w = new Writer(64);
    const big = `${'abcdefghij'.repeat(100_000)}😀`;
    encodeValue(w, { big });
    expect(w.bytes.length).toBeGreaterThanOrEqual(w.pos);
    expect(w.pos).toBeGreaterThan(1_000_000);
    const r = new Reader();
    r.reset(w.bytes, 0, w.pos);
    expect((decodeValue(r) as { big: string }).big).toBe(big);
  });

  it('keeps bytes written before a growth', () => {
    const w = new Writer(4);
    for (let i = 0; i < 100; i++) w.u32(i * 1000);
    w.f64(Math.PI);
    w.i32(-5);
    w.u8(255);
    const r = new Reader();
    r.reset(w.bytes, 0, w.pos);
    for (let i = 0; i < 100; i++) expect(r.u32()).toBe(i * 1000);
    expect([r.f64(), r.i32(), r.u8()]).toEqual([Math.PI, -5, 255]);
  });

  it('reads a subrange of a larger buffer', () => {
    const first = encode({ type: 'a', n: 1 });
    const second = encode(['second', 2n]);
    const big = new Uint8Array(200).fill(0xee);
    big.set(first, 30);
    big.set(second, 30 + first.length);
    const r = new Reader();
    r.reset(big, 30 + first.length, 30 + first.length + second.length);
    expect(decodeValue(r)).toStrictEqual(['second', 2n]);
    expect(r.pos).toBe(r.end);
    r.reset(big, 30, 30 + first.length);
    expect(decodeValue(r)).toStrictEqual({ type: 'a', n: 1 });
  });

  it('reads from a Buffer (whose slice is a view) and still copies payloads out', () => {
    const buf = Buffer.from(encode(new Uint8Array([1, 2, 3])));
    const out = decode(buf) as Uint8Array;
    buf.fill(0);
    expect(Array.from(out)).toEqual([1, 2, 3]);
  });

  it('refuses a bad initial size and a bad range', () => {
    expect(() => new Writer(0)).toThrow(InvalidArgumentError);
    expect(() => new Reader().reset(new Uint8Array(4), 2, 8)).toThrow(InvalidArgumentError);
  });

  it('encode() returns a copy', () => {
    const a = encode('first');
    const snapshot = Array.from(a);
    encode('second, longer, overwriting the scratch buffer');
    expect(Array.from(a)).toEqual(snapshot);
  });
});

describe('corrupt input', () => {
  it('truncated bytes', () => {
    const bytes = encode({ list: [1, 2, 3], s: 'some string' });
    for (const cut of [1, 5, bytes.length - 1]) {
      expect(() => decode(bytes.subarray(0, cut))).toThrow(SerializationError);
    }
  });

  it('an unknown tag, trailing bytes, an absurd length', () => {
    expect(() => decode(new Uint8Array([0x7f]))).toThrow(/unknown tag 0x7f/);
    expect(() => decode(new Uint8Array([0x01, 0x01]))).toThrow(/1 bytes left over/);
    expect(() => decode(new Uint8Array([0x0d, 0xff, 0xff, 0xff, 0xff]))).toThrow(/runs past the end/);
  });
});
