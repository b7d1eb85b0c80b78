/**
 * `ctx.memory`: an actor's door to the shared region pool. Every call checks
 * ownership against the actor it belongs to, so it works the same before and
 * after an `await` in a handler.
 */
import { ActorRef } from './ref.js';
import { InvalidArgumentError } from '../base/errors.js';
import type { AllocOptions, Holder, Pool } from '../memory/pool.js';
import { RegionHandle } from '../memory/handle.js';

type ViewCtor<T> = { new (buffer: SharedArrayBuffer, byteOffset: number, length: number): T; BYTES_PER_ELEMENT: number };

/**
 * `ctx.memory`: this actor's access to the runtime's shared region pool.
 * Allocates, frees, lends (`share`) and gives back (`release`) allocations,
 * and gives zero-copy views of their bytes. Every call checks ownership or
 * a loan against this actor.
 */
export class MemoryContext {
  /** @internal */
  private readonly pool: Pool;
  /** @internal */
  private readonly holder: Holder & { name: string };
  /** @internal */
  private readonly isLive: (slot: number, gen: number) => boolean;
  /** Evictable allocations this actor took a view of in its current turn (pinned until it ends). */
  private pinned: RegionHandle[] | undefined;

  /** @internal */
  constructor(pool: Pool, holder: Holder & { name: string }, isLive: (slot: number, gen: number) => boolean) {
    this.pool = pool;
    this.holder = holder;
    this.isLive = isLive;
  }

  /**
   * Allocates `bytes` (rounded up to whole regions) owned by this actor.
   * `{ evictable: true }` makes it a cache entry the pool may reclaim under
   * pressure. Throws QuotaExceededError or PoolExhaustedError.
   */
  alloc(bytes: number, options?: AllocOptions): RegionHandle {
    if (options !== undefined) {
      if (options === null || typeof options !== 'object') throw new InvalidArgumentError('options', 'an object', options);
      if (options.evictable !== undefined && typeof options.evictable !== 'boolean') {
        throw new InvalidArgumentError('evictable', 'a boolean', options.evictable);
      }
      if (options.ttlMs !== undefined && (typeof options.ttlMs !== 'number' || !Number.isInteger(options.ttlMs) || options.ttlMs < 1)) {
        throw new InvalidArgumentError('ttlMs', 'an integer from 1 up', options.ttlMs);
      }
    }
    return this.pool.allocate(bytes, this.holder, options, this.holder.name);
  }

  /** Frees an allocation this actor owns. Loans already made keep it alive until released. */
  free(handle: RegionHandle): void {
    this.pool.free(handle, this.holder);
  }

  /**
   * Lends the allocation read-only to each actor in `refs`; returns one loan
   * handle per ref, in order, to send to it. The allocation lives until the
   * owner frees it and every loan is released. An actor that has stopped
   * gets nothing: ActorStoppedError, and no loan is made.
   */
  share(handle: RegionHandle, refs: ActorRef[]): RegionHandle[] {
    if (!Array.isArray(refs) || refs.length === 0) throw new InvalidArgumentError('refs', 'a non-empty array of ActorRefs', refs);
    for (let i = 0; i < refs.length; i++) {
      if (!(refs[i] instanceof ActorRef)) throw new InvalidArgumentError(`refs[${i}]`, 'an ActorRef', refs[i]);
      if (refs[i].node !== undefined)
        throw new InvalidArgumentError(`refs[${i}]`, 'an actor of this node (regions do not reach other nodes)', refs[i].toString());
    }
    return this.pool.share(
      handle,
      this.holder,
      refs.map((ref) => ({ slot: ref.slot, gen: ref.gen })),
      this.isLive,
    );
  }

  /** Gives back a loan received from `share`. */
  release(handle: RegionHandle): void {
    this.pool.release(handle, this.holder);
  }

  /** Copies `data` into the allocation at `offset` (owner only: a loan is read-only). */
  write(handle: RegionHandle, data: ArrayLike<number> | Uint8Array, offset = 0): void {
    this.pool.access(handle, this.holder, true);
    const at = this.pool.offsetOf(handle);
    if (!Number.isInteger(offset) || offset < 0 || offset + data.length > handle.byteLength) {
      throw new InvalidArgumentError('offset', `an integer with offset + data.length <= ${handle.byteLength}`, offset);
    }
    this.pool.view(at, handle.byteLength).set(data, offset);
  }

  /**
   * The allocation's bytes, with no copy: exactly `handle.byteLength` long.
   * The owner may write through it; a borrower must treat it as read-only
   * (shared memory cannot be write-protected in JavaScript; `write` checks).
   * A view stays valid until the allocation is freed or transferred, and,
   * for an evictable allocation, for the current turn of the handler (it is
   * pinned against eviction until the handler returns or its promise
   * settles): take a new view in each turn, after each `await`.
   */
  bytes(handle: RegionHandle): Uint8Array {
    return this.pool.view(this.access(handle), handle.byteLength);
  }

  /**
   * Checks access and, for an evictable allocation, pins it for the rest of
   * this handler turn: while a view may be in use, eviction passes it by (a
   * view cannot be revoked, so evicting it would let this actor write into
   * the next owner's bytes). The runtime unpins when the turn ends. An
   * allocation that is not evictable is never evicted, so its view takes no
   * pin and nothing is kept for the turn's end: one lock per view.
   */
  private access(handle: RegionHandle): number {
    if (this.pool.access(handle, this.holder, false, true)) (this.pinned ??= []).push(handle);
    return this.pool.offsetOf(handle);
  }

  /** @internal The actor's turn ended: its views are no longer in use. */
  endTurn(): void {
    const pinned = this.pinned;
    if (pinned === undefined || pinned.length === 0) return;
    for (const handle of pinned) this.pool.unpin(handle);
    pinned.length = 0;
  }

  /**
   * The allocation as 32-bit floats, with no copy: `floor(handle.byteLength / 4)` elements (a trailing
   * partial element is left out). Like {@link bytes}: valid for this handler turn, read-only for a borrower.
   */
  f32(handle: RegionHandle): Float32Array {
    return this.typed(handle, Float32Array);
  }

  /**
   * The allocation as 64-bit floats, with no copy: `floor(handle.byteLength / 8)` elements (a trailing
   * partial element is left out). Like {@link bytes}: valid for this handler turn, read-only for a borrower.
   */
  f64(handle: RegionHandle): Float64Array {
    return this.typed(handle, Float64Array);
  }

  /**
   * The allocation as signed 32-bit integers, with no copy: `floor(handle.byteLength / 4)` elements (a trailing
   * partial element is left out). Like {@link bytes}: valid for this handler turn, read-only for a borrower.
   */
  i32(handle: RegionHandle): Int32Array {
    return this.typed(handle, Int32Array);
  }

  /**
   * The allocation as unsigned 32-bit integers, with no copy: `floor(handle.byteLength / 4)` elements (a trailing
   * partial element is left out). Like {@link bytes}: valid for this handler turn, read-only for a borrower.
   */
  u32(handle: RegionHandle): Uint32Array {
    return this.typed(handle, Uint32Array);
  }

  /**
   * The allocation as signed 16-bit integers, with no copy: `floor(handle.byteLength / 2)` elements (a trailing
   * partial element is left out). Like {@link bytes}: valid for this handler turn, read-only for a borrower.
   */
  i16(handle: RegionHandle): Int16Array {
    return this.typed(handle, Int16Array);
  }

  /**
   * The allocation as unsigned 16-bit integers, with no copy: `floor(handle.byteLength / 2)` elements (a trailing
   * partial element is left out). Like {@link bytes}: valid for this handler turn, read-only for a borrower.
   */
  u16(handle: RegionHandle): Uint16Array {
    return this.typed(handle, Uint16Array);
  }

  /**
   * The allocation as signed bytes, with no copy: `handle.byteLength` elements.
   * Like {@link bytes}: valid for this handler turn, read-only for a borrower.
   */
  i8(handle: RegionHandle): Int8Array {
    return this.typed(handle, Int8Array);
  }

  /**
   * One typed view over the whole allocation, whole elements only (a trailing partial element is left out): an
   * allocation of several regions is one contiguous run of the pool's buffer, and region-aligned, so any element
   * size fits.
   */
  private typed<T>(handle: RegionHandle, ctor: ViewCtor<T>): T {
    const at = this.access(handle);
    return new ctor(this.pool.buffer, at, Math.floor(handle.byteLength / ctor.BYTES_PER_ELEMENT));
  }
}

export { RegionHandle };
