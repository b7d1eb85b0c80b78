/**
 * The receiving side of transfer-64k (microswarm): on each 64 KB region that
 * arrives it reads all of it (./memory-ball.ts), stamps the next hop count
 * and transfers it back to the sender (`ctx.sender`, the ping actor).
 */
import { defineActor, type ActorRef, type RegionHandle } from '../../src/actor.js';
import { readBall } from './memory-ball.js';
import type { PingMsg } from './memory-ping.js';

export type PongMsg = { type: 'ball'; handle: RegionHandle; hop: number };

export default defineActor({
  init: () => ({}),
  receive(_state, msg: PongMsg, ctx) {
    const ping = ctx.sender as ActorRef<PingMsg> | undefined;
    if (ping === undefined) throw new Error('a ball arrived with no sender to hand it back to');
    try {
      const words = ctx.memory.i32(msg.handle);
      readBall(words, msg.hop);
      words[0] = msg.hop + 1;
      if (!ping.tell({ type: 'ball', handle: msg.handle, hop: msg.hop }, { transfer: [msg.handle] })) {
        throw new Error('ping refused the 64 KB handoff (mailbox full or stopped)');
      }
    } catch (error) {
      ping.tell({ type: 'fail', message: error instanceof Error ? error.message : String(error) });
    }
    return undefined;
  },
});
