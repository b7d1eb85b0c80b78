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
 * of key-by-key stores (see readPlainObject in decode.ts).
 *
 * The wire format (one tag byte per value, then its payload) is laid out in
 * format.ts.
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
 *   `name` in `errorClasses` (base/error-classes.ts), else a plain `Error` carrying that name.
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

export { decodeValue } from './decode.js';
export { encodeValue } from './encode.js';
export { registerExtension } from './extensions.js';
export { kMaxDepth } from './format.js';
export { Reader } from './reader.js';
export { decode, encode } from './whole.js';
export { Writer } from './writer.js';
