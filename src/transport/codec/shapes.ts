/**
 * The shape cache: the decoder's memory of object key sequences seen before,
 * each compiled after a few sightings into an object literal that builds the
 * whole object in one step (readPlainObject in decode.ts uses it).
 * @internal
 */

import type { Reader } from './reader.js';

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
export const kShapeMaxKeys = 32;
export const kShapeMaxBlockBytes = 1024;
export const kShapeSlots = 1024;
export const kShapeCompileAfter = 4;
type ShapeBuilder = (values: unknown[], base: number) => object;
interface Shape {
  /** The key block as it appears on the wire. */
  readonly block: Uint8Array;
  readonly blockView: DataView;
  readonly keys: readonly string[];
  sightings: number;
  build: ShapeBuilder | undefined;
}
export const shapes: Array<Shape | undefined> = new Array<Shape | undefined>(kShapeSlots).fill(undefined);
/** False once `new Function` has been refused (--disallow-code-generation-from-strings). */
export let canCompileShapes = true;

export function sameBlock(shape: Shape, r: Reader, start: number, n: number, count: number): boolean {
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

export function compileShape(keys: readonly string[]): ShapeBuilder | undefined {
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
