/**
 * The end of the pipeline: checks each frame, frees it and gives the source a
 * credit. The check replays the source's paint and every stage on a few rows
 * of a scratch buffer and compares them with the frame's rows: a frame that
 * skipped a stage, went through one twice, or holds another frame's bytes
 * fails it (the handler throws, and the failure reaches `rt.failures`).
 */
import { defineActor, type ActorRef } from '../../src/actor.js';
import { fillRows, kHeight, kRowBytes, kernels, stageKinds } from './pipeline-kernels.js';
import type { SourceMsg } from './pipeline-source.js';
import type { FrameMsg } from './pipeline-stage.js';

export type SinkMsg = FrameMsg | { type: 'progress' };

export interface SinkProgress {
  frames: number;
  rowsChecked: number;
  thread: number;
  busyMs: number;
}

/** Rows checked per frame. */
const kRowsPerFrame = 4;

export default defineActor({
  init: (args: { source: ActorRef<SourceMsg> }) => ({ source: args.source, frames: 0, rowsChecked: 0, busyMs: 0, row: new Uint8Array(kRowBytes) }),
  receive(state, msg: SinkMsg, ctx): SinkProgress | undefined {
    if (msg.type === 'progress') return { frames: state.frames, rowsChecked: state.rowsChecked, thread: ctx.thread, busyMs: state.busyMs };
    const started = performance.now();
    const frame = ctx.memory.bytes(msg.handle);
    for (let k = 0; k < kRowsPerFrame; k++) {
      const y = (msg.seq * 61 + k * 67) % kHeight;
      const expected = state.row;
      fillRows(expected, y, msg.seq);
      for (const kind of stageKinds) kernels[kind](expected);
      const actual = frame.subarray(y * kRowBytes, (y + 1) * kRowBytes);
      for (let at = 0; at < kRowBytes; at++) {
        if (actual[at] !== expected[at]) {
          throw new Error(`frame ${msg.seq}, row ${y}, byte ${at}: ${actual[at]}, expected ${expected[at]}`);
        }
      }
      state.rowsChecked++;
    }
    ctx.memory.free(msg.handle);
    state.frames++;
    state.busyMs += performance.now() - started;
    state.source.tell({ type: 'credit', seq: msg.seq });
    return undefined;
  },
});
