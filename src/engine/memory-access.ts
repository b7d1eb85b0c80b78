/**
 * Actors' access to the shared region pool from this thread: `ctx.memory`
 * (allocations owned by the actor, checked on every access) and the
 * `transfer` option of a tell or ask (regions that change owner with the
 * message).
 */
import type { Cell } from '../actors/cell.js';
import { MemoryContext } from '../actors/memory.js';
import { type ActorRef, checkLocalRef } from '../actors/ref.js';
import { InvalidOptionError, RegionAccessError } from '../base/errors.js';
import type { RegionHandle } from '../memory/handle.js';
import type { Holder } from '../memory/pool.js';
import type { Engine, MemoryPart } from './parts.js';
import { kRouteOk } from './types.js';

/** @internal */
export class MemoryAccess implements MemoryPart {
  constructor(private readonly engine: Engine) {}

  /** `ctx.memory`. */
  memoryFor(cell: Cell): MemoryContext {
    const dir = this.engine.dir;
    return (cell.memory ??= new MemoryContext(this.engine.pool, { slot: cell.slot, gen: cell.gen, name: cell.ref.toString() }, (slot, gen) =>
      dir.isLive(slot, gen),
    ));
  }

  /**
   * Moves the regions in `transfer` to `ref`'s actor, then routes; if the
   * message is refused or cannot be sent, ownership goes back to the sender.
   * The receiver owns the regions when the message arrives; the sender has
   * lost access from the moment this returns.
   */
  withTransfer(ref: ActorRef, transfer: unknown, sender: ActorRef | undefined, route: () => number): number {
    if (!Array.isArray(transfer)) throw new InvalidOptionError('transfer', 'an array of RegionHandles', transfer);
    checkLocalRef(ref, 'a region transfer');
    const { cells, dir, pool } = this.engine;
    const from = this.engine.dispatcher.current ?? (sender !== undefined ? cells[sender.slot] : undefined);
    if (from === undefined || (sender !== undefined && from.ref.gen !== sender.gen)) {
      throw new RegionAccessError(
        String(transfer[0]),
        'only an actor transfers regions it owns (the main thread owns none; after an await, pass { sender: ctx.self })',
      );
    }
    if (!dir.isLive(ref.slot, ref.gen)) throw this.engine.router.stoppedError(ref); // the regions stay with the sender
    const to: Holder = { slot: ref.slot, gen: ref.gen };
    const undo: Array<() => void> = [];
    const rollBack = () => {
      for (let i = undo.length - 1; i >= 0; i--) {
        try {
          undo[i]();
        } catch {
          // The receiver stopped between the move and the refusal, and its
          // stop reclaimed the region: there is nothing left to give back.
        }
      }
    };
    let code: number;
    try {
      for (const handle of transfer) undo.push(pool.transfer(handle as RegionHandle, from, to));
      code = route();
    } catch (err) {
      rollBack();
      throw err;
    }
    if (code !== kRouteOk) rollBack();
    return code;
  }
}
