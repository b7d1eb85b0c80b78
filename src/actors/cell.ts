/**
 * An actor as its host thread holds it: private state, mailbox, flags for
 * the scheduler, and what must be undone when it stops (timers, children).
 * @internal
 */
import type { ActorDefinition } from './define.js';
import { Mailbox } from './mailbox.js';
import type { ActorRef } from './ref.js';
import type { ActorContext } from './context.js';
import type { MemoryContext } from '../memory/context.js';

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
  readonly mailbox = new Mailbox();
  ctx!: ActorContext;
  /** In the thread's ready queue. */
  scheduled = false;
  /** An async handler is running; the next message waits for it. */
  busy = false;
  /** init has finished; messages are handled only after that. */
  started = false;
  /** rt.suspend(): messages queue (up to the bound) and none is handled until rt.resume(). */
  suspended = false;
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
  /** Actors watching this one (ctx.watch), told Terminated when it stops. */
  watchers: Set<ActorRef> | undefined;
  /** Reply tag of the message being handled; kNoReply once `replyLater` took it. */
  replyTag = -1;

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

  addTimer(timer: NodeJS.Timeout): void {
    (this.timers ??= new Set()).add(timer);
  }

  addChild(child: ActorRef): void {
    (this.children ??= new Set()).add(child);
  }
}
