/**
 * A particle of the PSO example (examples/pso.ts): one agent of an
 * `rt.swarm`, which learns its neighbours from the swarm's topology and
 * trades best positions with them by message, never through shared state.
 *
 * Synchronisation: synchronous PSO with a local barrier. Iteration 0 is the
 * initial evaluation. After evaluating iteration t a particle tells its
 * neighbours its best (f and, when it improved since it last told them, the
 * position), and moves to iteration t + 1 once it has heard iteration t
 * from each of its neighbours: every particle moves with its informants'
 * bests as they were after the same iteration, whatever thread each runs
 * on and in whatever order messages arrive. A neighbour can be at most one
 * iteration ahead (it waits for this particle in turn), so two slots per
 * neighbour, by the parity of the iteration, hold what arrived early.
 *
 * - ring (lbest, K = 3): the informants are the particle and its
 *   predecessor and successor; each tells both its best.
 * - star (gbest): the leaves tell the hub (the swarm's first member) their
 *   best; the hub, once it has heard all of iteration t, tells every leaf
 *   the best of all (`relay`), so each particle's informant is the whole
 *   swarm: 2 (S - 1) messages an iteration instead of the S (S - 1) of a mesh.
 *
 * The coordinator (examples/pso/run.ts) starts a run with a `run` ask
 * through `swarm.gather`; each particle answers when it has made its last
 * evaluation. A run's messages carry its epoch: one of the next run that
 * arrives before this particle's own `run` is kept until then.
 */
import { defineActor, type ActorRef, type DeferredReply } from '../../src/actor.js';
import type { FunctionName } from '../pso/functions.js';
import { lastIteration, Particle } from '../pso/spso.js';

/** The particle's place in its swarm: set once, kept across runs. */
export interface Links {
  type: 'link';
  /** Its position in the swarm's membership order. */
  index: number;
  /** Members of the swarm (S). */
  size: number;
  /** Its neighbours by the swarm's topology (`swarm.neighbors`). */
  neighbors: Array<ActorRef<ParticleMsg>>;
  /** Their positions in the membership order. */
  neighborIndices: number[];
  /** The star's hub: it tells the leaves the best of all instead of its own. */
  relay: boolean;
}

/** Starts a run; answered with a {@link ParticleResult} after the particle's last evaluation. */
export interface RunOrder {
  type: 'run';
  /** Increases with every run of this swarm. */
  epoch: number;
  fn: FunctionName;
  dim: number;
  /** Evaluations of the whole swarm. */
  evals: number;
  /** Seed words of the particle's generator, before its index. */
  seeds: number[];
}

/** A neighbour's best after one iteration. */
export interface Best {
  type: 'best';
  epoch: number;
  /** The sender's position in the membership order. */
  from: number;
  iteration: number;
  /** Its best value (the hub's: the best of all). */
  f: number;
  /** The position of that best; absent when it has not changed since the last message. */
  x?: Float64Array;
}

export type ParticleMsg = Links | RunOrder | Best;

/** A particle's answer to a run. */
export interface ParticleResult {
  best: number;
  position: Float64Array;
  /** Its value after the initial evaluation. */
  initial: number;
  evaluations: number;
  /** Messages it sent to neighbours. */
  sent: number;
}

interface RunState {
  epoch: number;
  particle: Particle;
  /** Iteration last evaluated. */
  iteration: number;
  /** Last iteration of this particle, and of each neighbour. */
  last: number;
  neighborLast: number[];
  /** Per neighbour: its best known value and position (consumed messages). */
  knownF: Float64Array;
  knownX: Float64Array[];
  /** Per neighbour, per parity: what arrived for an iteration not yet consumed. */
  slotF: Float64Array;
  slotX: Array<Float64Array | undefined>;
  heard: [number, number];
  /** What this particle last told (its best, or the hub's best of all): a position is sent when it changed. */
  toldX: Float64Array | undefined;
  sent: number;
  initial: number;
  reply: DeferredReply;
}

interface State {
  links: Links | undefined;
  /** Sender index -> neighbour slot (-1: not a neighbour). */
  slotOf: Int32Array;
  run: RunState | undefined;
  /** Messages of a later epoch than the current run's. */
  early: Best[];
}

export default defineActor({
  init: (): State => ({ links: undefined, slotOf: new Int32Array(0), run: undefined, early: [] }),
  receive(state: State, msg: ParticleMsg, ctx) {
    switch (msg.type) {
      case 'link':
        state.links = msg;
        state.slotOf = new Int32Array(msg.size).fill(-1);
        msg.neighborIndices.forEach((member, slot) => {
          state.slotOf[member] = slot;
        });
        return true;
      case 'run':
        start(state, msg, ctx.replyLater());
        return undefined;
      case 'best':
        if (state.run === undefined || msg.epoch > state.run.epoch) state.early.push(msg);
        else if (msg.epoch === state.run.epoch) {
          absorb(state, msg);
          advance(state);
        }
        return undefined;
    }
  },
});

function start(state: State, order: RunOrder, reply: DeferredReply): void {
  const links = state.links;
  if (links === undefined) {
    reply.reject(new Error('a particle was sent a run before its links'));
    return;
  }
  const count = links.neighbors.length;
  const particle = new Particle(order.fn, order.dim, [...order.seeds, links.index]);
  particle.evaluate();
  const run: RunState = {
    epoch: order.epoch,
    particle,
    iteration: 0,
    last: lastIteration(order.evals, links.size, links.index),
    neighborLast: links.neighborIndices.map((member) => lastIteration(order.evals, links.size, member)),
    knownF: new Float64Array(count).fill(Number.POSITIVE_INFINITY),
    knownX: new Array<Float64Array>(count),
    slotF: new Float64Array(2 * count),
    slotX: new Array<Float64Array | undefined>(2 * count),
    heard: [0, 0],
    toldX: undefined,
    sent: 0,
    initial: particle.best,
    reply,
  };
  state.run = run;
  if (!links.relay) tell(links, run, particle.best, particle.p);
  const early = state.early.filter((m) => m.epoch === order.epoch);
  state.early = state.early.filter((m) => m.epoch > order.epoch);
  for (const m of early) absorb(state, m);
  advance(state);
}

/** Keeps a neighbour's message in the slot of its iteration's parity. */
function absorb(state: State, msg: Best): void {
  const run = state.run!;
  const slot = state.slotOf[msg.from];
  if (slot < 0) throw new Error(`particle ${state.links!.index} heard from ${msg.from}, which is not its neighbour`);
  const at = 2 * slot + (msg.iteration & 1);
  run.slotF[at] = msg.f;
  run.slotX[at] = msg.x;
  run.heard[msg.iteration & 1]++;
}

/** Neighbours that evaluate at iteration t: those this particle hears from for it. */
function expected(run: RunState, t: number): number {
  let n = 0;
  for (const last of run.neighborLast) if (last >= t) n++;
  return n;
}

/** Runs every iteration it can: while it has heard all of the current one from its neighbours. */
function advance(state: State): void {
  const links = state.links!;
  const run = state.run!;
  const { particle } = run;
  while (run.iteration < run.last) {
    const t = run.iteration;
    const parity = t & 1;
    if (run.heard[parity] < expected(run, t)) return;
    run.heard[parity] = 0;
    // Consume iteration t's messages, and find the best informant (the particle itself first).
    let g = particle.p;
    let gf = particle.best;
    for (let slot = 0; slot < run.neighborLast.length; slot++) {
      if (run.neighborLast[slot] >= t) {
        const at = 2 * slot + parity;
        run.knownF[slot] = run.slotF[at];
        const x = run.slotX[at];
        if (x !== undefined) run.knownX[slot] = x;
        run.slotX[at] = undefined;
      }
      if (run.knownF[slot] < gf) {
        gf = run.knownF[slot];
        g = run.knownX[slot];
      }
    }
    if (links.relay) tell(links, run, gf, g);
    particle.move(g);
    particle.evaluate();
    run.iteration = t + 1;
    if (!links.relay) tell(links, run, particle.best, particle.p);
  }
  finish(state);
}

/**
 * Tells the neighbours that will move again the best after this iteration:
 * the particle's own, or (the star's hub) the best of all. The position
 * goes only when it changed since the last message.
 */
function tell(links: Links, run: RunState, f: number, x: Float64Array): void {
  const msg: Best = { type: 'best', epoch: run.epoch, from: links.index, iteration: run.iteration, f };
  if (x !== run.toldX) {
    msg.x = x;
    run.toldX = x;
  }
  for (let slot = 0; slot < links.neighbors.length; slot++) {
    if (run.neighborLast[slot] <= run.iteration) continue;
    links.neighbors[slot].tell(msg);
    run.sent++;
  }
}

function finish(state: State): void {
  const run = state.run!;
  if (run.iteration < run.last) return;
  const { particle } = run;
  const result: ParticleResult = {
    best: particle.best,
    position: particle.p,
    initial: run.initial,
    evaluations: particle.evaluations,
    sent: run.sent,
  };
  run.reply.resolve(result);
}
