/**
 * Savina Fork-Join Creation (microswarm): the driver (thread 0) spawns
 * `actors` workers, round-robin over the two threads, and sends each one
 * message as soon as it is up; a worker does Savina's
 * `performComputation(37.2)`, reports and stops.
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
          const spawned: Promise<void>[] = [];
          for (let i = 0; i < actors; i++)
            spawned.push(ctx.spawn(self, { role: 'worker', driver: ctx.self }, place(msg.placement, i)).then((worker) => void worker.tell(work)));
          await Promise.all(spawned);
        });
        return undefined;
      case 'done':
        if (++state.finished === state.actors) finish(state, String(state.finished));
        return undefined;
    }
  },
});
