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
import type { TraceContext } from './trace-field.js';
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
   * Moves the regions in `transfer` to `ref`'s actor, then routes `msg` (as
   * `router.route` with these arguments); if the message is refused or
   * cannot be sent, ownership goes back to the sender. The receiver owns the
   * regions when the message arrives; the sender has lost access from the
   * moment this returns. Allocates nothing (no undo list, no closures): it
   * runs on every hop of a handle.
   */
  withTransfer(ref: ActorRef, transfer: unknown, sender: ActorRef | undefined, msg: unknown, replyTag: number, trace?: TraceContext): number {
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
    // The receiver as the pool sees it: a ref carries its slot and generation.
    const to: Holder = ref;
    let moved = 0;
    let code: number;
    try {
      for (; moved < transfer.length; moved++) pool.transfer(transfer[moved] as RegionHandle, from, to);
      code = this.engine.router.route(ref, msg, sender, replyTag, false, trace);
    } catch (err) {
      this.giveBack(transfer, moved, from, to);
      throw err;
    }
    if (code !== kRouteOk) this.giveBack(transfer, moved, from, to);
    return code;
  }

  /** Gives the first `moved` regions of `transfer` back to `from`, last first. */
  private giveBack(transfer: unknown[], moved: number, from: Holder, to: Holder): void {
    for (let i = moved - 1; i >= 0; i--) {
      try {
        this.engine.pool.giveBack(transfer[i] as RegionHandle, from, to);
      } catch {
        // The receiver stopped between the move and the refusal, and its
        // stop reclaimed the region: there is nothing left to give back.
      }
    }
  }
}
