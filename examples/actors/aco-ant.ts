/**
 * An ant of the Ant Colony System example (examples/aco.ts). It holds two
 * read-only loans from the colony: the problem block (distances, heuristic,
 * candidate lists) and the pheromone matrix, both in the runtime's shared
 * memory pool. Each `walk` views them in place (no copy, whichever thread
 * the ant is on), builds and improves `count` tours one after another, and
 * sends the colony the tours, as built and as improved (a few hundred bytes
 * each), never a matrix.
 */
import { defineActor, type ActorRef, type RegionHandle } from '../../src/actor.js';
import { Ant } from '../aco/acs.js';
import { problemViews } from '../aco/problem.js';
import type { ColonyMsg } from './aco-colony.js';

export type AntMsg =
  | { type: 'setup'; index: number; n: number; seed: number; problem: RegionHandle; pheromone: RegionHandle; colony: ActorRef<ColonyMsg> }
  | { type: 'walk'; count: number }
  | { type: 'stop' };

interface AntState {
  index: number;
  n: number;
  ant?: Ant;
  problem?: RegionHandle;
  pheromone?: RegionHandle;
  colony?: ActorRef<ColonyMsg>;
}

export default defineActor({
  init: (): AntState => ({ index: -1, n: 0 }),
  receive(state, msg: AntMsg, ctx) {
    if (msg.type === 'setup') {
      Object.assign(state, { index: msg.index, n: msg.n, problem: msg.problem, pheromone: msg.pheromone, colony: msg.colony });
      state.ant = new Ant(msg.n, msg.seed);
      return;
    }
    if (state.ant === undefined || state.problem === undefined || state.pheromone === undefined) throw new Error(`ant: ${msg.type} before setup`);
    if (msg.type === 'stop') {
      ctx.memory.release(state.problem);
      ctx.memory.release(state.pheromone);
      state.ant = state.problem = state.pheromone = undefined;
      return;
    }
    // Views are taken in each turn, as the pool asks: they are valid for this handler turn.
    const bytes = ctx.memory.bytes(state.problem);
    const problem = problemViews(bytes.buffer, bytes.byteOffset, state.n);
    const pheromone = ctx.memory.f32(state.pheromone);
    const built = new Int32Array(msg.count * state.n);
    const tour = new Int32Array(msg.count * state.n);
    for (let at = 0; at < built.length; at += state.n) {
      state.ant.walk(problem, pheromone, built.subarray(at, at + state.n), tour.subarray(at, at + state.n));
    }
    state.colony!.tell({ type: 'walked', index: state.index, thread: ctx.thread, built, tour });
  },
});
