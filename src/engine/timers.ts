/**
 * An actor's timers (`ctx.after`, `ctx.every`): each fires by putting its
 * message in the actor's mailbox, as a tell with no sender, and all of them
 * are cancelled when the actor stops, restarts or moves to another thread.
 * (A restart's backoff timer is the supervisor's, supervisor.ts.)
 */
import type { Cell } from '../actors/cell.js';
import type { Timer } from '../actors/context.js';
import { kNoReply } from '../actors/mailbox.js';
import { InvalidOptionError } from '../base/errors.js';
import type { Engine, TimersPart } from './parts.js';

/** @internal */
export class Timers implements TimersPart {
  constructor(private readonly engine: Engine) {}

  /** `ctx.after` (once) and `ctx.every` (`repeat`). */
  start(cell: Cell, ms: number, msg: unknown, repeat: boolean): Timer {
    if (typeof ms !== 'number' || !Number.isFinite(ms) || ms < 0) {
      throw new InvalidOptionError('ms', 'a finite number from 0 up', ms);
    }
    if (cell.stopped) return { cancel() {} };
    const fire = () => {
      if (cell.stopped) return;
      if (!repeat) cell.timers?.delete(timer);
      this.engine.dispatcher.enqueue(cell, msg, undefined, kNoReply);
    };
    const timer = repeat ? setInterval(fire, Math.max(1, ms)) : setTimeout(fire, ms);
    cell.addTimer(timer);
    return {
      cancel: () => {
        clearTimeout(timer);
        cell.timers?.delete(timer);
      },
    };
  }

  /** Cancels every timer of `cell` (it stops, restarts, or leaves this thread). */
  cancelAll(cell: Cell): void {
    if (cell.timers === undefined) return;
    for (const timer of cell.timers) clearTimeout(timer);
    cell.timers.clear();
  }
}
