/**
 * The read-only data every ant reads: distances, the ACS heuristic and the
 * candidate lists, laid out in one block of 32-bit words so that it can live
 * in one allocation of the runtime's shared memory pool (or, for the plain
 * single-threaded run, in an ordinary ArrayBuffer) and be viewed, not copied:
 *
 *   word 0          n*n           2*n*n              2*n*n + n*k
 *   | distance i32  | heuristic f32 | candidates i32    |
 *     d(i,j) at i*n+j  1/d(i,j)^beta   the k nearest cities of i at i*k..i*k+k-1
 *
 * The pheromone matrix is a second block (n*n f32) because it has a different
 * owner's writes: the colony updates it between iterations.
 */
import { euc2d, type Instance } from './tsplib.js';

/** ACS's parameters (Dorigo & Gambardella 1997, section IV): q0, beta, rho (global) = xi (local) = 0.1, 15 candidates. */
export const acsParameters = { q0: 0.9, beta: 2, rho: 0.1, xi: 0.1, candidates: 15 } as const;

/** Views over a problem block. */
export interface Problem {
  n: number;
  /** Candidate list length: min(15, n - 1). */
  k: number;
  dist: Int32Array;
  heuristic: Float32Array;
  candidates: Int32Array;
}

/** The number of cities on each candidate list for n cities. */
const candidateCount = (n: number): number => Math.min(acsParameters.candidates, n - 1);

/** Bytes of the problem block for n cities. */
export const problemBytes = (n: number): number => 4 * (2 * n * n + n * candidateCount(n));

/** Bytes of the pheromone block for n cities. */
export const pheromoneBytes = (n: number): number => 4 * n * n;

/** Views over a problem block that starts at `byteOffset` of `buffer` (shared or not). */
export function problemViews(buffer: ArrayBufferLike, byteOffset: number, n: number): Problem {
  const k = candidateCount(n);
  return {
    n,
    k,
    dist: new Int32Array(buffer, byteOffset, n * n),
    heuristic: new Float32Array(buffer, byteOffset + 4 * n * n, n * n),
    candidates: new Int32Array(buffer, byteOffset + 8 * n * n, n * k),
  };
}

/** Fills a problem block from the instance's coordinates. */
export function fillProblem(instance: Instance, problem: Problem): void {
  const { n, k, dist, heuristic, candidates } = problem;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      const d = i === j ? 0 : euc2d(instance, i, j);
      dist[i * n + j] = d;
      // Two cities at the same point (d = 0) get the largest finite heuristic, not Infinity.
      heuristic[i * n + j] = i === j ? 0 : 1 / Math.max(d, 0.5) ** acsParameters.beta;
    }
    const order = Array.from({ length: n }, (_, j) => j).filter((j) => j !== i);
    order.sort((a, b) => dist[i * n + a] - dist[i * n + b] || a - b);
    for (let c = 0; c < k; c++) candidates[i * k + c] = order[c];
  }
}

/** A problem block in ordinary memory, for the plain run and the tests. */
export function plainProblem(instance: Instance): Problem {
  const n = instance.x.length;
  const problem = problemViews(new ArrayBuffer(problemBytes(n)), 0, n);
  fillProblem(instance, problem);
  return problem;
}

/** The length of a closed tour (cities 0-based, the return to the first city counted). */
export function tourLength(dist: Int32Array, n: number, tour: ArrayLike<number>): number {
  let length = dist[tour[n - 1] * n + tour[0]];
  for (let i = 1; i < n; i++) length += dist[tour[i - 1] * n + tour[i]];
  return length;
}

/** The nearest-neighbour tour's length from city 0: L_nn, which sets ACS's initial pheromone tau0 = 1 / (n * L_nn). */
export function nearestNeighbourLength(problem: Problem): number {
  const { n, dist } = problem;
  const visited = new Uint8Array(n);
  let city = 0;
  let length = 0;
  visited[0] = 1;
  for (let step = 1; step < n; step++) {
    let next = -1;
    for (let j = 0; j < n; j++) if (visited[j] === 0 && (next < 0 || dist[city * n + j] < dist[city * n + next])) next = j;
    length += dist[city * n + next];
    visited[next] = 1;
    city = next;
  }
  return length + dist[city * n];
}
