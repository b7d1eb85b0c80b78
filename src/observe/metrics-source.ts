/**
 * What metrics read from a runtime: the runtime builds this (see
 * runtime/metrics-host.ts) and hands it to `registerMetrics`, so this
 * folder imports nothing from src/runtime/ (types from the layers below
 * only) and the runtime loads it only when `rt.metrics()` is called.
 */
import type { MemoryStats } from '../memory/pool.js';
import type { SchedulerStats } from '../scheduler/types.js';
import type { MeterReader } from '../transport/meters.js';
import type { RingPair } from '../transport/ring-gauges.js';
import type { ClusterStats } from '../cluster/node.js';

/** @internal Counts of what the main thread sees happen (dead letters, failures, thread crashes). */
export interface EventTallies {
  /** Dead letters by reason. */
  readonly deadLetters: ReadonlyMap<string, number>;
  /** Failures by phase. */
  readonly failures: ReadonlyMap<string, number>;
  /** Thread crashes by pool thread and reason ('stuck' or 'exited'), key `${thread}/${reason}`. */
  readonly crashes: ReadonlyMap<string, number>;
  /** Recoveries by pool thread and outcome ('replaced' or 'not-replaced'), key `${thread}/${outcome}`. */
  readonly recoveries: ReadonlyMap<string, number>;
  /** Actors that did not come back after their thread died. */
  readonly actorsLost: number;
  /** Recovery times (log2 buckets of microseconds, as transport/meters.ts), and their sum in microseconds. */
  readonly recoveryBuckets: readonly number[];
  readonly recoverySumUs: number;
}

/** @internal One of the deepest mailboxes, for the top-N gauge. */
export interface DeepMailbox {
  actor: string;
  /** Module label. */
  module: string;
  /** Pool thread index. */
  thread: number;
  depth: number;
}

/** @internal A swarm's figures. */
export interface SwarmFigures {
  name: string;
  members: number;
  proposals: Readonly<Record<string, number>>;
  leaderChanges: number;
  term: number;
}

/** @internal What the metrics of one runtime are read from. */
export interface MetricsSource {
  /** The counter words of every endpoint (folded here: call `fold()` before reading). */
  readonly meters: MeterReader;
  /** Live actors (started, not yet stopped) by module index. */
  liveByModule(): Map<number, number>;
  /** The `n` deepest mailboxes over every running pool thread (threads that do not answer within a second are left out). */
  deepest(n: number): Promise<DeepMailbox[]>;
  /** Event-loop utilisation (0..1) since the last call, by thread label ('main', '0', '1', ...). */
  eventLoopUtilization(): Array<{ thread: string; value: number }>;
  rings(): RingPair[];
  readonly tallies: EventTallies;
  memory(): MemoryStats;
  scheduler(): SchedulerStats;
  swarms(): SwarmFigures[];
  /** Cluster figures when the runtime is a cluster node. */
  cluster(): { stats: ClusterStats; members: number } | undefined;
  /** Called when the runtime shuts down: every registry the metrics were registered on drops them. */
  onClose(listener: () => void): void;
}
