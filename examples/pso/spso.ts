/**
 * One particle of Standard PSO 2006 (Clerc; the C program of Particle Swarm
 * Central), without the messaging: what the particle actor
 * (examples/actors/particle.ts) computes between two exchanges with its
 * neighbours.
 *
 *   v_d <- w v_d + U(0, c) (p_d - x_d) + U(0, c) (g_d - x_d)
 *   x_d <- x_d + v_d, then confined: a coordinate out of [lo, hi] is set to
 *   the bound and its velocity to 0
 *
 * with p the particle's best position, g its best informant's. Positions
 * start uniform in the domain, velocities at (U(lo, hi) - x) / 2.
 */
import { testFunctions, type FunctionName, type TestFunction } from './functions.js';
import { Random } from './random.js';

/** Inertia weight: 1 / (2 ln 2). */
export const kInertia = 1 / (2 * Math.LN2);
/** Acceleration bound: random factors are U(0, c), c = 0.5 + ln 2. */
export const kAcceleration = 0.5 + Math.LN2;

/** SPSO-2006's swarm size for dimension D: 10 + floor(2 sqrt(D)). */
export function swarmSize(dim: number): number {
  return 10 + Math.floor(2 * Math.sqrt(dim));
}

/**
 * The last iteration in which particle `index` evaluates, counting the
 * initial evaluation as iteration 0: with `evals` evaluations in all, a
 * particle evaluates at iteration t when t * size + index < evals (the
 * last iteration is cut short when evals is not a multiple of the size).
 */
export function lastIteration(evals: number, size: number, index: number): number {
  return Math.floor((evals - 1 - index) / size);
}

/** A particle's position, velocity and best position, and its own random generator. */
export class Particle {
  readonly x: Float64Array;
  readonly v: Float64Array;
  /** The best position found so far. */
  p: Float64Array;
  /** f(x) at the last evaluation. */
  f = Number.POSITIVE_INFINITY;
  /** f(p). */
  best = Number.POSITIVE_INFINITY;
  /** Evaluations made. */
  evaluations = 0;
  private readonly fn: TestFunction;
  private readonly random: Random;

  /** Starts at a random position of `fn`'s domain; `seeds` seed its generator. */
  constructor(fn: FunctionName, dim: number, seeds: readonly number[]) {
    this.fn = testFunctions[fn];
    this.random = new Random(...seeds);
    const { lo, hi } = this.fn;
    this.x = new Float64Array(dim);
    this.v = new Float64Array(dim);
    for (let d = 0; d < dim; d++) {
      this.x[d] = this.random.between(lo, hi);
      this.v[d] = (this.random.between(lo, hi) - this.x[d]) / 2;
    }
    this.p = new Float64Array(this.x);
  }

  /**
   * Evaluates f at the current position. When it improves on the best, the
   * best position becomes a new array (so one handed to neighbours earlier
   * never changes under them) and the call returns true.
   */
  evaluate(): boolean {
    this.f = this.fn.value(this.x);
    this.evaluations++;
    if (this.f >= this.best) return false;
    this.best = this.f;
    this.p = new Float64Array(this.x);
    return true;
  }

  /** One move towards its best `p` and its best informant's position `g`, then confinement. */
  move(g: Float64Array): void {
    const { x, v, p, random } = this;
    const { lo, hi } = this.fn;
    for (let d = 0; d < x.length; d++) {
      v[d] = kInertia * v[d] + random.next() * kAcceleration * (p[d] - x[d]) + random.next() * kAcceleration * (g[d] - x[d]);
      x[d] += v[d];
      if (x[d] < lo) {
        x[d] = lo;
        v[d] = 0;
      } else if (x[d] > hi) {
        x[d] = hi;
        v[d] = 0;
      }
    }
  }
}
