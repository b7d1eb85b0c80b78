/**
 * What the scheduler measures as it runs: queue waits and run times, per
 * kind outcomes and durations (which adaptive timeouts are drawn from), per
 * agent latencies and success counts (which `utility` and `optimal-batch`
 * placement read), and the rate of placement decisions.
 */
import type { Agent } from './placement.js';
import type { ResolvedSchedulerOptions } from './options.js';
import type { TaskRecord } from './record.js';
import { AgentKindStats, KindStats, RateCounter, Window } from './stats.js';
import type { SchedulerStats } from './types.js';

/** @internal */
export class SchedulerMetrics {
  readonly kinds = new Map<string, KindStats>();
  readonly waitWindow = new Window();
  readonly runWindow = new Window();
  readonly rate = new RateCounter();
  decisions = 0;
  private readonly adaptive: ResolvedSchedulerOptions['adaptive'];

  constructor(adaptive: ResolvedSchedulerOptions['adaptive']) {
    this.adaptive = adaptive;
  }

  /** One placement decision, made at `now`. */
  decided(now: number): void {
    this.decisions++;
    this.rate.tick(now);
  }

  recordRun(t: TaskRecord, agent: Agent | undefined, ok: boolean, ms: number): void {
    this.runWindow.push(ms);
    const kind = this.kindStats(t.kind);
    if (ok) kind.durations.push(ms);
    if (agent === undefined) return;
    let stats = agent.byKind.get(t.kind);
    if (stats === undefined) {
      stats = new AgentKindStats();
      agent.byKind.set(t.kind, stats);
    }
    stats.record(ok, ms);
    if (ok) {
      agent.successes++;
      agent.latency.push(ms);
    } else agent.failures++;
  }

  kindStats(kind: string): KindStats {
    let stats = this.kinds.get(kind);
    if (stats === undefined) {
      stats = new KindStats();
      this.kinds.set(kind, stats);
    }
    return stats;
  }

  /** The timeout of the task's next attempt, if any. */
  timeoutFor(t: { timeoutMs: number | 'adaptive' | undefined; kind: string }): number | undefined {
    if (t.timeoutMs === undefined || typeof t.timeoutMs === 'number') return t.timeoutMs;
    const a = this.adaptive;
    const stats = this.kinds.get(t.kind);
    if (stats === undefined || stats.durations.count < a.minSamples) return a.maxMs;
    return Math.min(a.maxMs, Math.max(a.minMs, stats.durations.quantile(a.percentile) * a.factor));
  }

  /** `stats().byKind`. */
  byKind(): SchedulerStats['byKind'] {
    const byKind: SchedulerStats['byKind'] = {};
    for (const [kind, s] of this.kinds) {
      byKind[kind] = {
        succeeded: s.succeeded,
        failed: s.failed,
        cancelled: s.cancelled,
        timedOut: s.timedOut,
        runMs: s.durations.summary(),
        timeoutMs: this.timeoutFor({ timeoutMs: 'adaptive', kind }),
      };
    }
    return byKind;
  }
}
