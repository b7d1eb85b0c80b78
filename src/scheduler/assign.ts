/**
 * The exact assignment-problem solver behind the scheduler's optimal-batch
 * policy and `rt.tasks.assign(costMatrix)`: give waiting tasks (columns) to
 * agents (rows) so that as many tasks as possible are assigned, each agent
 * takes at most its capacity, and the total cost is minimal (or maximal).
 *
 * Algorithm: the shortest augmenting path method of Jonker and Volgenant in
 * Crouse's rectangular form, with LAPJV's starting phases (see
 * assign-solver.ts). Input checks and the working matrix: assign-input.ts.
 *
 * Why hand-written: `npm view` found `munkres-js` 1.2.2 (classic Munkres,
 * ~100-150 ms at 200x200 here, no capacities), `linear-sum-assignment` 1.0.9
 * (mljs; the same Crouse algorithm over an ml-matrix, with `Array.splice` per
 * step, maximizing by default, ~50 ms at 500x1000), `hungarian-on3` 0.3.1
 * (square only, CommonJS), `munkres-algorithm` 1.0.2 (O(n^3), ~140 ms at
 * 500x1000) and `munkres` 2.0.4 (rectangular and fast: within 1.1-1.5x of
 * this one, see bench/assign.bench.ts, though it neither checks nor copies).
 * None takes capacities: each would need an agent's row copied `capacity`
 * times; none says what it returns when forbidden pairs make a full
 * assignment impossible; none checks its input. This one expands capacities
 * as an index map, gives forbidden pairs defined semantics (below), rejects
 * bad input with typed errors, and adds no dependency.
 *
 * Solver index space. Agent i with capacity c_i becomes min(c_i, cols)
 * "copies" (more copies than tasks could never all be used); a copy is an
 * index into the agent's row, the cost data is not duplicated. With
 * R = sum of copies, the solver's rows are the shorter side: the copies when
 * R <= cols, else the tasks (the working matrix is then stored transposed),
 * so that the inner loop runs over the longer side, as scipy does. Every
 * solver row gets a column, so min(cols, R) pairs are made.
 *
 *   solver cost(i, j) = work[rowBase[i] + colOffset[j]]
 *   copies as rows: rowBase[copy] = agent * cols, colOffset[task] = task
 *   tasks as rows:  rowBase[task] = task * rows,  colOffset[copy] = agent
 *
 * @module
 */
import { InvalidArgumentError } from '../base/errors.js';
import { readCapacities, readMatrix, workingMatrix, type CostMatrix } from './assign-input.js';
import { shortestAugmentingPaths } from './assign-solver.js';

export type { CostMatrix } from './assign-input.js';

export interface AssignmentOptions {
  /** How many tasks each agent (row) may take; one entry per row, integers >= 0. Default: 1 each. */
  capacities?: ArrayLike<number>;
  /** Maximize the total instead of minimizing it (costs read as gains). Default: false. */
  maximize?: boolean;
}

/** What solveAssignment (and `rt.tasks.assign`) returns. */
export interface AssignmentResult {
  /** Per task (column): the agent (row) it is assigned to, or -1. */
  rowOf: Int32Array;
  /** Per agent (row): the tasks it was given, ascending. */
  tasksOf: number[][];
  /** Sum of the input costs of the assigned pairs. 0 when nothing is assigned. */
  totalCost: number;
  /** Number of assigned tasks. */
  assigned: number;
}

/**
 * Solves the rectangular assignment problem with agent capacities, exactly.
 *
 * Semantics: each agent (row) i takes at most `capacities[i]` tasks (default
 * 1), each task (column) goes to at most one agent. Among the assignments of
 * maximum cardinality the one returned has the minimum total cost (maximum
 * with `maximize`). Costs are any finite numbers, negative included.
 * `Infinity` marks a forbidden pair (that agent cannot do that task, with or
 * without `maximize`): the result then has the largest number of allowed
 * pairs, and the least (greatest) cost among those. Without forbidden pairs
 * that number is min(cols, sum of capacities). NaN and -Infinity are bad input.
 * An empty matrix (0 rows or 0 columns) assigns nothing, at cost 0.
 *
 * @throws InvalidArgumentError for a matrix that is not an array of rows or
 * a `{ rows, cols, data }`, ragged rows, NaN / -Infinity / non-number
 * entries, capacities of the wrong length or not integers >= 0.
 *
 * @example
 * // 2 agents, 3 tasks; agent 1 can take two tasks; agent 0 cannot do task 2.
 * const { rowOf, totalCost } = solveAssignment(
 *   [[4, 1, Infinity], [2, 5, 3]],
 *   { capacities: [1, 2] },
 * );
 * // rowOf = Int32Array [1, 0, 1], totalCost = 6
 */
export function solveAssignment(cost: CostMatrix, options: AssignmentOptions = {}): AssignmentResult {
  if (options === null || typeof options !== 'object') {
    throw new InvalidArgumentError('options', 'an object ({ capacities?, maximize? })', options);
  }
  const input = readMatrix(cost);
  const { rows, cols } = input;
  // Offsets into the working matrix are Int32.
  if (rows * cols > 0x7fff_ffff) throw new InvalidArgumentError('cost', 'a matrix of at most 2^31 - 1 entries', `${rows} x ${cols}`);
  const maximize = options.maximize ?? false;
  if (typeof maximize !== 'boolean') throw new InvalidArgumentError('maximize', 'a boolean', maximize);
  const copies = readCapacities(options.capacities, rows, cols);

  let totalCopies = 0;
  for (let agent = 0; agent < rows; agent++) totalCopies += copies[agent];
  // Every entry is validated, even when nothing can be assigned.
  const transposed = totalCopies > cols;
  const { work, penalty, rowArgmin } = workingMatrix(input, maximize, transposed, Math.min(cols, totalCopies));

  const rowOf = new Int32Array(cols).fill(-1);
  const tasksOf: number[][] = Array.from({ length: rows }, () => []);
  if (totalCopies === 0 || cols === 0) return { rowOf, tasksOf, totalCost: 0, assigned: 0 };

  // Copy -> agent map, and the solver's row/column offsets into `work`.
  const agentOf = new Int32Array(totalCopies);
  for (let agent = 0, next = 0; agent < rows; agent++) {
    for (let k = 0; k < copies[agent]; k++) agentOf[next++] = agent;
  }
  const solverRows = transposed ? cols : totalCopies;
  const solverCols = transposed ? totalCopies : cols;
  const rowBase = new Int32Array(solverRows);
  const colOffset = new Int32Array(solverCols);
  if (transposed) {
    for (let task = 0; task < cols; task++) rowBase[task] = task * rows;
    colOffset.set(agentOf);
  } else {
    for (let copy = 0; copy < totalCopies; copy++) rowBase[copy] = agentOf[copy] * cols;
    for (let task = 0; task < cols; task++) colOffset[task] = task;
  }

  // With copies as rows, each copy's least entry is its agent's: the column
  // holding it (first found) is where the solver tries to place it first.
  let leastAt: Int32Array | undefined;
  if (!transposed) {
    leastAt = new Int32Array(solverRows);
    for (let copy = 0; copy < totalCopies; copy++) leastAt[copy] = rowArgmin[agentOf[copy]];
  }
  // Tasks as rows with an agent of capacity > 1: copies make equal columns,
  // and the row reduction only bounces rows between them.
  let distinctColumns = true;
  if (transposed) for (let agent = 0; agent < rows; agent++) if (copies[agent] > 1) distinctColumns = false;
  const col4row = shortestAugmentingPaths(solverRows, solverCols, work, rowBase, colOffset, leastAt, distinctColumns);

  for (let i = 0; i < solverRows; i++) {
    const j = col4row[i];
    // A pair taken at the penalty is a forbidden one: leave the task unassigned.
    if (penalty !== undefined && work[rowBase[i] + colOffset[j]] === penalty) continue;
    if (transposed) rowOf[i] = agentOf[j];
    else rowOf[j] = agentOf[i];
  }
  let totalCost = 0;
  let assigned = 0;
  for (let task = 0; task < cols; task++) {
    const agent = rowOf[task];
    if (agent < 0) continue;
    tasksOf[agent].push(task);
    totalCost += input.at(agent, task);
    assigned++;
  }
  return { rowOf, tasksOf, totalCost, assigned };
}
