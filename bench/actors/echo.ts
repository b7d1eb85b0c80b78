/**
 * The answering side of ask-actor-to-actor: `{ type: 'ping', tell: false }`
 * is answered (an ask) with 1; `{ type: 'ping', tell: true }` is answered by
 * telling `{ type: 'pong' }` back to its sender (the same exchange by tells).
 */
import { defineActor, type ActorRef } from '../../src/actor.js';

export type EchoMsg = { type: 'ping'; tell: boolean };

export default defineActor({
  init: () => ({}),
  receive(_state, msg: EchoMsg, ctx) {
    if (!msg.tell) return 1;
    const sender = ctx.sender as ActorRef<{ type: 'pong' }> | undefined;
    if (sender === undefined) throw new Error('a ping by tell arrived with no sender');
    sender.tell({ type: 'pong' });
    return undefined;
  },
});
