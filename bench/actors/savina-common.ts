/**
 * What the microswarm actors of the Savina cases share (bench/savina.bench.ts,
 * bench/peers/savina-microswarm.ts): every case module has a `driver` role,
 * spawned once per case on thread 0; `{ type: 'run', sizes }` builds the
 * case's actors anew (as Savina's `runIteration` does), runs it, and answers
 * with the case's answer string once its last actor reports. The threads each
 * module names are those of the `spread` placement; under `local` every actor
 * of a run lives on the driver's thread (`place`).
 */
import type { DeferredReply } from '../../src/actor.js';

/**
 * Where a case's actors live: `spread` puts the i-th on thread i % 2 (every
 * hop between neighbours crosses threads); `local` leaves it where
 * `ctx.spawn` puts a child by default, its parent's thread (the driver's,
 * thread 0), as an Akka or Erlang user's actors land unless placed.
 */
export type Placement = 'spread' | 'local';

/** The spawn options of the i-th actor of a case under `placement`. */
export function place(placement: Placement, i: number): { thread: number } | undefined {
  return placement === 'spread' ? { thread: i % 2 } : undefined;
}

/** A driver's state while a run is under way. */
export interface DriverState {
  reply?: DeferredReply;
}

/**
 * Starts a run: the reply is held until `finish`; `setup` (the spawns and the
 * first messages) runs without holding the driver's turn, so that the
 * driver handles its actors' reports meanwhile. A failed setup fails the run.
 */
export function startRun(state: DriverState, ctx: { replyLater(): DeferredReply }, setup: () => Promise<void>): void {
  if (state.reply !== undefined) throw new Error('a run is already going');
  const reply = ctx.replyLater();
  state.reply = reply;
  setup().catch((error: unknown) => {
    state.reply = undefined;
    reply.reject(error);
  });
}

/** Ends the run with the case's answer. */
export function finish(state: DriverState, answer: string): void {
  const reply = state.reply;
  if (reply === undefined) throw new Error(`an answer (${answer}) arrived outside a run`);
  state.reply = undefined;
  reply.resolve(answer);
}
