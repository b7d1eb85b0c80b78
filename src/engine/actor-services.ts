/**
 * What an actor's `ctx` reaches on this thread (the ContextHost of
 * ../actors/context.ts): each call handed to the part that owns it.
 */
import type { Cell } from '../actors/cell.js';
import type { ContextHost, DeferredReply, Timer } from '../actors/context.js';
import type { MemoryContext } from '../actors/memory.js';
import type { ActorRef } from '../actors/ref.js';
import type { SpawnOptions } from '../actors/spawn-options.js';
import type { Engine } from './parts.js';
import { Spawning } from './spawning.js';

/** @internal */
export class ActorServices implements ContextHost {
  private readonly spawning: Spawning;

  constructor(private readonly engine: Engine) {
    this.spawning = new Spawning(engine);
  }

  /** The 0-based pool thread index; -1 on the main thread. */
  get threadIndex(): number {
    return this.engine.index - 1;
  }

  spawnChild(parent: Cell, moduleUrl: URL | string, args: unknown, options: SpawnOptions | undefined): Promise<ActorRef> {
    return this.spawning.spawnChild(parent, moduleUrl, args, options);
  }

  spawnChildNow(parent: Cell, moduleUrl: URL | string, args: unknown, options: SpawnOptions | undefined): ActorRef {
    return this.spawning.spawnChildNow(parent, moduleUrl, args, options);
  }

  lookup(name: string): Promise<ActorRef | undefined> {
    return this.engine.lifecycle.lookup(name);
  }

  requestStop(cell: Cell): void {
    this.engine.lifecycle.requestStop(cell);
  }

  startTimer(cell: Cell, ms: number, msg: unknown, repeat: boolean): Timer {
    return this.engine.timers.start(cell, ms, msg, repeat);
  }

  replyLater(cell: Cell): DeferredReply {
    return this.engine.asks.replyLater(cell);
  }

  memoryFor(cell: Cell): MemoryContext {
    return this.engine.memory.memoryFor(cell);
  }

  watch(cell: Cell, target: ActorRef): void {
    this.engine.deathWatch.watch(cell, target);
  }

  unwatch(cell: Cell, target: ActorRef): void {
    this.engine.deathWatch.unwatch(cell, target);
  }

  checkpointNow(cell: Cell): number {
    return this.engine.checkpoints.now(cell);
  }

  topicOp(cell: Cell, op: 'subscribe' | 'unsubscribe' | 'publish', topic: string, msg?: unknown): void {
    this.engine.envelopes.topicOp(cell, op, topic, msg);
  }

  leaderOf(swarm: string): { leader: ActorRef | undefined; term: number } | undefined {
    return this.engine.envelopes.leaderOf(swarm);
  }
}
