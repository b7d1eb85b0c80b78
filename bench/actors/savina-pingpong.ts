/**
 * Savina PingPong (microswarm): ping on thread 0, pong on thread 1. Ping
 * sends `ping`, pong answers `pong` to its sender, ping sends itself the
 * next `ping` until `pings` were sent, then `stop`s pong, which reports its
 * count to the driver.
 */
import { defineActor, type ActorRef } from '../../src/actor.js';
import { finish, place, type Placement, startRun, type DriverState } from './savina-common.js';

type Msg =
  | { type: 'run'; sizes: { pingpong: { pings: number } }; placement: Placement }
  | { type: 'start' | 'ping' | 'pong' | 'stop' }
  | { type: 'done'; count: number };
type Args = { role: 'driver' } | { role: 'ping'; pings: number; pong: ActorRef<Msg> } | { role: 'pong'; driver: ActorRef<Msg> };

const self = new URL(import.meta.url);

export default defineActor({
  init: (args: Args) => ({ args, left: args.role === 'ping' ? args.pings : 0, count: 0 }) as { args: Args; left: number; count: number } & DriverState,
  receive(state, msg: Msg, ctx) {
    const { args } = state;
    switch (msg.type) {
      case 'run':
        startRun(state, ctx, async () => {
          const pong = await ctx.spawn(self, { role: 'pong', driver: ctx.self }, place(msg.placement, 1));
          const ping = await ctx.spawn(self, { role: 'ping', pings: msg.sizes.pingpong.pings, pong }, place(msg.placement, 0));
          ping.tell({ type: 'start' });
        });
        return undefined;
      case 'start':
      case 'ping':
        if (args.role !== 'ping') {
          (ctx.sender as ActorRef<Msg>).tell({ type: 'pong' });
          state.count++;
          return undefined;
        }
        args.pong.tell({ type: 'ping' });
        state.left--;
        return undefined;
      case 'pong':
        if (args.role !== 'ping') throw new Error('pong arrived at a non-ping actor');
        if (state.left > 0) ctx.self.tell({ type: 'ping' });
        else {
          args.pong.tell({ type: 'stop' });
          ctx.stop();
        }
        return undefined;
      case 'stop':
        if (args.role === 'pong') args.driver.tell({ type: 'done', count: state.count });
        ctx.stop();
        return undefined;
      case 'done':
        finish(state, String(msg.count));
        return undefined;
    }
  },
});
