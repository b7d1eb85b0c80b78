/**
 * An entity's lease in the entities bucket: who holds the entity
 * (`{ node, incarnation }`, null when free), its fencing epoch, and where its
 * last snapshot is (`snap` inline, or `obj`, an object: see snapshots.ts).
 * Leases are written by other processes, so a lease read is validated before
 * use: its holder and epoch here, its snapshot fields (which throw
 * EntitySnapshotError rather than drop a state for a bad reference) only
 * when the reader takes the lease.
 */
import { parseJson } from './kv.js';
import { parseLocation, type SnapshotLocation, type SnapshotOwner } from './snapshots.js';

/** A lease, as written. */
export interface Lease extends SnapshotLocation {
  node: string | null;
  incarnation: string | null;
  epoch: number;
}

/** A lease read: its holder and epoch checked; its snapshot fields read by `location` when wanted. */
export interface LeaseRead {
  node: string | null;
  incarnation: string | null;
  epoch: number;
  /** The lease's snapshot fields, checked (EntitySnapshotError when malformed). */
  location(owner: SnapshotOwner): SnapshotLocation;
}

/** The activations table's key of (module, key). */
export function localId(module: string, key: string): string {
  return `${module}\u0000${key}`;
}

/** The entities bucket's key of (module, key): base64url of both, so any characters are valid. */
export function entityKey(module: string, key: string): string {
  return Buffer.from(localId(module, key)).toString('base64url');
}

export function encodeLease(lease: Lease): string {
  const { node, incarnation, epoch, snap, obj, prev } = lease;
  return JSON.stringify({ node, incarnation, epoch, snap, obj, prev });
}

/** A lease another process wrote: its holder and epoch checked, or undefined when they are malformed (taken as free). */
export function parseLease(bytes: Uint8Array): LeaseRead | undefined {
  const v = parseJson(bytes) as Record<string, unknown> | undefined;
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return undefined;
  const { node, incarnation, epoch } = v;
  if (!(node === null || typeof node === 'string') || !(incarnation === null || typeof incarnation === 'string')) return undefined;
  if (typeof epoch !== 'number' || !Number.isSafeInteger(epoch) || epoch < 0) return undefined;
  return { node, incarnation, epoch, location: (owner) => parseLocation(v, owner, epoch) };
}
