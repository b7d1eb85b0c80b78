/**
 * Savina Fork-Join Creation (microswarm): the driver (thread 0) spawns
 * `actors` workers and sends each one message; a worker does Savina's
 * `performComputation(37.2)`, reports and stops. Spread round-robin over
 * the two threads, a worker is spawned with `ctx.spawn` (through the main
 * thread) and told once it is up; local, with `ctx.spawnNow` and told at
 * once, as Savina's Akka version does with `context.actorOf`.
 */
import { defineActor, type ActorRef } from '../../src/actor.js';
import { performComputation } from '../peers/savina-shape.js';
import { finish, place, type Placement, startRun, type DriverState } from './savina-common.js';

type Msg = { type: 'run'; sizes: { fjcreation: { actors: number } }; placement: Placement } | { type: 'work' } | { type: 'done' };
type Args = { role: 'driver' } | { role: 'worker'; driver: ActorRef<Msg> };

const self = new URL(import.meta.url);

export default defineActor({
  init: (args: Args) => ({ args, finished: 0, actors: 0 }) as { args: Args; finished: number; actors: number } & DriverState,
  receive(state, msg: Msg, ctx) {
    const { args } = state;
    switch (msg.type) {
      case 'work':
        if (args.role !== 'worker') throw new Error('work arrived at the driver');
        performComputation(37.2);
        args.driver.tell({ type: 'done' });
        ctx.stop();
        return undefined;
      case 'run':
        startRun(state, ctx, async () => {
          const { actors } = msg.sizes.fjcreation;
          state.finished = 0;
          state.actors = actors;
          const work = { type: 'work' } as const;
          const args: Args = { role: 'worker', driver: ctx.self };
          if (msg.placement === 'local') {
            for (let i = 0; i < actors; i++) ctx.spawnNow(self, args).tell(work);
            return;
          }
          const spawned: Promise<void>[] = [];
          for (let i = 0; i < actors; i++) spawned.push(ctx.spawn(self, args, place(msg.placement, i)).then((worker) => void worker.tell(work)));
          await Promise.all(spawned);
        });
        return undefined;
      case 'done':
        if (++state.finished === state.actors) finish(state, String(state.finished));
        return undefined;
    }
  },
});
