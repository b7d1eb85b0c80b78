/** Keeps a 4 KB state (a byte array) and checkpoints it: the checkpoint-4k bench actor. */
import { defineActor } from '../../src/index.js';

export default defineActor({
  init: (args: { bytes: number }) => ({ data: new Uint8Array(args.bytes).fill(7) }),
  receive(state, msg: { type: 'sum' } | { type: 'fail' }) {
    if (msg.type === 'fail') throw new Error('restart me');
    let sum = 0;
    for (const b of state.data) sum += b;
    return sum;
  },
  snapshot: (state) => state.data,
  restore: (data) => ({ data: data as Uint8Array<ArrayBuffer> }),
});
