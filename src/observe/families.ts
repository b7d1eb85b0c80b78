/**
 * The metric families: for each, its name, type, help, and how its values
 * come out of one scrape's snapshot. Names follow Proto.Actor's and Akka's
 * (live actors, mailbox length, time in mailbox, handler duration, dead
 * letters by reason, restarts, asks timed out) with a `microswarm_` prefix;
 * the README lists them. Labels stay bounded: module (at most 64 labels, the
 * rest 'other'), thread, ring pair, reason, phase, path, swarm, task kind;
 * an actor label only on the top-N mailbox gauge.
 */
import type { MemoryStats } from '../memory/pool.js';
import type { SchedulerStats } from '../scheduler/types.js';
import {
  type MeterReader,
  kAskAborted,
  kAskStarted,
  kAskTime,
  kAskTimedOut,
  kAsks,
  kBuckets,
  kHandled,
  kHandlerTime,
  kHistWords,
  kMailboxLength,
  kMailboxTime,
  kPathCross,
  kPathLocal,
  kPathRemote,
  kRestarted,
  kSent,
  kSpawned,
  kStopped,
} from '../transport/meters.js';
import type { RingPair } from '../transport/ring-gauges.js';
import type { ClusterStats } from '../cluster/node.js';
import type { DeepMailbox, EventTallies, SwarmFigures } from './metrics-source.js';

/** What one scrape reads, once, for every family. */
export interface Snapshot {
  meters: MeterReader;
  /** Module labels by index. */
  modules: Map<number, string>;
  live: Map<number, number>;
  deepest: DeepMailbox[];
  elu: Array<{ thread: string; value: number }>;
  rings: RingPair[];
  tallies: EventTallies;
  memory: MemoryStats;
  scheduler: SchedulerStats;
  swarms: SwarmFigures[];
  cluster: { stats: ClusterStats; members: number } | undefined;
}

type Labels = Record<string, string | number>;
/** One line of a family: its value, labels, and (histograms) the suffixed name. */
export interface Sample {
  value: number;
  labels?: Labels;
  metricName?: string;
}

/** One metric family. */
export interface Family {
  name: string;
  type: 'counter' | 'gauge' | 'histogram';
  help: string;
  values(snap: Snapshot): Sample[];
}

/** The thread label of endpoint `e`: 'main' for the main thread, else the pool thread's index. */
function threadOf(e: number): string {
  return e === 0 ? 'main' : String(e - 1);
}

/** Per-module words summed over endpoints and over module entries that share a label. */
function byModule(snap: Snapshot, offset: number): Sample[] {
  const totals = new Map<string, number>();
  for (const [index, module] of snap.modules) totals.set(module, (totals.get(module) ?? 0) + snap.meters.sum(offset + index));
  return [...totals].filter(([module, value]) => value > 0 || module !== 'other').map(([module, value]) => ({ value, labels: { module } }));
}

/**
 * A Prometheus histogram from log2 buckets (transport/meters.ts) summed over
 * `offsets` (blocks of kHistWords words). `scale` turns a bucket bound and the
 * sum into the metric's unit; `count` buckets hold whole numbers (bound 2^b - 1).
 */
function histogram(name: string, labels: Labels, read: (word: number) => number, scale: number, count = false): Sample[] {
  const out: Sample[] = [];
  let cumulative = 0;
  for (let b = 0; b < kBuckets - 1; b++) {
    cumulative += read(b);
    const bound = count ? 2 ** b - 1 : 2 ** b * scale;
    out.push({ metricName: `${name}_bucket`, labels: { ...labels, le: bound }, value: cumulative });
  }
  cumulative += read(kBuckets - 1);
  out.push({ metricName: `${name}_bucket`, labels: { ...labels, le: '+Inf' }, value: cumulative });
  out.push({ metricName: `${name}_sum`, labels, value: read(kBuckets) * scale });
  out.push({ metricName: `${name}_count`, labels, value: cumulative });
  return out;
}

/** A histogram of one block offset, summed over every endpoint. */
function endpointHistogram(name: string, offset: number, scale: number, count = false) {
  return (snap: Snapshot): Sample[] => histogram(name, {}, (word) => snap.meters.sum(offset + word), scale, count);
}

function counterOf(snap: Snapshot, offset: number): Sample[] {
  return [{ value: snap.meters.sum(offset) }];
}

function fromMap(map: ReadonlyMap<string, number>, label: string): Sample[] {
  return [...map].map(([key, value]) => ({ value, labels: { [label]: key } }));
}

/** Two-part keys `${thread}/${what}` of the crash tallies. */
function fromPairs(map: ReadonlyMap<string, number>, label: string): Sample[] {
  return [...map].map(([key, value]) => {
    const cut = key.indexOf('/');
    return { value, labels: { thread: key.slice(0, cut), [label]: key.slice(cut + 1) } };
  });
}

const kMicro = 1e-6;

const actors: Family[] = [
  {
    name: 'microswarm_actors_live',
    type: 'gauge',
    help: 'Actors started and not yet stopped, by module.',
    values: (snap) => [...snap.live].map(([index, value]) => ({ value, labels: { module: snap.modules.get(index) ?? 'other' } })),
  },
  { name: 'microswarm_actors_spawned_total', type: 'counter', help: 'Actors spawned, by module.', values: (snap) => byModule(snap, kSpawned) },
  {
    name: 'microswarm_actors_stopped_total',
    type: 'counter',
    help: 'Actors stopped (not those lost with their thread), by module.',
    values: (snap) => byModule(snap, kStopped),
  },
  {
    name: 'microswarm_actors_restarted_total',
    type: 'counter',
    help: 'Actors restarted by their supervisor, by module.',
    values: (snap) => byModule(snap, kRestarted),
  },
  {
    name: 'microswarm_actors_lost_total',
    type: 'counter',
    help: 'Actors that did not come back after their thread died.',
    values: (snap) => [{ value: snap.tallies.actorsLost }],
  },
];

const threads: Family[] = [
  {
    name: 'microswarm_thread_crashes_total',
    type: 'counter',
    help: "Pool threads that died, by thread and reason ('stuck': terminated by the watchdog; 'exited').",
    values: (snap) => fromPairs(snap.tallies.crashes, 'reason'),
  },
  {
    name: 'microswarm_thread_recoveries_total',
    type: 'counter',
    help: "Recoveries after a thread died, by thread and outcome ('replaced', or 'not-replaced': the runtime goes on with fewer threads).",
    values: (snap) => fromPairs(snap.tallies.recoveries, 'outcome'),
  },
  {
    name: 'microswarm_thread_recovery_seconds',
    type: 'histogram',
    help: "From a thread's death being noticed to its actors running again.",
    values: (snap) =>
      histogram(
        'microswarm_thread_recovery_seconds',
        {},
        (word) => (word < kBuckets ? snap.tallies.recoveryBuckets[word] : snap.tallies.recoverySumUs),
        kMicro,
      ),
  },
  {
    name: 'microswarm_thread_event_loop_utilization',
    type: 'gauge',
    help: 'Event-loop utilisation (0..1) of each thread since the previous scrape (pool threads: over at least 100 ms).',
    values: (snap) => snap.elu.map(({ thread, value }) => ({ value, labels: { thread } })),
  },
];

const messages: Family[] = [
  {
    name: 'microswarm_messages_sent_total',
    type: 'counter',
    help: "Messages sent (tells, asks, publishes per target), by path: 'same-thread', 'cross-thread', 'remote' (another node).",
    values: (snap) => [
      { value: snap.meters.sum(kSent + kPathLocal), labels: { path: 'same-thread' } },
      { value: snap.meters.sum(kSent + kPathCross), labels: { path: 'cross-thread' } },
      { value: snap.meters.sum(kSent + kPathRemote), labels: { path: 'remote' } },
    ],
  },
  {
    name: 'microswarm_messages_handled_total',
    type: 'counter',
    help: 'Messages taken from a mailbox and handled, by module.',
    values: (snap) => byModule(snap, kHandled),
  },
  {
    name: 'microswarm_dead_letters_total',
    type: 'counter',
    help: 'Messages that could not be delivered (rt.deadLetters), by reason.',
    values: (snap) => fromMap(snap.tallies.deadLetters, 'reason'),
  },
  {
    name: 'microswarm_failures_total',
    type: 'counter',
    help: 'Failures published on rt.failures, by phase.',
    values: (snap) => fromMap(snap.tallies.failures, 'phase'),
  },
];

const mailboxes: Family[] = [
  {
    name: 'microswarm_mailbox_depth',
    type: 'gauge',
    help: 'Messages waiting in the mailboxes of the deepest actors (top N, the only metric with an actor label).',
    values: (snap) => snap.deepest.map((m) => ({ value: m.depth, labels: { actor: m.actor, module: m.module, thread: m.thread } })),
  },
  {
    name: 'microswarm_mailbox_length',
    type: 'histogram',
    help: 'Mailbox length seen by a message as it is queued (sampled, one in sampleEvery).',
    values: endpointHistogram('microswarm_mailbox_length', kMailboxLength, 1, true),
  },
  {
    name: 'microswarm_mailbox_time_seconds',
    type: 'histogram',
    help: "Time from a message's queueing in its actor's mailbox to its handler's start (sampled; ring time not included).",
    values: endpointHistogram('microswarm_mailbox_time_seconds', kMailboxTime, kMicro),
  },
  {
    name: 'microswarm_handler_duration_seconds',
    type: 'histogram',
    help: 'Time a handler ran (async handlers: until settled), by module (sampled, one in sampleEvery).',
    values(snap) {
      const byLabel = new Map<string, number[]>();
      for (const [index, module] of snap.modules) byLabel.set(module, [...(byLabel.get(module) ?? []), index]);
      const out: Sample[] = [];
      for (const [module, indexes] of byLabel) {
        const read = (word: number) => indexes.reduce((sum, index) => sum + snap.meters.sum(kHandlerTime + index * kHistWords + word), 0);
        if (read(kBuckets) === 0 && indexes.every((index) => snap.meters.sum(kHandled + index) === 0)) continue;
        out.push(...histogram('microswarm_handler_duration_seconds', { module }, read, kMicro));
      }
      return out;
    },
  },
];

const asks: Family[] = [
  {
    name: 'microswarm_asks_started_total',
    type: 'counter',
    help: 'Asks made (by actors and from the main thread).',
    values: (s) => counterOf(s, kAsks + kAskStarted),
  },
  {
    name: 'microswarm_asks_timed_out_total',
    type: 'counter',
    help: 'Asks rejected with AskTimeoutError.',
    values: (s) => counterOf(s, kAsks + kAskTimedOut),
  },
  {
    name: 'microswarm_asks_aborted_total',
    type: 'counter',
    help: 'Asks rejected by their abort signal.',
    values: (s) => counterOf(s, kAsks + kAskAborted),
  },
  {
    name: 'microswarm_ask_duration_seconds',
    type: 'histogram',
    help: 'From an ask sent to its answer (sampled, one in sampleEvery; timed-out and aborted asks are not in it).',
    values: endpointHistogram('microswarm_ask_duration_seconds', kAskTime, kMicro),
  },
];

const rings: Family[] = [
  {
    name: 'microswarm_ring_used_bytes',
    type: 'gauge',
    help: 'Bytes written to a thread pair ring and not read yet.',
    values: (snap) => snap.rings.map((r) => ({ value: r.usedBytes, labels: { from: threadOf(r.from), to: threadOf(r.to) } })),
  },
  {
    name: 'microswarm_ring_capacity_bytes',
    type: 'gauge',
    help: 'Bytes a thread pair ring holds.',
    values: (snap) => snap.rings.map((r) => ({ value: r.capacityBytes, labels: { from: threadOf(r.from), to: threadOf(r.to) } })),
  },
  {
    name: 'microswarm_ring_backlog_messages',
    type: 'gauge',
    help: "Messages sent from one thread to another and not taken yet (in the ring, or in the sender's backlog while it is full).",
    values: (snap) => snap.rings.map((r) => ({ value: r.unread, labels: { from: threadOf(r.from), to: threadOf(r.to) } })),
  },
];

const memory: Family[] = [
  {
    name: 'microswarm_memory_pool_bytes',
    type: 'gauge',
    help: "Bytes of the shared region pool, by state ('used', 'free').",
    values: (snap) => [
      { value: snap.memory.used, labels: { state: 'used' } },
      { value: snap.memory.free, labels: { state: 'free' } },
    ],
  },
  {
    name: 'microswarm_memory_pool_largest_free_run_bytes',
    type: 'gauge',
    help: 'Bytes of the largest run of free regions (the largest allocation possible without eviction).',
    values: (snap) => [{ value: snap.memory.largestFreeRun }],
  },
  { name: 'microswarm_memory_allocations_total', type: 'counter', help: 'Pool allocations made.', values: (s) => [{ value: s.memory.allocations }] },
  {
    name: 'microswarm_memory_evictions_total',
    type: 'counter',
    help: "Evictable allocations reclaimed under pressure, labelled with the pool's eviction policy.",
    values: (s) => [{ value: s.memory.evictions, labels: { policy: s.memory.evictionPolicy } }],
  },
  {
    name: 'microswarm_memory_transfers_total',
    type: 'counter',
    help: 'Region ownership transfers with a message.',
    values: (s) => [{ value: s.memory.transfers }],
  },
];

const scheduler: Family[] = [
  {
    name: 'microswarm_scheduler_queue_length',
    type: 'gauge',
    help: 'Tasks queued and waiting to be placed, by priority.',
    values: (snap) => Object.entries(snap.scheduler.queued).map(([priority, value]) => ({ value, labels: { priority } })),
  },
  {
    name: 'microswarm_scheduler_tasks',
    type: 'gauge',
    help: "Tasks not in the queue, by state ('blocked' on dependencies, 'retrying', 'running').",
    values: (snap) => [
      { value: snap.scheduler.blocked, labels: { state: 'blocked' } },
      { value: snap.scheduler.retrying, labels: { state: 'retrying' } },
      { value: snap.scheduler.running, labels: { state: 'running' } },
    ],
  },
  {
    name: 'microswarm_scheduler_wait_seconds',
    type: 'gauge',
    help: 'Queue wait of the last 512 attempts, by quantile.',
    values: (snap) => quantiles(snap.scheduler.waitMs),
  },
  {
    name: 'microswarm_scheduler_run_seconds',
    type: 'gauge',
    help: 'Run time of the last 512 attempts, by quantile.',
    values: (snap) => quantiles(snap.scheduler.runMs),
  },
  {
    name: 'microswarm_scheduler_tasks_total',
    type: 'counter',
    help: "Tasks finished, by kind and outcome ('succeeded', 'failed', 'cancelled', 'timed-out').",
    values(snap) {
      const out: Sample[] = [];
      for (const [kind, k] of Object.entries(snap.scheduler.byKind)) {
        out.push({ value: k.succeeded, labels: { kind, outcome: 'succeeded' } }, { value: k.failed, labels: { kind, outcome: 'failed' } });
        out.push({ value: k.cancelled, labels: { kind, outcome: 'cancelled' } }, { value: k.timedOut, labels: { kind, outcome: 'timed-out' } });
      }
      return out;
    },
  },
  {
    name: 'microswarm_scheduler_decisions_total',
    type: 'counter',
    help: 'Placement decisions made.',
    values: (snap) => [{ value: snap.scheduler.decisions }],
  },
  {
    name: 'microswarm_scheduler_breakers',
    type: 'gauge',
    help: "Agents by circuit-breaker state ('closed', 'open', 'half-open').",
    values(snap) {
      const states = { closed: 0, open: 0, 'half-open': 0 };
      for (const agent of snap.scheduler.agents) states[agent.breaker]++;
      return Object.entries(states).map(([state, value]) => ({ value, labels: { state } }));
    },
  },
];

function quantiles(p: { p50: number; p90: number; p99: number }): Sample[] {
  return [
    { value: p.p50 / 1000, labels: { quantile: 0.5 } },
    { value: p.p90 / 1000, labels: { quantile: 0.9 } },
    { value: p.p99 / 1000, labels: { quantile: 0.99 } },
  ].filter((s) => !Number.isNaN(s.value));
}

const swarms: Family[] = [
  {
    name: 'microswarm_swarm_members',
    type: 'gauge',
    help: 'Members of each swarm.',
    values: (snap) => snap.swarms.map((s) => ({ value: s.members, labels: { swarm: s.name } })),
  },
  {
    name: 'microswarm_swarm_proposals_total',
    type: 'counter',
    help: "Proposals decided by vote, by swarm and outcome ('approved', 'rejected', 'undecided').",
    values: (snap) => snap.swarms.flatMap((s) => Object.entries(s.proposals).map(([outcome, value]) => ({ value, labels: { swarm: s.name, outcome } }))),
  },
  {
    name: 'microswarm_swarm_leader_changes_total',
    type: 'counter',
    help: 'Leader changes (elections) of each swarm.',
    values: (snap) => snap.swarms.map((s) => ({ value: s.leaderChanges, labels: { swarm: s.name } })),
  },
  {
    name: 'microswarm_swarm_term',
    type: 'gauge',
    help: "Each swarm's current leader term.",
    values: (snap) => snap.swarms.map((s) => ({ value: s.term, labels: { swarm: s.name } })),
  },
];

/** Cluster families: empty on a runtime that is not a cluster node. */
function clusterFamily(
  name: string,
  help: string,
  read: (c: { stats: ClusterStats; members: number }) => Sample[],
  type: Family['type'] = 'counter',
): Family {
  return { name, type, help, values: (snap) => (snap.cluster === undefined ? [] : read(snap.cluster)) };
}

const cluster: Family[] = [
  clusterFamily('microswarm_cluster_members', 'Live members of the cluster, this node included.', (c) => [{ value: c.members }], 'gauge'),
  clusterFamily('microswarm_cluster_records_sent_total', 'Records (messages, answers, publishes) sent to other nodes.', (c) => [
    { value: c.stats.recordsSent },
  ]),
  clusterFamily('microswarm_cluster_records_received_total', 'Records received from other nodes.', (c) => [{ value: c.stats.recordsReceived }]),
  clusterFamily('microswarm_cluster_batches_sent_total', 'NATS messages (batches of records) sent to other nodes, first sends.', (c) => [
    { value: c.stats.batchesSent },
  ]),
  clusterFamily('microswarm_cluster_batches_received_total', 'Batches received from other nodes, in order.', (c) => [{ value: c.stats.batchesReceived }]),
  clusterFamily('microswarm_cluster_batches_resent_total', 'Batches sent again (not acknowledged in time).', (c) => [{ value: c.stats.batchesResent }]),
  clusterFamily('microswarm_cluster_dropped_total', 'Inbound records or batches refused, by reason.', (c) =>
    Object.entries(c.stats.dropped).map(([reason, value]) => ({ value, labels: { reason } })),
  ),
  clusterFamily(
    'microswarm_cluster_connection_bytes_total',
    "Bytes over this node's NATS connection (records, heartbeats, KV, object store), by direction.",
    (c) => [
      { value: c.stats.connection.bytesIn, labels: { direction: 'in' } },
      { value: c.stats.connection.bytesOut, labels: { direction: 'out' } },
    ],
  ),
  clusterFamily('microswarm_cluster_connection_messages_total', "NATS messages over this node's connection, by direction.", (c) => [
    { value: c.stats.connection.messagesIn, labels: { direction: 'in' } },
    { value: c.stats.connection.messagesOut, labels: { direction: 'out' } },
  ]),
  clusterFamily('microswarm_cluster_reconnects_total', "Reconnects of this node's NATS connection.", (c) => [{ value: c.stats.connection.reconnects }]),
];

/** Every family, in the order they are registered. */
export const families: readonly Family[] = [
  ...actors,
  ...threads,
  ...messages,
  ...mailboxes,
  ...asks,
  ...rings,
  ...memory,
  ...scheduler,
  ...swarms,
  ...cluster,
];
