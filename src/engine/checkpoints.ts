/**
 * Checkpoints: an actor's `snapshot(state)`, encoded into a pool allocation
 * that the directory names, so that the state outlives the thread. Taken
 * every `checkpointEvery` messages, on `ctx.checkpoint()` and on
 * `rt.checkpoint(ref)`; read back by `restore` when the actor is brought
 * back after its thread died (lifecycle.ts) or restarted (supervisor.ts).
 */
import type { Cell } from '../actors/cell.js';
import type { ActorRef } from '../actors/ref.js';
import { ActorStoppedError, InvalidArgumentError, InvalidStateError, toError } from '../base/errors.js';
import { decode, encode } from '../transport/codec/index.js';
import type { RegionHandle } from '../memory/handle.js';
import type { CheckpointsPart, Engine } from './parts.js';

/** @internal */
export class Checkpoints implements CheckpointsPart {
  constructor(private readonly engine: Engine) {}

  /**
   * Checkpoints `cell` now: its `snapshot(state)`, encoded, in a pool
   * allocation owned by no actor (a restart frees what the actor owned, and
   * this must outlive it), published in the directory so that the main
   * thread finds it after this thread died. The previous one is freed.
   * Returns the snapshot's size in bytes.
   */
  private take(cell: Cell): number {
    const snapshot = cell.def.snapshot;
    if (snapshot === undefined) throw new InvalidArgumentError('ref', 'an actor whose definition has snapshot and restore', cell.ref);
    const { pool, dir } = this.engine;
    const bytes = encode(snapshot(cell.state), 'snapshot');
    const handle = pool.allocateCarrier(bytes.length);
    pool.carrierView(handle).set(bytes);
    const previous = this.handle(cell.slot);
    dir.setCheckpoint(cell.slot, { region: handle.region, gen: handle.gen, length: bytes.length });
    if (previous !== undefined) this.free(previous);
    cell.sinceCheckpoint = 0;
    return bytes.length;
  }

  private free(handle: RegionHandle): void {
    try {
      this.engine.pool.freeCarrier(handle);
    } catch {
      // Already gone (a stale column after a crash was swept): nothing to free.
    }
  }

  /**
   * The slot's checkpoint allocation: the region the directory names, with
   * the generation and size of that region's own row. The directory's other
   * checkpoint columns are not trusted: a thread that died between its
   * stores would have left them describing the next checkpoint while the
   * region word still names the last one (read that way, the snapshot was
   * garbage and the actor's state lost).
   */
  private handle(slot: number): RegionHandle | undefined {
    const at = this.engine.dir.checkpoint(slot);
    return at === undefined ? undefined : this.engine.pool.carrierAt(at.region);
  }

  /** The slot's last checkpoint, decoded from a copy of its bytes, or undefined when it has none. */
  data(slot: number): { data: unknown } | undefined {
    const handle = this.handle(slot);
    if (handle === undefined) return undefined;
    return { data: decode(this.engine.pool.carrierView(handle).slice()) };
  }

  /** The slot's last checkpoint as encoded bytes (a copy), or undefined when it has none. */
  bytes(slot: number): Uint8Array | undefined {
    const handle = this.handle(slot);
    return handle === undefined ? undefined : this.engine.pool.carrierView(handle).slice();
  }

  /**
   * Makes `bytes` (an encoded snapshot) the slot's checkpoint, before its
   * actor is spawned with `restore` (the main thread, for a cluster entity).
   */
  put(slot: number, bytes: Uint8Array): void {
    const { pool, dir } = this.engine;
    const handle = pool.allocateCarrier(bytes.length);
    pool.carrierView(handle).set(bytes);
    const previous = this.handle(slot);
    dir.setCheckpoint(slot, { region: handle.region, gen: handle.gen, length: bytes.length });
    if (previous !== undefined) this.free(previous);
  }

  /** Drops the slot's checkpoint (the actor stopped for good, or was lost with its thread). */
  drop(slot: number): void {
    const handle = this.handle(slot);
    this.engine.dir.setCheckpoint(slot, undefined);
    if (handle !== undefined) this.free(handle);
  }

  /**
   * `rt.checkpoint(ref)` on the actor's thread: between two messages (after
   * the running async handler, if one runs). Resolves to the snapshot's size.
   */
  forRef(ref: ActorRef, closing = false): Promise<number> {
    const cell = this.engine.cells[ref.slot];
    if (cell === undefined || cell.gen !== ref.gen || cell.stopped) return Promise.reject(this.engine.router.stoppedError(ref));
    // The runtime shuts down (a cluster entity's last checkpoint): the root
    // supervisor gives no directive any more, so a failed top-level actor
    // waiting for one would be waited for in vain; it ends with the shutdown.
    // (One that fails while this waits: failClosing.)
    if (closing && cell.parent === undefined && cell.failed && !cell.restartDue) return Promise.reject(noRestartError(cell));
    // Still starting (init runs, its module loads, a restart backoff): it
    // has no state yet, and the checkpoint waits for it (the waiters run
    // when it has started, or fail if it stops first).
    const starting = !cell.started && cell.arriving === undefined;
    if (!starting && cell.def.snapshot === undefined) {
      return Promise.reject(new InvalidArgumentError('ref', 'an actor whose definition has snapshot and restore', ref));
    }
    // Failed and waiting for its supervisor, or restarting: its state is the
    // one that crashed, which a restart would then restore. It waits for
    // the supervisor's directive to be carried out (a restart that reached
    // it while it moves out runs on the new thread: the waiter is then told
    // to ask again). Arriving from another thread (rt.migrate): it waits
    // for its state to arrive.
    if (!cell.busy && cell.started && !cell.failed && !cell.building && !cell.restartDue) {
      try {
        return Promise.resolve(this.take(cell));
      } catch (err) {
        return Promise.reject(err);
      }
    }
    return new Promise((resolve, reject) => {
      const run = (failed: Error | undefined) => {
        if (failed !== undefined) return reject(failed);
        // take() refuses a definition without snapshot (a child whose module loaded since) as the check above does.
        try {
          resolve(this.take(cell));
        } catch (err) {
          reject(err);
        }
      };
      (cell.checkpointWaiters ??= []).push({ run, closing });
    });
  }

  /**
   * A top-level actor failed (its supervisor is the root). Checkpoints asked
   * while the runtime closes fail now: no directive comes from the root any
   * more, and they would wait until the shutdown's deadline.
   */
  failClosing(cell: Cell): void {
    const waiters = cell.checkpointWaiters;
    if (waiters === undefined || cell.restartDue) return;
    const kept = waiters.filter((w) => !w.closing);
    cell.checkpointWaiters = kept.length === 0 ? undefined : kept;
    for (const w of waiters) if (w.closing) w.run(noRestartError(cell));
  }

  /** `ctx.checkpoint()`. */
  now(cell: Cell): number {
    if (cell.stopped) throw this.engine.router.stoppedError(cell.ref);
    // In init (or restore) there is no state yet to snapshot: before the
    // check, a snapshot that read it threw from user code, and one that did
    // not saved undefined, which a recovery then restored. On a restart the
    // cell still held the state that crashed.
    if (cell.building) {
      throw new InvalidStateError(
        cell.ref.toString(),
        'ctx.checkpoint()',
        'its init (or restore) is still running, and it has no state until that returns; checkpoint from preStart or a handler',
      );
    }
    return this.take(cell);
  }

  /** After a handled message: a checkpoint when the actor's `checkpointEvery` is due. */
  due(cell: Cell): void {
    const every = cell.def.checkpointEvery;
    if (every === undefined || ++cell.sinceCheckpoint < every) return;
    try {
      this.take(cell);
    } catch (err) {
      this.engine.system.failure({ actor: cell.ref, error: toError(err), phase: 'checkpoint' });
    }
  }

  /** `cell` can be snapshotted again (its async handler settled, it started, its supervisor resumed or restarted it): the `rt.checkpoint` calls that waited run. */
  runWaiters(cell: Cell): void {
    // Still failed (its handler threw) or rebuilding: the supervisor's resume or restart runs them.
    if (cell.checkpointWaiters === undefined || cell.failed || cell.building) return;
    const waiters = cell.checkpointWaiters;
    cell.checkpointWaiters = undefined;
    for (const w of waiters) w.run(undefined);
  }

  /** `cell` stopped: the `rt.checkpoint` calls that waited for it fail with `error`. */
  failWaiters(cell: Cell, error: Error): void {
    const waiters = cell.checkpointWaiters;
    if (waiters === undefined) return;
    cell.checkpointWaiters = undefined;
    for (const w of waiters) w.run(error);
  }
}

function noRestartError(cell: Cell): ActorStoppedError {
  return new ActorStoppedError(cell.ref.toString(), 'failed, and stops with the shutdown (no restart comes)');
}
