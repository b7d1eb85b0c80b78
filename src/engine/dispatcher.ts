/**
 * The dispatcher: the actors' mailboxes and the loop that runs them.
 *
 * Scheduling: a FIFO of ready actors; each gets at most `throughput` messages
 * per turn (Akka's dispatcher throughput), an async handler is awaited before
 * that actor's next message while other actors go on. The drain loop reads
 * the rings (through Inbound) and runs ready actors until neither has work;
 * after a pass with no work a worker polls its rings for up to `spinUs`, the
 * main thread for up to `mainSpinUs` while it awaits an ask's reply, then
 * each parks on Atomics.waitAsync.
 *
 * Hot path: `enqueue` and `runCell`. Nothing here allocates per message;
 * the parts it calls per message are fields set once (`wire`).
 */
import type { Cell } from '../actors/cell.js';
import { Envelope, Fenced, Poisoned, Proposal, Relay } from '../actors/envelope.js';
import { emptyMailbox, kNoReply, takeMailbox } from '../actors/mailbox.js';
import type { ActorRef } from '../actors/ref.js';
import { Task } from '../actors/task.js';
import { ActorCrashedError, ActorStoppedError, MailboxFullError, PoisonMessageError, StaleTermError, toError } from '../base/errors.js';
import { kPolicyDropOldest, type Directory } from '../transport/directory.js';
import type { ActorCounts } from '../transport/actor-counts.js';
import type { Journal } from '../transport/journal.js';
import type { FrameHandler, Transport } from '../transport/transport.js';
import type { TurnWriter } from '../transport/turns.js';
import type { Metering } from './metering.js';
import type {
  AsksPart,
  CheckpointsPart,
  DispatcherPart,
  Engine,
  EnvelopesPart,
  InboundPart,
  LifecyclePart,
  SupervisorPart,
  TracingPart,
  WatchPart,
} from './parts.js';
import { isThenable, type DeadLetterReason, type EndpointConfig, type SystemHandler } from './types.js';
import { ReadyQueue } from './ready-queue.js';
import { watchHandlerTime } from './handler-timeout.js';
import { SpinBudget } from './spin.js';

/** Messages `runReady` handles before the drain loop reads the rings again. */
const kReadyBudget = 256;
/** Messages `runReady` handles between looks at the rings: it ends early when something has arrived. */
const kInboundCheckEvery = 8;
/** Drains run in a row in microtasks before one goes through the event loop (`requestDrainSoon`). */
const kMicroDrains = 64;
const kResolved = Promise.resolve();

/** @internal */
export class Dispatcher implements DispatcherPart {
  private readonly engine: Engine;
  private readonly index: number;
  private readonly config: EndpointConfig;
  private readonly dir: Directory;
  /** Messages handled per actor slot, in shared memory (actor-counts.ts). */
  private readonly counts: ActorCounts;
  /** Publishes which handler runs now, for the main thread's watchdog. */
  private readonly turns: TurnWriter;
  /** Metric counts and samples (metering.ts): messages handled, handler time, time in mailbox. */
  private readonly metering: Metering;
  private readonly ready = new ReadyQueue();
  private busyCount = 0;
  private draining = false;
  private drainScheduled = false;
  /** A drain is due in a microtask (`requestDrainSoon`), and how many ran in a row since one went through the event loop. */
  private microScheduled = false;
  private microDrains = 0;
  private idleScheduled = false;
  /** How long this thread polls its rings before it parks (spin.ts). */
  private readonly spinBudget: SpinBudget;
  /** The actor whose handler (or init, or hook) runs now: ctx.self, the implicit sender, the memory owner. */
  current: Cell | undefined = undefined;
  /** Messages handled on this endpoint, for quiescence detection and stats. */
  handled = 0;
  private transport!: Transport;
  private system!: SystemHandler;
  private journal: Journal | undefined;
  private onFrame!: FrameHandler;
  private asks!: AsksPart;
  private inbound!: InboundPart;
  private lifecycle!: LifecyclePart;
  private supervisor!: SupervisorPart;
  private envelopes!: EnvelopesPart;
  private checkpoints!: CheckpointsPart;
  private deathWatch!: WatchPart;
  private tracing!: TracingPart;

  constructor(engine: Engine, turns: TurnWriter, metering: Metering) {
    this.engine = engine;
    this.metering = metering;
    this.index = engine.index;
    this.config = engine.config;
    this.dir = engine.dir;
    this.counts = engine.dir.actorCounts;
    this.turns = turns;
    this.spinBudget = new SpinBudget(this.index === 0 ? engine.config.mainSpinUs : engine.config.spinUs, this.index === 0);
  }

  /** Takes the parts it calls once they all exist. */
  wire(): void {
    const engine = this.engine;
    this.transport = engine.transport;
    this.system = engine.system;
    this.journal = engine.journal;
    this.onFrame = engine.inbound.onFrame;
    this.asks = engine.asks;
    this.inbound = engine.inbound;
    this.lifecycle = engine.lifecycle;
    this.supervisor = engine.supervisor;
    this.envelopes = engine.envelopes;
    this.checkpoints = engine.checkpoints;
    this.deathWatch = engine.deathWatch;
    this.tracing = engine.tracing;
  }

  // --------------------------------------------------------------- mailboxes

  /** `trace`: the trace context it was sent in (tracing.ts), undefined when it was sent outside a trace. */
  enqueue(cell: Cell, msg: unknown, sender: ActorRef | undefined, replyTag: number, entry = -1, trace: unknown = undefined): void {
    // Terminated arrives once per watch: a second one (a watch request that
    // reached a thread after it was replaced, say) or one after unwatch is dropped.
    if (cell.watching !== undefined && replyTag === kNoReply && this.deathWatch.isUnexpected(cell, msg)) {
      this.takeDepth(cell);
      this.inbound.finishEntry(entry);
      return;
    }
    if (cell.policy === kPolicyDropOldest && cell.capacity > 0 && cell.mailbox.length >= cell.capacity) {
      const mailbox = cell.mailbox;
      const at = mailbox.peekIndex();
      const oldMsg = mailbox.msgAt(at);
      const oldSender = mailbox.senderAt(at);
      const oldTag = mailbox.replyTagAt(at);
      const oldEntry = mailbox.journalAt(at);
      mailbox.drop();
      this.metering.dequeued(cell, false);
      this.takeDepth(cell);
      this.inbound.finishEntry(oldEntry);
      this.system.deadLetter({ recipient: cell.ref, message: oldMsg, sender: oldSender, reason: 'dropped-oldest' });
      if (oldTag !== kNoReply) {
        this.asks.reply(oldTag, new MailboxFullError(cell.ref.toString(), cell.capacity, 'dropped this ask (drop-oldest)'), true);
      }
    }
    this.metering.enqueued(cell);
    let mailbox = cell.mailbox;
    if (mailbox === emptyMailbox) cell.mailbox = mailbox = takeMailbox();
    mailbox.push(msg, sender, replyTag, entry, trace);
    if (!cell.scheduled && !cell.busy && cell.started && !cell.held) {
      cell.scheduled = true;
      this.ready.push(cell);
      if (!this.draining) this.requestDrainSoon();
    }
  }

  /** Takes one message off an actor's bounded-mailbox count; wakes a blocked `send`. */
  private takeDepth(cell: Cell): void {
    if (cell.capacity === 0) return;
    Atomics.sub(this.dir.depth, cell.slot, 1);
    if (Atomics.load(this.dir.waiters, cell.slot) !== 0) {
      Atomics.store(this.dir.waiters, cell.slot, 0);
      Atomics.notify(this.dir.depth, cell.slot);
    }
  }

  /** A message that reached a stopped actor: dead letter, and an ask is rejected. */
  dropMessage(
    recipient: ActorRef,
    cell: Cell | undefined,
    msg: unknown,
    sender: ActorRef | undefined,
    replyTag: number,
    reason: DeadLetterReason,
    detail?: string,
  ): void {
    if (cell !== undefined) this.takeDepth(cell);
    // An actor lost with its thread: say so.
    if (reason === 'stopped' && this.dir.whyGone(recipient.slot, recipient.gen) === 'crashed') reason = 'crashed';
    this.system.deadLetter({ recipient, message: msg, sender, reason });
    if (replyTag === kNoReply) return;
    const error =
      reason === 'crashed'
        ? new ActorCrashedError(recipient.toString())
        : reason === 'stale-term'
          ? new StaleTermError(recipient.toString(), detail ?? 'a stale leader term')
          : new ActorStoppedError(recipient.toString());
    this.asks.reply(replyTag, error, true);
  }

  /** Everything in `cell`'s mailbox becomes a dead letter (it stopped, or never started). */
  drainToDeadLetters(cell: Cell, reason: DeadLetterReason): void {
    this.metering.forget(cell);
    cell.mailbox.takeEach((msg, sender, replyTag, entry) => {
      this.dropMessage(cell.ref, cell, msg, sender, replyTag, reason);
      this.inbound.finishEntry(entry);
    });
  }

  /** A cell has just started: it runs if messages wait for it. */
  activated(cell: Cell): void {
    if (cell.mailbox.length > 0 && !cell.scheduled) {
      cell.scheduled = true;
      this.ready.push(cell);
      if (!this.draining) this.requestDrain();
    }
  }

  /** Puts an actor back in the ready queue if it can run and has mail. */
  reschedule(cell: Cell): void {
    if (cell.started && !cell.held && !cell.busy && !cell.scheduled && !cell.stopped && cell.mailbox.length > 0) {
      cell.scheduled = true;
      this.ready.push(cell);
      if (!this.draining) this.requestDrain();
    }
  }

  /**
   * Suspends or resumes an actor of this thread. A suspended actor finishes
   * the handler it is in, then handles nothing; its mailbox keeps accepting
   * messages up to its bound. Returns false when the actor is not here.
   */
  setSuspended(ref: ActorRef, suspended: boolean): boolean {
    const cell = this.engine.cells[ref.slot];
    if (cell === undefined || cell.gen !== ref.gen || cell.stopped) return false;
    cell.setSuspended(suspended);
    this.reschedule(cell);
    return true;
  }

  // ------------------------------------------------------------- the loop

  /** Runs the drain loop soon (from the event loop), unless it runs or is due already. */
  requestDrain(): void {
    if (this.drainScheduled || this.engine.closed) return;
    this.drainScheduled = true;
    setImmediate(this.drain);
  }

  /**
   * A message was queued outside the drain loop. On a pool thread with an
   * async handler in flight, that message most likely came from a handler's
   * continuation (an actor awaiting asks in a loop): it is drained in a
   * microtask, not a `setImmediate` hop later (a hop cost more than the whole
   * ask). At most kMicroDrains in a row, then one drain goes through the
   * event loop, so that timers and I/O still run. Not on the main thread
   * (the user's), and not on an idle pool thread: a message that a control
   * request's handling queued there (a journal replay on a replacement
   * thread, say) must wait until that thread has answered the request.
   */
  private requestDrainSoon(): void {
    if (this.busyCount === 0 || this.index === 0 || this.microDrains >= kMicroDrains) {
      this.requestDrain();
      return;
    }
    if (this.microScheduled || this.drainScheduled || this.engine.closed) return;
    this.microScheduled = true;
    this.microDrains++;
    kResolved.then(this.drainInMicrotask);
  }

  /**
   * A drain from a microtask runs the ready actors only: the rings are read
   * by the full drain that at most kMicroDrains of these in a row lead to
   * (as a conversation between actors of this thread goes on for
   * kReadyBudget messages in `runReady` before the rings are read). A
   * parked thread (woken by something other than its bell) drains in full.
   */
  private readonly drainInMicrotask = (): void => {
    this.microScheduled = false;
    if (this.spinBudget.parkedAt !== 0) {
      this.runDrain();
      return;
    }
    if (this.engine.closed || this.draining) return;
    this.draining = true;
    try {
      this.runReady();
      if (this.transport.hasBacklog) this.transport.flushAll();
    } finally {
      this.draining = false;
    }
    if (this.ready.nonEmpty) this.requestDrain();
    else this.scheduleIdle();
  };

  /** Reads the rings and runs ready actors until there is nothing left, then idles. */
  readonly drain = (): void => {
    this.drainScheduled = false;
    this.microDrains = 0;
    this.runDrain();
  };

  private runDrain(): void {
    if (this.engine.closed || this.draining) return;
    this.spinBudget.woke();
    this.draining = true;
    this.tracing.refresh(); // a tracer provider registered or removed since the last round
    this.transport.unpark();
    try {
      for (let rounds = 0; ; rounds++) {
        // Progress of the scheduler is a heartbeat too: a long busy drain is
        // not a stuck thread; only a handler that never returns stops these.
        if (this.index !== 0) this.transport.beat();
        let work = this.transport.poll(this.onFrame);
        work += this.runReady();
        if (this.transport.hasBacklog) this.transport.flushAll();
        if (work === 0) break;
        if (rounds >= 32) {
          // Let timers, I/O and promise continuations run.
          this.draining = false;
          this.requestDrain();
          return;
        }
      }
    } finally {
      this.draining = false;
    }
    this.scheduleIdle();
  }

  private scheduleIdle(): void {
    if (this.idleScheduled || this.engine.closed) return;
    this.idleScheduled = true;
    setImmediate(this.idle);
  }

  /**
   * Runs after promise continuations and I/O had their turn: spins briefly on
   * the rings (spin.ts), then parks. Spinning here, not at the end of
   * `drain`, keeps it from delaying continuations that would create work.
   */
  private readonly idle = (): void => {
    this.idleScheduled = false;
    if (this.engine.closed || this.drainScheduled || this.draining) return;
    if (this.ready.nonEmpty || this.spinBudget.spin(this.hasInbound, this.busyCount > 0, this.awaiting)) {
      this.drain();
      return;
    }
    if (!this.transport.park(this.hasLocalWork)) this.requestDrain();
    else this.spinBudget.parked();
  };

  private readonly hasLocalWork = (): boolean => this.ready.nonEmpty;
  private readonly hasInbound = (): boolean => this.transport.hasInbound();
  private readonly awaiting = (): boolean => this.asks.awaiting();

  /** True when this thread has nothing queued, running or unread. */
  isIdle(): boolean {
    return !this.ready.nonEmpty && this.busyCount === 0 && !this.transport.hasInbound() && !this.transport.hasBacklog;
  }

  /** Reads whatever the rings hold now (shutdown's last look for dead letters). */
  pollNow(): void {
    while (this.transport.poll(this.onFrame) > 0) {
      // keep reading
    }
  }

  /**
   * Runs ready actors, including those their turns make ready (a
   * conversation between actors of this thread goes on without reading the
   * rings, beating and yielding between messages), until none is ready or
   * kReadyBudget messages were handled; then the drain loop reads the rings.
   * Every kInboundCheckEvery messages it looks whether anything has arrived
   * from another thread, and if so ends early so that the drain loop reads
   * it: a conversation of this thread's actors that never runs dry must not
   * hold back the other threads' messages for a whole budget (measured: an
   * ant colony whose colony actor shared its thread with busy ants left the
   * other thread's ants waiting for answers, two thirds of the time idle).
   */
  private runReady(): number {
    let handled = 0;
    let look = kInboundCheckEvery;
    for (let cell = this.ready.shift(); cell !== undefined; cell = this.ready.shift()) {
      handled += this.runCell(cell);
      if (handled >= kReadyBudget) break;
      if (handled >= look) {
        if (this.transport.hasInbound()) break;
        look = handled + kInboundCheckEvery;
      }
    }
    return handled;
  }

  // -------------------------------------------------------------- turns

  /** Runs up to `throughput` messages of one actor. */
  private runCell(cell: Cell): number {
    const mailbox = cell.mailbox;
    const def = cell.def;
    const limit = this.config.throughput;
    let count = 0;
    // `cell.mailbox === mailbox`: a handler that got its own actor stopped
    // (its mailbox recycled, and maybe another actor's by now) ends the turn.
    while (count < limit && mailbox.length > 0 && !cell.stopRequested && !cell.held && cell.mailbox === mailbox) {
      const at = mailbox.peekIndex();
      const msg = mailbox.msgAt(at);
      const sender = mailbox.senderAt(at);
      let replyTag = mailbox.replyTagAt(at);
      const entry = mailbox.journalAt(at);
      const trace = mailbox.traceAt(at);
      mailbox.drop();
      this.metering.dequeued(cell, true);
      if (cell.capacity > 0) this.takeDepth(cell);
      if (entry >= 0) this.journal?.running(entry);
      count++;
      cell.ctx.sender = sender;
      cell.replyTag = replyTag;
      this.current = cell;
      let result: unknown;
      // One handler in `sampleEvery` is timed for metrics (metering.ts).
      const timed = this.metering.timeHandler();
      const began = def.handlerTimeoutMs === undefined && !timed ? 0 : performance.now();
      // Envelopes the runtime opens first: a task goes to the agent's `task`
      // handler, a proposal to `vote`; a relay is passed on, a fenced
      // message checked against the swarm's term, then their message handled.
      let task: Task | Proposal | undefined;
      let relay: Relay | undefined;
      let handled = msg;
      if (msg instanceof Envelope) {
        if (msg instanceof Task || msg instanceof Proposal) task = msg;
        else if (msg instanceof Relay) {
          relay = msg; // passed on below, in its process span when traced
          handled = msg.msg;
        } else if (msg instanceof Poisoned) {
          this.current = undefined;
          this.system.deadLetter({ recipient: cell.ref, message: msg.msg, sender, reason: 'poison' });
          this.handlerFailed(cell, new PoisonMessageError(cell.ref.toString(), msg.crashes), replyTag);
          this.inbound.finishEntry(entry);
          continue;
        } else if (msg instanceof Fenced) {
          const known = this.envelopes.staleAgainst(msg);
          if (known !== undefined) {
            this.current = undefined;
            // Its depth was taken when it was dequeued: no cell here, or it would be taken twice.
            this.dropMessage(
              cell.ref,
              undefined,
              msg.msg,
              sender,
              replyTag,
              'stale-term',
              `term ${msg.term} of swarm "${msg.swarm}", this thread knows term ${known}`,
            );
            this.inbound.finishEntry(entry);
            continue;
          }
          handled = msg.msg;
        }
      }
      // tracing (tracing.ts): a message sent in a trace is handled in a CONSUMER span.
      const span = trace !== undefined && this.tracing.on ? this.tracing.beginProcess(cell, trace) : undefined;
      // A relayed broadcast goes on to the member's children before it handles it, carrying its process span.
      if (relay !== undefined) this.envelopes.passOn(cell, relay);
      // Its start is progress; while it runs, the watchdog can name it.
      this.turns.begin(cell.slot, entry);
      try {
        if (span === undefined) result = task === undefined ? def.receive(cell.state, handled, cell.ctx) : this.envelopes.start(cell, task);
        else if (task === undefined) result = this.tracing.call(span, def.receive, def, cell.state, handled, cell.ctx);
        else result = this.tracing.call(span, this.envelopes.start, this.envelopes, cell, task, undefined);
      } catch (err) {
        if (span !== undefined) this.tracing.exitProcess(span, undefined, true, err);
        this.turns.end();
        if (timed) this.metering.handlerDone(cell, began);
        this.current = undefined;
        cell.memory?.endTurn();
        if (task === undefined) this.handlerFailed(cell, err, cell.replyTag);
        else this.envelopes.failed(cell, task, err, cell.replyTag);
        this.inbound.finishEntry(entry);
        continue;
      }
      if (span !== undefined) this.tracing.exitProcess(span, result, false, undefined);
      this.turns.end();
      if (task !== undefined && !isThenable(result)) this.envelopes.done(task);
      this.current = undefined;
      cell.memory?.endTurn();
      // ctx.replyLater() took the answer over: the return value answers nothing.
      if (cell.replyTag !== replyTag) replyTag = kNoReply;
      if (def.handlerTimeoutMs !== undefined) watchHandlerTime(this.system, cell, began, result);
      if (result !== null && typeof result === 'object' && typeof (result as PromiseLike<unknown>).then === 'function') {
        cell.busy = true;
        this.busyCount++;
        (result as PromiseLike<unknown>).then(
          (value) => {
            if (timed) this.metering.handlerDone(cell, began);
            if (task !== undefined) this.envelopes.done(task);
            this.afterAsync(cell, value, undefined, replyTag, entry);
          },
          (err: unknown) => {
            if (timed) this.metering.handlerDone(cell, began);
            if (task !== undefined) this.envelopes.done(task);
            this.afterAsync(cell, undefined, err ?? new Error('handler rejected with no reason'), replyTag, entry, task);
          },
        );
        this.handled += count;
        this.counts.handled(cell.slot, count);
        this.metering.handled(cell, count);
        cell.scheduled = false;
        return count;
      }
      if (timed) this.metering.handlerDone(cell, began);
      // A due checkpoint is taken before the answer leaves: an answered ask's effect survives a crash.
      if (def.checkpointEvery !== undefined) this.checkpoints.due(cell);
      if (replyTag !== kNoReply) this.asks.reply(replyTag, result, false);
      if (entry >= 0) this.inbound.finishEntry(entry);
    }
    this.handled += count;
    // Once per batch, not per message: rt.inspect()'s messages handled, and the metrics' by module.
    // Not once the slot is released (a failed handler whose supervisor stopped
    // it there and then; moved away): its count words may be the next occupant's.
    if (count > 0 && !cell.completed) this.counts.handled(cell.slot, count);
    this.metering.handled(cell, count);
    if (cell.stopRequested && !cell.stopped) {
      cell.scheduled = false;
      this.lifecycle.finishStop(cell);
    } else if (mailbox.length > 0 && !cell.held) {
      this.ready.push(cell); // stays scheduled: back of the line for fairness
    } else {
      cell.scheduled = false;
    }
    return count;
  }

  private afterAsync(cell: Cell, value: unknown, error: unknown, replyTag: number, entry: number, task?: Task | Proposal): void {
    cell.memory?.endTurn();
    cell.busy = false;
    this.busyCount--;
    if (error === undefined && cell.def.checkpointEvery !== undefined) this.checkpoints.due(cell);
    if (error !== undefined) {
      if (task === undefined) this.handlerFailed(cell, error, replyTag);
      else this.envelopes.failed(cell, task, error, replyTag);
    } else if (replyTag !== kNoReply) this.asks.reply(replyTag, value, false);
    // After the failure is handled: a failed actor's waiters wait for its supervisor (checkpoints.ts).
    if (cell.checkpointWaiters !== undefined) this.checkpoints.runWaiters(cell);
    this.inbound.finishEntry(entry);
    if (cell.idleWaiters !== undefined) {
      const waiters = cell.idleWaiters;
      cell.idleWaiters = undefined;
      for (const wake of waiters) wake();
    }
    if (cell.pendingRestart !== undefined && !cell.stopRequested) {
      const pending = cell.pendingRestart;
      cell.pendingRestart = undefined;
      void this.supervisor.restart(cell, pending.error);
    }
    if (cell.stopRequested) {
      if (!cell.stopped) this.lifecycle.finishStop(cell);
    } else if (cell.mailbox.length > 0 && !cell.scheduled && !cell.held) {
      cell.scheduled = true;
      this.ready.push(cell);
    }
    if (!this.draining) this.requestDrain();
  }

  private handlerFailed(cell: Cell, thrown: unknown, replyTag: number): void {
    const error = toError(thrown);
    if (replyTag !== kNoReply) this.asks.reply(replyTag, error, true);
    this.system.failure({ actor: cell.ref, error, phase: 'receive' });
    this.supervisor.report(cell, error);
  }
}
