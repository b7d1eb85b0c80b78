/**
 * The sending side of transfer-64k (microswarm): owns one 64 KB region,
 * allocated once on the first run and reused, and plays ping-pong with
 * memory-pong on the other thread. The region travels both ways, moved with
 * each message by `tell(msg, { transfer: [handle] })`; each side reads all
 * 64 KB on arrival (./memory-ball.ts) before handing it back.
 *
 * `{ type: 'run', pong, roundTrips }` answers with a Float64Array of
 * per-handoff latencies in microseconds, one per round trip: the time from one
 * send to the next (which spans two handoffs, each with its receiver's read),
 * halved. Timed with performance.now() on this thread only, so the two
 * threads' clocks never meet.
 */
import { defineActor, type ActorRef, type DeferredReply, type RegionHandle } from '../../src/actor.js';
import { fillBall, kBallBytes, readBall } from './memory-ball.js';
import type { PongMsg } from './memory-pong.js';

export type PingMsg =
  | { type: 'run'; pong: ActorRef<PongMsg>; roundTrips: number }
  | { type: 'ball'; handle: RegionHandle; hop: number }
  | { type: 'fail'; message: string };

interface Run {
  pong: ActorRef<PongMsg>;
  samples: Float64Array;
  done: number;
  lastSendMs: number;
  reply: DeferredReply;
}

interface PingState {
  handle?: RegionHandle;
  run?: Run;
}

function send(state: PingState, run: Run, handle: RegionHandle, hop: number): void {
  if (!run.pong.tell({ type: 'ball', handle, hop }, { transfer: [handle] })) {
    state.handle = handle; // refused: the region stayed ours
    throw new Error('pong refused the 64 KB handoff (mailbox full or stopped)');
  }
  state.handle = undefined; // pong's until it comes back
}

export default defineActor({
  init: (): PingState => ({}),
  receive(state, msg: PingMsg, ctx) {
    const mem = ctx.memory;
    switch (msg.type) {
      case 'run': {
        if (state.run !== undefined) throw new Error('a run is already going');
        // Allocated once and reused by every handoff of every run.
        if (state.handle === undefined) {
          state.handle = mem.alloc(kBallBytes);
          fillBall(mem.i32(state.handle));
        }
        const handle = state.handle;
        mem.i32(handle)[0] = 1;
        const run: Run = { pong: msg.pong, samples: new Float64Array(msg.roundTrips), done: 0, lastSendMs: 0, reply: ctx.replyLater() };
        state.run = run;
        run.lastSendMs = performance.now();
        try {
          send(state, run, handle, 1);
        } catch (error) {
          state.run = undefined;
          run.reply.reject(error);
        }
        return undefined;
      }
      case 'ball': {
        const run = state.run;
        if (run === undefined) throw new Error('a ball arrived outside a run');
        try {
          // A view is valid only while we own the region: take it on arrival.
          const words = mem.i32(msg.handle);
          readBall(words, msg.hop + 1);
          const now = performance.now();
          run.samples[run.done++] = ((now - run.lastSendMs) * 1000) / 2;
          if (run.done === run.samples.length) {
            state.handle = msg.handle;
            state.run = undefined;
            run.reply.resolve(run.samples);
            return undefined;
          }
          words[0] = msg.hop + 2;
          run.lastSendMs = now;
          send(state, run, msg.handle, msg.hop + 2);
        } catch (error) {
          state.run = undefined;
          run.reply.reject(error);
        }
        return undefined;
      }
      case 'fail': {
        const run = state.run;
        state.run = undefined;
        run?.reply.reject(new Error(`pong failed: ${msg.message}`));
        return undefined;
      }
    }
  },
});
