/**
 * An actor as its host thread holds it: private state, mailbox, flags for
 * the scheduler, and what must be undone when it stops (timers, children).
 * @internal
 */
import type { ActorDefinition } from './define.js';
import type { HandlerTimes } from './handler-times.js';
import { Mailbox } from './mailbox.js';
import type { ActorRef } from './ref.js';
import type { ActorContext } from './context.js';
import type { MemoryContext } from './memory.js';

export class Cell {
  readonly slot: number;
  readonly gen: number;
  readonly def: ActorDefinition;
  readonly ref: ActorRef;
  readonly moduleUrl: string;
  readonly parent: ActorRef | undefined;
  /** Mailbox bound (0 = unbounded) and overflow policy code, as in the directory. */
  readonly capacity: number;
  readonly policy: number;
  state: unknown = undefined;
  mailbox = new Mailbox();
  ctx!: ActorContext;
  /** In the thread's ready queue. */
  scheduled = false;
  /** An async handler is running; the next message waits for it. */
  busy = false;
  /** init has finished; messages are handled only after that. */
  started = false;
  /** rt.suspend(): messages queue (up to the bound) and none is handled until rt.resume(). */
  suspended = false;
  /** Failed, waiting for its supervisor's directive (or for a restart to run). */
  failed = false;
  /** Being moved to another thread (rt.migrate): held until it arrives there. */
  migrating = false;
  /** Migration, source side: the encoded move, the destination, fences still awaited, and who waits. */
  move: { bytes: Uint8Array; to: number; fences: number; done: (() => void) | undefined } | undefined;
  /** Migration, destination side: messages forwarded from the source (they go first), and who waits for the arrival. */
  arriving: { forwarded: Mailbox; done: Array<() => void> } | undefined;
  /** Called when the running async handler settles (migration waits for it). */
  idleWaiters: Array<() => void> | undefined;
  /** suspended || failed || migrating: the scheduler handles none of its messages. */
  held = false;
  /** The spawn arguments, passed to `init` again on a restart. */
  args: unknown;
  /** A restart asked for while an async handler ran: done when it settles. */
  pendingRestart: { error: Error } | undefined;
  restartTimer: NodeJS.Timeout | undefined;
  /** A restart is running (its async steps): no second one starts meanwhile. */
  restarting = false;
  /** A restart without delay is scheduled (setImmediate). */
  restartSoon = false;
  /** Supervisor memory of this actor's children's restarts (created on the first failure). */
  supervision: import('./supervision.js').SupervisorState | undefined;
  /** Children whose failure this actor escalated: resumed with it, stopped when it restarts. */
  escalated: Set<ActorRef> | undefined;
  /** Why it terminates, as its watchers will be told. */
  terminationReason: 'stopped' | 'failed' | undefined;
  /** What happens to the message it was handling if its thread dies (see SpawnOptions.delivery). */
  delivery: 'at-least-once' | 'at-most-once' = 'at-least-once';
  /** Messages handled since the last checkpoint. */
  sinceCheckpoint = 0;
  /** rt.checkpoint() calls waiting for the running async handler (called with an error if it stops). */
  checkpointWaiters: Array<(failed: Error | undefined) => void> | undefined;
  /** stop() was asked for; takes effect after the running handler. */
  stopRequested = false;
  stopped = false;
  /** Its slot was released: nothing of it is left to undo. */
  completed = false;
  timers: Set<NodeJS.Timeout> | undefined;
  children: Set<ActorRef> | undefined;
  abort: AbortController | undefined;
  stopWaiters: Array<() => void> | undefined;
  memory: MemoryContext | undefined;
  /** Actors this one watches (to settle its watches when their thread dies). */
  watching: Set<ActorRef> | undefined;
  /** Actors watching this one (ctx.watch), told Terminated when it stops. */
  watchers: Set<ActorRef> | undefined;
  /** Reply tag of the message being handled; kNoReply once `replyLater` took it. */
  replyTag = -1;
  /** Its module's index in its thread's metric counters (engine/metering.ts). */
  meterModule = 0;
  /** The name and attributes of its tracing `process` spans (engine/tracing.ts), made at its first traced message. */
  traceSpan: { name: string; attributes: Readonly<Record<string, string | number | boolean>> } | undefined = undefined;
  /** Its recent timed handler times, for its p99 in `rt.inspect()` (handler-times.ts); undefined until one was timed. */
  handlerTimes: HandlerTimes | undefined = undefined;

  constructor(
    slot: number,
    gen: number,
    def: ActorDefinition,
    ref: ActorRef,
    moduleUrl: string,
    parent: ActorRef | undefined,
    capacity: number,
    policy: number,
  ) {
    this.slot = slot;
    this.gen = gen;
    this.def = def;
    this.ref = ref;
    this.moduleUrl = moduleUrl;
    this.parent = parent;
    this.capacity = capacity;
    this.policy = policy;
  }

  // `held` is kept, not computed, because the scheduler reads it per message.
  setSuspended(value: boolean): void {
    this.suspended = value;
    this.updateHeld();
  }

  setMigrating(value: boolean): void {
    this.migrating = value;
    this.updateHeld();
  }

  setFailed(value: boolean): void {
    this.failed = value;
    this.updateHeld();
  }

  private updateHeld(): void {
    this.held = this.suspended || this.failed || this.migrating;
  }

  addTimer(timer: NodeJS.Timeout): void {
    (this.timers ??= new Set()).add(timer);
  }

  addChild(child: ActorRef): void {
    (this.children ??= new Set()).add(child);
  }
}
