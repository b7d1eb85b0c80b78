/**
 * `handlerTimeoutMs`: a handler that ran (or, async, has not settled)
 * longer than its actor's limit is reported on `rt.failures` (phase
 * 'timeout', HandlerTimeoutError). It is not cut off: cancellation is
 * cooperative (`ctx.signal`), and a handler stuck in a synchronous loop is
 * the main thread's watchdog's business (watchdog.ts). Called by the
 * dispatcher after each handler of an actor that has the option.
 */
import type { Cell } from '../actors/cell.js';
import { HandlerTimeoutError } from '../base/errors.js';
import { isThenable, type SystemHandler } from './types.js';

/** `began`: performance.now() when the handler started; `result`: what it returned. */
export function watchHandlerTime(system: SystemHandler, cell: Cell, began: number, result: unknown): void {
  const limit = cell.def.handlerTimeoutMs as number;
  const elapsed = performance.now() - began;
  const report = (ms: number) => system.failure({ actor: cell.ref, error: new HandlerTimeoutError(cell.ref.toString(), limit, ms), phase: 'timeout' });
  if (elapsed > limit) {
    report(elapsed);
    return;
  }
  if (!isThenable(result)) return;
  const timer = setTimeout(() => report(performance.now() - began), limit - elapsed);
  const clear = () => clearTimeout(timer);
  result.then(clear, clear);
}
