/** A swarm member for the coordination benches: acks a broadcast to its acker; votes to approve; answers pings. */
import { defineActor, type ActorRef } from '../../src/actor.js';

type Msg = { type: 'bcast'; acker: ActorRef } | { type: 'ping' };

export default defineActor({
  init: () => ({}),
  receive(_state, msg: Msg) {
    if (msg.type === 'bcast') msg.acker.tell({ type: 'ack' });
    return 'pong';
  },
  vote: () => ({ approve: true }),
});
