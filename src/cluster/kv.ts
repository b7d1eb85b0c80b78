/**
 * The cluster's naming rule (cluster and node names) and the helpers the KV
 * users of this folder share (membership.ts, names.ts, names-replica.ts,
 * and the buckets node.ts and snapshots.ts create).
 */
import { JetStreamApiCodes, JetStreamApiError } from '@nats-io/jetstream';
import { InvalidOptionError } from '../base/errors.js';

const kNamePattern = /^[A-Za-z0-9_-]{1,64}$/;
/** @internal What a cluster or node name must be, for error messages. */
export const kNameExpected = 'a name of 1 to 64 letters, digits, `-` or `_`';

/** @internal True for a cluster or node name: usable in a bucket name and as a key as it is. */
export function isName(value: unknown): value is string {
  return typeof value === 'string' && kNamePattern.test(value);
}

/** @internal What an incarnation must be, for error messages. */
export const kIncarnationExpected = 'a string of 1 to 64 characters';

/** @internal True for a member's incarnation as it may appear in a bucket value (membership makes a UUID). */
export function isIncarnation(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0 && value.length <= 64;
}

/** @internal Throws InvalidOptionError unless `value` is a cluster or node name (see {@link isName}). */
export function checkName(option: string, value: unknown): string {
  if (!isName(value)) throw new InvalidOptionError(option, kNameExpected, value);
  return value;
}

/** @internal True for the error of a compare-and-set that lost (the key's revision was not the one expected). */
export function isWrongLastSequence(err: unknown): boolean {
  return (
    err instanceof JetStreamApiError &&
    (err.code === JetStreamApiCodes.StreamWrongLastSequence || err.code === JetStreamApiCodes.StreamWrongLastSequenceUnknown)
  );
}

/** JetStream's "subjects overlap with an existing stream" (@nats-io/jetstream names no constant for it). */
const kStreamSubjectOverlap = 10065;

/**
 * @internal Creates, or opens, a bucket that other processes of the cluster
 * may be creating at the same moment (nodes starting together). Of two
 * concurrent creates of the same stream, nats-server can answer the later
 * with 10065, subjects overlap, instead of taking it as the same stream: 3
 * of 240 creates by four connections at once here. By then the stream
 * exists, and a second create of the same configuration opens it. A real
 * overlap (another stream on those subjects) fails the second create too.
 */
export async function createShared<T>(create: () => Promise<T>): Promise<T> {
  try {
    return await create();
  } catch (err) {
    if (err instanceof JetStreamApiError && err.code === kStreamSubjectOverlap) return create();
    throw err;
  }
}

/** @internal Parses a value written by another process as JSON, or undefined when it is not UTF-8 JSON. */
export function parseJson(bytes: Uint8Array): unknown {
  try {
    return JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch {
    return undefined;
  }
}
