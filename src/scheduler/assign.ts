/**
 * The exact assignment-problem solver behind the scheduler's optimal-batch
 * policy and `rt.tasks.assign(costMatrix)`: give waiting tasks (columns) to
 * agents (rows) so that as many tasks as possible are assigned, each agent
 * takes at most its capacity, and the total cost is minimal (or maximal).
 *
 * Algorithm: the shortest augmenting path method of Jonker and Volgenant in
 * the rectangular form of Crouse (IEEE TAES 52(4), 2016, pp. 1685-1686), as
 * scipy's `linear_sum_assignment` implements it (rectangular_lsap.cpp): one
 * Dijkstra search with dual potentials per free row over a dense
 * Float64Array, O(n^2 m) for n <= m, far less on random costs. Taken from
 * JV's own LAPJV rather than scipy: cheap starting phases that assign most
 * rows before any search (column reduction and reduction transfer for a
 * square problem, each row's least column for a wide one, then augmenting
 * row reduction, valid for rectangular problems too since it only lowers
 * potentials of columns that stay assigned), and a search that keeps the
 * columns in one permutation cut into ready / scan / todo (one compare per
 * column when relaxing, several rows expanded per minimum search on ties).
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

/** A cost matrix stored row-major: `data[agent * cols + task]`. */
export interface DenseCostMatrix {
  rows: number;
  cols: number;
  data: Float64Array;
}

/** Rows are agents, columns are tasks: `cost[agent][task]`. */
export type CostMatrix = ArrayLike<ArrayLike<number>> | DenseCostMatrix;

export interface AssignmentOptions {
  /** How many tasks each agent (row) may take; one entry per row, integers >= 0. Default: 1 each. */
  capacities?: ArrayLike<number>;
  /** Maximize the total instead of minimizing it (costs read as gains). Default: false. */
  maximize?: boolean;
}

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

// ------------------------------------------------------------------ solver

/**
 * The core: for `nr <= nc` and a finite matrix, returns the column of each
 * row in a minimum-cost assignment of every row. `leastAt[i]`, if given, is
 * a column holding row i's least entry (or -1); `rowReduction` says whether
 * to run reduceRows (not worth it when many columns are equal).
 *
 * Invariants, from the LP dual of min sum c x (each row = 1, each column
 * <= 1): `c(i,j) - u[i] - v[j] >= 0` for every assigned row i, = 0 on
 * assigned pairs, and `v[j] <= 0` with `v[j] < 0` only on assigned columns
 * (columns never become free again, so this holds at the end). A free row's
 * u is never read before its own search, whose outcome does not depend on
 * it. The starting phases (see reduceColumns, reduceRows) set up these
 * invariants and assign most rows cheaply; then each free row gets a
 * Dijkstra search over reduced costs; its dual update changes v only on
 * columns it scanned, which are assigned afterwards, so the final
 * assignment is optimal by complementary slackness (Crouse, section IV;
 * scipy's rectangular_lsap.cpp). For a square problem v is unconstrained
 * (every column ends assigned), which JV's column reduction uses.
 *
 * The search is organized as in Jonker and Volgenant's own code rather than
 * scipy's: `order` is a permutation of the columns cut in three,
 *
 *   order: [ ready: scanned, expanded | scan: dist == minDist | todo ]
 *            0                   low                    up           nc
 *
 * so the relaxation loop over `todo` does one compare per column, the
 * minimum over `todo` is taken only when `scan` runs out, and a column that
 * becomes tight while relaxing joins `scan` at once, ending the search
 * there if it is free. With small integer costs (many ties) this expands
 * several rows per minimum search. `orderOffset[k]` is column order[k]'s
 * offset into a row of `work`, swapped along with it so that both are read
 * sequentially. `order` stays a permutation from one search to the next, so
 * a search starts by resetting `low` and `up`; nothing is allocated inside
 * the loops.
 *
 * @internal
 */
function shortestAugmentingPaths(
  nr: number,
  nc: number,
  work: Float64Array,
  rowBase: Int32Array,
  colOffset: Int32Array,
  leastAt: Int32Array | undefined,
  rowReduction: boolean,
): Int32Array {
  const state: SearchState = {
    nc,
    work,
    rowBase,
    colOffset,
    u: new Float64Array(nr),
    v: new Float64Array(nc),
    dist: new Float64Array(nc),
    path: new Int32Array(nc),
    col4row: new Int32Array(nr).fill(-1),
    row4col: new Int32Array(nc).fill(-1),
    order: new Int32Array(nc),
    orderOffset: new Int32Array(nc),
  };
  const { u, v, col4row, row4col } = state;
  for (let k = 0; k < nc; k++) {
    state.order[k] = k;
    state.orderOffset[k] = colOffset[k];
  }

  if (nr === nc) {
    reduceColumns(state, nr);
  } else if (leastAt !== undefined) {
    // A row whose least entry sits in a column nobody took yet gets it:
    // with v = 0 that is a least column of c - v. On random costs most rows
    // of a wide matrix are placed here, for nothing.
    for (let i = 0; i < nr; i++) {
      const j = leastAt[i];
      if (j >= 0 && row4col[j] === -1) {
        row4col[j] = i;
        col4row[i] = j;
      }
    }
  }
  const free = new Int32Array(nr);
  let numFree = 0;
  for (let i = 0; i < nr; i++) if (col4row[i] === -1) free[numFree++] = i;
  if (rowReduction && nc > 1) numFree = reduceRows(state, free, numFree);
  // Assigned rows sit on a least column of c - v: that value is their u.
  for (let i = 0; i < nr; i++) {
    const j = col4row[i];
    if (j !== -1) u[i] = work[rowBase[i] + colOffset[j]] - v[j];
  }

  // One search per row still free; a function of its own so that V8
  // optimizes it after a few rows rather than after a few whole solves.
  for (let k = 0; k < numFree; k++) augmentFrom(state, free[k]);
  return col4row;
}

/** What the searches share; allocated once per solve. @internal */
interface SearchState {
  nc: number;
  work: Float64Array;
  rowBase: Int32Array;
  colOffset: Int32Array;
  u: Float64Array;
  v: Float64Array;
  dist: Float64Array;
  path: Int32Array;
  col4row: Int32Array;
  row4col: Int32Array;
  order: Int32Array;
  orderOffset: Int32Array;
}

/**
 * One shortest augmenting path search from `freeRow`, its dual update and
 * the augmentation. The loops live in helpers of their own: each gets its
 * own type feedback and is optimized on its own, instead of one function
 * being deoptimized each time a branch the first rows never took is reached.
 *
 * @internal
 */
function augmentFrom(state: SearchState, freeRow: number): void {
  const { u, v, dist, path, col4row, row4col, order } = state;
  const first = initDistances(state, freeRow);
  let minDist = dist[first < 0 ? ~first : first];
  let sink = first < 0 ? ~first : -1;
  let low = 0;
  let up = 0;
  while (sink === -1) {
    if (low === up) {
      up = collectMinimum(state, low);
      // Finite costs: some todo column always has a finite distance.
      if (up === low) throw new Error(`assignment solver: no column reachable from row ${freeRow} (internal error)`);
      minDist = dist[order[low]];
      for (let k = low; k < up; k++) {
        if (row4col[order[k]] === -1) {
          sink = order[k];
          break;
        }
      }
      if (sink !== -1) break;
    }
    // Expand the row assigned to one scan column (that pair is tight, so
    // the row is at distance minDist too).
    const reached = relaxFrom(state, row4col[order[low]], minDist, up);
    low++;
    if (reached < 0) sink = ~reached;
    else up = reached;
  }

  // Dual update over the expanded (ready) columns and their rows; the
  // scan columns and the sink are at minDist, where the change is 0.
  u[freeRow] += minDist;
  for (let k = 0; k < low; k++) {
    const j = order[k];
    const delta = minDist - dist[j];
    v[j] -= delta;
    u[row4col[j]] += delta;
  }

  // Flip the path from the sink back to freeRow.
  let j = sink;
  for (;;) {
    const row = path[j];
    row4col[j] = row;
    const previous = col4row[row];
    col4row[row] = j;
    j = previous;
    if (row === freeRow) break;
  }
}

/**
 * Sets every column's distance from `freeRow` (the reduced costs of its
 * row) and finds the least, preferring a free column on a tie. Returns that
 * column, as ~j when it is free: then that pair alone is the shortest
 * augmenting path. Walks the columns in index order, not through `order`:
 * sequential access, and one indirection less.
 *
 * @internal
 */
function initDistances(state: SearchState, freeRow: number): number {
  const { nc, work, rowBase, colOffset, u, v, dist, path, row4col } = state;
  const base = rowBase[freeRow];
  const head = -u[freeRow];
  let best = Infinity;
  let bestAt = 0;
  let bestIsFree = false;
  for (let j = 0; j < nc; j++) {
    const d = head + work[base + colOffset[j]] - v[j];
    dist[j] = d;
    path[j] = freeRow;
    if (d < best) {
      best = d;
      bestAt = j;
      bestIsFree = row4col[j] === -1;
    } else if (d === best && !bestIsFree && row4col[j] === -1) {
      bestAt = j;
      bestIsFree = true;
    }
  }
  return bestIsFree ? ~bestAt : bestAt;
}

/**
 * `scan` (from `low`) is empty: moves every todo column at the least
 * distance into it and returns the new `up`.
 *
 * @internal
 */
function collectMinimum(state: SearchState, low: number): number {
  const { nc, dist, order, orderOffset } = state;
  let best = Infinity;
  let up = low;
  for (let k = low; k < nc; k++) {
    const j = order[k];
    const d = dist[j];
    if (d <= best) {
      if (d < best) {
        best = d;
        up = low;
      }
      swapOrder(order, orderOffset, k, up);
      up++;
    }
  }
  return up;
}

/** Swaps positions `a` and `b` of the column order and of its row offsets (kept in step). */
function swapOrder(order: Int32Array, orderOffset: Int32Array, a: number, b: number): void {
  const j = order[a];
  order[a] = order[b];
  order[b] = j;
  const offset = orderOffset[a];
  orderOffset[a] = orderOffset[b];
  orderOffset[b] = offset;
}

/**
 * Relaxes the todo columns (from `up`) through row `i`, at distance
 * `minDist`. A column that becomes tight joins `scan`; if it is free the
 * search is over. Returns the new `up`, or ~j for a free tight column j.
 *
 * @internal
 */
function relaxFrom(state: SearchState, i: number, minDist: number, up: number): number {
  const { nc, work, rowBase, u, v, dist, path, row4col, order, orderOffset } = state;
  const base = rowBase[i];
  const head = minDist - u[i];
  for (let k = up; k < nc; k++) {
    const j = order[k];
    const d = head + work[base + orderOffset[k]] - v[j];
    if (d < dist[j]) {
      dist[j] = d;
      path[j] = i;
      // d >= minDist up to rounding: the reduced cost is >= 0.
      if (d <= minDist) {
        if (row4col[j] === -1) return ~j;
        swapOrder(order, orderOffset, k, up);
        up++;
      }
    }
  }
  return up;
}

/**
 * Jonker and Volgenant's column reduction and reduction transfer, for a
 * square problem only (v[j] becomes the least entry of column j, > 0 maybe:
 * with nr < nc a free column's v must stay <= 0). Column j goes to the row
 * holding its least entry if that row has none yet (columns from the last,
 * as JV do), so every assigned row sits on a least column of c - v. Then a
 * row that got exactly one column moves the gap to its second best column
 * into that column's v, so that the row reduction can trade it.
 *
 * @internal
 */
function reduceColumns(state: SearchState, n: number): void {
  const { work, rowBase, colOffset, v, col4row, row4col } = state;
  // row4col keeps the argmin rows meanwhile; rows are read in order so that
  // the data is walked sequentially.
  v.fill(Infinity);
  for (let i = 0; i < n; i++) {
    const base = rowBase[i];
    for (let j = 0; j < n; j++) {
      const c = work[base + colOffset[j]];
      if (c < v[j]) {
        v[j] = c;
        row4col[j] = i;
      }
    }
  }
  const matches = new Int32Array(n);
  for (let j = n - 1; j >= 0; j--) {
    const i = row4col[j];
    if (++matches[i] === 1) col4row[i] = j;
    else row4col[j] = -1;
  }
  for (let i = 0; i < n; i++) {
    if (matches[i] !== 1) continue;
    const own = col4row[i];
    const base = rowBase[i];
    let least = Infinity;
    for (let j = 0; j < n; j++) {
      if (j === own) continue;
      const h = work[base + colOffset[j]] - v[j];
      if (h < least) least = h;
    }
    if (least < Infinity) v[own] -= least;
  }
}

/**
 * Jonker and Volgenant's augmenting row reduction, two passes over the
 * free rows (`free[0, numFree)`; returns the new count, the rows still free
 * listed first). A free row takes its least column j1 of c - v and lowers
 * v[j1] until its second least ties with it; the row that held j1, if any,
 * is freed and goes on at once when v moved (else waits for the next pass).
 * Keeps the invariants: an assigned row sits on a least column of c - v
 * (lowering v[j1] only raises c - v at j1 for the other rows), v only goes
 * down, and only on a column that is assigned from then on. Needs nc >= 2.
 * Bounded by a budget of row scans, since with real costs the moves can
 * shrink to rounding steps (the problem lapjv's authors met).
 *
 * @internal
 */
function reduceRows(state: SearchState, free: Int32Array, numFree: number): number {
  const { nc, work, rowBase, colOffset, v, col4row, row4col } = state;
  let budget = 8 * free.length;
  for (let pass = 0; pass < 2; pass++) {
    const previous = numFree;
    numFree = 0;
    // Rows freed along the way are written over slots already read:
    // free[--k] re-reads one at once, free[numFree++] queues one (numFree <= k).
    let k = 0;
    while (k < previous) {
      const i = free[k++];
      if (budget-- <= 0) {
        free[numFree++] = i;
        continue;
      }
      const base = rowBase[i];
      let least = work[base + colOffset[0]] - v[0];
      let leastAt = 0;
      let second = Infinity;
      let secondAt = 0;
      for (let j = 1; j < nc; j++) {
        const h = work[base + colOffset[j]] - v[j];
        if (h < second) {
          if (h >= least) {
            second = h;
            secondAt = j;
          } else {
            second = least;
            secondAt = leastAt;
            least = h;
            leastAt = j;
          }
        }
      }
      let j1 = leastAt;
      let previousOwner = row4col[j1];
      const gap = second - least;
      if (gap > 0) {
        v[j1] -= gap;
      } else if (previousOwner !== -1) {
        // A tie: take the second least column instead, which may be free.
        j1 = secondAt;
        previousOwner = row4col[j1];
      }
      col4row[i] = j1;
      row4col[j1] = i;
      if (previousOwner !== -1) {
        col4row[previousOwner] = -1;
        if (gap > 0) free[--k] = previousOwner;
        else free[numFree++] = previousOwner;
      }
    }
  }
  return numFree;
}

// ------------------------------------------------------------------- input

/** Uniform read access to both input forms. @internal */
interface MatrixReader {
  rows: number;
  cols: number;
  /** Row `row` as given (a subarray for the dense form); entries unchecked. */
  row(row: number): ArrayLike<unknown>;
  /** Entry (row, col), once validated. */
  at(row: number, col: number): number;
  /** How to name entry (row, col) in an error message. */
  name(row: number, col: number): string;
  /** The data of the dense form, row-major. */
  dense?: Float64Array;
}

function readMatrix(cost: CostMatrix): MatrixReader {
  const expected = 'an array of rows (one per agent) of numbers, or { rows, cols, data: Float64Array }';
  if (cost === null || typeof cost !== 'object') throw new InvalidArgumentError('cost', expected, cost);

  if ('data' in cost) {
    const { rows, cols, data } = cost;
    if (!Number.isInteger(rows) || rows < 0) throw new InvalidArgumentError('cost.rows', 'an integer from 0 and up', rows);
    if (!Number.isInteger(cols) || cols < 0) throw new InvalidArgumentError('cost.cols', 'an integer from 0 and up', cols);
    if (!(data instanceof Float64Array)) throw new InvalidArgumentError('cost.data', 'a Float64Array', data);
    if (data.length !== rows * cols) {
      throw new InvalidArgumentError('cost.data.length', `rows * cols = ${rows * cols}`, data.length);
    }
    return {
      rows,
      cols,
      row: (row) => data.subarray(row * cols, (row + 1) * cols),
      at: (row, col) => data[row * cols + col],
      name: (row, col) => `cost.data[${row * cols + col}] (row ${row}, column ${col})`,
      dense: data,
    };
  }

  const matrix = cost as ArrayLike<ArrayLike<number>>;
  const rows = matrix.length;
  if (!Number.isInteger(rows) || rows < 0) throw new InvalidArgumentError('cost', expected, cost);
  let cols = 0;
  for (let row = 0; row < rows; row++) {
    const line = matrix[row] as ArrayLike<number> | null | undefined;
    if (line === null || typeof line !== 'object' || !Number.isInteger(line.length) || line.length < 0) {
      throw new InvalidArgumentError(`cost[${row}]`, 'an array of numbers (one per task)', line);
    }
    if (row === 0) cols = line.length;
    else if (line.length !== cols) {
      throw new InvalidArgumentError(`cost[${row}].length`, `${cols}, the length of cost[0] (rows must all be as long)`, line.length);
    }
  }
  return {
    rows,
    cols,
    row: (row) => matrix[row],
    at: (row, col) => matrix[row][col],
    name: (row, col) => `cost[${row}][${col}]`,
  };
}

/** Per agent: how many copies it gets in the solver, min(capacity, cols). @internal */
function readCapacities(capacities: ArrayLike<number> | undefined, rows: number, cols: number): Int32Array {
  const copies = new Int32Array(rows);
  if (capacities === undefined) return copies.fill(Math.min(1, cols));
  if (capacities === null || typeof capacities !== 'object' || typeof capacities.length !== 'number') {
    throw new InvalidArgumentError('capacities', `an array of ${rows} integers from 0 and up, one per agent (row)`, capacities);
  }
  if (capacities.length !== rows) {
    throw new InvalidArgumentError('capacities.length', `${rows}, one capacity per agent (row)`, capacities.length);
  }
  for (let agent = 0; agent < rows; agent++) {
    const capacity = capacities[agent];
    if (typeof capacity !== 'number' || !Number.isInteger(capacity) || capacity < 0) {
      throw new InvalidArgumentError(`capacities[${agent}]`, 'an integer from 0 and up', capacity);
    }
    copies[agent] = Math.min(capacity, cols);
  }
  return copies;
}

/**
 * Validates every entry and returns the solver's working matrix: the dense
 * input itself when it needs no change (no copy), otherwise a Float64Array
 * copy, transposed to task-major when `transposed`, negated for maximize,
 * with each forbidden pair (Infinity) replaced by a finite `penalty`.
 * `rowArgmin[row]` is the first column of each input row's least finite
 * entry (after the sign), -1 for a row of forbidden pairs only.
 *
 * Why the penalty gives "max cardinality, then min cost". Let the finite
 * costs lie in [min, min + S], and k = min(cols, sum of copies) be the
 * number of pairs the solver makes (it assigns every one of its rows; the
 * bipartite graph is complete once a forbidden pair costs penalty =
 * min + M). Subtracting min from every entry changes every solution's cost by
 * the same k*min, so take min = 0. A solution with p penalty pairs costs
 * p*M + F with 0 <= F <= (k - p)*S <= k*S < M, so the solver first minimizes
 * p, then F. The least p is k - a, a being the largest number of allowed
 * pairs: dropping the penalty pairs of any solution leaves an allowed
 * assignment, and any allowed assignment of size a extends to k pairs (with
 * penalty pairs, or allowed ones, which would contradict a being the
 * largest). Among solutions with p = k - a, F is the cost of their allowed
 * part, an allowed assignment of size a, and every such assignment appears.
 * So dropping the penalty pairs leaves a maximum-cardinality allowed
 * assignment of least cost. M = (2k + 1)*S + 1 is > k*S even where
 * k*S + 1 rounds to k*S, and > S: finite entries are <= min + S < penalty,
 * so a pair is a penalty pair exactly when its entry equals `penalty`.
 *
 * @internal
 */
function workingMatrix(
  input: MatrixReader,
  maximize: boolean,
  transposed: boolean,
  pairs: number,
): { work: Float64Array; penalty: number | undefined; rowArgmin: Int32Array } {
  const { rows, cols } = input;
  const sign = maximize ? -1 : 1;
  // The dense form is used as it is unless it must be negated or transposed
  // (or, below, has forbidden pairs to replace).
  let work = input.dense !== undefined && !maximize && !transposed ? input.dense : scratchBuffer(rows * cols);
  const copying = work !== input.dense;
  const rowArgmin = new Int32Array(rows);
  // [least finite entry, greatest finite entry, 1 if some pair is forbidden,
  //  the row's least finite entry, its column]
  const stats = new Float64Array([Infinity, -Infinity, 0, 0, 0]);
  for (let row = 0; row < rows; row++) {
    const start = !copying ? -1 : transposed ? row : row * cols;
    const bad = scanRow(input.row(row), cols, sign, work, start, transposed ? rows : 1, stats);
    if (bad >= 0) {
      throw new InvalidArgumentError(input.name(row, bad), 'a finite number, or Infinity for a forbidden pair', input.row(row)[bad]);
    }
    rowArgmin[row] = stats[4];
  }
  let min = stats[0];
  let max = stats[1];
  const forbidden = stats[2] === 1;
  if (!forbidden) return { work, penalty: undefined, rowArgmin };

  if (min === Infinity) min = max = 0; // every pair is forbidden
  const penalty = min + ((2 * pairs + 1) * (max - min) + 1);
  // Costs so large that the penalty rounds into them cannot be told apart.
  if (!Number.isFinite(penalty) || !(penalty > max)) {
    throw new InvalidArgumentError('cost', 'finite costs whose span (max - min) times the number of pairs fits in a double', max - min);
  }
  if (!copying) {
    // The caller's data is read-only to us: replace the forbidden marks in a copy.
    const copy = scratchBuffer(rows * cols);
    copy.set(work);
    work = copy;
  }
  for (let k = 0; k < work.length; k++) {
    if (work[k] === Infinity) work[k] = penalty;
  }
  return { work, penalty, rowArgmin };
}

/**
 * The working matrix's buffer, kept from one call to the next up to
 * kScratchEntries (8 MB, a 1000 x 1000 problem): the scheduler solves on every
 * batch, and on this 2-core VM writing a freshly allocated 4 MB buffer costs
 * ~10 ms of page faults, more than the 500 x 1000 solve itself. Safe because
 * solveAssignment is synchronous and never calls out while it holds it; no
 * result refers to it. Larger problems get a buffer of their own.
 *
 * @internal
 */
let scratch: Float64Array | undefined;
const kScratchEntries = 1 << 20;

function scratchBuffer(entries: number): Float64Array {
  if (entries > kScratchEntries) return new Float64Array(entries);
  if (scratch === undefined || scratch.length < entries) scratch = new Float64Array(entries);
  return scratch.subarray(0, entries);
}

/**
 * Checks one row, folds its finite entries into `stats` (and leaves the
 * row's least one and its column in stats[3], stats[4]) and, unless `start`
 * is -1, writes them (times `sign`; Infinity as is) to `work[start + col *
 * step]`. Returns the column of the first bad entry, or -1. A function of
 * its own, called per row, so that V8 optimizes it within the first solve.
 *
 * @internal
 */
function scanRow(
  line: ArrayLike<unknown>,
  cols: number,
  sign: number,
  work: Float64Array,
  start: number,
  step: number,
  stats: Float64Array,
): number {
  let min = Infinity;
  let argmin = -1;
  let max = stats[1];
  for (let col = 0; col < cols; col++) {
    const value = line[col];
    // NaN, -Infinity and anything that is not a number (a string, a hole in
    // a sparse array) all fail this test; Infinity marks a forbidden pair.
    if (!(typeof value === 'number' && value > -Infinity)) return col;
    let entry = value;
    if (value === Infinity) {
      stats[2] = 1;
    } else {
      entry = sign * value;
      if (entry < min) {
        min = entry;
        argmin = col;
      }
      if (entry > max) max = entry;
    }
    if (start >= 0) work[start + col * step] = entry;
  }
  if (min < stats[0]) stats[0] = min;
  stats[1] = max;
  stats[3] = min;
  stats[4] = argmin;
  return -1;
}
