/**
 * The assignment solver (src/scheduler/assign.ts) is exact: on small random
 * problems it matches an exhaustive search, on larger ones a plain textbook
 * Hungarian algorithm written here, and every result is a valid assignment
 * (each task at most once, capacities kept, no forbidden pair, the reported
 * cost and count match the pairs).
 *
 * The generators are seeded so that a failure replays: fast-check prints the
 * seed and path (`ASSIGN_PROPERTY_SEED=<seed>`, and `path` in fc.assert's
 * options); the larger instances use a fixed mulberry32 stream.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InvalidArgumentError, InvalidOptionError, describeValue } from '../src/base/errors.js';
import { solveAssignment, type AssignmentOptions, type AssignmentResult, type CostMatrix } from '../src/scheduler/assign.js';
import { mulberry32 } from './fixtures/random.js';

const seed = Number(process.env.ASSIGN_PROPERTY_SEED ?? 0xa551_9e);
/** Runs per property; raise it (ASSIGN_PROPERTY_RUNS) for a longer hunt. */
const numRuns = Number(process.env.ASSIGN_PROPERTY_RUNS ?? 400);

// ------------------------------------------------------------------ helpers

const random = mulberry32;

function randomMatrix(rows: number, cols: number, next: () => number, of: (x: number) => number): number[][] {
  return Array.from({ length: rows }, () => Array.from({ length: cols }, () => of(next())));
}

/**
 * Exhaustive search: every way to give each task to one agent or to nobody,
 * within capacities and allowed pairs, memoized on (task, capacity left per
 * agent). Best = most pairs, then least cost (greatest with maximize).
 */
function bruteForce(cost: number[][], capacities: number[], maximize: boolean): { count: number; cost: number } {
  const rows = cost.length;
  const cols = rows === 0 ? 0 : cost[0].length;
  const sign = maximize ? -1 : 1;
  const memo = new Map<string, { count: number; cost: number }>();
  const left = [...capacities];
  const better = (a: { count: number; cost: number }, b: { count: number; cost: number }) =>
    a.count !== b.count ? a.count > b.count : sign * a.cost < sign * b.cost;
  const search = (task: number): { count: number; cost: number } => {
    if (task === cols) return { count: 0, cost: 0 };
    const key = `${task}:${left.join(',')}`;
    const known = memo.get(key);
    if (known) return known;
    let best = search(task + 1); // nobody takes this task
    for (let agent = 0; agent < rows; agent++) {
      if (left[agent] === 0 || cost[agent][task] === Infinity) continue;
      left[agent]--;
      const rest = search(task + 1);
      left[agent]++;
      const candidate = { count: rest.count + 1, cost: rest.cost + cost[agent][task] };
      if (better(candidate, best)) best = candidate;
    }
    memo.set(key, best);
    return best;
  };
  return search(0);
}

/**
 * Textbook Hungarian algorithm with potentials (the O(n^2 m) e-maxx form,
 * 1-based, rows <= cols, every row assigned). Written independently of the
 * solver under test: different bookkeeping, no capacities, no transpose.
 */
function hungarian(cost: number[][]): { colOfRow: number[]; total: number } {
  const n = cost.length;
  const m = cost[0].length;
  if (n > m) throw new Error('hungarian: rows must be <= cols');
  const u = new Array<number>(n + 1).fill(0);
  const v = new Array<number>(m + 1).fill(0);
  const p = new Array<number>(m + 1).fill(0); // p[j]: row matched to column j (1-based), 0 = none
  const way = new Array<number>(m + 1).fill(0);
  for (let i = 1; i <= n; i++) {
    p[0] = i;
    let j0 = 0;
    const minv = new Array<number>(m + 1).fill(Infinity);
    const used = new Array<boolean>(m + 1).fill(false);
    do {
      used[j0] = true;
      const i0 = p[j0];
      let delta = Infinity;
      let j1 = 0;
      for (let j = 1; j <= m; j++) {
        if (used[j]) continue;
        const cur = cost[i0 - 1][j - 1] - u[i0] - v[j];
        if (cur < minv[j]) {
          minv[j] = cur;
          way[j] = j0;
        }
        if (minv[j] < delta) {
          delta = minv[j];
          j1 = j;
        }
      }
      for (let j = 0; j <= m; j++) {
        if (used[j]) {
          u[p[j]] += delta;
          v[j] -= delta;
        } else {
          minv[j] -= delta;
        }
      }
      j0 = j1;
    } while (p[j0] !== 0);
    do {
      const j1 = way[j0];
      p[j0] = p[j1];
      j0 = j1;
    } while (j0 !== 0);
  }
  const colOfRow = new Array<number>(n).fill(-1);
  let total = 0;
  for (let j = 1; j <= m; j++) {
    if (p[j] !== 0) {
      colOfRow[p[j] - 1] = j - 1;
      total += cost[p[j] - 1][j - 1];
    }
  }
  return { colOfRow, total };
}

const transpose = (matrix: number[][]): number[][] => (matrix.length === 0 ? [] : matrix[0].map((_, col) => matrix.map((row) => row[col])));

/** Checks that `result` is a valid assignment of `cost` under `capacities` and returns nothing. */
function expectValid(cost: number[][], result: AssignmentResult, capacities?: ArrayLike<number>): void {
  const rows = cost.length;
  const cols = rows === 0 ? 0 : cost[0].length;
  expect(result.rowOf).toBeInstanceOf(Int32Array);
  expect(result.rowOf.length).toBe(cols);
  expect(result.tasksOf.length).toBe(rows);
  const load = new Array<number>(rows).fill(0);
  let assigned = 0;
  let total = 0;
  for (let task = 0; task < cols; task++) {
    const agent = result.rowOf[task];
    if (agent === -1) continue;
    expect(agent).toBeGreaterThanOrEqual(0);
    expect(agent).toBeLessThan(rows);
    expect(cost[agent][task]).not.toBe(Infinity);
    load[agent]++;
    assigned++;
    total += cost[agent][task];
  }
  for (let agent = 0; agent < rows; agent++) {
    expect(load[agent]).toBeLessThanOrEqual(capacities === undefined ? 1 : capacities[agent]);
    const expected: number[] = [];
    for (let task = 0; task < cols; task++) if (result.rowOf[task] === agent) expected.push(task);
    expect(result.tasksOf[agent]).toEqual(expected);
  }
  expect(result.assigned).toBe(assigned);
  expect(result.totalCost).toBeCloseTo(total, 6);
}

function dense(cost: number[][]): { rows: number; cols: number; data: Float64Array } {
  const rows = cost.length;
  const cols = rows === 0 ? 0 : cost[0].length;
  return { rows, cols, data: Float64Array.from(cost.flat()) };
}

// ------------------------------------------------------- small: exhaustive

interface Problem {
  cost: number[][];
  capacities: number[] | undefined;
  maximize: boolean;
  denseForm: boolean;
}

/** Costs from a small range (many ties), negatives included, some forbidden. */
const entryArb = fc.oneof({ weight: 4, arbitrary: fc.integer({ min: -20, max: 20 }) }, { weight: 1, arbitrary: fc.constant(Infinity) });

const problemArb: fc.Arbitrary<Problem> = fc
  .record({ rows: fc.integer({ min: 0, max: 6 }), cols: fc.integer({ min: 0, max: 7 }) })
  .chain(({ rows, cols }) =>
    fc.record({
      cost: fc.array(fc.array(entryArb, { minLength: cols, maxLength: cols }), { minLength: rows, maxLength: rows }),
      capacities: fc.option(fc.array(fc.integer({ min: 0, max: 3 }), { minLength: rows, maxLength: rows }), { nil: undefined }),
      maximize: fc.boolean(),
      denseForm: fc.boolean(),
    }),
  );

function solve(problem: Problem): AssignmentResult {
  const options: AssignmentOptions = { maximize: problem.maximize };
  if (problem.capacities) options.capacities = problem.capacities;
  const rows = problem.cost.length;
  // An array of zero rows has no column count; the dense form carries it.
  const input: CostMatrix = problem.denseForm || rows === 0 ? dense(problem.cost) : problem.cost;
  return solveAssignment(input, options);
}

describe('small problems, against exhaustive search', () => {
  it('finds the most pairs, then the least (or greatest) cost: up to 6 x 7, capacities 0..3, forbidden pairs, ties', () => {
    fc.assert(
      fc.property(problemArb, (problem) => {
        const result = solve(problem);
        const caps = problem.capacities ?? problem.cost.map(() => 1);
        expectValid(problem.cost, result, caps);
        const best = bruteForce(problem.cost, caps, problem.maximize);
        expect(result.assigned).toBe(best.count);
        expect(result.totalCost).toBe(best.cost);
      }),
      { seed, numRuns },
    );
  });

  it('is exact on real-valued costs (no ties), both orientations', () => {
    const realArb = fc.record({ rows: fc.integer({ min: 1, max: 6 }), cols: fc.integer({ min: 1, max: 7 }) }).chain(({ rows, cols }) =>
      fc.record({
        cost: fc.array(fc.array(fc.double({ min: -1e3, max: 1e3, noNaN: true, noDefaultInfinity: true }), { minLength: cols, maxLength: cols }), {
          minLength: rows,
          maxLength: rows,
        }),
        capacities: fc.array(fc.integer({ min: 0, max: 3 }), { minLength: rows, maxLength: rows }),
        maximize: fc.boolean(),
      }),
    );
    fc.assert(
      fc.property(realArb, ({ cost, capacities, maximize }) => {
        const result = solveAssignment(cost, { capacities, maximize });
        expectValid(cost, result, capacities);
        const best = bruteForce(cost, capacities, maximize);
        expect(result.assigned).toBe(best.count);
        expect(result.totalCost).toBeCloseTo(best.cost, 6);
      }),
      { seed: seed + 1, numRuns: numRuns / 2 },
    );
  });

  it('gives the same answer for a matrix and its transpose (agents and tasks swapped)', () => {
    const next = random(seed + 2);
    for (let run = 0; run < 200; run++) {
      const rows = 1 + Math.floor(next() * 7);
      const cols = 1 + Math.floor(next() * 7);
      const cost = randomMatrix(rows, cols, next, (x) => (x < 0.1 ? Infinity : Math.floor(x * 30) - 10));
      const a = solveAssignment(cost);
      const b = solveAssignment(transpose(cost));
      expect(b.assigned).toBe(a.assigned);
      expect(b.totalCost).toBe(a.totalCost);
    }
  });
});

// ----------------------------------------------------------- hand-checked

describe('known cases', () => {
  it('solves the classic 3 x 3 example', () => {
    const result = solveAssignment([
      [4, 1, 3],
      [2, 0, 5],
      [3, 2, 2],
    ]);
    expect(Array.from(result.rowOf)).toEqual([1, 0, 2]);
    expect(result.tasksOf).toEqual([[1], [0], [2]]);
    expect(result.totalCost).toBe(5);
    expect(result.assigned).toBe(3);
  });

  it('assigns min(rows, cols) pairs on wide and tall matrices', () => {
    const wide = solveAssignment([[3, 1, 2]]);
    expect(Array.from(wide.rowOf)).toEqual([-1, 0, -1]);
    expect(wide.totalCost).toBe(1);
    const tall = solveAssignment([[5], [1], [3]]);
    expect(Array.from(tall.rowOf)).toEqual([1]);
    expect(tall.tasksOf).toEqual([[], [0], []]);
    expect(tall.totalCost).toBe(1);
  });

  it('handles negative costs', () => {
    const result = solveAssignment([
      [-5, -1],
      [-2, -3],
    ]);
    expect(result.totalCost).toBe(-8);
    expect(Array.from(result.rowOf)).toEqual([0, 1]);
  });

  it('maximizes when asked', () => {
    const result = solveAssignment(
      [
        [1, 5],
        [3, 4],
      ],
      { maximize: true },
    );
    expect(Array.from(result.rowOf)).toEqual([1, 0]);
    expect(result.totalCost).toBe(8);
  });

  it('lets an agent take up to its capacity', () => {
    const cost = [
      [1, 2, 3],
      [10, 10, 10],
    ];
    const pooled = solveAssignment(cost, { capacities: [3, 1] });
    expect(pooled.tasksOf).toEqual([[0, 1, 2], []]);
    expect(pooled.totalCost).toBe(6);
    // One task each: only two tasks can be assigned, the cheapest way.
    const single = solveAssignment(cost);
    expect(single.assigned).toBe(2);
    expect(single.totalCost).toBe(11);
    // Capacity 0: that agent takes nothing; a huge capacity is capped at the task count.
    const none = solveAssignment(cost, { capacities: [0, 1e9] });
    expect(none.tasksOf).toEqual([[], [0, 1, 2]]);
    expect(none.totalCost).toBe(30);
  });

  it('prefers more pairs over a lower cost when pairs are forbidden', () => {
    // Least cost alone would give task 0 to agent 0 (cost 1) and leave agent
    // 1, who can only do task 0, without work. Two pairs beat one.
    const result = solveAssignment([
      [1, 100],
      [1, Infinity],
    ]);
    expect(Array.from(result.rowOf)).toEqual([1, 0]);
    expect(result.assigned).toBe(2);
    expect(result.totalCost).toBe(101);
  });

  it('prefers more pairs even when each of them is expensive (the penalty outweighs all finite costs)', () => {
    // Two allowed pairs cost 20; one allowed pair costs 0. A penalty for the
    // forbidden pair of only (max - min) + 1 = 11 would pick the latter.
    const result = solveAssignment([
      [10, 0],
      [Infinity, 10],
    ]);
    expect(Array.from(result.rowOf)).toEqual([0, 1]);
    expect(result.assigned).toBe(2);
    expect(result.totalCost).toBe(20);
  });

  it('gives a task only to the cheapest agent that may do it', () => {
    const result = solveAssignment([
      [10, Infinity],
      [1, Infinity],
    ]);
    expect(Array.from(result.rowOf)).toEqual([1, -1]);
    expect(result.tasksOf).toEqual([[], [0]]);
    expect(result.assigned).toBe(1);
    expect(result.totalCost).toBe(1);
  });

  it('treats Infinity as forbidden with maximize too', () => {
    const result = solveAssignment(
      [
        [Infinity, 2],
        [7, 3],
      ],
      { maximize: true },
    );
    expect(Array.from(result.rowOf)).toEqual([1, 0]);
    expect(result.totalCost).toBe(9);
  });

  it('assigns nothing when every pair is forbidden', () => {
    const result = solveAssignment([
      [Infinity, Infinity],
      [Infinity, Infinity],
    ]);
    expect(Array.from(result.rowOf)).toEqual([-1, -1]);
    expect(result.assigned).toBe(0);
    expect(result.totalCost).toBe(0);
  });

  it('accepts the dense form and leaves its data untouched', () => {
    const data = Float64Array.from([4, 1, Infinity, 2, 5, 3]);
    const result = solveAssignment({ rows: 2, cols: 3, data }, { capacities: [1, 2] });
    expect(Array.from(result.rowOf)).toEqual([1, 0, 1]);
    expect(result.totalCost).toBe(6);
    expect(Array.from(data)).toEqual([4, 1, Infinity, 2, 5, 3]);
  });

  it('accepts typed-array rows', () => {
    const result = solveAssignment([Float64Array.from([4, 1]), Int32Array.from([2, 0])]);
    expect(result.totalCost).toBe(3);
  });

  it('treats empty matrices as valid: nothing assigned, cost 0', () => {
    const none = solveAssignment([]);
    expect(none).toEqual({ rowOf: new Int32Array(0), tasksOf: [], totalCost: 0, assigned: 0 });
    const noTasks = solveAssignment([[], []]);
    expect(noTasks.tasksOf).toEqual([[], []]);
    expect(noTasks.assigned).toBe(0);
    const noAgents = solveAssignment({ rows: 0, cols: 3, data: new Float64Array(0) });
    expect(Array.from(noAgents.rowOf)).toEqual([-1, -1, -1]);
    expect(noAgents.totalCost).toBe(0);
    const noCapacity = solveAssignment([[1, 2]], { capacities: [0] });
    expect(Array.from(noCapacity.rowOf)).toEqual([-1, -1]);
  });
});

// -------------------------------------------------------------- bad input

/** Runs `action`, which must throw an InvalidArgumentError naming `option` and showing `value`. */
function expectBadInput(action: () => unknown, option: string, value: unknown): void {
  let thrown: unknown;
  try {
    action();
  } catch (err) {
    thrown = err;
  }
  expect(thrown).toBeInstanceOf(InvalidArgumentError);
  expect(thrown).toBeInstanceOf(InvalidOptionError);
  const err = thrown as InvalidArgumentError;
  expect(err.name).toBe('InvalidArgumentError');
  expect(err.option).toBe(option);
  if (typeof value === 'object' && value !== null) expect(err.value).toStrictEqual(value);
  else expect(Object.is(err.value, value)).toBe(true);
  expect(err.message).toContain(`\`${option}\``);
  expect(err.message).toContain(describeValue(value));
}

describe('bad input', () => {
  it('rejects what is not a matrix', () => {
    expectBadInput(() => solveAssignment(null as unknown as CostMatrix), 'cost', null);
    expectBadInput(() => solveAssignment(5 as unknown as CostMatrix), 'cost', 5);
    expectBadInput(() => solveAssignment('abc' as unknown as CostMatrix), 'cost', 'abc');
    expectBadInput(() => solveAssignment({ length: -1 } as unknown as CostMatrix), 'cost', { length: -1 });
    expectBadInput(() => solveAssignment([[1, 2], 7] as unknown as CostMatrix), 'cost[1]', 7);
    expectBadInput(() => solveAssignment([[1, 2], 'ab'] as unknown as CostMatrix), 'cost[1]', 'ab');
  });

  it('rejects ragged rows, naming the row and its length', () => {
    expectBadInput(() => solveAssignment([[1, 2, 3], [4, 5, 6], [7]]), 'cost[2].length', 1);
    const err = (() => {
      try {
        solveAssignment([
          [1, 2],
          [3, 4, 5],
        ]);
      } catch (e) {
        return e as Error;
      }
      return undefined;
    })();
    expect(err?.message).toBe('Expected `cost[1].length` to be 2, the length of cost[0] (rows must all be as long), got `3` (number)');
  });

  it('rejects NaN, -Infinity and non-numbers, naming the row, the column and the value', () => {
    expectBadInput(
      () =>
        solveAssignment([
          [1, 2],
          [NaN, 3],
        ]),
      'cost[1][0]',
      NaN,
    );
    expectBadInput(() => solveAssignment([[1, -Infinity]]), 'cost[0][1]', -Infinity);
    expectBadInput(() => solveAssignment([[1, '2']] as unknown as CostMatrix), 'cost[0][1]', '2');
    expectBadInput(() => solveAssignment([[1, null]] as unknown as CostMatrix), 'cost[0][1]', null);
    // biome-ignore lint/suspicious/noSparseArray: the hole is the bad input under test.
    expectBadInput(() => solveAssignment([[1, , 2]] as unknown as CostMatrix), 'cost[0][1]', undefined);
    // Checked even when nothing could be assigned.
    expectBadInput(() => solveAssignment([[NaN]], { capacities: [0] }), 'cost[0][0]', NaN);
    expectBadInput(() => solveAssignment({ rows: 2, cols: 2, data: Float64Array.from([0, 1, 2, NaN]) }), 'cost.data[3] (row 1, column 1)', NaN);
    expectBadInput(
      () => solveAssignment({ rows: 2, cols: 2, data: Float64Array.from([0, -Infinity, 2, 3]) }, { maximize: true }),
      'cost.data[1] (row 0, column 1)',
      -Infinity,
    );
  });

  it('rejects a malformed dense form', () => {
    expectBadInput(() => solveAssignment({ rows: 1, cols: 2, data: [1, 2] as unknown as Float64Array }), 'cost.data', [1, 2]);
    expectBadInput(() => solveAssignment({ rows: 2, cols: 2, data: new Float64Array(3) }), 'cost.data.length', 3);
    expectBadInput(() => solveAssignment({ rows: -1, cols: 2, data: new Float64Array(0) }), 'cost.rows', -1);
    expectBadInput(() => solveAssignment({ rows: 1, cols: 1.5, data: new Float64Array(1) }), 'cost.cols', 1.5);
  });

  it('rejects capacities of the wrong length, non-integers and negatives', () => {
    const cost = [
      [1, 2],
      [3, 4],
    ];
    expectBadInput(() => solveAssignment(cost, { capacities: [1] }), 'capacities.length', 1);
    expectBadInput(() => solveAssignment(cost, { capacities: [1, 1, 1] }), 'capacities.length', 3);
    expectBadInput(() => solveAssignment(cost, { capacities: [1, 1.5] }), 'capacities[1]', 1.5);
    expectBadInput(() => solveAssignment(cost, { capacities: [-1, 1] }), 'capacities[0]', -1);
    expectBadInput(() => solveAssignment(cost, { capacities: [NaN, 1] }), 'capacities[0]', NaN);
    expectBadInput(() => solveAssignment(cost, { capacities: [Infinity, 1] }), 'capacities[0]', Infinity);
    expectBadInput(() => solveAssignment(cost, { capacities: ['1', 1] as unknown as number[] }), 'capacities[0]', '1');
    expectBadInput(() => solveAssignment(cost, { capacities: 2 as unknown as number[] }), 'capacities', 2);
  });

  it('rejects bad options', () => {
    expectBadInput(() => solveAssignment([[1]], { maximize: 'yes' as unknown as boolean }), 'maximize', 'yes');
    expectBadInput(() => solveAssignment([[1]], 3 as unknown as AssignmentOptions), 'options', 3);
  });
});

// ------------------------------------------------------------------ larger

describe('larger problems, against a plain Hungarian algorithm', () => {
  it('matches it on 60 x 120 and 120 x 60 integer costs', () => {
    const next = random(seed + 3);
    const cost = randomMatrix(60, 120, next, (x) => Math.floor(x * 1000));
    const wide = solveAssignment(cost);
    expectValid(cost, wide);
    expect(wide.assigned).toBe(60);
    expect(wide.totalCost).toBe(hungarian(cost).total);

    const tall = solveAssignment(transpose(cost));
    expectValid(transpose(cost), tall);
    expect(tall.assigned).toBe(60);
    expect(tall.totalCost).toBe(wide.totalCost);
  });

  it('matches it on a square 100 x 100 with negative real costs', () => {
    const next = random(seed + 4);
    const cost = randomMatrix(100, 100, next, (x) => (x - 0.7) * 50);
    const result = solveAssignment(dense(cost));
    expectValid(cost, result);
    expect(result.totalCost).toBeCloseTo(hungarian(cost).total, 6);
  });

  it('matches it on square problems: many ties, real costs, and identical rows', () => {
    const next = random(seed + 8);
    // Costs 0..3 on 80 x 80: ties everywhere.
    const ties = randomMatrix(80, 80, next, (x) => Math.floor(x * 4));
    expect(solveAssignment(ties).totalCost).toBe(hungarian(ties).total);
    // 300 x 300 with real costs.
    const real = randomMatrix(300, 300, next, (x) => x * 1e3 - 250);
    const result = solveAssignment(real);
    expectValid(real, result);
    expect(result.totalCost).toBeCloseTo(hungarian(real).total, 6);
    // Few agents whose capacities add up to the task count: the solver's
    // rows are copies of the same row, every one tied with its siblings.
    for (const [capacities, range] of [
      [[10, 20, 30], 6],
      [[50], 1000],
      [[25, 25], 3],
      [[1, 2, 3, 4, 40], 100],
    ] as Array<[number[], number]>) {
      const tasks = capacities.reduce((a, b) => a + b, 0);
      const cost = randomMatrix(capacities.length, tasks, next, (x) => Math.floor(x * range));
      const solved = solveAssignment(cost, { capacities });
      expectValid(cost, solved, capacities);
      expect(solved.assigned).toBe(tasks);
      const expanded = cost.flatMap((row, agent) => Array.from({ length: capacities[agent] }, () => row));
      expect(solved.totalCost).toBe(hungarian(expanded).total);
    }
  });

  it('matches it with capacities (agents copied row by row for the reference)', () => {
    const next = random(seed + 5);
    for (const [agents, tasks] of [
      [30, 120],
      [40, 60],
    ]) {
      const cost = randomMatrix(agents, tasks, next, (x) => Math.floor(x * 100));
      const capacities = Array.from({ length: agents }, () => Math.floor(next() * 5));
      const result = solveAssignment(cost, { capacities });
      expectValid(cost, result, capacities);
      const expanded: number[][] = [];
      cost.forEach((row, agent) => {
        for (let k = 0; k < capacities[agent]; k++) expanded.push(row);
      });
      const reference = expanded.length <= tasks ? hungarian(expanded).total : hungarian(transpose(expanded)).total;
      expect(result.assigned).toBe(Math.min(tasks, expanded.length));
      expect(result.totalCost).toBe(reference);
    }
  });

  it('matches it with forbidden pairs (as a large finite cost for the reference) when a full assignment exists', () => {
    const next = random(seed + 6);
    const cost = randomMatrix(50, 80, next, (x) => (x < 0.3 ? Infinity : Math.floor(x * 1000)));
    const result = solveAssignment(cost);
    expectValid(cost, result);
    const reference = hungarian(cost.map((row) => row.map((c) => (c === Infinity ? 1e9 : c))));
    expect(reference.total).toBeLessThan(1e9); // every agent found an allowed task
    expect(result.assigned).toBe(50);
    expect(result.totalCost).toBe(reference.total);
  });

  it('returns a valid full assignment on 500 agents x 1000 tasks, and the Hungarian cost', () => {
    const next = random(seed + 7);
    const cost = randomMatrix(500, 1000, next, (x) => Math.floor(x * 1000));
    const result = solveAssignment(cost);
    expectValid(cost, result);
    expect(result.assigned).toBe(500);
    expect(result.totalCost).toBe(hungarian(cost).total);
    // The same problem in the dense form and transposed (tasks as rows).
    expect(solveAssignment(dense(cost)).totalCost).toBe(result.totalCost);
    const tall = solveAssignment(transpose(cost));
    expectValid(transpose(cost), tall);
    expect(tall.totalCost).toBe(result.totalCost);
  });
});
