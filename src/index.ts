/**
 * microswarm: an actor runtime for Node.js. Agents (actors) keep private
 * state, handle one message at a time, and run on a Piscina worker-thread
 * pool, talking through SharedArrayBuffer rings.
 *
 * The actor side of the API (defineActor, refs, the context, the errors,
 * memory handles, tasks, proposals) is `microswarm/actor` (actor.ts), which
 * actor modules import on the pool threads; it is re-exported here whole,
 * so every one of its names is the same object from either entry.
 */
export * from './actor.js';
export { Runtime } from './runtime/runtime.js';
export type { RuntimeStats, ShutdownOptions, ThreadCrash } from './runtime/runtime.js';
export type { RuntimeOptions } from './runtime/options.js';
export { EventSource } from './base/events.js';
export type { RuntimeMemory } from './runtime/runtime.js';
export type {
  InspectOptions,
  InspectSnapshot,
  ThreadInspection,
  ActorInspection,
  SwarmInspection,
  RegionAllocation,
  ThreadStatus,
  ActorStatus,
} from './runtime/inspect-types.js';
export type { ServeOptions, ObserveServer, HandlerOptions, ObserveHandler, FeedItem, Readiness } from './observe/index.js';
export type { MemoryOptions, EvictionPolicy } from './memory/layout.js';
export { TaskScheduler, priorities, strategies } from './scheduler/scheduler.js';
export type { TaskSpec, TaskHandle, TaskStatus, RetryOptions, SchedulerOptions, SchedulerStats, Priority, Strategy } from './scheduler/scheduler.js';
export { solveAssignment } from './scheduler/assign.js';
export type { AssignmentResult } from './scheduler/assign.js';
export { Swarm, topologies, quorumKinds } from './swarm/swarm.js';
export type { SwarmOptions, GatherResult, ProposalResult, LeaderChange, Topology, Quorum } from './swarm/swarm.js';
export { Topic } from './swarm/topics.js';
export type { TopicStats } from './swarm/topics.js';
export type { Vote, Tally, Outcome } from './swarm/voting.js';
export type { Cluster, ClusterStats, ConnectionStats, MemberEvent, MemberInfo, EntityStats, EntityPlacement } from './cluster/index.js';
export type { ClusterOptions } from './cluster/options.js';
export type { GatewayStats } from './cluster/gateway.js';
export type { MetricsOptions } from './observe/metrics.js';
