/** Keeps a 4 KB state (a byte array) and checkpoints it: the checkpoint-4k bench actor. */
import { defineActor } from '../../src/actor.js';

export default defineActor({
  init: (args: { bytes: number }) => ({ data: new Uint8Array(args.bytes).fill(7) }),
  receive(state, msg: { type: 'sum' } | { type: 'fail' } | { type: 'checkpoints'; n: number }, ctx) {
    if (msg.type === 'fail') throw new Error('restart me');
    if (msg.type === 'checkpoints') {
      // Times ctx.checkpoint() here, on the actor's thread: ms per call.
      const ms: number[] = [];
      for (let i = -50; i < msg.n; i++) {
        const start = performance.now();
        ctx.checkpoint();
        if (i >= 0) ms.push(performance.now() - start);
      }
      return ms;
    }
    let sum = 0;
    for (const b of state.data) sum += b;
    return sum;
  },
  snapshot: (state) => state.data,
  restore: (data) => ({ data: data as Uint8Array<ArrayBuffer> }),
});
