/**
 * The counter every cross-thread case talks to (ask-rtt, tell-cross-thread),
 * and the sibling the driver tells in tell-local. Same messages as the
 * peers' counters: `{ type: 'inc', by }` one-way, `{ type: 'get' }` answered
 * with the count.
 */
import { defineActor } from '../../src/actor.js';

export type CounterMsg = { type: 'inc'; by: number } | { type: 'get' };

export default defineActor({
  init: (args: { start: number }) => ({ n: args.start }),
  receive(state, msg: CounterMsg) {
    if (msg.type === 'inc') {
      state.n += msg.by;
      return undefined;
    }
    return state.n;
  },
});
