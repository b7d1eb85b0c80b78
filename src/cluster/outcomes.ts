/**
 * What the failure of an entity message means for its delivery, read from
 * the error's class (errors keep their class across threads and nodes; a
 * handler's own ActorCrashedError or ActorStoppedError arrives wrapped in
 * HandlerError, so these classes are the runtime's, never the handler's).
 */
import {
  ActorCrashedError,
  ActorStoppedError,
  EntitySnapshotError,
  EntityUnavailableError,
  MailboxFullError,
  MessageTooLargeError,
  NodeUnreachableError,
  SerializationError,
} from '../base/errors.js';
import type { DeadLetterReason } from '../engine/types.js';

/** The message was not handled, and may be sent again: its node went or refused it, its actor was gone, its state not saved. */
export function notHandled(error: unknown): boolean {
  return (
    error instanceof NodeUnreachableError ||
    error instanceof ActorCrashedError ||
    error instanceof ActorStoppedError ||
    error instanceof MailboxFullError ||
    error instanceof EntityUnavailableError ||
    error instanceof EntitySnapshotError
  );
}

/** The message itself cannot go (sending it again would fail the same way). */
export function undeliverable(error: unknown): boolean {
  return error instanceof SerializationError || error instanceof MessageTooLargeError;
}

/** The dead-letter reason of a tell that was not handled because of `error`; undefined for the handler's own error. */
export function letterReason(error: unknown): DeadLetterReason | undefined {
  if (error instanceof ActorStoppedError) return 'stopped';
  if (error instanceof MailboxFullError) return 'dropped-newest';
  if (error instanceof MessageTooLargeError) return 'too-large';
  if (error instanceof ActorCrashedError) return 'crashed';
  if (error instanceof NodeUnreachableError) return 'node-unreachable';
  if (error instanceof SerializationError || error instanceof EntityUnavailableError || error instanceof EntitySnapshotError) return 'undeliverable';
  return undefined;
}
