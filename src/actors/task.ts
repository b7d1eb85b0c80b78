/**
 * A task as an agent sees it (`defineActor({ task(state, task, ctx) })`):
 * what to do (`kind`, `payload`), which attempt this is, and a signal that
 * fires when the task is cancelled or its attempt timed out. It crosses
 * threads through the codec (see `ref-codec.ts`); the signal is made on the
 * agent's thread.
 */
import { Envelope, kTaskEnvelope } from './envelope.js';

/** A task handed to an agent's `task(state, task, ctx)` handler by the scheduler (see the top of this file). */
export class Task<Payload = unknown> extends Envelope {
  /** @internal */
  readonly envelope = kTaskEnvelope;
  /** The scheduler's id of the task (`handle.id`). */
  readonly id: string;
  /** What kind of work it is (`submit({ kind })`). */
  readonly kind: string;
  /** The task's input (`submit({ payload })`). */
  readonly payload: Payload;
  /** 1 for the first attempt; retries and re-placements after a crash count up. */
  readonly attempt: number;
  private controller: AbortController | undefined;
  private abortedWith: Error | undefined;

  /** Fires when the task is cancelled or this attempt's timeout passed: stop cooperatively. Made on first use. */
  get signal(): AbortSignal {
    if (this.controller === undefined) {
      this.controller = new AbortController();
      if (this.abortedWith !== undefined) this.controller.abort(this.abortedWith);
    }
    return this.controller.signal;
  }

  /** @internal Fires the signal (now, or when it is first read). */
  abort(reason: Error): void {
    if (this.abortedWith !== undefined) return;
    this.abortedWith = reason;
    this.controller?.abort(reason);
  }

  constructor(id: string, kind: string, payload: Payload, attempt: number) {
    super();
    this.id = id;
    this.kind = kind;
    this.payload = payload;
    this.attempt = attempt;
  }
}
