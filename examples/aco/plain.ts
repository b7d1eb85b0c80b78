/**
 * The same Ant Colony System with no runtime: one thread, ordinary memory,
 * the ants walking one after another. Given the same seed and the same number
 * of iterations it makes the same tours as the colony of actors (acs.ts says
 * why); it is the baseline of the speed-up in tours per second.
 */
import { Ant, ColonyCore, antSeed, type CurvePoint } from './acs.js';
import { pheromoneBytes, plainProblem } from './problem.js';
import type { Instance } from './tsplib.js';

/** How long a run goes: it stops at whichever limit comes first. */
export interface Budget {
  ants: number;
  seconds: number;
  /** Iterations at most (Infinity: the time decides). */
  iterations: number;
  seed: number;
}

/** What a run found, from either the colony of actors or the plain loop. */
export interface RunResult {
  /** The best tour, 0-based cities. */
  tour: number[];
  length: number;
  iterations: number;
  tours: number;
  /** From the first iteration to the end of the last. */
  ms: number;
  curve: CurvePoint[];
  /** Tours walked on each pool thread (the colony of actors only). */
  perThread?: number[];
  /** CPU time the whole process used during the run (all threads, user + system), ms. */
  cpuMs: number;
}

/** CPU time (user + system, every thread of the process) since `since`, in ms. */
export function cpuMsSince(since: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(since);
  return (used.user + used.system) / 1000;
}

/** Progress as runs report it, about ten times a second. */
export type ProgressListener = (progress: { iterations: number; best: number; ms: number }) => void;

/** Runs ACS on the calling thread until the budget is spent. */
export function runPlain(instance: Instance, budget: Budget, onProgress?: ProgressListener): RunResult {
  const problem = plainProblem(instance);
  const pheromone = new Float32Array(pheromoneBytes(problem.n) / 4);
  const core = new ColonyCore(problem, pheromone);
  const ants = Array.from({ length: budget.ants }, (_, index) => new Ant(problem.n, antSeed(budget.seed, index)));
  // Each ant's tours, reused: the core has taken them (copying the best) before the next walk.
  const walks = ants.map(() => ({ built: new Int32Array(problem.n), tour: new Int32Array(problem.n) }));
  const cpu = process.cpuUsage();
  const started = performance.now();
  const deadline = started + budget.seconds * 1000;
  let reported = started;
  let now = started;
  while (core.iterations < budget.iterations && now < deadline) {
    ants.forEach((ant, index) => ant.walk(problem, pheromone, walks[index].built, walks[index].tour));
    now = performance.now();
    core.absorb(walks, now - started);
    if (onProgress !== undefined && now - reported >= 100) {
      reported = now;
      onProgress({ iterations: core.iterations, best: core.bestLength, ms: now - started });
    }
  }
  const cpuMs = cpuMsSince(cpu);
  return {
    tour: Array.from(core.best),
    length: core.bestLength,
    iterations: core.iterations,
    tours: core.tours,
    ms: now - started,
    curve: core.curve,
    cpuMs,
  };
}
