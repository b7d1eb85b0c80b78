/**
 * The entity asks this node waits on (to its own activations, to other
 * nodes, and the fresh asks it makes when it forwards one): ids, timers, and
 * their settlement by an answer, a timeout, or shutdown. An id is what an
 * ENTITY record carries, and what the answering node's REPLY names.
 */
import { AskTimeoutError } from '../base/errors.js';

interface Waiting {
  resolve(v: unknown): void;
  reject(e: unknown): void;
  timer: NodeJS.Timeout | undefined;
}

/** @internal */
export class EntityAsks {
  private readonly pending = new Map<number, Waiting>();
  private nextId = 0;

  /** A new ask: its id, settled by `answer`, or by AskTimeoutError after `timeoutMs` (0: no timeout). */
  expect(key: string, timeoutMs: number, resolve: (v: unknown) => void, reject: (e: unknown) => void): number {
    this.nextId = this.nextId >= 0xffff_fffe ? 1 : this.nextId + 1;
    const id = this.nextId;
    const timer =
      timeoutMs > 0
        ? setTimeout(() => {
            if (this.pending.delete(id)) reject(new AskTimeoutError(`Entity(${key})`, timeoutMs));
          }, timeoutMs)
        : undefined;
    this.pending.set(id, { resolve, reject, timer });
    return id;
  }

  /** Settles ask `id` with its answer (nothing when it already settled). */
  answer(id: number, ok: boolean, value: unknown): void {
    const waiting = this.pending.get(id);
    if (waiting === undefined) return;
    this.pending.delete(id);
    clearTimeout(waiting.timer);
    (ok ? waiting.resolve : waiting.reject)(value);
  }

  /** Forgets ask `id` without settling it (its message never left). */
  cancel(id: number): void {
    clearTimeout(this.pending.get(id)?.timer);
    this.pending.delete(id);
  }

  /** Rejects every ask still waiting with `error`. */
  rejectAll(error: Error): void {
    for (const [id, waiting] of this.pending) {
      this.pending.delete(id);
      clearTimeout(waiting.timer);
      waiting.reject(error);
    }
  }
}
