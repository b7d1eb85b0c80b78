/**
 * A stage of the pipeline: transforms each frame in place, in the shared
 * pool, and transfers it on. Nothing of the frame is copied: the message
 * carries the region handle (a few bytes), and `{ transfer: [handle] }` moves
 * ownership to the next actor, on whichever thread it runs.
 */
import { defineActor, type ActorRef, type RegionHandle } from '../../src/actor.js';
import { kernels, type StageKind } from './pipeline-kernels.js';

export type FrameMsg = { type: 'frame'; handle: RegionHandle; seq: number };
export type StageMsg = FrameMsg | { type: 'stats' };

export interface StageStats {
  kind: StageKind;
  thread: number;
  frames: number;
  busyMs: number;
}

export default defineActor({
  init: (args: { kind: StageKind; next: ActorRef<FrameMsg> }) => ({ ...args, frames: 0, busyMs: 0 }),
  receive(state, msg: StageMsg, ctx): StageStats | undefined {
    if (msg.type === 'stats') return { kind: state.kind, thread: ctx.thread, frames: state.frames, busyMs: state.busyMs };
    const started = performance.now();
    kernels[state.kind](ctx.memory.bytes(msg.handle));
    state.busyMs += performance.now() - started;
    state.frames++;
    if (!state.next.tell(msg, { transfer: [msg.handle] })) throw new Error(`${state.kind}: the next actor refused frame ${msg.seq}`);
    return undefined;
  },
});
