/**
 * Savina Fork-Join Throughput (microswarm): `actors` workers, round-robin
 * over the two threads; the driver (thread 0) sends `messages` rounds of one
 * message to each; each message does Savina's `performComputation(37.2)`.
 * A worker that has handled all of its messages reports and stops.
 */
import { defineActor, type ActorRef } from '../../src/actor.js';
import { performComputation } from '../peers/savina-shape.js';
import { finish, place, type Placement, startRun, type DriverState } from './savina-common.js';

type Msg =
  | { type: 'run'; sizes: { fjthroughput: { actors: number; messages: number } }; placement: Placement }
  | { type: 'work' }
  | { type: 'done'; processed: number };
type Args = { role: 'driver' } | { role: 'worker'; messages: number; driver: ActorRef<Msg> };

const self = new URL(import.meta.url);

export default defineActor({
  init: (args: Args) =>
    ({ args, processed: 0, finished: 0, actors: 0 }) as { args: Args; processed: number; finished: number; actors: number } & DriverState,
  receive(state, msg: Msg, ctx) {
    const { args } = state;
    switch (msg.type) {
      case 'work':
        if (args.role !== 'worker') throw new Error('work arrived at the driver');
        state.processed++;
        performComputation(37.2);
        if (state.processed === args.messages) {
          args.driver.tell({ type: 'done', processed: state.processed });
          ctx.stop();
        }
        return undefined;
      case 'run':
        startRun(state, ctx, async () => {
          const { actors, messages } = msg.sizes.fjthroughput;
          state.finished = 0;
          state.actors = actors;
          const workers = await Promise.all(
            Array.from({ length: actors }, (_, i) => ctx.spawn(self, { role: 'worker', messages, driver: ctx.self }, place(msg.placement, i))),
          );
          const work = { type: 'work' } as const;
          for (let m = 0; m < messages; m++) for (const worker of workers) worker.tell(work);
        });
        return undefined;
      case 'done':
        if (++state.finished === state.actors) finish(state, `${state.finished}x${msg.processed}`);
        return undefined;
    }
  },
});
