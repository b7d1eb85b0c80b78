/**
 * An actor as its host thread holds it: private state, mailbox, flags for
 * the scheduler, and what must be undone when it stops (timers, children).
 *
 * A thread may hold a million cells (skynet), most living a few
 * microseconds: a cell keeps few fields. Its yes/no flags are bits of one
 * number, and what only some actors ever use (migration, restarts,
 * watches, timers, checkpoints, tracing) lives in a {@link CellRare} made
 * the first time one of those is set. Getters and setters keep the fields'
 * names, so the code using them reads as before.
 * @internal
 */
import { Children } from './children.js';
import type { ActorDefinition } from './define.js';
import type { HandlerTimes } from './handler-times.js';
import { emptyMailbox, type Mailbox } from './mailbox.js';
import type { ActorRef } from './ref.js';
import type { ActorContext } from './context.js';
import type { MemoryContext } from './memory.js';

// Bits of Cell.flags.
const kScheduled = 1;
const kBusy = 2;
const kStarted = 4;
const kSuspended = 8;
const kFailed = 16;
const kMigrating = 32;
const kRestarting = 64;
const kRestartSoon = 128;
const kStopRequested = 256;
const kStopped = 512;
const kCompleted = 1024;
const kAtMostOnce = 2048;
const kBuilding = 4096;
const kStale = 8192;
/** suspended || failed || migrating: the scheduler handles none of its messages. */
const kHeld = kSuspended | kFailed | kMigrating;

/** The fields of a cell that most actors never set (see the file comment). @internal */
export class CellRare {
  move: { bytes: Uint8Array; to: number; fences: number; done: (() => void) | undefined } | undefined = undefined;
  arriving: { forwarded: Mailbox; done: Array<() => void> } | undefined = undefined;
  idleWaiters: Array<() => void> | undefined = undefined;
  pendingRestart: { error: Error; delayMs?: number } | undefined = undefined;
  restartTimer: NodeJS.Timeout | undefined = undefined;
  supervision: import('./supervision.js').SupervisorState | undefined = undefined;
  escalated: Set<ActorRef> | undefined = undefined;
  terminationReason: 'stopped' | 'failed' | undefined = undefined;
  checkpointWaiters: Array<{ run: (failed: Error | undefined) => void; closing: boolean }> | undefined = undefined;
  timers: Set<NodeJS.Timeout> | undefined = undefined;
  abort: AbortController | undefined = undefined;
  stopWaiters: Array<() => void> | undefined = undefined;
  memory: MemoryContext | undefined = undefined;
  watching: Set<ActorRef> | undefined = undefined;
  watchers: Set<ActorRef> | undefined = undefined;
  traceSpan: { name: string; attributes: Readonly<Record<string, string | number | boolean>> } | undefined = undefined;
  handlerTimes: HandlerTimes | undefined = undefined;
}

export class Cell {
  readonly slot: number;
  readonly gen: number;
  /** Replaced once, when the module of a ctx.spawnNow child has loaded (engine/spawning.ts). */
  def: ActorDefinition;
  readonly ref: ActorRef;
  readonly moduleUrl: string;
  readonly parent: ActorRef | undefined;
  /** Mailbox bound (0 = unbounded) and overflow policy code, as in the directory. */
  readonly capacity: number;
  readonly policy: number;
  state: unknown = undefined;
  /** The shared empty mailbox until its first message (mailbox.ts). */
  mailbox: Mailbox = emptyMailbox;
  ctx!: ActorContext;
  /** The k* bits above. */
  private flags = 0;
  // The flags, each a bit of `flags` (accessors defined below the class).
  /** In the thread's ready queue. */
  declare scheduled: boolean;
  /** An async handler is running; the next message waits for it. */
  declare busy: boolean;
  /** init has finished; messages are handled only after that. */
  declare started: boolean;
  /** rt.suspend(): messages queue (up to the bound) and none is handled until rt.resume(). */
  declare readonly suspended: boolean;
  /** Failed, waiting for its supervisor's directive (or for a restart to run). */
  declare readonly failed: boolean;
  /** Being moved to another thread (rt.migrate): held until it arrives there. */
  declare readonly migrating: boolean;
  /** A restart is running (its async steps): no second one starts meanwhile. */
  declare restarting: boolean;
  /** A restart without delay is scheduled (setImmediate). */
  declare restartSoon: boolean;
  /** stop() was asked for; takes effect after the running handler. */
  declare stopRequested: boolean;
  declare stopped: boolean;
  /** Its slot was released: nothing of it is left to undo. */
  declare completed: boolean;
  /** Its `init` (or `restore`) runs, synchronously or not: it has no state yet (a `ctx.checkpoint()` now is refused). */
  declare building: boolean;
  /** A restart ran `preRestart` (or `postStop`) on its state and has no new one yet: a stop now runs no `postStop` again. */
  declare stale: boolean;
  /** The spawn arguments, passed to `init` again on a restart. */
  args: unknown = undefined;
  /** Messages handled since the last checkpoint. */
  sinceCheckpoint = 0;
  /** Its children (children.ts): a few in an array, many in a Map by slot. */
  children: Children | undefined = undefined;
  /** Reply tag of the message being handled; kNoReply once `replyLater` took it. */
  replyTag = -1;
  /** Its module's index in its thread's metric counters (engine/metering.ts). */
  meterModule = 0;
  /** @internal Made the first time a rare field is set (through the accessors below the class). */
  rare: CellRare | undefined = undefined;
  // The rare fields, read and written through `rare` (accessors defined below the class).
  /** Migration, source side: the encoded move, the destination, fences still awaited, and who waits. */
  declare move: CellRare['move'];
  /** Migration, destination side: messages forwarded from the source (they go first), and who waits for the arrival. */
  declare arriving: CellRare['arriving'];
  /** Called when the running async handler settles (migration waits for it). */
  declare idleWaiters: CellRare['idleWaiters'];
  /** A restart asked for while an async handler ran (done when it settles), or while it moved (`delayMs` set: done once it has arrived). */
  declare pendingRestart: CellRare['pendingRestart'];
  declare restartTimer: CellRare['restartTimer'];
  /** Supervisor memory of this actor's children's restarts (created on the first failure). */
  declare supervision: CellRare['supervision'];
  /** Children whose failure this actor escalated: resumed with it, stopped when it restarts. */
  declare escalated: CellRare['escalated'];
  /** Why it terminates, as its watchers will be told. */
  declare terminationReason: CellRare['terminationReason'];
  /** rt.checkpoint() calls waiting for the running async handler (called with an error if it stops). */
  declare checkpointWaiters: CellRare['checkpointWaiters'];
  declare timers: CellRare['timers'];
  declare abort: CellRare['abort'];
  declare stopWaiters: CellRare['stopWaiters'];
  declare memory: CellRare['memory'];
  /** Actors this one watches (to settle its watches when their thread dies). */
  declare watching: CellRare['watching'];
  /** Actors watching this one (ctx.watch), told Terminated when it stops. */
  declare watchers: CellRare['watchers'];
  /** The name and attributes of its tracing `process` spans (engine/tracing.ts), made at its first traced message. */
  declare traceSpan: CellRare['traceSpan'];
  /** Its recent timed handler times, for its p99 in `rt.inspect()` (handler-times.ts); undefined until one was timed. */
  declare handlerTimes: CellRare['handlerTimes'];

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

  private setFlag(bit: number, value: boolean): void {
    this.flags = value ? this.flags | bit : this.flags & ~bit;
  }

  /** suspended || failed || migrating: the scheduler handles none of its messages. */
  get held(): boolean {
    return (this.flags & kHeld) !== 0;
  }
  /** A supervisor restart runs, or is due (now, after a backoff, or after its running handler). */
  get restartDue(): boolean {
    return this.restarting || this.restartSoon || this.restartTimer !== undefined || this.pendingRestart !== undefined;
  }
  /** What happens to the message it was handling if its thread dies (see SpawnOptions.delivery). */
  get delivery(): 'at-least-once' | 'at-most-once' {
    return (this.flags & kAtMostOnce) !== 0 ? 'at-most-once' : 'at-least-once';
  }
  set delivery(value: 'at-least-once' | 'at-most-once') {
    this.setFlag(kAtMostOnce, value === 'at-most-once');
  }

  setSuspended(value: boolean): void {
    this.setFlag(kSuspended, value);
  }

  setMigrating(value: boolean): void {
    this.setFlag(kMigrating, value);
  }

  setFailed(value: boolean): void {
    this.setFlag(kFailed, value);
  }

  addTimer(timer: NodeJS.Timeout): void {
    (this.timers ??= new Set()).add(timer);
  }

  addChild(child: ActorRef): void {
    (this.children ??= new Children()).add(child);
  }
}

/** The fields of {@link CellRare}, each a Cell accessor reading and writing it there. */
const rareFields = Object.keys(new CellRare()) as Array<keyof CellRare>;
for (const field of rareFields) {
  Object.defineProperty(Cell.prototype, field, {
    get(this: Cell) {
      return this.rare?.[field];
    },
    set(this: Cell, value: unknown) {
      // Writing undefined where nothing was set makes nothing.
      if (this.rare === undefined) {
        if (value === undefined) return;
        this.rare = new CellRare();
      }
      (this.rare as unknown as Record<string, unknown>)[field] = value;
    },
  });
}

/** The flag accessors of Cell and their bits (suspended, failed, migrating are written through their set* methods). */
const flagBits: Readonly<Record<string, number>> = {
  scheduled: kScheduled,
  busy: kBusy,
  started: kStarted,
  suspended: kSuspended,
  failed: kFailed,
  migrating: kMigrating,
  restarting: kRestarting,
  restartSoon: kRestartSoon,
  stopRequested: kStopRequested,
  stopped: kStopped,
  completed: kCompleted,
  building: kBuilding,
  stale: kStale,
};
for (const [field, bit] of Object.entries(flagBits)) {
  Object.defineProperty(Cell.prototype, field, {
    get(this: { flags: number }) {
      return (this.flags & bit) !== 0;
    },
    set(this: { flags: number }, value: boolean) {
      this.flags = value ? this.flags | bit : this.flags & ~bit;
    },
  });
}
