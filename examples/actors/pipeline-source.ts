/**
 * The head of the pipeline: allocates each frame in the shared pool, paints
 * it (./pipeline-kernels.ts) and transfers it to the first stage. At most
 * `window` frames are out at once; the sink gives a credit back for each
 * frame it has checked and freed, which lets the next one go. The `run` ask
 * is answered when every frame has come back as a credit.
 */
import { defineActor, type ActorRef, type DeferredReply } from '../../src/actor.js';
import { fillRows, kFrameBytes } from './pipeline-kernels.js';
import type { FrameMsg } from './pipeline-stage.js';

export type SourceMsg = { type: 'run'; frames: number; window: number; first: ActorRef<FrameMsg> } | { type: 'credit'; seq: number };

export interface SourceResult {
  frames: number;
  /** Time painting frames, on this actor's thread. */
  busyMs: number;
  thread: number;
}

interface SourceState {
  first?: ActorRef<FrameMsg>;
  frames: number;
  sent: number;
  credited: number;
  busyMs: number;
  reply?: DeferredReply;
}

export default defineActor({
  init: (): SourceState => ({ frames: 0, sent: 0, credited: 0, busyMs: 0 }),
  receive(state, msg: SourceMsg, ctx) {
    const sendNext = () => {
      const started = performance.now();
      const seq = state.sent++;
      const handle = ctx.memory.alloc(kFrameBytes);
      fillRows(ctx.memory.bytes(handle), 0, seq);
      state.busyMs += performance.now() - started;
      // From here the frame is the first stage's: our view of it is stale.
      if (!state.first?.tell({ type: 'frame', handle, seq }, { transfer: [handle] })) {
        throw new Error(`the first stage refused frame ${seq}`);
      }
    };
    if (msg.type === 'run') {
      if (state.reply !== undefined) throw new Error('the pipeline is already running');
      Object.assign(state, { first: msg.first, frames: msg.frames, sent: 0, credited: 0, busyMs: 0, reply: ctx.replyLater() });
      while (state.sent < Math.min(msg.window, msg.frames)) sendNext();
      return undefined;
    }
    state.credited++;
    if (state.sent < state.frames) sendNext();
    else if (state.credited === state.frames) {
      const result: SourceResult = { frames: state.frames, busyMs: state.busyMs, thread: ctx.thread };
      state.reply?.resolve(result);
      state.reply = undefined;
    }
    return undefined;
  },
});
