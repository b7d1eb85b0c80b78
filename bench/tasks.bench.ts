/**
 * The task scheduler's cases (issue 5).
 *
 * - schedule-decision: one placement decision over 256 agents (random loads,
 *   a quarter with a required capability, latency statistics for utility),
 *   timed in batches of 1000 with performance.now(); p50 per decision. Impls:
 *   each strategy's `place` (least-loaded first), and `naive-filter-sort`:
 *   the obvious JS (filter the capable agents with room, sort by load, take
 *   the first), as a peer. Target: p50 under 5 us with 256 agents.
 * - tasks-throughput: trivial tasks through the scheduler, a sliding window of
 *   `window` in flight (a new one submitted as each finishes), 2 pool threads.
 *   Impls: `microswarm` (8 agents, capacity 64, tasks answered by their
 *   `task` handler), `microswarm-fn` (plain function tasks through the same
 *   scheduler on the runtime's Piscina pool, one at a time per thread),
 *   `piscina` (a 2-thread pool running the same trivial function, its
 *   defaults: atomics 'sync', one task per thread at a time), `piscina-64`
 *   (concurrentTasksPerWorker 64, so the window fills its threads), and
 *   `poolifier` (poolifier 5's FixedThreadPool, 2 threads, its defaults: the
 *   fastest pool a user would pick instead). Each gets the same window and
 *   count. Target: microswarm at least 10x piscina.
 * - makespan: a heterogeneous workload (8 agents of capacity 4: four at
 *   2 ms per unit of work, four at 8 ms, half of each with capability 'gpu';
 *   160 tasks, 'small' = 1 unit or 'large' = 6 units of timer-based work, a
 *   third requiring 'gpu', seeded; ideal makespan about 160 ms) all
 *   submitted at once after the same warm-up (two tasks of each kind per
 *   agent); the time until all are done, per strategy, each on a fresh
 *   runtime. Impls: each strategy (round-robin first: the baseline).
 */
import { fileURLToPath } from 'node:url';
import { Piscina } from 'piscina';
import { ActorRef, Runtime, type Strategy, type TaskHandle } from '../src/index.js';
import { place, type Agent, type PlacementContext } from '../src/scheduler/placement.js';
import { AgentKindStats, Window } from '../src/scheduler/stats.js';
import { guarded, quantile, round, throughputRecord, wholeRunRecord, type BenchRecord } from './harness.js';

const workerUrl = new URL('./actors/task-worker.ts', import.meta.url);
const fnUrl = new URL('./actors/fn-trivial.ts', import.meta.url);
const piscinaTaskUrl = new URL('./peers/workers/piscina-trivial.mjs', import.meta.url);
const poolifierTaskUrl = new URL('./peers/workers/poolifier-trivial.mjs', import.meta.url);

/** A small seeded generator (mulberry32): the same workload in every run. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// ------------------------------------------------------------ schedule-decision

function decisionAgents(random: () => number): Agent[] {
  return Array.from({ length: 256 }, (_, i) => {
    const stats = new AgentKindStats();
    stats.ewmaMs = 1 + random() * 10;
    stats.successes = 10 + Math.floor(random() * 90);
    stats.failures = Math.floor(random() * 10);
    const capacity = 4;
    return {
      ref: new ActorRef(i, 1, undefined),
      capabilities: new Set(i % 4 === 0 ? ['gpu', 'cpu'] : ['cpu']),
      capacity,
      limit: capacity,
      inFlight: Math.floor(random() * capacity),
      breaker: undefined as never,
      breakerState: 'closed' as const,
      openedAt: 0,
      failStreak: 0,
      byKind: new Map([['k', stats]]),
      successes: 0,
      failures: 0,
      latency: new Window(),
      alive: true,
    };
  });
}

export function scheduleDecision(quick: boolean): BenchRecord[] {
  const random = seeded(7);
  const agents = decisionAgents(random);
  const ctx: PlacementContext = { now: 0, halfOpenAfterMs: 1000, depth: () => 0, elu: () => 0.5, kind: () => undefined };
  const tasks = Array.from({ length: 1000 }, (_, i) => ({ kind: 'k', requires: i % 4 === 0 ? ['gpu'] : [], benefit: 1 }));
  const naive = (task: { requires: string[] }) =>
    agents
      .filter((a) => a.alive && a.inFlight < a.limit && task.requires.every((r) => a.capabilities.has(r)))
      .sort((a, b) => a.inFlight / a.capacity - b.inFlight / b.capacity)[0];
  const impls: Array<[string, (task: (typeof tasks)[number], cursor: { at: number }) => unknown]> = [
    ['microswarm-least-loaded', (t, c) => place('least-loaded', agents, t, ctx, c)],
    ['microswarm-round-robin', (t, c) => place('round-robin', agents, t, ctx, c)],
    ['microswarm-capability', (t, c) => place('capability', agents, t, ctx, c)],
    ['microswarm-utility', (t, c) => place('utility', agents, t, ctx, c)],
    ['naive-filter-sort', (t) => naive(t)],
  ];
  const batches = quick ? 50 : 400;
  const samples = impls.map(() => [] as number[]);
  let sink = 0;
  for (let b = 0; b < batches + 20; b++) {
    // Impls alternate batch by batch; the first 20 rounds warm the JIT.
    impls.forEach(([, decide], i) => {
      const cursor = { at: 0 };
      const start = performance.now();
      for (const task of tasks) if (decide(task, cursor) !== undefined) sink++;
      const us = ((performance.now() - start) * 1000) / tasks.length;
      if (b >= 20) samples[i].push(us);
    });
  }
  if (sink === 0) throw new Error('no decision placed anything');
  return impls.map(([impl], i) => {
    const sorted = samples[i].sort((x, y) => x - y);
    const p50 = quantile(sorted, 0.5);
    return {
      case: 'schedule-decision',
      impl,
      opsPerSec: round(1e6 / p50),
      meanUs: round(sorted.reduce((s, x) => s + x, 0) / sorted.length, 3),
      p50Us: round(p50, 3),
      p99Us: round(quantile(sorted, 0.99), 3),
      samples: sorted.length,
      note: '256 agents, per decision',
    };
  });
}

// ------------------------------------------------------------ tasks-throughput

/** Runs `count` tasks with `window` in flight, submitting one as each finishes; resolves with the elapsed ms. */
function slidingWindow(count: number, window: number, submit: (i: number) => Promise<unknown>): Promise<number> {
  return new Promise((resolve, reject) => {
    const start = performance.now();
    let next = 0;
    let done = 0;
    const launch = (): void => {
      const i = next++;
      submit(i).then(() => {
        if (++done === count) resolve(performance.now() - start);
        else if (next < count) launch();
      }, reject);
    };
    for (let i = 0; i < Math.min(window, count); i++) launch();
  });
}

async function throughputOf(
  impl: string,
  count: number,
  window: number,
  reps: number,
  submit: (i: number) => Promise<unknown>,
  note: string,
): Promise<BenchRecord> {
  await slidingWindow(Math.min(count, 5000), window, submit); // warm-up
  const runs: number[] = [];
  for (let r = 0; r < reps; r++) runs.push(await slidingWindow(count, window, submit));
  return throughputRecord('tasks-throughput', impl, count, runs, note);
}

async function tasksThroughput(quick: boolean): Promise<BenchRecord[]> {
  const count = quick ? 5_000 : 40_000;
  const reps = quick ? 2 : 5;
  const window = 512;
  const records: BenchRecord[] = [];
  let rt: Runtime | undefined;
  records.push(
    ...(await guarded(
      'tasks-throughput',
      'microswarm',
      async () => {
        rt = await Runtime.start({ threads: 2 });
        for (let i = 0; i < 8; i++) await rt.spawn(workerUrl, {}, { capacity: 64, thread: i % 2 });
        const r = rt;
        await waitForAgents(r, 8);
        const agents = await throughputOf(
          'microswarm',
          count,
          window,
          reps,
          (i) => r.tasks.submit({ kind: 'trivial', payload: i }).result,
          `8 agents x capacity 64, window ${window}`,
        );
        const fns = await throughputOf(
          'microswarm-fn',
          quick ? 2_000 : 10_000,
          window,
          reps,
          (i) => r.tasks.submit({ module: fnUrl, payload: i }).result,
          `function tasks on the runtime's pool, window ${window}`,
        );
        return [agents, fns];
      },
      { timeoutMs: 180_000, cleanup: async () => rt?.shutdown() },
    )),
  );
  for (const [impl, concurrentTasksPerWorker] of [
    ['piscina', 1],
    ['piscina-64', 64],
  ] as const) {
    let pool: Piscina | undefined;
    records.push(
      ...(await guarded(
        'tasks-throughput',
        impl,
        async () => {
          pool = new Piscina({ filename: piscinaTaskUrl.href, minThreads: 2, maxThreads: 2, idleTimeout: Infinity, concurrentTasksPerWorker });
          const p = pool;
          return [
            await throughputOf(
              impl,
              count,
              window,
              reps,
              (i) => p.run(i),
              `2 threads, concurrentTasksPerWorker ${concurrentTasksPerWorker}, window ${window}`,
            ),
          ];
        },
        { timeoutMs: 180_000, cleanup: async () => pool?.destroy() },
      )),
    );
  }
  let poolifier: import('poolifier').FixedThreadPool<number, number> | undefined;
  records.push(
    ...(await guarded(
      'tasks-throughput',
      'poolifier',
      async () => {
        const { FixedThreadPool } = await import('poolifier');
        poolifier = new FixedThreadPool<number, number>(2, fileURLToPath(poolifierTaskUrl));
        const p = poolifier;
        return [
          await throughputOf('poolifier', count, window, reps, (i) => p.execute(i), `poolifier 5 FixedThreadPool, 2 threads, defaults, window ${window}`),
        ];
      },
      { timeoutMs: 180_000, cleanup: async () => poolifier?.destroy() },
    )),
  );
  return records;
}

async function waitForAgents(rt: Runtime, n: number): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (rt.tasks.stats().agents.length < n) {
    if (Date.now() > deadline) throw new Error(`only ${rt.tasks.stats().agents.length} of ${n} agents registered`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

// ------------------------------------------------------------ makespan

const makespanStrategies: Strategy[] = ['round-robin', 'least-loaded', 'load-balanced', 'capability', 'utility', 'optimal-batch'];

async function makespanOf(strategy: Strategy, quick: boolean): Promise<number[]> {
  const rt = await Runtime.start({ threads: 2, tasks: { strategy } });
  try {
    let n = 0;
    for (const msPerUnit of [2, 8]) {
      for (let i = 0; i < 4; i++) {
        await rt.spawn(workerUrl, { msPerUnit }, { capacity: 4, thread: n++ % 2, capabilities: i < 2 ? ['gpu', 'cpu'] : ['cpu'] });
      }
    }
    await waitForAgents(rt, 8);
    const batch = async (size: number, seed: number): Promise<number> => {
      const random = seeded(seed);
      const start = performance.now();
      const handles: TaskHandle[] = [];
      for (let i = 0; i < size; i++) {
        const large = random() < 0.3;
        const gpu = random() < 1 / 3;
        handles.push(rt.tasks.submit({ kind: large ? 'large' : 'small', payload: { units: large ? 6 : 1 }, requires: gpu ? ['gpu'] : [] }));
      }
      await Promise.all(handles.map((h) => h.result));
      return performance.now() - start;
    };
    // Warm-up, the same for every strategy: round-robin hands each agent two
    // tasks of each kind, so every strategy starts from the same statistics.
    const warm: TaskHandle[] = [];
    for (const kind of ['small', 'large']) {
      for (let i = 0; i < 16; i++) warm.push(rt.tasks.submit({ kind, payload: { units: kind === 'large' ? 6 : 1 }, strategy: 'round-robin' }));
    }
    await Promise.all(warm.map((h) => h.result));
    const runs: number[] = [];
    for (let r = 0; r < (quick ? 1 : 3); r++) runs.push(await batch(160, 100 + r));
    return runs;
  } finally {
    await rt.shutdown();
  }
}

async function makespan(quick: boolean): Promise<BenchRecord[]> {
  const records: BenchRecord[] = [];
  for (const strategy of makespanStrategies) {
    records.push(
      ...(await guarded(
        'makespan',
        strategy,
        async () => [wholeRunRecord('makespan', strategy, await makespanOf(strategy, quick), '8 agents (2 and 8 ms/unit), 160 tasks (1 or 6 units)')],
        {
          timeoutMs: 120_000,
        },
      )),
    );
  }
  return records;
}

export async function run(quick: boolean): Promise<BenchRecord[]> {
  return [...scheduleDecision(quick), ...(await tasksThroughput(quick)), ...(await makespan(quick))];
}
