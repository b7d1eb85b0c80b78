/**
 * Savina Big (microswarm): `actors` members, round-robin over the two
 * threads, and a sink with the driver on thread 0. Each member sends
 * `pings` pings, one at a time, to random members (bench/peers/savina-shape.ts
 * SeededRandom, the same sequence as the other impls), each answered with a
 * pong; after its last pong it reports to the sink. When every member has
 * reported, the sink stops them and answers the driver.
 */
import { defineActor, type ActorRef } from '../../src/actor.js';
import { SeededRandom } from '../peers/savina-shape.js';
import { finish, place, type Placement, startRun, type DriverState } from './savina-common.js';

type Msg =
  | { type: 'run'; sizes: { big: { actors: number; pings: number } }; placement: Placement }
  | { type: 'neighbors'; neighbors: ActorRef<Msg>[] }
  | { type: 'ping' | 'pong'; sender: number }
  | { type: 'exit'; pings: number; errors: number }
  | { type: 'stop' }
  | { type: 'done'; answer: string };
type Args =
  | { role: 'driver' }
  | { role: 'sink'; actors: number; driver: ActorRef<Msg> }
  | { role: 'member'; id: number; actors: number; pings: number; sink: ActorRef<Msg> };

interface State extends DriverState {
  args: Args;
  neighbors: ActorRef<Msg>[];
  random?: SeededRandom;
  myPing: Msg;
  myPong: Msg;
  pings: number;
  expected: number;
  errors: number;
  exits: number;
  sent: number;
}

const self = new URL(import.meta.url);

function sinkReceive(state: State, msg: Msg, actors: number, driver: ActorRef<Msg>): void {
  if (msg.type !== 'exit') return; // 'neighbors' is all the sink gets besides
  state.sent += msg.pings;
  state.errors += msg.errors;
  if (++state.exits === actors) {
    for (const member of state.neighbors) member.tell({ type: 'stop' });
    driver.tell({ type: 'done', answer: `${state.exits}/${state.sent}/${state.errors}` });
  }
}

export default defineActor({
  init: (args: Args): State => ({
    args,
    neighbors: [],
    random: args.role === 'member' ? new SeededRandom(args.id) : undefined,
    myPing: { type: 'ping', sender: args.role === 'member' ? args.id : -1 },
    myPong: { type: 'pong', sender: args.role === 'member' ? args.id : -1 },
    pings: 0,
    expected: -1,
    errors: 0,
    exits: 0,
    sent: 0,
  }),
  receive(state, msg: Msg, ctx) {
    const { args } = state;
    if (msg.type === 'neighbors') {
      state.neighbors = msg.neighbors;
      return undefined;
    }
    if (args.role === 'member') {
      switch (msg.type) {
        case 'ping':
          state.neighbors[msg.sender].tell(state.myPong);
          return undefined;
        case 'pong': {
          if (msg.sender !== state.expected) state.errors++;
          if (state.pings === args.pings) args.sink.tell({ type: 'exit', pings: state.pings, errors: state.errors });
          else {
            const target = (state.random as SeededRandom).nextInt(args.actors);
            state.expected = target;
            state.neighbors[target].tell(state.myPing);
            state.pings++;
          }
          return undefined;
        }
        case 'stop':
          ctx.stop();
          return undefined;
      }
      throw new Error(`${msg.type} arrived at a member`);
    }
    if (args.role === 'sink') {
      sinkReceive(state, msg, args.actors, args.driver);
      if (state.exits === args.actors) ctx.stop();
      return undefined;
    }
    if (msg.type === 'done') finish(state, msg.answer);
    else if (msg.type === 'run') {
      startRun(state, ctx, async () => {
        const { actors, pings } = msg.sizes.big;
        const sink = await ctx.spawn(self, { role: 'sink', actors, driver: ctx.self }, { thread: 0 });
        const members = await Promise.all(
          Array.from({ length: actors }, (_, id) => ctx.spawn(self, { role: 'member', id, actors, pings, sink }, place(msg.placement, id))),
        );
        // Asked, so that every member knows the others before the first ping.
        await Promise.all([sink, ...members].map((actor) => actor.ask({ type: 'neighbors', neighbors: members })));
        for (const member of members) member.tell({ type: 'pong', sender: -1 });
      });
    }
    return undefined;
  },
});
