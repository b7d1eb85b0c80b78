/**
 * Placement: which agent takes a task. Every strategy considers only the
 * agents that can take it now (alive, a free slot under their capacity and
 * bulkhead, breaker not open, every required capability) and differs in
 * which of those it prefers. They loop over the agents once with no
 * allocation: a decision over 256 agents costs a few microseconds.
 */
import type { CircuitBreakerPolicy } from 'cockatiel';
import type { ActorRef } from '../actors/ref.js';
import type { AgentKindStats, KindStats, Window } from './stats.js';

/** The placement strategies (the values of Strategy). */
export const strategies = ['round-robin', 'least-loaded', 'load-balanced', 'capability', 'utility', 'optimal-batch'] as const;
/**
 * How an agent is picked for a task, among those that can take it now:
 * `'round-robin'` the next in turn; `'least-loaded'` the fewest in-flight
 * tasks and waiting messages per capacity (the default); `'load-balanced'`
 * that plus its thread's event-loop utilisation; `'capability'` the fewest
 * capabilities beyond those required, then least loaded; `'utility'` the
 * highest benefit x success probability / expected time until done there
 * (a task may wait for a busy agent that would still finish it sooner);
 * `'optimal-batch'` all waiting tasks at once, by an exact minimum-cost
 * assignment.
 */
export type Strategy = (typeof strategies)[number];

/** @internal The scheduler's record of one agent. */
export interface Agent {
  readonly ref: ActorRef;
  readonly capabilities: ReadonlySet<string>;
  readonly capacity: number;
  /** Tasks it may hold at once: min(capacity, the per-agent bulkhead). */
  readonly limit: number;
  inFlight: number;
  breaker: CircuitBreakerPolicy;
  /** 'closed' | 'open' | 'half-open', mirrored from the breaker's events. */
  breakerState: 'closed' | 'open' | 'half-open';
  /** Date.now() when the breaker last opened. */
  openedAt: number;
  /** Failures since its last success (while 0 and the breaker closed, attempts skip the breaker's wrapper). */
  failStreak: number;
  readonly byKind: Map<string, AgentKindStats>;
  successes: number;
  failures: number;
  readonly latency: Window;
  alive: boolean;
}

/** What placement reads besides the agents. */
export interface PlacementContext {
  now: number;
  /** Lowered by a decision to wait for a busy agent: when that wait ends (the scheduler looks again then). */
  waitUntil?: number;
  halfOpenAfterMs: number;
  /** Messages waiting in an agent's mailbox beyond its in-flight tasks (0 when not known). */
  depth(agent: Agent): number;
  /** Event-loop utilisation (0..1) of the thread an agent runs on. */
  elu(agent: Agent): number;
  kind(kind: string): KindStats | undefined;
}

/** What placement needs of a task. */
export interface Placeable {
  readonly kind: string;
  readonly requires: readonly string[];
  readonly benefit: number;
  /** When it was queued (Date.now()): a task waits for a busy agent only as long as a free one would take. */
  readonly enqueuedAt?: number;
}

/** True when `agent` can take `task` now. */
export function canTake(agent: Agent, task: Placeable, ctx: PlacementContext): boolean {
  if (!agent.alive || agent.inFlight >= agent.limit) return false;
  if (agent.breakerState === 'half-open') return false; // its probe is in flight
  if (agent.breakerState === 'open' && ctx.now - agent.openedAt < ctx.halfOpenAfterMs) return false;
  const requires = task.requires;
  for (let i = 0; i < requires.length; i++) if (!agent.capabilities.has(requires[i])) return false;
  return true;
}

/** Load of an agent relative to its capacity: in-flight tasks and waiting messages. */
function loadOf(agent: Agent, ctx: PlacementContext): number {
  return (agent.inFlight + ctx.depth(agent)) / agent.capacity;
}

/** Expected milliseconds for one task of `kind` on `agent`: its own average, else the kind's, else 1. */
function expectedMs(agent: Agent, kind: string, ctx: PlacementContext): number {
  const own = agent.byKind.get(kind);
  if (own !== undefined && !Number.isNaN(own.ewmaMs)) return Math.max(own.ewmaMs, 0.001);
  return kindMs(kind, ctx);
}

/** Probability a task of `kind` succeeds on `agent` (Laplace prior). */
function successProbability(agent: Agent, kind: string): number {
  const own = agent.byKind.get(kind);
  return own === undefined ? 0.5 : own.successProbability();
}

/**
 * The `utility` score: expected benefit x success probability / expected
 * cost, where the cost is the time until this task would be done there
 * (its expected duration times the tasks ahead of it plus itself, as an
 * agent handles tasks one at a time).
 */
function utilityOf(agent: Agent, task: Placeable, ctx: PlacementContext): number {
  // One lookup of the agent's record for this kind (this runs per agent per decision).
  const own = agent.byKind.get(task.kind);
  let ms: number;
  let p: number;
  if (own === undefined) {
    ms = kindMs(task.kind, ctx);
    p = 0.5;
  } else {
    ms = Number.isNaN(own.ewmaMs) ? kindMs(task.kind, ctx) : Math.max(own.ewmaMs, 0.001);
    p = own.successProbability();
  }
  return (task.benefit * p) / (ms * (1 + agent.inFlight + ctx.depth(agent)));
}

/** The kind's median duration over all agents, else 1 ms. */
function kindMs(kind: string, ctx: PlacementContext): number {
  const all = ctx.kind(kind);
  return all !== undefined && all.durations.count > 0 ? Math.max(all.durations.quantile(0.5), 0.001) : 1;
}

/** Cost of `task` on `agent` for `optimal-batch`: expected time to a success there (its own run, retried on failure), over its benefit. */
export function batchCostOf(agent: Agent, task: Placeable, ctx: PlacementContext): number {
  return expectedMs(agent, task.kind, ctx) / successProbability(agent, task.kind) / task.benefit;
}

/** An agent's mean task time over what it has done (its latency window), else 1 ms: what a task waiting behind another waits. */
export function meanMs(agent: Agent): number {
  const mean = agent.latency.mean();
  return Number.isNaN(mean) ? 1 : Math.max(mean, 0.001);
}

/**
 * Picks an agent for `task` by `strategy` among `agents`, or undefined when
 * none can take it now. `cursor` is the round-robin position (updated).
 */
export function place(strategy: Strategy, agents: readonly Agent[], task: Placeable, ctx: PlacementContext, cursor: { at: number }): Agent | undefined {
  const n = agents.length;
  if (n === 0) return undefined;
  if (strategy === 'round-robin') {
    for (let k = 0; k < n; k++) {
      const i = (cursor.at + k) % n;
      if (canTake(agents[i], task, ctx)) {
        cursor.at = (i + 1) % n;
        return agents[i];
      }
    }
    return undefined;
  }
  let best: Agent | undefined;
  let bestScore = Infinity;
  let bestTie = Infinity;
  let bestAt = 0;
  // Ties are broken round-robin (from the cursor on), so equal agents share work.
  for (let k = 0; k < n; k++) {
    const i = (cursor.at + k) % n;
    const agent = agents[i];
    if (!canTake(agent, task, ctx)) continue;
    let score: number;
    let tie = 0;
    switch (strategy) {
      case 'least-loaded':
        score = loadOf(agent, ctx);
        break;
      case 'load-balanced':
        score = loadOf(agent, ctx) + ctx.elu(agent);
        break;
      case 'capability':
        // Best fit: the fewest capabilities beyond those required (keep the
        // versatile agents free for tasks only they can do), then least loaded.
        score = agent.capabilities.size - task.requires.length;
        tie = loadOf(agent, ctx);
        break;
      default:
        // 'utility' (and 'optimal-batch' for a single task): highest utility.
        score = -utilityOf(agent, task, ctx);
        break;
    }
    if (score < bestScore || (score === bestScore && tie < bestTie)) {
      best = agent;
      bestScore = score;
      bestTie = tie;
      bestAt = i;
    }
  }
  if (best !== undefined) cursor.at = (bestAt + 1) % n;
  if (strategy === 'utility' && best !== undefined && bestScore > -worthWaitingFor(agents, task, ctx)) {
    // A busy agent would still finish it sooner (and more surely) than the
    // best free one: the task waits for it instead of joining a slow queue,
    // but never longer than the free one would take to do it (a busy agent
    // whose task never ends must not hold it forever).
    const bound = expectedMs(best, task.kind, ctx) * (1 + best.inFlight + ctx.depth(best));
    const since = task.enqueuedAt ?? ctx.now;
    if (ctx.now - since < bound) {
      ctx.waitUntil = Math.min(ctx.waitUntil ?? Infinity, since + bound);
      return undefined;
    }
  }
  return best;
}

/**
 * The best utility among agents that could do `task` but have no free slot
 * (their expected finish includes everything they hold): what `utility`
 * weighs against placing the task now. 0 when there is none.
 */
function worthWaitingFor(agents: readonly Agent[], task: Placeable, ctx: PlacementContext): number {
  let best = 0;
  for (const agent of agents) {
    if (agent.inFlight < agent.limit || !agent.alive || agent.breakerState !== 'closed') continue;
    if (!task.requires.every((r) => agent.capabilities.has(r))) continue;
    const u = utilityOf(agent, task, ctx);
    if (u > best) best = u;
  }
  return best;
}
