/**
 * The core of the assignment solver (see assign.ts for what it solves and
 * how capacities and forbidden pairs are mapped onto it): for a finite
 * matrix with no more rows than columns, a minimum-cost assignment of every
 * row.
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
 * Hot: nothing is allocated inside the loops, and each loop sits in a small
 * function of its own so that V8 optimizes it early and apart.
 *
 * @module
 */

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
export function shortestAugmentingPaths(
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
