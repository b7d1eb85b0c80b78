/**
 * The skynet benchmark (github.com/atemerev/skynet): a tree of actors, each
 * spawning `div` children until the leaves, which answer with their number;
 * sums flow back to the root. With size 1,000,000 and div 10 it creates
 * 1,111,111 actors and the root's answer is 499999500000.
 *
 * Level-1 children are placed round-robin over the pool's threads
 * (`spread`), so every thread builds and sums its share of the tree; below
 * that, children live on their parent's thread and every message stays in
 * that thread's heap.
 */
import { defineActor, type ActorRef, type ActorContext } from '../../src/actor.js';

export type SkynetMsg = { type: 'run' } | { type: 'result'; value: number };

interface SkynetArgs {
  num: number;
  size: number;
  div: number;
  parent?: ActorRef<SkynetMsg>;
  spread?: number;
}

interface SkynetState extends SkynetArgs {
  sum: number;
  received: number;
  reply?: { resolve(value: unknown): void; reject(error: unknown): void };
}

const self = new URL(import.meta.url);

function start(state: SkynetState, ctx: ActorContext<SkynetMsg>): void {
  if (state.size === 1) {
    state.parent?.tell({ type: 'result', value: state.num });
    ctx.stop();
    return;
  }
  const childSize = state.size / state.div;
  for (let i = 0; i < state.div; i++) {
    const args: SkynetArgs = { num: state.num + i * childSize, size: childSize, div: state.div, parent: ctx.self };
    // Not awaited, as skynet's other implementations (Akka, Erlang, Go) do
    // not: a child that fails to start leaves the sum short (the root's ask
    // times out) and its error is on rt.failures. Below the first level a
    // child lives on its parent's thread: ctx.spawnNow, which makes no
    // promise (a .catch per spawn kept a promise and a reaction job per
    // actor alive until the synchronous build ended: about 30% more
    // promoted bytes). The first level is spread over the threads.
    if (state.spread === undefined) ctx.spawnNow(self, args);
    else void ctx.spawn(self, args, { thread: i % state.spread });
  }
}

export default defineActor({
  init(args: SkynetArgs, ctx): SkynetState {
    const state: SkynetState = {
      num: args.num,
      size: args.size,
      div: args.div,
      parent: args.parent,
      spread: args.spread,
      sum: 0,
      received: 0,
      reply: undefined,
    };
    if (args.parent !== undefined) start(state, ctx as ActorContext<SkynetMsg>);
    return state;
  },
  receive(state, msg: SkynetMsg, ctx) {
    if (msg.type === 'run') {
      state.reply = ctx.replyLater();
      start(state, ctx);
      return;
    }
    state.sum += msg.value;
    if (++state.received === state.div) {
      if (state.parent !== undefined) state.parent.tell({ type: 'result', value: state.sum });
      else state.reply?.resolve(state.sum);
      ctx.stop();
    }
    return undefined;
  },
});
