/**
 * The assignment solver's input: the two forms of a cost matrix (rows of
 * numbers, or a dense Float64Array), every entry and capacity checked with
 * typed errors, and the working matrix the solver reads (negated for
 * maximize, transposed when tasks are the solver's rows, forbidden pairs
 * replaced by a finite penalty), in a buffer kept from one call to the next.
 *
 * @module
 */
import { InvalidArgumentError } from '../base/errors.js';

/** A cost matrix stored row-major: `data[agent * cols + task]`. */
interface DenseCostMatrix {
  rows: number;
  cols: number;
  data: Float64Array;
}

/** Rows are agents, columns are tasks: `cost[agent][task]`. */
export type CostMatrix = ArrayLike<ArrayLike<number>> | DenseCostMatrix;

/** Uniform read access to both input forms. @internal */
export interface MatrixReader {
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

/** The cost matrix in either form, its shape checked (its entries are checked by workingMatrix). @internal */
export function readMatrix(cost: CostMatrix): MatrixReader {
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
export function readCapacities(capacities: ArrayLike<number> | undefined, rows: number, cols: number): Int32Array {
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
export function workingMatrix(
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
function scanRow(line: ArrayLike<unknown>, cols: number, sign: number, work: Float64Array, start: number, step: number, stats: Float64Array): number {
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
