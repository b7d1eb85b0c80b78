/**
 * Small validators shared by every layer's option checks. Each throws
 * `InvalidOptionError` naming the option, what was expected and the value.
 */
import { InvalidOptionError } from './errors.js';

/** @internal True for `{}`-style objects (not arrays, class instances or null). */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object') return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** @internal An integer in [min, max], or `fallback` when undefined. */
export function integer(name: string, value: unknown, min: number, max: number, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new InvalidOptionError(name, `an integer from ${min} to ${max}`, value);
  }
  return value;
}

/** @internal Refuses keys of `value` that are not in `known`. */
export function checkKeys(name: string, value: Record<string, unknown>, known: readonly string[]): void {
  for (const key of Object.keys(value)) {
    if (!known.includes(key)) throw new InvalidOptionError(`${name}.${key}`, `one of the known options (${known.join(', ')})`, value[key]);
  }
}
