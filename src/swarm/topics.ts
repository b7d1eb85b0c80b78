/**
 * Pub/sub (`rt.topic(name)`, `ctx.subscribe`, `ctx.publish`). The registry
 * lives on the main thread; a publish is one multicast (see
 * `Endpoint.multicast`): encoded once, one frame per thread that hosts
 * subscribers, decoded once there and put in each subscriber's mailbox.
 * Subscribers that stopped, or were lost with a thread, are dropped at the
 * next publish; an actor brought back after a crash keeps its ref, and so
 * its subscriptions. Publishing to a topic with no subscribers is counted
 * (`unheard`), not an error.
 */
import type { ActorRef } from '../actors/ref.js';
import { InvalidArgumentError } from '../base/errors.js';

/** @internal What topics need of the runtime. */
export interface TopicHost {
  isAlive(ref: ActorRef): boolean;
  multicast(targets: readonly ActorRef[], msg: unknown, sender: ActorRef | undefined): number;
  /** A publish made on this node: also for the subscribers of the other cluster nodes (none outside a cluster). */
  published?(name: string, msg: unknown, sender: ActorRef | undefined): void;
}

/** A topic's counts (`topic.stats()`). */
export interface TopicStats {
  /** Live subscribers now. */
  subscribers: number;
  /** Publishes so far. */
  published: number;
  /** Deliveries accepted by subscribers' mailboxes. */
  delivered: number;
  /** Publishes that found no subscriber. */
  unheard: number;
}

/** A named topic. */
export class Topic<Msg = unknown> {
  /** The topic's name (`rt.topic(name)`). */
  readonly name: string;
  private readonly registry: TopicRegistry;

  /** @internal */
  constructor(name: string, registry: TopicRegistry) {
    this.name = name;
    this.registry = registry;
  }

  /** Sends `msg` to every subscriber; returns how many accepted it (0: none, counted as unheard). */
  publish(msg: Msg): number {
    return this.registry.publish(this.name, msg, undefined);
  }

  /** Subscribes an actor from outside it (an actor subscribes itself with `ctx.subscribe`). */
  subscribe(ref: ActorRef): void {
    this.registry.subscribe(this.name, ref);
  }

  /** Removes a subscriber; false when it was not subscribed. */
  unsubscribe(ref: ActorRef): boolean {
    return this.registry.unsubscribe(this.name, ref);
  }

  /** Live subscribers now. */
  subscribers(): ActorRef[] {
    return this.registry.subscribers(this.name);
  }

  /** This topic's counts so far. */
  stats(): TopicStats {
    return this.registry.stats(this.name);
  }
}

interface Entry {
  readonly subscribers: Map<string, ActorRef>;
  published: number;
  delivered: number;
  unheard: number;
}

/** @internal The main thread's registry of topics. */
export class TopicRegistry {
  private readonly topics = new Map<string, Entry>();
  private readonly host: TopicHost;

  constructor(host: TopicHost) {
    this.host = host;
  }

  static checkName(name: unknown, option = 'topic'): string {
    if (typeof name !== 'string' || name.length === 0 || name.length > 256) {
      throw new InvalidArgumentError(option, 'a non-empty string of at most 256 characters', name);
    }
    return name;
  }

  private entry(name: string): Entry {
    let entry = this.topics.get(name);
    if (entry === undefined) {
      entry = { subscribers: new Map(), published: 0, delivered: 0, unheard: 0 };
      this.topics.set(name, entry);
    }
    return entry;
  }

  subscribe(name: string, ref: ActorRef): void {
    TopicRegistry.checkName(name);
    this.entry(name).subscribers.set(ref.id, ref);
  }

  unsubscribe(name: string, ref: ActorRef): boolean {
    return this.topics.get(name)?.subscribers.delete(ref.id) ?? false;
  }

  /** The live subscribers of `name`, dropping those that are gone. */
  subscribers(name: string): ActorRef[] {
    const entry = this.topics.get(name);
    if (entry === undefined) return [];
    const live: ActorRef[] = [];
    for (const [key, ref] of entry.subscribers) {
      if (this.host.isAlive(ref)) live.push(ref);
      else entry.subscribers.delete(key);
    }
    return live;
  }

  /**
   * Delivers to this node's subscribers; a publish made here (`fromNode`
   * undefined) goes to the other cluster nodes' subscribers too. Returns how
   * many subscribers of this node accepted it.
   */
  publish(name: string, msg: unknown, sender: ActorRef | undefined, fromNode?: string): number {
    if (fromNode === undefined) this.host.published?.(name, msg, sender);
    const entry = this.entry(name);
    entry.published++;
    const targets = this.subscribers(name);
    if (targets.length === 0) {
      entry.unheard++;
      return 0;
    }
    const accepted = this.host.multicast(targets, msg, sender);
    entry.delivered += accepted;
    return accepted;
  }

  stats(name: string): TopicStats {
    const entry = this.entry(name);
    return { subscribers: this.subscribers(name).length, published: entry.published, delivered: entry.delivered, unheard: entry.unheard };
  }
}
