/**
 * Where an entity's snapshot lives: inline in its lease (base64, in the
 * entities KV bucket) when it is small, else in the cluster's object store
 * bucket (`microswarm_<cluster>_snapshots`, JetStream's object store), with
 * the lease holding the object's name.
 *
 * The lease fields this file owns: `snap` (the inline snapshot), `obj` (the
 * name of the object that holds it), `prev` (the object that the last write
 * replaced, which its writer deletes right after; named so that an
 * activation deletes it if the writer died first).
 *
 * **Fencing.** An object is written under a name of its own,
 * `<entity>.<epoch>.<revision>` (the lease's key, the writer's epoch, the
 * lease revision its compare-and-set expects), before the lease that names
 * it. No two writers share a name: an epoch belongs to one holder, and a
 * holder's revisions only grow. A deposed holder's object is harmless (no
 * lease names it; its compare-and-set fails, then it deletes the object); a
 * holder deletes the object it replaced only after its compare-and-set won.
 * So an object that a lease names is never written again nor deleted while
 * it is named.
 *
 * **Orphans.** A holder that dies between its object write and its
 * compare-and-set leaves an object no lease names: the node that takes the
 * lease over computes its name (the holder's epoch, the revision it held)
 * and deletes it. One that dies between its compare-and-set and the delete
 * leaves the lease's `prev`: the next activation deletes it. What is left,
 * at most one snapshot's bytes per such failure, never reclaimed: a
 * deposed holder that dies between its write and its own delete (when its
 * write came after the takeover's delete), a delete that fails (NATS
 * unreachable), and the chunks of an object whose writer died before its
 * last chunk (the object store names chunks by a random id, known only
 * once the write is done).
 */
import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { Base64UrlPaddedCodec, type ObjectStore, Objm } from '@nats-io/obj';
import { createShared } from './kv.js';
import type { NatsConnection } from '@nats-io/transport-node';
import { EntitySnapshotError, describeValue, toError } from '../base/errors.js';

/** The entity a snapshot belongs to (an activation is one). */
export interface SnapshotOwner {
  /** Its key in the entities bucket. */
  readonly id: string;
  readonly module: string;
  readonly key: string;
}

/** Where a lease says the entity's snapshot is: inline (`snap`, base64), in an object (`obj`), or nowhere (both null). */
export interface SnapshotLocation {
  snap: string | null;
  obj: string | null;
  /** An object replaced by the write that made this lease, maybe not deleted yet. */
  prev: string | null;
}

/** No snapshot yet. */
export const kNoSnapshot: SnapshotLocation = { snap: null, obj: null, prev: null };

/**
 * Above this many encoded bytes a snapshot goes to the object store.
 * Inline, it costs 4/3 of itself in the lease (base64), and the lease is one
 * NATS message: 256 KiB makes a 342 KiB message, a third of the server's
 * default 1 MiB max_payload, so one KV write never holds the connection
 * (which heartbeats and the gateway share) for long; a server set to a
 * smaller max_payload lowers the limit (see the constructor). Below it, one
 * KV write beats the object store's several round trips (chunks, metadata,
 * the delete of the object it replaces).
 */
const kInlineLimit = 256 * 1024;
/** A read of an object that gets no chunk for this long fails: a chunk purged under a live name would otherwise be waited for forever. */
const kReadIdleMs = 10_000;
/** `<lease key>.<epoch>.<revision>`: decimal integers without leading zeros. */
const kObjectSuffix = /^\.(0|[1-9]\d{0,15})\.(0|[1-9]\d{0,15})$/;

/** @internal The object store side of entity snapshots, for one node. */
export class Snapshots {
  /** Snapshots of more encoded bytes go to the object store. */
  readonly inlineLimit: number;
  private opened: Promise<{ store: ObjectStore; jsm: JetStreamManager }> | undefined;

  constructor(
    private readonly nc: NatsConnection,
    /** The object store bucket's name. */
    readonly bucket: string,
  ) {
    // A server set below the default max_payload: what stays inline still fits twice over.
    const maxPayload = nc.info?.max_payload ?? 1024 * 1024;
    this.inlineLimit = Math.min(kInlineLimit, Math.floor(((maxPayload / 2) * 3) / 4));
  }

  /** The object store bucket, created on first use (a cluster whose snapshots all fit inline never has one). */
  private open(): Promise<{ store: ObjectStore; jsm: JetStreamManager }> {
    if (this.opened === undefined) {
      const opening = Promise.all([createShared(() => new Objm(this.nc).create(this.bucket)), jetstreamManager(this.nc)]).then(([store, jsm]) => ({
        store,
        jsm,
      }));
      this.opened = opening;
      // A failure is not kept: the next use tries again.
      opening.catch(() => {
        if (this.opened === opening) this.opened = undefined;
      });
    }
    return this.opened;
  }

  /**
   * Puts `bytes`, a write by the holder of `epoch` whose compare-and-set will
   * expect `revision`: inline when small, else into an object written now
   * (before the lease that will name it). `replaced` is the object the lease
   * names now (it becomes `prev`).
   */
  async place(owner: SnapshotOwner, epoch: number, revision: number, bytes: Uint8Array, replaced: string | null): Promise<SnapshotLocation> {
    if (bytes.length <= this.inlineLimit) return { snap: Buffer.from(bytes).toString('base64'), obj: null, prev: replaced };
    const name = objectName(owner, epoch, revision);
    const { store } = await this.open();
    await store.putBlob({ name }, bytes);
    return { snap: null, obj: name, prev: replaced };
  }

  /** The snapshot the lease names (undefined: none); EntitySnapshotError when its object is missing, corrupt or unreadable. */
  async load(owner: SnapshotOwner, at: SnapshotLocation): Promise<Uint8Array | undefined> {
    if (at.obj === null) return at.snap === null ? undefined : Buffer.from(at.snap, 'base64');
    const failed = (why: string, cause?: unknown) =>
      new EntitySnapshotError(`Entity(${owner.key})`, owner.module, `its object ${JSON.stringify(at.obj)} in bucket ${this.bucket} ${why}`, { cause });
    let result: Awaited<ReturnType<ObjectStore['get']>>;
    try {
      result = await (await this.open()).store.get(at.obj);
    } catch (err) {
      throw failed(`could not be read: ${toError(err).message}`, err);
    }
    if (result === null) throw failed('is missing');
    const reader = result.data.getReader();
    const parts: Uint8Array[] = [];
    let size = 0;
    try {
      for (;;) {
        const { done, value } = await idle(reader.read(), kReadIdleMs);
        if (done) break;
        parts.push(value);
        size += value.length;
      }
    } catch (err) {
      void reader.cancel().catch(() => undefined);
      throw failed(`could not be read: ${toError(err).message}`, err);
    }
    if (size !== result.info.size) throw failed(`is corrupt: ${size} bytes read, its metadata says ${result.info.size}`);
    return Buffer.concat(parts, size);
  }

  /**
   * After an activation took the lease: deletes the objects of the entity
   * that may be left over, other than the one the lease names: its `prev`,
   * and, when the lease was taken from a holder that did not release it, the
   * object that holder may have been writing (named by its epoch and the
   * revision it held).
   */
  activated(owner: SnapshotOwner, at: SnapshotLocation, takenFrom: { epoch: number; revision: number } | undefined): void {
    const candidates = [at.prev, takenFrom === undefined ? null : objectName(owner, takenFrom.epoch, takenFrom.revision)];
    for (const name of candidates) if (name !== null && name !== at.obj) this.discard(name);
  }

  /** After a write's compare-and-set won: the object it replaced goes. */
  committed(at: SnapshotLocation): void {
    if (at.prev !== null && at.prev !== at.obj) this.discard(at.prev);
  }

  /** After a write's compare-and-set lost (deposed): its object goes, no lease names it. */
  abandoned(at: SnapshotLocation): void {
    if (at.obj !== null) this.discard(at.obj);
  }

  /**
   * Deletes an object no lease names, best effort (a failure leaves it).
   * The object store's delete leaves a metadata entry marked deleted (a
   * tombstone) under its name; its names are used once, so that entry is
   * purged too, or a busy entity would leave one per checkpoint. Its
   * subject is ADR-20's: `$O.<bucket>.M.<name in padded base64url>`.
   */
  private discard(name: string): void {
    void (async () => {
      const { store, jsm } = await this.open();
      await store.delete(name);
      await jsm.streams.purge(`OBJ_${this.bucket}`, { filter: `$O.${this.bucket}.M.${Base64UrlPaddedCodec.encode(name)}` });
    })().catch(() => undefined);
  }
}

/** The object name of a write by the holder of `epoch` whose compare-and-set expects `revision`. */
function objectName(owner: SnapshotOwner, epoch: number, revision: number): string {
  return `${owner.id}.${epoch}.${revision}`;
}

/**
 * The snapshot fields of a lease another process wrote (`v`, parsed JSON),
 * checked: `snap` a string or null, `obj` and `prev` null or the name of an
 * object of this entity (`<lease key>.<epoch>.<revision>`, the epoch at most
 * the lease's), never both `snap` and `obj`. Missing fields are null (leases
 * written before objects existed). EntitySnapshotError otherwise, naming
 * the field and the value.
 */
export function parseLocation(v: Record<string, unknown>, owner: SnapshotOwner, epoch: number): SnapshotLocation {
  const bad = (field: string, expected: string) =>
    new EntitySnapshotError(`Entity(${owner.key})`, owner.module, `its lease's \`${field}\` should be ${expected}, got ${describeValue(v[field])}`);
  const snap = v.snap ?? null;
  if (!(snap === null || typeof snap === 'string')) throw bad('snap', 'a base64 string or null');
  const reference = (field: 'obj' | 'prev'): string | null => {
    const name = v[field] ?? null;
    if (name === null) return null;
    const suffix = typeof name === 'string' && name.startsWith(owner.id) ? kObjectSuffix.exec(name.slice(owner.id.length)) : null;
    if (suffix === null || Number(suffix[1]) > epoch || !Number.isSafeInteger(Number(suffix[2]))) {
      throw bad(field, `null or the name of one of its objects (\`${owner.id}.<epoch up to ${epoch}>.<revision>\`)`);
    }
    return name as string;
  };
  const obj = reference('obj');
  const prev = reference('prev');
  if (snap !== null && obj !== null) throw bad('obj', 'null when `snap` is set (a snapshot is inline or an object, not both)');
  return { snap, obj, prev };
}

/** `read`, or a rejection once it has waited `ms` (the caller cancels the read). */
function idle<T>(read: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no data for ${ms} ms`)), ms);
  });
  return Promise.race([read, late]).finally(() => clearTimeout(timer));
}
