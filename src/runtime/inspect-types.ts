/**
 * The shape of `rt.inspect()`'s snapshot: plain JSON-serialisable data (no
 * refs, no class instances; a number that is not known is `null`, but for
 * the scheduler's statistics, passed on as `rt.tasks.stats()` gives them).
 */
import type { MemoryStats } from '../memory/pool.js';
import type { SchedulerStats } from '../scheduler/types.js';
import type { Topology } from '../swarm/topology.js';

/** Options of {@link Runtime.inspect}. */
export interface InspectOptions {
  /** Most actors listed per pool thread (the deepest mailboxes, then the busiest, when there are more). Default 500. */
  actorsPerThread?: number;
  /** How long a pool thread may take to answer, ms; one that does not is listed as `unresponsive`. Default 1000. */
  timeoutMs?: number;
}

/** What a pool thread is doing, in {@link InspectSnapshot.threads}. */
export type ThreadStatus = 'running' | 'recovering' | 'down' | 'unresponsive';

/** What an actor is doing, in {@link InspectSnapshot.actors}. */
export type ActorStatus = 'starting' | 'idle' | 'running' | 'busy' | 'suspended' | 'failed' | 'migrating' | 'stopping';

/** One pool thread. */
export interface ThreadInspection {
  /** The thread's 0-based index (the `thread` of spawn options). */
  thread: number;
  /** Running; recovering after it died; down (died and not replaced); unresponsive (did not answer in `timeoutMs`). */
  status: ThreadStatus;
  /** Actors hosted on it now. */
  actors: number;
  /** Event-loop utilisation, 0..1, over the last 100 ms or more; `null` when it has no running worker. */
  elu: number | null;
  /** Fill of its fullest inbound ring, 0..1: messages written to it and not read yet. */
  ringFill: number;
  /** Messages its actors handled since start (the listed and the unlisted ones). */
  handled: number;
  /** Messages per second its actors handled over the last second or so. */
  rate: number;
  /** How long it took to answer this snapshot's request, ms (its queueing delay); `null` when it did not answer. */
  responseMs: number | null;
}

/** One live actor. */
export interface ActorInspection {
  /** Its ref as a string, `Actor(name#slot.gen)`. */
  ref: string;
  /** Its directory slot ({@link ActorRef.slot}). */
  slot: number;
  /** Its generation ({@link ActorRef.gen}). */
  gen: number;
  /** Its registered name, or `null`. */
  name: string | null;
  /** The URL of its module, or `null` when its thread did not answer and the main thread did not spawn it. */
  module: string | null;
  /** 0-based index of the pool thread hosting it. */
  thread: number;
  /** What it is doing, as its thread sees it (from shared memory alone when its thread did not answer: starting, running or stopping). */
  status: ActorStatus;
  /** Messages waiting in its mailbox. */
  mailbox: number;
  /** Messages it handled since it was spawned. */
  handled: number;
  /** Messages per second it handled over the last second or so. */
  rate: number;
  /** Restarts by its supervisor, and comebacks after its thread died. */
  restarts: number;
  /**
   * Its handler time p99 in milliseconds (nearest rank) over its last 128
   * timed handlers, or `null`: fewer than 8 were timed, or its thread did not
   * answer. Handlers are timed once `rt.metrics()` (or `rt.serve()`) is
   * registered, one message in `sampleEvery` per thread (default 128), so a
   * quiet actor may have none.
   */
  p99: number | null;
  /** Its parent's ref as a string, or `null` for a top-level actor. */
  parent: string | null;
}

/** One swarm of this node. */
export interface SwarmInspection {
  /** The swarm's name. */
  name: string;
  /** How its broadcasts travel. */
  topology: Topology;
  /** Children per member (`hierarchical`). */
  fanout: number;
  /** Live members' refs as strings, in membership order. */
  members: string[];
  /** The leader's ref as a string, or `null`. */
  leader: string | null;
  /** The leader's term (0 before the first election). */
  term: number;
  /** Who talks to whom by the topology: pairs of indexes into `members`, each pair once. */
  edges: Array<[number, number]>;
}

/** One allocation in the memory pool. */
export interface RegionAllocation {
  /** Its first region. */
  head: number;
  /** Regions it spans. */
  run: number;
  /** The owning actor's slot, or -1 for the runtime's own (a large message in transit, a checkpoint). */
  owner: number;
  /** Read-only loans of it outstanding. */
  borrowers: number;
}

/** Everything `rt.inspect()` reports, at one moment (threads answer one after another, so within a few ms). */
export interface InspectSnapshot {
  /** `Date.now()` when it was taken. */
  at: number;
  /** Milliseconds since `Runtime.start`. */
  uptimeMs: number;
  /** This node's name in its cluster, or `null` outside a cluster. */
  node: string | null;
  /** Figures for the whole runtime. */
  totals: {
    /** Live actors (starting, alive or stopping). */
    liveActors: number;
    /** The `maxAgents` limit. */
    maxAgents: number;
    /** Messages handled by all actors since start (those that stopped included only while their slot was not reused). */
    handled: number;
    /** Messages per second, all threads, over the last second or so. */
    rate: number;
    /** Dead letters published on `rt.deadLetters` since start. */
    deadLetters: number;
    /** Failures published on `rt.failures` since start. */
    failures: number;
    /** Pool threads that died since start. */
    crashes: number;
  };
  /** One entry per pool thread, in order. */
  threads: ThreadInspection[];
  /** Live actors, per thread in slot order (at most `actorsPerThread` of each thread). */
  actors: ActorInspection[];
  /** Live actors not listed (over `actorsPerThread` on their thread). */
  actorsNotListed: number;
  /** This node's swarms. */
  swarms: SwarmInspection[];
  /** The pool's usage (`rt.memory.stats()` without `perAgent`) and its allocations. */
  memory: Omit<MemoryStats, 'perAgent'> & {
    /** Every allocation, by first region: the map the dashboard draws. */
    map: RegionAllocation[];
  };
  /** `rt.tasks.stats()` as it is: its percentiles of nothing yet are NaN, which JSON writes as `null`. */
  scheduler: SchedulerStats;
}
