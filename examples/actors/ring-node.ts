/**
 * A node of the demo's token ring. Each node knows its successor; a token
 * carries its hop count. Node 0 starts the token on `start` and answers that
 * ask (with `ctx.replyLater`) when the token has gone around `laps` times.
 * It also counts primes in a range, for the fan-out part of the demo.
 */
import { defineActor, type ActorRef, type DeferredReply } from '../../src/actor.js';

export type RingMsg =
  | { type: 'link'; next: ActorRef<RingMsg> }
  | { type: 'start'; laps: number }
  | { type: 'token'; hops: number; laps: number; size: number }
  | { type: 'progress' }
  | { type: 'primes'; from: number; to: number };

interface RingState {
  index: number;
  next?: ActorRef<RingMsg>;
  done?: DeferredReply;
  hops: number;
}

function countPrimes(from: number, to: number): number {
  let count = 0;
  for (let n = Math.max(2, from); n < to; n++) {
    let prime = true;
    for (let d = 2; d * d <= n; d++) {
      if (n % d === 0) {
        prime = false;
        break;
      }
    }
    if (prime) count++;
  }
  return count;
}

export default defineActor({
  init: (args: { index: number }): RingState => ({ index: args.index, hops: 0 }),
  receive(state, msg: RingMsg, ctx) {
    switch (msg.type) {
      case 'link':
        state.next = msg.next;
        return undefined;
      case 'start':
        state.done = ctx.replyLater();
        state.next?.tell({ type: 'token', hops: 1, laps: msg.laps, size: 0 });
        return undefined;
      case 'token': {
        state.hops = msg.hops;
        // Node 0 sees the token once per lap: it learns the ring's size on lap one.
        const size = state.index === 0 && msg.size === 0 ? msg.hops : msg.size;
        if (state.index === 0 && msg.hops >= size * msg.laps) {
          state.done?.resolve(msg.hops);
          return undefined;
        }
        state.next?.tell({ type: 'token', hops: msg.hops + 1, laps: msg.laps, size });
        return undefined;
      }
      case 'progress':
        return state.hops;
      case 'primes':
        return { thread: ctx.thread, primes: countPrimes(msg.from, msg.to) };
    }
  },
});
