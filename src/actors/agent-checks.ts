/**
 * The checks of what an agent can do (`capabilities`) and how many tasks it
 * takes at once (`capacity`), shared by defineActor (define.ts) and the spawn
 * options that override them (spawn-options.ts).
 * @internal
 */
import { InvalidOptionError } from '../base/errors.js';

/** @internal Checks a capabilities list: an array of non-empty strings. */
export function checkCapabilities(name: string, value: unknown): readonly string[] {
  if (!Array.isArray(value) || value.some((c) => typeof c !== 'string' || c.length === 0)) {
    throw new InvalidOptionError(name, 'an array of non-empty strings', value);
  }
  return value as readonly string[];
}

/** @internal Checks an agent capacity: an integer from 1 to 1,000,000. */
export function checkCapacity(name: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > 1_000_000) {
    throw new InvalidOptionError(name, 'an integer from 1 to 1000000', value);
  }
  return value;
}
