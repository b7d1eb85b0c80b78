/**
 * Savina Counting (microswarm): the driver (thread 0) is the producer; it
 * tells the counter (thread 1) `inc` `messages` times, then `retrieve`; the
 * counter answers with its count.
 */
import { defineActor, type ActorRef } from '../../src/actor.js';
import { finish, place, type Placement, startRun, type DriverState } from './savina-common.js';

type Msg =
  | { type: 'run'; sizes: { counting: { messages: number } }; placement: Placement }
  | { type: 'inc' }
  | { type: 'retrieve'; replyTo: ActorRef<Msg> }
  | { type: 'result'; count: number };

const self = new URL(import.meta.url);

export default defineActor({
  init: (args: { role: 'driver' | 'counter' }) => ({ role: args.role, count: 0 }) as { role: string; count: number } & DriverState,
  receive(state, msg: Msg, ctx) {
    switch (msg.type) {
      case 'inc':
        state.count++;
        return undefined;
      case 'run':
        startRun(state, ctx, async () => {
          const counter = await ctx.spawn(self, { role: 'counter' }, place(msg.placement, 1));
          const inc = { type: 'inc' } as const;
          // The counter's mailbox is unbounded; a full ring keeps the frames in the sender's backlog.
          for (let i = 0; i < msg.sizes.counting.messages; i++) counter.tell(inc);
          counter.tell({ type: 'retrieve', replyTo: ctx.self });
        });
        return undefined;
      case 'retrieve':
        msg.replyTo.tell({ type: 'result', count: state.count });
        ctx.stop();
        return undefined;
      case 'result':
        finish(state, String(msg.count));
        return undefined;
    }
  },
});
