/**
 * microswarm/actor: what an actor module needs, and nothing of the main
 * thread's API. An actor module is loaded on every pool thread that hosts
 * one of its actors (and on the warm spares); importing the package root
 * there also loads the runtime, the task scheduler and the swarms, which a
 * pool thread never uses: about 25 ms of each thread's start (measured in
 * a worker after the runtime's own modules, 2 cores). Every name here is
 * the same object as the package root's (errors thrown by the runtime are
 * `instanceof` either), so the two can be mixed. The dependency rules keep
 * this file off src/runtime, src/scheduler, src/swarm, src/cluster and
 * src/observe (type-only imports aside).
 */
export { defineActor, isActorDefinition } from './actors/define.js';
export type { ActorDefinition, ActorSpec, MessageOf, ReplyOf, ArgsOf, VoteAnswer } from './actors/define.js';
export { ActorRef } from './actors/ref.js';
export type { AskOptions, AskStackTraces, TellOptions } from './actors/ref.js';
export { ActorContext } from './actors/context.js';
export type { Timer, DeferredReply } from './actors/context.js';
export { SupervisorState, defaultDecider } from './actors/supervision.js';
export type { Directive, StrategyKind, SupervisorStrategy, BackoffOptions, Decision } from './actors/supervision.js';
export type { DeadLetter, DeadLetterReason, ActorFailure, Terminated, TerminatedReason } from './engine/endpoint.js';
export type { SpawnOptions, MailboxOptions, OverflowPolicy } from './actors/spawn-options.js';
export * from './base/errors.js';
export { RegionHandle } from './memory/handle.js';
export { MemoryContext } from './actors/memory.js';
export type { AllocOptions, MemoryStats } from './memory/pool.js';
export { Task } from './actors/task.js';
export { fenced, Proposal } from './actors/envelope.js';
export { EntityRef, type EntityDelivery, type EntityOptions } from './actors/entity-ref.js';
