/**
 * Savina ThreadRing (microswarm): `actors` nodes in a ring, alternating the
 * two threads, so that every hop crosses threads. A `ping` carrying the hops
 * left goes round; where it reaches 0 an `exit` goes once round the ring,
 * each node stopping after passing it on; the last one reports to the driver.
 */
import { defineActor, type ActorRef } from '../../src/actor.js';
import { finish, place, type Placement, startRun, type DriverState } from './savina-common.js';

type Msg =
  | { type: 'run'; sizes: { threadring: { actors: number; hops: number } }; placement: Placement }
  | { type: 'data'; next: ActorRef<Msg> }
  | { type: 'ping'; left: number }
  | { type: 'exit'; left: number; seen: number; zero: number }
  | { type: 'done'; answer: string };
type Args = { role: 'driver' } | { role: 'node'; id: number; actors: number; driver: ActorRef<Msg> };

const self = new URL(import.meta.url);

export default defineActor({
  init: (args: Args) => ({ args, next: undefined }) as { args: Args; next?: ActorRef<Msg> } & DriverState,
  receive(state, msg: Msg, ctx) {
    const { args } = state;
    switch (msg.type) {
      case 'run':
        startRun(state, ctx, async () => {
          const { actors, hops } = msg.sizes.threadring;
          const ring = await Promise.all(
            Array.from({ length: actors }, (_, id) => ctx.spawn(self, { role: 'node', id, actors, driver: ctx.self }, place(msg.placement, id))),
          );
          // Asked, so that every node knows its next before the ping goes round.
          await Promise.all(ring.map((node, i) => node.ask({ type: 'data', next: ring[(i + 1) % actors] })));
          ring[0].tell({ type: 'ping', left: hops });
        });
        return undefined;
      case 'done':
        finish(state, msg.answer);
        return undefined;
      case 'data':
        state.next = msg.next;
        return undefined;
    }
    if (args.role !== 'node' || state.next === undefined) throw new Error(`${msg.type} arrived at a node with no next`);
    if (msg.type === 'ping') {
      if (msg.left > 0) state.next.tell({ type: 'ping', left: msg.left - 1 });
      else state.next.tell({ type: 'exit', left: args.actors, seen: 0, zero: args.id });
      return undefined;
    }
    if (msg.left > 1) state.next.tell({ type: 'exit', left: msg.left - 1, seen: msg.seen + 1, zero: msg.zero });
    else args.driver.tell({ type: 'done', answer: `${msg.zero}/${msg.seen + 1}` });
    ctx.stop();
    return undefined;
  },
});
