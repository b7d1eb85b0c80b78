/**
 * The colony of the Ant Colony System example (examples/aco.ts). It owns two
 * allocations of the runtime's shared memory pool: the problem block, which
 * it fills once from the cities' coordinates, and the pheromone matrix, which
 * it alone writes. Each ant gets a read-only loan of both (`ctx.memory.share`)
 * and views them in place on its own thread: the matrices never travel in a
 * message. The colony updates a copy of the pheromone of its own and copies
 * it into the shared matrix (../aco/publish.ts): before each iteration in the
 * synchronous mode, every half millisecond or so in the asynchronous one.
 *
 * Two ways to run (`sync` in the run message):
 *
 * - asynchronous (the default): the colony takes each tour as it comes
 *   (local update, best-so-far) and sends that ant on again; every `ants`
 *   tours make an iteration, which ends with the global update. Walks are
 *   asked for in batches (`batch` walks per message, `depth` messages at a
 *   time per ant; ../aco/colony.ts says why those numbers): an ant on another
 *   thread has enough queued that its thread has work while the colony's
 *   answer crosses back; an ant on the colony's own thread has one batch at a
 *   time, which keeps that thread's turns short so the colony answers soon.
 *   Ants read the pheromone while the colony publishes it: a read sees an
 *   entry before or after a publication (aligned 4-byte stores are single
 *   instructions where V8 runs; ACS reads pheromone as a hint, so a value
 *   half a millisecond old is harmless). Which tours see which updates
 *   depends on thread timing, so on several threads a seed fixes the ants'
 *   random streams, not the outcome.
 * - synchronous: every ant walks on the same pheromone; when all have
 *   answered, the colony applies their updates in ant order and starts the
 *   next iteration. The ants never read while the colony writes (the ring
 *   messages order the two), and the tours are the plain run's on any number
 *   of threads, but each iteration waits for its slowest thread.
 */
import { defineActor, type ActorContext, type ActorRef, type DeferredReply, type RegionHandle } from '../../src/actor.js';
import { ColonyCore, antSeed, type Walk } from '../aco/acs.js';
import type { Budget, RunResult } from '../aco/plain.js';
import { fillProblem, pheromoneBytes, problemBytes, problemViews } from '../aco/problem.js';
import { PheromonePublisher } from '../aco/publish.js';
import type { Instance } from '../aco/tsplib.js';
import type { AntMsg } from './aco-ant.js';

export type ColonyMsg =
  | {
      type: 'run';
      instance: Instance;
      ants: Array<ActorRef<AntMsg>>;
      /** Asynchronous mode, per ant: walks asked in one message, and messages asked at a time. */
      batch: number[];
      depth: number[];
      budget: Budget;
      sync: boolean;
    }
  /** `built` and `tour` hold one or more tours of n cities each, one after another. */
  | { type: 'walked'; index: number; thread: number; built: Int32Array; tour: Int32Array }
  | { type: 'progress' };

export type ColonyProgress = { iterations: number; best: number; ms: number };

interface Run {
  n: number;
  ants: Array<ActorRef<AntMsg>>;
  budget: Budget;
  sync: boolean;
  /** Walks per message asked of each ant (asynchronous mode). */
  batch: number[];
  /** Walks asked for, and messages asking for walks not yet answered. */
  dispatched: number;
  outstanding: number;
  problem: RegionHandle;
  pheromone: RegionHandle;
  core: ColonyCore;
  /** Copies the pheromone the core updates (the colony's own) into the shared matrix (../aco/publish.ts). */
  publisher: PheromonePublisher;
  walks: Walk[];
  received: number;
  /** Tours walked on each pool thread. */
  perThread: number[];
  started: number;
  reply: DeferredReply;
}

export default defineActor({
  init: (): { run?: Run } => ({}),
  receive(state, msg: ColonyMsg, ctx): ColonyProgress | undefined {
    if (msg.type === 'progress') {
      const run = state.run;
      return run === undefined
        ? { iterations: 0, best: 0, ms: 0 }
        : { iterations: run.core.iterations, best: run.core.bestLength, ms: performance.now() - run.started };
    }
    if (msg.type === 'run') {
      if (state.run !== undefined) throw new Error('the colony is already running');
      const n = msg.instance.x.length;
      const problem = ctx.memory.alloc(problemBytes(n));
      const pheromone = ctx.memory.alloc(pheromoneBytes(n));
      const bytes = ctx.memory.bytes(problem);
      const views = problemViews(bytes.buffer, bytes.byteOffset, n);
      fillProblem(msg.instance, views);
      const working = new Float32Array(n * n);
      const core = new ColonyCore(views, working);
      const publisher = new PheromonePublisher(
        working,
        () => ctx.memory.f32(pheromone),
        () => performance.now(),
      );
      publisher.publish(true);
      const problemLoans = ctx.memory.share(problem, msg.ants);
      const pheromoneLoans = ctx.memory.share(pheromone, msg.ants);
      msg.ants.forEach((ant, index) =>
        ant.tell({
          type: 'setup',
          index,
          n,
          seed: antSeed(msg.budget.seed, index),
          problem: problemLoans[index],
          pheromone: pheromoneLoans[index],
          colony: ctx.self,
        }),
      );
      const walks: Walk[] = new Array(msg.ants.length);
      const started = performance.now();
      const run: Run = {
        n,
        ants: msg.ants,
        budget: msg.budget,
        sync: msg.sync,
        batch: msg.sync ? msg.ants.map(() => 1) : msg.batch,
        dispatched: 0,
        outstanding: 0,
        problem,
        pheromone,
        core,
        publisher,
        walks,
        received: 0,
        perThread: [],
        started,
        reply: ctx.replyLater(),
      };
      state.run = run;
      // Synchronous: a whole iteration or none, as after each iteration below.
      if (msg.sync) {
        if (budgetLeft(run)) msg.ants.forEach((_, index) => dispatch(run, index));
      } else {
        for (let index = 0; index < msg.ants.length; index++) {
          for (let messages = 0; messages < msg.depth[index] && budgetLeft(run); messages++) dispatch(run, index);
        }
      }
      return;
    }
    const run = state.run;
    // A run ends only when every walk asked for is in: nothing can come after.
    if (run === undefined) throw new Error('tours came in with no run going');
    run.outstanding--;
    run.perThread[msg.thread] = (run.perThread[msg.thread] ?? 0) + msg.tour.length / run.n;
    // A new view of the problem in this turn (views are valid for the turn that took them).
    const bytes = ctx.memory.bytes(run.problem);
    run.core.bind(problemViews(bytes.buffer, bytes.byteOffset, run.n));
    const { core, ants } = run;
    if (run.sync) {
      run.walks[msg.index] = { built: msg.built, tour: msg.tour };
      if (++run.received < ants.length) return;
      run.received = 0;
      core.absorb(run.walks, performance.now() - run.started);
      // Every ant of the next iteration walks on this iteration's pheromone.
      run.publisher.publish(true);
      // A whole iteration or none: each iteration waits for all its walks.
      if (budgetLeft(run)) ants.forEach((_, index) => dispatch(run, index));
    } else {
      for (let at = 0; at < msg.tour.length; at += run.n) {
        core.absorbWalk({ built: msg.built.subarray(at, at + run.n), tour: msg.tour.subarray(at, at + run.n) });
        if (core.tours % ants.length === 0) core.endIteration(performance.now() - run.started);
      }
      run.publisher.publish(false);
      if (budgetLeft(run)) dispatch(run, msg.index);
    }
    if (run.outstanding > 0) return;
    // The budget is spent and every walk asked for is in.
    if (core.tours % ants.length !== 0) core.endIteration(performance.now() - run.started);
    state.run = undefined;
    finish(run, ctx);
  },
});

/** Ends a run: stops the ants, frees the colony's allocations (the ants' loans keep them until released), answers the run. */
function finish(run: Run, ctx: ActorContext): void {
  const { core } = run;
  // cpuMs is the caller's to fill in: the colony sees one thread.
  const result: RunResult = {
    cpuMs: 0,
    tour: Array.from(core.best),
    length: core.bestLength,
    iterations: core.iterations,
    tours: core.tours,
    ms: performance.now() - run.started,
    curve: core.curve,
    perThread: Array.from(run.perThread, (tours) => tours ?? 0),
  };
  for (const ant of run.ants) ant.tell({ type: 'stop' });
  ctx.memory.free(run.problem);
  ctx.memory.free(run.pheromone);
  run.reply.resolve(result);
}

/** Whether the budget allows another walk: time left, and fewer than `iterations * ants` asked for. */
function budgetLeft(run: Run): boolean {
  const { budget } = run;
  return run.dispatched < budget.iterations * budget.ants && performance.now() - run.started < budget.seconds * 1000;
}

/** Sends ant `index` on its batch of walks (fewer if the iteration budget is nearly spent). */
function dispatch(run: Run, index: number): void {
  const count = Math.min(run.batch[index], run.budget.iterations * run.budget.ants - run.dispatched);
  run.dispatched += count;
  run.outstanding++;
  run.ants[index].tell({ type: 'walk', count });
}
