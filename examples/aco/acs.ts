/**
 * Ant Colony System (M. Dorigo and L. M. Gambardella, "Ant Colony System: A
 * Cooperative Learning Approach to the Traveling Salesman Problem", IEEE
 * Transactions on Evolutionary Computation 1(1):53-66, 1997), in two parts
 * that the runtime puts on different actors and the plain run in one loop:
 *
 * - {@link Ant}: builds a tour by the pseudo-random-proportional rule over
 *   the candidate lists, then improves it with 2-opt (neighbour lists and
 *   don't-look bits). It only reads the problem and the pheromone.
 * - {@link ColonyCore}: owns the pheromone. After each iteration it applies,
 *   in ant order, the local update of every step each ant took, then the
 *   global update on the best-so-far tour.
 *
 * One difference from the paper, made so the ants can run in parallel on
 * read-only memory: an ant's local updates are applied when its tour comes
 * in, not while it walks. An ant never returns to a city, so its own local
 * updates cannot change its own choices; what changes is that the ants of
 * one iteration do not see each other's. The plain run does exactly the
 * same, so the two runs, given the same seed, make the same tours.
 */
import { mulberry32 } from './random.js';
import { acsParameters, nearestNeighbourLength, tourLength, type Problem } from './problem.js';

/** The seed of ant `index` of a run seeded with `seed`: each ant its own stream, the same on any thread. */
export const antSeed = (seed: number, index: number): number => (Math.imul(seed ^ 0x5bd1e995, 0x9e3779b1) + Math.imul(index + 1, 0x85ebca6b)) >>> 0;

/** One ant's tours of an iteration: as built (for the local update) and after 2-opt. */
export interface Walk {
  built: Int32Array;
  tour: Int32Array;
}

/** An ant: its random stream and scratch arrays. Holds no problem data between walks. */
export class Ant {
  private readonly random: () => number;
  private readonly visited: Uint8Array;
  private readonly position: Int32Array;
  private readonly dontLook: Uint8Array;
  private readonly weights: Float64Array;

  constructor(n: number, seed: number) {
    this.random = mulberry32(seed);
    this.visited = new Uint8Array(n);
    this.position = new Int32Array(n);
    this.dontLook = new Uint8Array(n);
    this.weights = new Float64Array(acsParameters.candidates);
  }

  /** Builds one tour on the current pheromone into `built`, and the same improved by 2-opt into `tour` (n cities each). */
  walk(problem: Problem, pheromone: Float32Array, built: Int32Array, tour: Int32Array): void {
    this.build(problem, pheromone, tour);
    built.set(tour);
    this.twoOpt(problem, tour);
  }

  /** ACS's state transition rule: with probability q0 the best candidate, otherwise one drawn in proportion to tau * eta^beta. */
  private build(problem: Problem, pheromone: Float32Array, tour: Int32Array): void {
    const { n, k, heuristic, candidates } = problem;
    const { visited, weights } = this;
    visited.fill(0);
    tour[0] = Math.floor(this.random() * n);
    visited[tour[0]] = 1;
    for (let step = 1; step < n; step++) {
      const from = tour[step - 1];
      const row = from * n;
      const exploit = this.random() < acsParameters.q0;
      let next = -1;
      let bestWeight = -1;
      let total = 0;
      for (let c = 0; c < k; c++) {
        const city = candidates[from * k + c];
        const weight = visited[city] === 1 ? 0 : pheromone[row + city] * heuristic[row + city];
        weights[c] = weight;
        total += weight;
        if (visited[city] === 0 && weight > bestWeight) {
          bestWeight = weight;
          next = city;
        }
      }
      if (next >= 0 && !exploit && total > 0) {
        let pick = this.random() * total;
        for (let c = 0; c < k; c++) {
          pick -= weights[c];
          if (weights[c] > 0 && pick <= 0) {
            next = candidates[from * k + c];
            break;
          }
        }
      }
      if (next < 0) {
        // Every candidate visited: the best of all the cities left (as ACOTSP's choose_best_next).
        for (let city = 0; city < n; city++) {
          if (visited[city] === 1) continue;
          const weight = pheromone[row + city] * heuristic[row + city];
          if (weight > bestWeight) {
            bestWeight = weight;
            next = city;
          }
        }
      }
      tour[step] = next;
      visited[next] = 1;
    }
  }

  /** 2-opt, first improvement, over the candidate lists with don't-look bits; changes `tour` in place. */
  private twoOpt(problem: Problem, tour: Int32Array): void {
    const { n } = problem;
    const { position, dontLook } = this;
    for (let i = 0; i < n; i++) position[tour[i]] = i;
    dontLook.fill(0);
    for (let improved = true; improved; ) {
      improved = false;
      for (let city = 0; city < n; city++) {
        if (dontLook[city] === 1) continue;
        if (this.improve(problem, tour, city)) improved = true;
        else dontLook[city] = 1;
      }
    }
  }

  /** Makes one improving 2-opt move that adds the edge (a, c) for a candidate c of a, if there is one. */
  private improve(problem: Problem, tour: Int32Array, a: number): boolean {
    const { n, k, dist, candidates } = problem;
    const { position, dontLook } = this;
    const at = position[a];
    const succ = tour[at + 1 === n ? 0 : at + 1];
    const pred = tour[at === 0 ? n - 1 : at - 1];
    const dSucc = dist[a * n + succ];
    const dPred = dist[a * n + pred];
    for (let i = 0; i < k; i++) {
      const c = candidates[a * k + i];
      const dac = dist[a * n + c];
      if (dac >= dSucc && dac >= dPred) break; // the lists are sorted: no later candidate can gain
      const cAt = position[c];
      if (dac < dSucc) {
        const cSucc = tour[cAt + 1 === n ? 0 : cAt + 1];
        if (c !== succ && cSucc !== a && dac + dist[succ * n + cSucc] < dSucc + dist[c * n + cSucc]) {
          this.reverse(tour, position[succ], cAt); // a succ ... c cSucc  ->  a c ... succ cSucc
          dontLook[succ] = dontLook[c] = dontLook[cSucc] = 0;
          return true;
        }
      }
      if (dac < dPred) {
        const cPred = tour[cAt === 0 ? n - 1 : cAt - 1];
        if (c !== pred && cPred !== a && dac + dist[pred * n + cPred] < dPred + dist[cPred * n + c]) {
          this.reverse(tour, at, position[cPred]); // pred a ... cPred c  ->  pred cPred ... a c
          dontLook[pred] = dontLook[c] = dontLook[cPred] = 0;
          return true;
        }
      }
    }
    return false;
  }

  /** Reverses the cyclic run of positions from..to, or its complement if that is shorter (the same cycle). */
  private reverse(tour: Int32Array, from: number, to: number): void {
    const n = tour.length;
    const position = this.position;
    let length = ((to - from + n) % n) + 1;
    if (2 * length > n) {
      const start = (to + 1) % n;
      to = (from - 1 + n) % n;
      from = start;
      length = n - length;
    }
    for (let swaps = length >> 1; swaps > 0; swaps--) {
      const a = tour[from];
      const b = tour[to];
      tour[from] = b;
      position[b] = from;
      tour[to] = a;
      position[a] = to;
      from = from + 1 === n ? 0 : from + 1;
      to = to === 0 ? n - 1 : to - 1;
    }
  }
}

/** A point of the convergence curve: the best length found by an iteration, and when. */
export interface CurvePoint {
  iteration: number;
  ms: number;
  best: number;
}

/** The colony's side of ACS: the pheromone updates and the best-so-far tour. */
export class ColonyCore {
  /** The initial pheromone, 1 / (n * L_nn). */
  readonly tau0: number;
  readonly best: Int32Array;
  bestLength = Number.POSITIVE_INFINITY;
  iterations = 0;
  tours = 0;
  readonly curve: CurvePoint[] = [];
  private problem: Problem;
  private readonly pheromone: Float32Array;

  /** Sets every pheromone entry to tau0. */
  constructor(problem: Problem, pheromone: Float32Array) {
    this.problem = problem;
    this.pheromone = pheromone;
    this.tau0 = 1 / (problem.n * nearestNeighbourLength(problem));
    this.best = new Int32Array(problem.n);
    pheromone.fill(this.tau0);
  }

  /** Points the core at a new view of the same problem block (an actor takes its views anew in each turn). */
  bind(problem: Problem): void {
    this.problem = problem;
  }

  /** Ends an iteration: the local updates of each walk in order, the best-so-far, then the global update. */
  absorb(walks: readonly Walk[], ms: number): void {
    for (const walk of walks) this.absorbWalk(walk);
    this.endIteration(ms);
  }

  /** Takes one ant's tours: the local update on every step it built, and the best-so-far. */
  absorbWalk(walk: Walk): void {
    const { n, dist } = this.problem;
    const { xi } = acsParameters;
    this.deposit(walk.built, 1 - xi, xi * this.tau0);
    const length = tourLength(dist, n, walk.tour);
    if (length < this.bestLength) {
      this.bestLength = length;
      this.best.set(walk.tour);
    }
    this.tours++;
  }

  /** The global update on the best-so-far tour; the curve gets a point when the iteration improved on it. */
  endIteration(ms: number): void {
    const { rho } = acsParameters;
    this.deposit(this.best, 1 - rho, rho / this.bestLength);
    this.iterations++;
    const last = this.curve.length === 0 ? Number.POSITIVE_INFINITY : this.curve[this.curve.length - 1].best;
    if (this.bestLength < last) this.curve.push({ iteration: this.iterations, ms, best: this.bestLength });
  }

  /** tau(i, j) = keep * tau(i, j) + add on every edge of the tour, both directions. */
  private deposit(tour: Int32Array, keep: number, add: number): void {
    const { n } = this.problem;
    const pheromone = this.pheromone;
    for (let i = 0; i < n; i++) {
      const a = tour[i];
      const b = tour[i + 1 === n ? 0 : i + 1];
      const value = keep * pheromone[a * n + b] + add;
      pheromone[a * n + b] = value;
      pheromone[b * n + a] = value;
    }
  }
}
