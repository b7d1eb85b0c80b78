/**
 * The encoder's chain: the containers being written, kept so an error can
 * name its path and a cycle can be caught, without building path strings on
 * the happy path. Module-level because one thread encodes one value at a
 * time; an extension's nested encodeValue call continues the same chain.
 * @internal
 */

import { SerializationError } from '../../base/errors.js';
import * as format from './format.js';

// Module-local copies (see format.ts: an imported binding is read through its module cell at every use).
const { kMaxDepth } = format;

export const kKindObject = 0;
export const kKindArray = 1;
export const kKindMap = 2;
export const kKindSet = 3;
export const kKindExtension = 4;

/** ancestors[d] is the container at depth d; keys[d] which of its children is being written. */
const ancestors: unknown[] = new Array<unknown>(kMaxDepth).fill(undefined);
/** Object key, array/Set index, Map entry (2i for its key, 2i+1 for its value), or an extension's child label. */
export const keys: Array<string | number> = new Array<string | number>(kMaxDepth).fill(0);
export const kinds: number[] = new Array<number>(kMaxDepth).fill(0);
let depth = 0;
let rootPathOfActive = 'msg';

/** How many containers deep the encoder is now (0 between values). */
export function currentDepth(): number {
  return depth;
}

/** Names the start of every path of the value about to be encoded (a top-level one). */
export function setRootPath(rootPath: string): void {
  rootPathOfActive = rootPath;
}

/** Pushes a container on the chain, refusing cycles and excess depth. Returns its depth. */
export function enter(container: object, kind: number): number {
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

export function leave(d: number): void {
  ancestors[d] = undefined;
  depth = d;
}

/** Drops the chain above `d` after a throw, so it pins no user objects. */
export function unwindTo(d: number): void {
  for (let i = d; i < depth && i < kMaxDepth; i++) ancestors[i] = undefined;
  depth = d;
}

export function fail(reason: string): never {
  throw new SerializationError(pathAt(depth), reason);
}

const kIdentifier = /^[A-Za-z_$][\w$]*$/;

/** The path of the value at depth `upTo` of the current chain. Error paths only. */
export function pathAt(upTo: number): string {
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
