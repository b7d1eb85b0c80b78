/**
 * The same particles in a plain loop on one thread, no agents, no messages:
 *
 * - `sync` with `ring` or `star` informants is what the particle agents
 *   compute (every particle moves with its informants' bests of the
 *   previous iteration), in the same order with the same seeds: the test
 *   checks that the agents' results equal it to the last bit.
 * - `spso2006` is Clerc's original: informants drawn at random (each
 *   particle informs itself and K = 3 others drawn with replacement), drawn
 *   again after an iteration that did not improve the best, and asynchronous
 *   (a particle sees the bests of those that moved before it in the same
 *   iteration). `--reference` prints it beside the agents' results, to show
 *   that this code reproduces the published table.
 */
import type { FunctionName } from './functions.js';
import { Random } from './random.js';
import { lastIteration, Particle, swarmSize } from './spso.js';

/** How informants are chosen and when they are read. */
export type LoopKind = 'ring' | 'star' | 'spso2006';

/** K: the informants each particle draws in SPSO-2006. */
const kInformants = 3;

/** One run: the best value, its position and the initial best. `seeds` as the agents' (the particle's index is appended). */
export function loopRun(kind: LoopKind, fn: FunctionName, dim: number, evals: number, seeds: readonly number[]) {
  const size = swarmSize(dim);
  const particles = Array.from({ length: size }, (_, i) => new Particle(fn, dim, [...seeds, i]));
  for (const p of particles) p.evaluate();
  const initial = Math.min(...particles.map((p) => p.best));
  if (kind === 'spso2006') spso2006(particles, evals, new Random(...seeds, size));
  else synchronous(kind, particles, evals);
  const best = particles.reduce((a, b) => (b.best < a.best ? b : a));
  return { best: best.best, position: Array.from(best.p), initial };
}

/** Synchronous iterations: the informants' bests as they were after the previous one, as the agents do it. */
function synchronous(kind: 'ring' | 'star', particles: Particle[], evals: number): void {
  const size = particles.length;
  const last = lastIteration(evals, size, 0);
  const ring = (i: number) => [(i + 1) % size, (i - 1 + size) % size].filter((j, k, all) => j !== i && all.indexOf(j) === k);
  for (let t = 0; t < last; t++) {
    const bests = particles.map((p) => ({ f: p.best, x: p.p }));
    // The hub's best of all, in the hub's order: itself, then the leaves (the first of equal values wins).
    const all = bests.reduce((a, b) => (b.f < a.f ? b : a));
    particles.forEach((particle, i) => {
      if (lastIteration(evals, size, i) <= t) return;
      let g = bests[i];
      if (kind === 'star') g = all.f < g.f || i === 0 ? all : g;
      else for (const j of ring(i)) if (bests[j].f < g.f) g = bests[j];
      particle.move(g.x);
      particle.evaluate();
    });
  }
}

/** SPSO-2006's loop (Clerc's C program): random informants, redrawn when the best did not improve; asynchronous. */
function spso2006(particles: Particle[], evals: number, random: Random): void {
  const size = particles.length;
  const informs = Array.from({ length: size }, () => new Uint8Array(size));
  let evaluations = size;
  let redraw = true;
  let previous = Math.min(...particles.map((p) => p.best));
  while (evaluations < evals) {
    if (redraw) {
      for (let m = 0; m < size; m++) {
        informs[m].fill(0);
        informs[m][m] = 1;
      }
      for (let m = 0; m < size; m++) for (let k = 0; k < kInformants; k++) informs[m][Math.min(size - 1, Math.floor(random.next() * size))] = 1;
    }
    for (let s = 0; s < size && evaluations < evals; s++) {
      let g = s;
      for (let m = 0; m < size; m++) if (informs[m][s] === 1 && particles[m].best < particles[g].best) g = m;
      particles[s].move(particles[g].p);
      particles[s].evaluate();
      evaluations++;
    }
    const best = Math.min(...particles.map((p) => p.best));
    redraw = best >= previous;
    previous = best;
  }
}
