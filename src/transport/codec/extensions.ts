/**
 * Class extensions: {@link CodecExtension} and the registry, by tag for the
 * decoder and by prototype for the encoder. An extension value on the wire is
 * tag 0x15, the extension's tag, then what its `write` wrote (writeExtension
 * in encode.ts, readExtension in decode.ts).
 */

import { InvalidArgumentError } from '../../base/errors.js';
import { kViewKinds } from './format.js';
import type { Reader } from './reader.js';
import type { Writer } from './writer.js';

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

/** @internal */
export const extensionsByTag: Array<CodecExtension<unknown> | undefined> = new Array<CodecExtension<unknown> | undefined>(256).fill(undefined);
/** @internal */
export const extensionsByProto = new Map<object, CodecExtension<unknown>>();

/** Classes the codec encodes itself; an extension may not claim them. */
const kNativeCtors: ReadonlySet<unknown> = new Set<unknown>([Object, Array, Map, Set, Date, RegExp, ArrayBuffer, Error, ...kViewKinds]);

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
