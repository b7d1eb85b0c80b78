/** How the codec words a value something threw, and attaches it as a cause. */

import { describeValue, type SerializationError } from '../../base/errors.js';

/** @internal */
export function describeThrown(thrown: unknown): string {
  return thrown instanceof Error ? `${thrown.name}: ${thrown.message}` : describeValue(thrown);
}

/** @internal */
export function withCause(err: SerializationError, cause: unknown): SerializationError {
  Object.defineProperty(err, 'cause', { value: cause, writable: true, configurable: true, enumerable: false });
  return err;
}
