/**
 * microswarm: an actor runtime for Node.js. Agents (actors) keep private
 * state, handle one message at a time, and run on a Piscina worker-thread
 * pool, talking through SharedArrayBuffer rings.
 */
export { Runtime } from './runtime/runtime.js';
export type { RuntimeStats, ShutdownOptions, ThreadCrash } from './runtime/runtime.js';
export type { RuntimeOptions, SpawnOptions, MailboxOptions, OverflowPolicy } from './runtime/options.js';
export type { DeadLetter, DeadLetterReason, ActorFailure, Terminated, TerminatedReason } from './engine/endpoint.js';
export { EventSource } from './base/events.js';
export { defineActor, isActorDefinition } from './actors/define.js';
export type { ActorDefinition, ActorSpec, MessageOf, ReplyOf, ArgsOf } from './actors/define.js';
export { ActorRef } from './actors/ref.js';
export { SupervisorState, defaultDecider } from './actors/supervision.js';
export type { Directive, StrategyKind, SupervisorStrategy, BackoffOptions, Decision } from './actors/supervision.js';
export type { AskOptions, AskStackTraces, TellOptions } from './actors/ref.js';
export { ActorContext } from './actors/context.js';
export type { Timer, DeferredReply } from './actors/context.js';
export * from './base/errors.js';
export { RegionHandle } from './memory/handle.js';
export { MemoryContext } from './actors/memory.js';
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
export type { AllocOptions, MemoryStats } from './memory/pool.js';
export { Task } from './actors/task.js';
export { TaskScheduler, priorities, strategies } from './scheduler/scheduler.js';
export type { TaskSpec, TaskHandle, TaskStatus, RetryOptions, SchedulerOptions, SchedulerStats, Priority, Strategy } from './scheduler/scheduler.js';
export { solveAssignment } from './scheduler/assign.js';
export type { AssignmentResult } from './scheduler/assign.js';
export { Swarm, topologies, quorumKinds } from './swarm/swarm.js';
export type { SwarmOptions, GatherResult, ProposalResult, LeaderChange, Topology, Quorum } from './swarm/swarm.js';
export { Topic } from './swarm/topics.js';
export type { TopicStats } from './swarm/topics.js';
export { fenced, Proposal } from './actors/envelope.js';
export type { VoteAnswer } from './actors/define.js';
export type { Vote, Tally, Outcome } from './swarm/voting.js';
export type { Cluster, ClusterStats, ConnectionStats, MemberEvent, MemberInfo, EntityStats, EntityPlacement } from './cluster/index.js';
export { EntityRef, type EntityDelivery, type EntityOptions } from './actors/entity-ref.js';
export type { ClusterOptions } from './cluster/options.js';
export type { GatewayStats } from './cluster/gateway.js';
export type { MetricsOptions } from './observe/metrics.js';
