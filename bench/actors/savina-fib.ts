/**
 * Savina Fibonacci (microswarm): an actor per call. A `request` for n <= 2
 * answers 1; above, it spawns two children and sends them n-1 and n-2, sums
 * their two `response`s and answers its parent, then stops. Spread, the
 * root's two children go one to each thread (as skynet spreads its first
 * level); local, they stay on the root's. Below that, children live on their
 * parent's thread.
 */
import { defineActor, type ActorRef } from '../../src/actor.js';
import { finish, place, type Placement, startRun, type DriverState } from './savina-common.js';

type Msg = { type: 'run'; sizes: { fib: { n: number } }; placement: Placement } | { type: 'request'; n: number } | { type: 'response'; value: number };
type Args = { role: 'driver' } | { role: 'fib'; parent: ActorRef<Msg>; placement?: Placement };

const self = new URL(import.meta.url);

function reportSpawnFailure(error: unknown): void {
  console.error('savina-fib: a spawn failed:', error);
}

export default defineActor({
  init: (args: Args) => ({ args, result: 0, received: 0 }) as { args: Args; result: number; received: number } & DriverState,
  receive(state, msg: Msg, ctx) {
    const { args } = state;
    if (msg.type === 'run') {
      startRun(state, ctx, async () => {
        const root = await ctx.spawn(self, { role: 'fib', parent: ctx.self, placement: msg.placement }, { thread: 0 });
        root.tell({ type: 'request', n: msg.sizes.fib.n });
      });
      return undefined;
    }
    if (args.role === 'driver') {
      if (msg.type === 'response') finish(state, String(msg.value));
      return undefined;
    }
    if (msg.type === 'request') {
      if (msg.n <= 2) {
        args.parent.tell({ type: 'response', value: 1 });
        ctx.stop();
        return undefined;
      }
      for (let i = 0; i < 2; i++) {
        const n = msg.n - 1 - i;
        const childArgs: Args = { role: 'fib', parent: ctx.self };
        // Below the root, and everywhere when local: on this thread, told at once (Savina's Akka version: context.actorOf).
        const placed = args.placement === undefined ? undefined : place(args.placement, i);
        if (placed === undefined) ctx.spawnNow(self, childArgs).tell({ type: 'request', n });
        else
          ctx
            .spawn(self, childArgs, placed)
            .then((child) => void child.tell({ type: 'request', n }))
            .catch(reportSpawnFailure);
      }
      return undefined;
    }
    state.result += msg.value;
    if (++state.received === 2) {
      args.parent.tell({ type: 'response', value: state.result });
      ctx.stop();
    }
    return undefined;
  },
});
