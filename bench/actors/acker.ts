/** Counts acks; answers a `wait` for n once n acks have arrived (broadcast-256). */
import { defineActor, type DeferredReply } from '../../src/actor.js';

type Msg = { type: 'ack' } | { type: 'wait'; n: number };

export default defineActor({
  init: () => ({ count: 0, want: 0, waiting: undefined as DeferredReply | undefined }),
  receive(state, msg: Msg, ctx) {
    if (msg.type === 'wait') {
      state.want = msg.n;
      state.waiting = ctx.replyLater();
    } else state.count++;
    if (state.waiting !== undefined && state.count >= state.want) {
      state.waiting.resolve(state.count);
      state.waiting = undefined;
      state.count = 0;
    }
    return undefined;
  },
});
