/**
 * Dispatch: which waiting task goes where, now. A pass (in a microtask,
 * however many things asked for one) walks the queue in key order and
 * places each task by its strategy (see placement.ts), or all of a pass's
 * `optimal-batch` tasks together by an exact assignment (see assign.ts);
 * function tasks take free function slots of the pool. The dispatcher owns
 * the agents and the running of attempts, both of which ask it for the next
 * pass (so it makes them, handing them itself).
 */
import { solveAssignment } from './assign.js';
import { AgentRegistry } from './agents.js';
import { Execution } from './execution.js';
import type { SchedulerMetrics } from './metrics.js';
import type { ResolvedSchedulerOptions } from './options.js';
import { place, batchCostOf, canTake, meanMs, type Agent, type PlacementContext } from './placement.js';
import type { TaskQueue } from './queue.js';
import { placeKeyOf, type TaskRecord } from './record.js';
import type { DispatchTrigger, TaskExecutor } from './types.js';

/** @internal */
export class Dispatcher implements DispatchTrigger {
  readonly registry: AgentRegistry;
  readonly execution: Execution;
  /** Set by close(): no more passes. */
  closed = false;
  /** The registry's list of agents (the same array). */
  private readonly agents: Agent[];
  private readonly cursor = { at: 0 };
  /** The overall bulkhead (cockatiel), when `maxInFlight` is set (the execution's). */
  private readonly total: Execution['total'];
  private readonly executor: TaskExecutor;
  private readonly queue: TaskQueue<TaskRecord>;
  private readonly metrics: SchedulerMetrics;
  private readonly ctx: PlacementContext;
  private dispatchQueued = false;

  constructor(options: ResolvedSchedulerOptions, executor: TaskExecutor, queue: TaskQueue<TaskRecord>, metrics: SchedulerMetrics, now: () => number) {
    this.executor = executor;
    this.queue = queue;
    this.metrics = metrics;
    this.registry = new AgentRegistry(options, executor, this);
    this.agents = this.registry.list;
    this.execution = new Execution(options, executor, queue, metrics, this, now);
    this.total = this.execution.total;
    this.ctx = {
      now: 0,
      halfOpenAfterMs: options.halfOpenAfterMs,
      depth: (agent) => executor.depth(agent.ref),
      elu: (agent) => executor.elu(agent.ref),
      kind: (kind) => metrics.kinds.get(kind),
    };
  }

  close(): void {
    this.closed = true;
  }

  dispatchSoon(): void {
    if (this.dispatchQueued || this.closed) return;
    this.dispatchQueued = true;
    queueMicrotask(() => {
      this.dispatchQueued = false;
      this.dispatch();
    });
  }

  /** Places what it can: tasks in key order, each by its strategy; `optimal-batch` ones together. */
  private dispatch(): void {
    if (this.queue.size === 0) return;
    this.registry.prune();
    const ctx = this.ctx;
    ctx.now = Date.now();
    ctx.waitUntil = undefined;
    let free = 0;
    for (const agent of this.agents) if (agent.alive) free += Math.max(0, agent.limit - agent.inFlight);
    const functionSlots = this.executor.functionSlots();
    free += Math.max(0, functionSlots - this.execution.functionsRunning);
    if (free === 0) return;
    const batch: TaskRecord[] = [];
    // Looking further than the free slots lets tasks whose agents are free
    // pass tasks whose agents are busy; bounded so a long queue costs little.
    // Tasks of a class (requirements, kind, strategy) that found no agent in
    // this pass are skipped without counting, so tasks nobody can take now
    // (their capability's agents are gone or busy) do not hide the ones
    // behind them; the look-ahead over the others is bounded.
    const noAgent = new Set<string>();
    let evaluated = 0;
    const lookAhead = free * 4 + 64;
    // Agent tasks not yet visited: once none are left and the function
    // slots are full, the rest of the queue is function tasks that must
    // wait, and the pass ends (walking them cost O(queue) per finished task).
    let agentTasksLeft = this.queue.size - this.queue.functions;
    this.queue.walk(Infinity, (t) => {
      if (this.total !== undefined && this.total.executionSlots === 0) return false;
      if (t.module !== undefined) {
        if (this.execution.functionsRunning >= functionSlots) return agentTasksLeft > 0; // waits; agent tasks behind it may go
        this.execution.startFunction(t);
        return --free > 0;
      }
      agentTasksLeft--;
      if (noAgent.size > 0 && noAgent.has(placeKeyOf(t))) return true;
      if (++evaluated > lookAhead) return false;
      if (t.strategy === 'optimal-batch') {
        batch.push(t);
        return true;
      }
      const agent = place(t.strategy, this.agents, t, ctx, this.cursor);
      this.decided();
      if (agent === undefined) {
        noAgent.add(placeKeyOf(t));
        return true;
      }
      this.execution.start(t, agent);
      return --free > 0;
    });
    if (batch.length === 1) {
      const agent = place('utility', this.agents, batch[0], ctx, this.cursor);
      this.decided();
      if (agent !== undefined) this.execution.start(batch[0], agent);
    } else if (batch.length > 1) this.placeBatch(batch);
    // Tasks chose to wait for a busy agent: look again when that wait ends,
    // even if nothing else happens by then.
    if (ctx.waitUntil !== undefined && this.queue.size > 0) this.wakeAt(ctx.waitUntil);
  }

  private wakeTimer: ReturnType<typeof setTimeout> | undefined;
  private wakeAtMs = Infinity;

  private wakeAt(at: number): void {
    if (this.wakeTimer !== undefined && this.wakeAtMs <= at) return;
    if (this.wakeTimer !== undefined) clearTimeout(this.wakeTimer);
    this.wakeAtMs = at;
    this.wakeTimer = setTimeout(
      () => {
        this.wakeTimer = undefined;
        this.wakeAtMs = Infinity;
        this.dispatchSoon();
      },
      Math.max(1, at - Date.now()),
    );
    this.wakeTimer.unref?.();
  }

  /**
   * `optimal-batch`: assigns the batch to agents' free slots at the least
   * total expected completion time, exactly (see assign.ts). Each free slot
   * is a row of its own: the k-th task handed to an agent waits behind the
   * k - 1 before it and those already there, so its cost is its own
   * expected time there plus that wait. Minimising the sum of completion
   * times this way is the classic matching formulation of scheduling on
   * unrelated machines (each slot a machine position).
   */
  private placeBatch(batch: TaskRecord[]): void {
    const ctx = this.ctx;
    const open: Agent[] = [];
    const position: number[] = [];
    const any = { kind: '', requires: [] as string[], benefit: 1 };
    const slotsLeft = this.total === undefined ? Infinity : this.total.executionSlots;
    for (const agent of this.agents) {
      if (!canTake(agent, any, ctx)) continue;
      const free = Math.min(agent.limit - agent.inFlight, batch.length, slotsLeft);
      for (let k = 0; k < free; k++) {
        open.push(agent);
        position.push(agent.inFlight + k);
      }
    }
    if (open.length === 0) return;
    const cols = batch.length;
    // One more row per task: leaving it queued, at the cost of waiting for
    // the best agent that is full now (its queue, then the task). A task
    // goes to a free slot only where that is sooner than waiting.
    const rows = open.length + cols;
    const data = new Float64Array(rows * cols).fill(Infinity);
    // Each task is credited twice its best possible time (on the fastest
    // agent that can do it): with completion times alone, the least total
    // would run short tasks first and leave the long ones for the end, on
    // whatever is free then (SPT: good for the mean, bad for the makespan);
    // the credit makes the long ones go first, to the fast agents (LPT, the
    // classic makespan heuristic), while the assignment itself stays exact.
    const credit = batch.map((task) => 2 * this.bestCost(task));
    for (let i = 0; i < open.length; i++) {
      const agent = open[i];
      const wait = position[i] * meanMs(agent);
      for (let j = 0; j < cols; j++) {
        const task = batch[j];
        if (canTake(agent, task, ctx)) data[i * cols + j] = wait + batchCostOf(agent, task, ctx) - credit[j];
      }
    }
    for (let j = 0; j < cols; j++) {
      // Waiting is an option only until the task has waited as long as its
      // best free slot would take: a busy agent that never frees up must
      // not hold it forever.
      let bestReal = Infinity;
      for (let i = 0; i < open.length; i++) bestReal = Math.min(bestReal, data[i * cols + j]);
      const waited = ctx.now - batch[j].enqueuedAt;
      if (waited < bestReal + credit[j]) {
        data[(open.length + j) * cols + j] = this.deferCost(batch[j]) - credit[j];
        if (Number.isFinite(bestReal)) ctx.waitUntil = Math.min(ctx.waitUntil ?? Infinity, batch[j].enqueuedAt + bestReal + credit[j]);
      }
    }
    const solution = solveAssignment({ rows, cols, data });
    this.metrics.decisions += cols;
    for (let j = 0; j < cols; j++) this.metrics.rate.tick(ctx.now);
    for (let j = 0; j < cols; j++) {
      const row = solution.rowOf[j];
      if (row < 0 || row >= open.length || (this.total !== undefined && this.total.executionSlots === 0)) continue;
      if (open[row].inFlight < open[row].limit) this.execution.start(batch[j], open[row]);
    }
  }

  /** The least expected cost of `task` on any live agent able to do it (0 if none). */
  private bestCost(task: TaskRecord): number {
    let best = Infinity;
    for (const agent of this.agents) {
      if (!agent.alive || !task.requires.every((r) => agent.capabilities.has(r))) continue;
      best = Math.min(best, batchCostOf(agent, task, this.ctx));
    }
    return Number.isFinite(best) ? best : 0;
  }

  /** What leaving `task` queued costs: its finish on the best agent that is full now, behind what it holds (Infinity: none). */
  private deferCost(task: TaskRecord): number {
    let best = Infinity;
    for (const agent of this.agents) {
      if (agent.inFlight < agent.limit || !agent.alive || agent.breakerState !== 'closed') continue;
      if (!task.requires.every((r) => agent.capabilities.has(r))) continue;
      const cost = agent.inFlight * meanMs(agent) + batchCostOf(agent, task, this.ctx);
      if (cost < best) best = cost;
    }
    return best;
  }

  private decided(): void {
    this.metrics.decided(this.ctx.now);
  }
}
