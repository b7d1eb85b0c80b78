/**
 * The microswarm side of transfer-pipeline-1m: a source and four stages,
 * alternating the two threads (source and stages 0 and 2 on thread 0,
 * stages 1 and 3 on thread 1). A frame is one 1 MiB allocation of the pool
 * (16 regions of 64 KiB, one handle) and moves with every message,
 * `tell(msg, { transfer: [handle] })`; the last stage hands it back to the
 * source, which reuses it. See ./pipeline-frame.ts for what each stage does.
 *
 * Source: `{ type: 'run', first, frames, window }` keeps `window` frames in
 * flight (allocated on the first run, kept for the next ones) until
 * `frames` have come back, then answers with their count.
 */
import { defineActor, type ActorRef, type DeferredReply, type RegionHandle } from '../../src/actor.js';
import { fillFrame, kFrameBytes, passStage } from './pipeline-frame.js';

export type PipelineMsg =
  | { type: 'run'; first: ActorRef<PipelineMsg>; frames: number; window: number }
  | { type: 'frame'; handle: RegionHandle; seq: number };

type Args = { role: 'source' } | { role: 'stage'; stage: number; next: ActorRef<PipelineMsg> };

interface State {
  args: Args;
  spare: RegionHandle[];
  run?: { first: ActorRef<PipelineMsg>; frames: number; sent: number; back: number; reply: DeferredReply };
}

function hand(to: ActorRef<PipelineMsg>, handle: RegionHandle, seq: number): void {
  if (!to.tell({ type: 'frame', handle, seq }, { transfer: [handle] })) throw new Error(`frame ${seq} refused (mailbox full or stopped)`);
}

export default defineActor({
  init: (args: Args): State => ({ args, spare: [] }),
  receive(state, msg: PipelineMsg, ctx) {
    const { args } = state;
    const mem = ctx.memory;
    if (args.role === 'stage') {
      if (msg.type !== 'frame') throw new Error('a stage got a run');
      passStage(mem.i32(msg.handle), args.stage, msg.seq);
      hand(args.next, msg.handle, msg.seq);
      return undefined;
    }
    if (msg.type === 'run') {
      if (state.run !== undefined) throw new Error('a run is already going');
      while (state.spare.length < msg.window) {
        const handle = mem.alloc(kFrameBytes);
        fillFrame(mem.i32(handle));
        state.spare.push(handle);
      }
      const run = { first: msg.first, frames: msg.frames, sent: 0, back: 0, reply: ctx.replyLater() };
      state.run = run;
      for (const handle of state.spare.splice(0, Math.min(msg.window, msg.frames))) send(mem.i32(handle), handle);
      return undefined;
    }
    const run = state.run;
    if (run === undefined) throw new Error('a frame came back outside a run');
    run.back++;
    if (run.back === run.frames) {
      state.spare.push(msg.handle);
      state.run = undefined;
      run.reply.resolve(run.back);
    } else if (run.sent < run.frames) send(mem.i32(msg.handle), msg.handle);
    else state.spare.push(msg.handle);
    return undefined;

    function send(words: Int32Array, handle: RegionHandle): void {
      const r = state.run as NonNullable<State['run']>;
      const seq = r.sent++;
      words[0] = seq;
      hand(r.first, handle, seq);
    }
  },
});
