import type { ActorRef } from './ref.js';
import type { SpawnOptions } from './spawn-options.js';
import type { MemoryContext } from './memory.js';

/**
 * @internal What a context knows of its actor's cell; the Cell class
 * (`cell.ts`) is one. Declared here so that this file needs nothing from
 * cell.ts, which refers to ActorContext itself.
 */
export interface ContextCell {
  readonly ref: ActorRef;
  readonly stopped: boolean;
  readonly children: Iterable<ActorRef> | undefined;
  abort: AbortController | undefined;
}

/** @internal What a context needs from the thread hosting its actor. */
export interface ContextHost {
  readonly threadIndex: number;
  spawnChild(parent: ContextCell, moduleUrl: URL | string, args: unknown, options: SpawnOptions | undefined): Promise<ActorRef>;
  spawnChildNow(parent: ContextCell, moduleUrl: URL | string, args: unknown, options: SpawnOptions | undefined): ActorRef;
  lookup(name: string): Promise<ActorRef | undefined>;
  requestStop(cell: ContextCell): void;
  startTimer(cell: ContextCell, ms: number, msg: unknown, repeat: boolean): Timer;
  replyLater(cell: ContextCell): DeferredReply;
  memoryFor(cell: ContextCell): MemoryContext;
  watch(cell: ContextCell, target: ActorRef): void;
  checkpointNow(cell: ContextCell): number;
  unwatch(cell: ContextCell, target: ActorRef): void;
  topicOp(cell: ContextCell, op: 'subscribe' | 'unsubscribe' | 'publish', topic: string, msg?: unknown): void;
  leaderOf(swarm: string): { leader: ActorRef | undefined; term: number } | undefined;
}

/**
 * The answer to an ask, given later (Erlang's `gen_server:reply`, Akka's kept
 * `sender()`): from `ctx.replyLater()`. The first `resolve` or `reject`
 * answers; later calls do nothing. For a tell (no one waiting) both do nothing
 * and `expected` is false.
 */
export interface DeferredReply {
  /**
   * True when an ask waits for this answer. False (and `resolve`/`reject` do
   * nothing) for a tell, when `replyLater` was called after an `await`, or
   * when it was called a second time for the same message.
   */
  readonly expected: boolean;
  /** Answers the ask with `value`: the asker's promise resolves with it. Does nothing after the first answer. */
  resolve(value: unknown): void;
  /** Fails the ask: the asker's promise rejects with `error` (a value that is not an Error is wrapped in one). Does nothing after the first answer. */
  reject(error: unknown): void;
}

/** A timer set by `ctx.after` or `ctx.every`; cancelled by itself when the actor stops. */
export interface Timer {
  /** Stops the timer: it fires no more. A message it already put in the mailbox is still delivered. Calling it again does nothing. */
  cancel(): void;
}

/**
 * What a handler gets besides its state and message: who it is, who sent the
 * message, and the calls that act on the world around it.
 */
export class ActorContext<Msg = unknown> {
  /** @internal */
  readonly cell: ContextCell;
  /** @internal */
  readonly host: ContextHost;
  /** The sender of the message being handled, when it came from an actor. */
  sender: ActorRef | undefined = undefined;

  /** @internal */
  constructor(cell: ContextCell, host: ContextHost) {
    this.cell = cell;
    this.host = host;
  }

  /** This actor's own ref. */
  get self(): ActorRef<Msg> {
    return this.cell.ref as ActorRef<Msg>;
  }

  /** This actor's registered name, if any. */
  get name(): string | undefined {
    return this.cell.ref.name;
  }

  /** The 0-based index of the pool thread this actor runs on. */
  get thread(): number {
    return this.host.threadIndex;
  }

  /**
   * This actor's children that have not stopped, in the order they started
   * (a {@link spawnNow} child from its spawn; a copy). A child on another thread leaves the list once its stop has
   * reached this thread, a message later (as Akka's `context.children`).
   */
  get children(): ActorRef[] {
    return [...(this.cell.children ?? [])];
  }

  /** The shared region pool, as this actor: alloc, free, share, release, views. */
  get memory(): MemoryContext {
    return this.host.memoryFor(this.cell);
  }

  /** Aborted when this actor stops: hand it to fetch, timers, or your own async work. */
  get signal(): AbortSignal {
    const cell = this.cell;
    if (cell.abort === undefined) {
      cell.abort = new AbortController();
      if (cell.stopped) cell.abort.abort();
    }
    return cell.abort.signal;
  }

  /**
   * Spawns a child actor, on this thread unless `options.thread` places it
   * elsewhere. Children stop when their parent stops.
   */
  spawn<ChildMsg = unknown, ChildReply = unknown>(
    moduleUrl: URL | string,
    args?: unknown,
    options?: import('./spawn-options.js').SpawnOptions,
  ): Promise<ActorRef<ChildMsg, ChildReply>> {
    return this.host.spawnChild(this.cell, moduleUrl, args, options) as Promise<ActorRef<ChildMsg, ChildReply>>;
  }

  /**
   * Spawns a child on this actor's thread and returns its ref at once, as
   * Akka's `context.spawn` and Erlang's `spawn` do: messages sent to it
   * before it has started wait in its mailbox. It starts before this returns
   * when this thread has its module loaded (an actor of that module ran
   * here: the actor's own module, say) and its `init` and `preStart` are
   * synchronous; otherwise as soon as they are done. Throws for bad input
   * (`name`, or a `thread` other than this one: use {@link spawn}), the
   * agent limit (AgentLimitError) and a stopped runtime or parent; a start
   * that fails later is published on `rt.failures` with phase `'init'`, and
   * the messages sent to it become dead letters. Children stop when their
   * parent stops. No promise is made: the way to spawn many children.
   */
  spawnNow<ChildMsg = unknown, ChildReply = unknown>(
    moduleUrl: URL | string,
    args?: unknown,
    options?: import('./spawn-options.js').SpawnOptions,
  ): ActorRef<ChildMsg, ChildReply> {
    return this.host.spawnChildNow(this.cell, moduleUrl, args, options) as ActorRef<ChildMsg, ChildReply>;
  }

  /**
   * Resolves the ref registered under `name`, or undefined. On a cluster node:
   * what `rt.lookup` finds, else the cluster-wide names read from the bucket.
   */
  lookup<M = unknown, R = unknown>(name: string): Promise<ActorRef<M, R> | undefined> {
    return this.host.lookup(name) as Promise<ActorRef<M, R> | undefined>;
  }

  /**
   * Takes over the answer to the message being handled: the handler's return
   * value no longer answers the ask; the returned object does, whenever the
   * actor is ready (for example after children report back). Call it in the
   * synchronous part of the handler.
   */
  replyLater(): DeferredReply {
    return this.host.replyLater(this.cell);
  }

  /**
   * Death watch: when `ref`'s actor terminates, for any reason and on any
   * thread, this actor receives `{ type: 'terminated', actor, reason }` as a
   * message, once. Watching an actor that has already terminated delivers it
   * at once (Akka's semantics). Watching it again before its Terminated has
   * arrived changes nothing: one watch, one Terminated (Akka's `watch` is
   * idempotent too; Erlang's `monitor` is not). Include `Terminated` in your
   * message type.
   */
  watch(ref: ActorRef): void {
    this.host.watch(this.cell, ref);
  }

  /** Stops watching `ref` (a Terminated already on its way may still arrive). */
  unwatch(ref: ActorRef): void {
    this.host.unwatch(this.cell, ref);
  }

  /**
   * Checkpoints this actor now, from inside a handler (Akka Persistence's
   * saveSnapshot): its `snapshot(state)` as the state is at this moment,
   * stored in the shared pool for restarts and crash recovery. Returns the
   * snapshot's size in bytes. Throws InvalidArgumentError when the
   * definition has no `snapshot`, PoolExhaustedError when the pool is full.
   */
  checkpoint(): number {
    return this.host.checkpointNow(this.cell);
  }

  /**
   * Subscribes this actor to `topic`: everything published there arrives as
   * a message. The subscription ends when the actor stops (or is lost with
   * its thread); one brought back after a crash keeps it.
   */
  subscribe(topic: string): void {
    this.host.topicOp(this.cell, 'subscribe', topic);
  }

  /**
   * Ends this actor's subscription to `topic` (nothing happens when it has
   * none). The registry is the main thread's: a publish already on its way
   * may still arrive.
   */
  unsubscribe(topic: string): void {
    this.host.topicOp(this.cell, 'unsubscribe', topic);
  }

  /** Publishes `msg` to every subscriber of `topic` (through the main thread's registry; this actor is the sender). */
  publish(topic: string, msg: unknown): void {
    this.host.topicOp(this.cell, 'publish', topic, msg);
  }

  /**
   * The leader of swarm `swarm` and its term, as this thread last heard, or
   * undefined. A leader stamps what it sends with its term
   * (`fenced(swarm, term, msg)`); members refuse a stale one.
   */
  leaderOf(swarm: string):
    | {
        /** The leading member; undefined when no live member is left to lead. */
        leader: ActorRef | undefined;
        /** The leader's term: one more at every leader change. Stamp fenced messages with it. */
        term: number;
      }
    | undefined {
    return this.host.leaderOf(swarm);
  }

  /** Stops this actor after the current handler returns; queued messages become dead letters. */
  stop(): void {
    this.host.requestStop(this.cell);
  }

  /** Delivers `msg` to this actor once, after `ms` milliseconds. */
  after(ms: number, msg: Msg): Timer {
    return this.host.startTimer(this.cell, ms, msg, false);
  }

  /** Delivers `msg` to this actor every `ms` milliseconds until cancelled or stopped. */
  every(ms: number, msg: Msg): Timer {
    return this.host.startTimer(this.cell, ms, msg, true);
  }
}
