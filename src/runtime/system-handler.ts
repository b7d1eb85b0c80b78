/**
 * The main thread's side of the requests pool threads send it: dead
 * letters, failures, lookups (ctx.lookup), topic subscriptions and
 * publishes, scheduler agents, root supervision, and spawns of children.
 */
import type { ActorRef } from '../actors/ref.js';
import { MicroswarmError } from '../base/errors.js';
import type { EventSource } from '../base/events.js';
import type { ActorFailure, DeadLetter, SystemHandler } from '../engine/endpoint.js';
import type { TopicRegistry } from '../swarm/topics.js';
import type { AgentOverride, Delivery, OverflowPolicy, ResolvedSpawnOptions } from './options.js';

/** @internal What the requests reach on the main thread. */
export interface SystemParts {
  deadLetters: EventSource<DeadLetter>;
  failures: EventSource<ActorFailure>;
  /** This node's names, then the cluster's (a promise when the names bucket is read). */
  lookup(name: string): ActorRef | undefined | Promise<ActorRef | undefined>;
  topics(): TopicRegistry;
  addAgent(ref: ActorRef, capabilities: readonly string[], capacity: number): void;
  rootFailed(child: ActorRef, error: Error): void;
  spawn(module: string, args: unknown, opts: ResolvedSpawnOptions, parent: ActorRef | undefined): Promise<ActorRef>;
}

/** @internal The endpoint's system handler on the main thread. */
export function systemHandler(parts: SystemParts): SystemHandler {
  return {
    handle: (op, payload) => {
      switch (op) {
        case 'deadLetter':
          parts.deadLetters.publish(payload as unknown as DeadLetter);
          return undefined;
        case 'failure':
          parts.failures.publish(payload as unknown as ActorFailure);
          return undefined;
        case 'lookup':
          // ctx.lookup: this node's names, then this node's replica of every node's cluster-scoped ones; a name
          // neither has (registered a moment ago on another node?) is read from the names bucket.
          return parts.lookup(payload.name as string);
        case 'topic': {
          const ref = payload.ref as ActorRef;
          const topic = payload.topic as string;
          const topics = parts.topics();
          if (payload.action === 'subscribe') topics.subscribe(topic, ref);
          else if (payload.action === 'unsubscribe') topics.unsubscribe(topic, ref);
          else topics.publish(topic, payload.msg, ref);
          return undefined;
        }
        case 'agent':
          parts.addAgent(payload.ref as ActorRef, payload.capabilities as string[], payload.capacity as number);
          return undefined;
        case 'childFailed':
          parts.rootFailed(payload.child as ActorRef, payload.error as Error);
          return undefined;
        case 'spawn':
          return parts.spawn(
            payload.module as string,
            payload.args,
            {
              name: payload.name as string | undefined,
              thread: payload.thread as number,
              capacity: payload.capacity as number,
              policy: payload.overflow as OverflowPolicy,
              memoryQuota: (payload.memoryQuota as number | undefined) ?? 0,
              delivery: (payload.delivery as Delivery | undefined) ?? 'at-least-once',
              agent: payload.agent as AgentOverride | undefined,
              scope: payload.scope === 'cluster' ? 'cluster' : 'local',
            },
            payload.parent as ActorRef | undefined,
          );
        default:
          throw new MicroswarmError(`unknown control request ${JSON.stringify(op)}`);
      }
    },
    deadLetter: (letter) => parts.deadLetters.publish(letter),
    failure: (failure) => parts.failures.publish(failure),
  };
}
