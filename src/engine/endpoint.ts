/**
 * One thread's router and scheduler: the same class runs on the main thread
 * (endpoint 0, which hosts no actors, only asks and the control plane) and on
 * every pool worker (endpoints 1..threads, which host actors).
 *
 * Routing a message to (slot, gen):
 *   - resolve the slot in the shared directory (live? which thread? bounded?);
 *   - same thread: push (msg, sender, replyTag) onto the actor's heap mailbox,
 *     no copy, no encoding; the drain loop runs it in a batch;
 *   - other thread: encode once into this thread's scratch and push one frame
 *     into the (this thread -> that thread) ring; the receiver is woken only if
 *     it is parked.
 *
 * Frame bodies (after the transport's u32 header):
 *   TELL   u8 kind, u32 slot, u32 gen, i32 senderSlot, u32 senderGen, value
 *   ASK    same, then u32 askId, value
 *   REPLY  u8 kind (ok | error), u32 askId, value
 *   SYSTEM u8 kind, u32 askId (0 = no reply), value { op, ... }
 *
 * Scheduling: a FIFO of ready actors; each gets at most `throughput` messages
 * per turn (Akka's dispatcher throughput), an async handler is awaited before
 * that actor's next message while other actors go on. After a pass with no
 * work a worker polls its rings for `spinUs`, then parks on Atomics.waitAsync.
 */
import { ActorContext, type ContextHost, type DeferredReply, type Timer } from '../actors/context.js';
import { Cell } from '../actors/cell.js';
import { Task } from '../actors/task.js';
import { Envelope, Fenced, Poisoned, Proposal, Relay } from '../actors/envelope.js';
import type { ActorDefinition } from '../actors/define.js';
import { kNoReply, kReplyStride } from '../actors/mailbox.js';
import { ActorRef, checkAskOptions, setDecodingHost, type AskOptions, type RefHost, type TellOptions } from '../actors/ref.js';
import { Reader, Writer, decode, decodeValue, encode, encodeValue } from '../transport/codec/index.js';
import {
  Directory, kAlive, kPolicyDropNewest, kPolicyDropOldest, kStopping, type DirectoryShared,
} from '../transport/directory.js';
import {
  ActorCrashedError, ActorInitError, HandlerTimeoutError, ActorStoppedError, AgentLimitError, AskAbortedError, AskTimeoutError, InvalidArgumentError,
  InvalidOptionError, MailboxFullError, MessageTooLargeError, PoisonMessageError, RegionAccessError, RuntimeClosedError, StaleTermError, describeValue,
  toError,
} from '../base/errors.js';
import { loadModule, loadedModule, normalizeModuleUrl } from './modules.js';
import { overflowPolicies, resolveSpawnOptions, type Delivery, type OverflowPolicy, type ResolvedSpawnOptions, type SpawnOptions } from '../actors/spawn-options.js';
import { Transport, type TransportShared } from '../transport/transport.js';
import { Journal } from '../transport/journal.js';
import { TurnWriter } from '../transport/turns.js';
import { Migration } from './migration.js';
import { Envelopes } from './envelopes.js';
import { Supervisor } from './supervisor.js';
import { MemoryContext } from '../actors/memory.js';
import { RegionHandle } from '../memory/handle.js';
import type { PoolShared } from '../memory/layout.js';
import { Pool, type Holder } from '../memory/pool.js';
import { kHeaderBytes } from '../transport/ring.js';

const kTell = 1;
const kAsk = 2;
const kReplyOk = 3;
const kReplyError = 4;
const kSystem = 5;
/** A TELL or ASK body too large for the ring, carried in a pool allocation: u32 region, u32 gen, u32 length. */
const kCarried = 6;
/** A message moved from a migrating actor's old thread: TELL/ASK fields, then i32 asker endpoint (-1: a tell), u32 askId. */
const kForward = 7;
/** One message for several actors of the receiving thread: count, (slot, gen) each, sender, body. */
const kMulticast = 8;
/** `countIn`: which refusals of a bounded mailbox become dead letters. */
const kLettersNone = 0;
const kLettersPolicy = 1;
const kLettersAll = 2;
/** onFrame's `pre` when the transport did not journal the message. */
const kJournalHere = -2;

/**
 * @internal Ask options of an ask with no timeout (the scheduler's: its own
 * timeouts apply, and a crash, stop or shutdown settles the ask).
 */
export const kUntimedAsk: AskOptions = Object.freeze({});

const kOk = 0;
/** @internal `route`'s result when the message was accepted. */
export const kRouteOk = kOk;
const kFull = 1;
const kDead = 2;

/** Why a message became a dead letter. */
export type DeadLetterReason = 'stopped' | 'unknown' | 'dropped-oldest' | 'dropped-newest' | 'shutdown' | 'crashed' | 'stale-term' | 'poison';

/**
 * Thread deaths with a message being handled after which it is not replayed
 * again: it is handed over once more after the first (at-least-once), and
 * dead-lettered as poison at the second, so one bad message restarts its
 * thread's actors twice, not until their supervisors give up.
 */
export const kPoisonAfterCrashes = 2;

/** A message that could not be delivered, as published on `rt.deadLetters`. */
export interface DeadLetter {
  recipient: ActorRef;
  message: unknown;
  sender: ActorRef | undefined;
  reason: DeadLetterReason;
}

/** Why a watched actor terminated. */
export type TerminatedReason = 'stopped' | 'failed' | 'crashed' | 'shutdown';

/**
 * What a watcher receives (as an ordinary message) when an actor it watches
 * with `ctx.watch` terminates, for any reason, on any thread.
 */
export interface Terminated {
  type: 'terminated';
  actor: ActorRef;
  reason: TerminatedReason;
}

/** A handler that threw or rejected, as published on `rt.failures`. */
export interface ActorFailure {
  actor: ActorRef;
  error: Error;
  /**
   * Where it happened: a handler (`receive`; also a message dead-lettered as
   * poison, PoisonMessageError), `postStop`, `preRestart`, rebuilding the
   * state on a `restart`; `timeout`: a handler over `handlerTimeoutMs`, or
   * holding its thread for `blockingHandlerMs` (HandlerTimeoutError).
   */
  phase: 'receive' | 'postStop' | 'preRestart' | 'restart' | 'escalated' | 'checkpoint' | 'crashed' | 'timeout';
}

/** @internal Settings every endpoint of one runtime shares. */
export interface EndpointConfig {
  threads: number;
  askTimeoutMs: number;
  maxMessageBytes: number;
  throughput: number;
  spinUs: number;
  defaultCapacity: number;
  defaultPolicy: OverflowPolicy;
  inlineLimit: number;
  heartbeatMs: number;
}

/** @internal Control-plane requests an endpoint cannot serve itself. */
export interface SystemHandler {
  /** A SYSTEM frame (or a local request) arrived; the result answers it. */
  handle(op: string, payload: Record<string, unknown>, from: number): unknown;
  deadLetter(letter: DeadLetter): void;
  failure(failure: ActorFailure): void;
}

interface PendingAsk {
  resolve(value: unknown): void;
  reject(error: unknown): void;
  timer: NodeJS.Timeout | undefined;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
  /** The endpoint the request went to through a ring (-1: none), and its sequence number on that ring. */
  target?: number;
  seq?: number;
  /** Whom it asked (an ask's ref, a control request's op), named in the error only if that thread dies. */
  actor?: ActorRef | string;
}

export class Endpoint implements RefHost, ContextHost {
  readonly index: number;
  readonly dir: Directory;
  readonly transport: Transport;
  readonly config: EndpointConfig;
  /** The shared region pool, mapped on this thread. */
  readonly pool: Pool;
  system: SystemHandler;
  readonly cells: Array<Cell | undefined>;
  private readonly pending = new Map<number, PendingAsk>();
  private readonly defaultSpawn: ResolvedSpawnOptions;
  private nextAskId = 0;
  private readonly writer = new Writer(64 * 1024);
  /** A multicast's body, encoded once before `writer` frames it per thread. */
  private readonly multicastBody = new Writer(256);
  private readonly reader = new Reader();
  private ready: Cell[] = [];
  private readyHead = 0;
  private busyCount = 0;
  private draining = false;
  private drainScheduled = false;
  private idleScheduled = false;
  /** Current spin budget in microseconds (see `spin`). */
  private spinBudgetUs: number;
  /** performance.now() when this endpoint last parked, 0 when it is not parked. */
  private parkedAt = 0;
  current: Cell | undefined = undefined;
  /** Failures, directives and restarts of the actors here. */
  readonly supervisor = new Supervisor(this);
  /** Moving actors between threads (rt.migrate). */
  readonly migration = new Migration(this);
  /** @internal Tasks, proposals, relays, fenced messages, topics and swarm terms on this thread. */
  readonly envelopes = new Envelopes(this);
  /** This thread's journal of taken cross-thread messages (workers, unless journalBytes is 0). */
  private readonly journal: Journal | undefined;
  /** Carrier allocations kept until their journal entry is done, by entry. */
  private readonly carriers = new Map<number, RegionHandle>();
  /** Set while onFrame decodes the message inside a carried frame: that frame's journal entry. */
  private carriedEntry = -1;
  /** Set while replaying a journal entry whose handler was running when the thread died. */
  private replayingRunning = false;
  /** Set while replaying a journal entry: the thread deaths it was blamed for (see kPoisonAfterCrashes). */
  private replayCrashes = 0;
  /** Publishes which handler runs now, for the main thread's watchdog. */
  private readonly turns: TurnWriter;
  /** The endpoint the last routed message went to through a ring, -1 when it stayed on this thread. */
  private routedTo = -1;
  closed = false;
  /** Set by stopAll: what is still queued is dead-lettered with reason 'shutdown'. */
  private shuttingDown = false;
  /** False once shutdown began on this thread: new tells and asks are refused. */
  accepting = true;
  /** Messages handled on this endpoint, for quiescence detection and stats. */
  handled = 0;

  constructor(
    index: number, transport: TransportShared, directory: DirectoryShared, pool: PoolShared, config: EndpointConfig, system: SystemHandler,
  ) {
    this.index = index;
    this.pool = new Pool(pool);
    this.config = config;
    this.system = system;
    this.dir = new Directory(directory);
    this.cells = index === 0 ? [] : new Array<Cell | undefined>(this.dir.slots).fill(undefined);
    this.transport = new Transport(transport, index, this.drain, config.maxMessageBytes);
    this.transport.onMalformed = (_from, error) => this.system.failure({ actor: new ActorRef(-1, 0, 'system', this), error, phase: 'receive' });
    const journal = transport.journals[index];
    this.journal = index !== 0 && journal !== null && journal !== undefined ? new Journal(journal) : undefined;
    if (this.journal !== undefined) {
      this.transport.journal = this.journalFrame;
      this.transport.batchJournal = this.journal;
    }
    this.turns = new TurnWriter(transport.turns, index);
    this.spinBudgetUs = config.spinUs;
    this.defaultSpawn = { name: undefined, thread: undefined, capacity: config.defaultCapacity, policy: config.defaultPolicy, memoryQuota: 0, delivery: 'at-least-once', agent: undefined };
    setDecodingHost(this);
  }

  /** The 0-based pool thread index (ContextHost); -1 on the main thread. */
  get threadIndex(): number {
    return this.index - 1;
  }

  /** Starts the receive loop: parks until a frame arrives. A worker also starts beating its heartbeat. */
  start(): void {
    if (this.index !== 0 && this.heartbeat === undefined) {
      this.transport.beat();
      // From the event loop: a handler that never returns stops the beats,
      // which is how the main thread tells a stuck thread from a busy one.
      this.heartbeat = setInterval(() => this.transport.beat(), this.config.heartbeatMs);
      this.heartbeat.unref();
    }
    this.requestDrain();
  }

  private heartbeat: NodeJS.Timeout | undefined;

  // ---------------------------------------------------------------- sending

  tell(ref: ActorRef, msg: unknown, options: TellOptions | undefined): boolean {
    if (!this.accepting || this.closed) throw new RuntimeClosedError('tell');
    const sender = this.senderFor(options);
    if (options?.transfer !== undefined) {
      return this.withTransfer(ref, options.transfer, sender, () => this.route(ref, msg, sender, kNoReply, false)) === kOk;
    }
    return this.route(ref, msg, sender, kNoReply, false) === kOk;
  }

  /**
   * Moves the regions in `transfer` to `ref`'s actor, then routes; if the
   * message is refused or cannot be sent, ownership goes back to the sender.
   * The receiver owns the regions when the message arrives; the sender has
   * lost access from the moment this returns.
   */
  private withTransfer(ref: ActorRef, transfer: unknown, sender: ActorRef | undefined, route: () => number): number {
    if (!Array.isArray(transfer)) throw new InvalidOptionError('transfer', 'an array of RegionHandles', transfer);
    if (!(ref instanceof ActorRef)) throw new InvalidArgumentError('ref', 'an ActorRef', ref);
    const from = this.current ?? (sender !== undefined ? this.cells[sender.slot] : undefined);
    if (from === undefined || (sender !== undefined && from.ref.gen !== sender.gen)) {
      throw new RegionAccessError(String(transfer[0]), 'only an actor transfers regions it owns (the main thread owns none; after an await, pass { sender: ctx.self })');
    }
    if (!this.dir.isLive(ref.slot, ref.gen)) throw this.stoppedError(ref); // the regions stay with the sender
    const to: Holder = { slot: ref.slot, gen: ref.gen };
    const undo: Array<() => void> = [];
    const rollBack = () => {
      for (let i = undo.length - 1; i >= 0; i--) {
        try {
          undo[i]();
        } catch {
          // The receiver stopped between the move and the refusal, and its
          // stop reclaimed the region: there is nothing left to give back.
        }
      }
    };
    let code: number;
    try {
      for (const handle of transfer) undo.push(this.pool.transfer(handle as RegionHandle, from, to));
      code = route();
    } catch (err) {
      rollBack();
      throw err;
    }
    if (code !== kOk) rollBack();
    return code;
  }

  makeTimeoutError(ref: ActorRef, options: AskOptions | undefined): Error | undefined {
    const ms = options?.timeoutMs;
    return new AskTimeoutError(ref.toString(), typeof ms === 'number' ? ms : this.config.askTimeoutMs);
  }

  ask(ref: ActorRef, msg: unknown, options: AskOptions | undefined, timeoutError: Error | undefined): Promise<unknown> {
    if (!this.accepting || this.closed) return Promise.reject(new RuntimeClosedError('ask'));
    let timeoutMs: number;
    try {
      timeoutMs = options === kUntimedAsk ? Infinity : checkAskOptions(options, this.config.askTimeoutMs);
    } catch (err) {
      return Promise.reject(err);
    }
    const signal = options?.signal;
    if (signal?.aborted) return Promise.reject(new AskAbortedError(ref.toString(), { cause: signal.reason }));
    const askId = this.newAskId();
    return new Promise<unknown>((resolve, reject) => {
      const entry: PendingAsk = { resolve, reject, timer: undefined, signal, onAbort: undefined };
      this.pending.set(askId, entry);
      let code: number;
      try {
        const sender = this.senderFor(undefined);
        const replyTag = askId * kReplyStride + this.index;
        code = options?.transfer !== undefined
          ? this.withTransfer(ref, options.transfer, sender, () => this.route(ref, msg, sender, replyTag, false))
          : this.route(ref, msg, sender, replyTag, false);
      } catch (err) {
        this.pending.delete(askId);
        reject(err);
        return;
      }
      if (code !== kOk) {
        this.pending.delete(askId);
        reject(code === kDead ? this.stoppedError(ref) : new MailboxFullError(ref.toString(), Atomics.load(this.dir.capacity, ref.slot)));
        return;
      }
      if (!this.pending.has(askId)) return; // answered synchronously (cannot happen today, kept safe)
      if (this.routedTo >= 0) {
        entry.target = this.routedTo;
        entry.seq = this.transport.sentTo(this.routedTo);
        entry.actor = ref; // not stringified per ask: only a crash names it
      }
      if (timeoutMs !== Infinity) {
        entry.timer = setTimeout(() => {
          if (this.settle(askId)) reject(timeoutError ?? new AskTimeoutError(ref.toString(), timeoutMs));
        }, timeoutMs);
      }
      if (signal !== undefined) {
        entry.onAbort = () => {
          if (this.settle(askId)) reject(new AskAbortedError(ref.toString(), { cause: signal.reason }));
        };
        signal.addEventListener('abort', entry.onAbort, { once: true });
      }
    });
  }

  async send(ref: ActorRef, msg: unknown, options: TellOptions | undefined): Promise<void> {
    const sender = this.senderFor(options);
    for (;;) {
      if (!this.accepting || this.closed) throw new RuntimeClosedError('send');
      const code = this.route(ref, msg, sender, kNoReply, true);
      if (code === kOk) return;
      if (code === kDead) throw this.stoppedError(ref);
      // Full: ask the host to notify the depth word when it takes a message,
      // then wait unless room appeared in between (waitAsync compares).
      const slot = ref.slot;
      Atomics.store(this.dir.waiters, slot, 1);
      const depth = Atomics.load(this.dir.depth, slot);
      if (depth < Atomics.load(this.dir.capacity, slot)) continue;
      // The timeout is a safety net for a host that stops without notifying.
      const waited = Atomics.waitAsync(this.dir.depth, slot, depth, 50);
      if (waited.async) await waited.value;
    }
  }

  private senderFor(options: TellOptions | undefined): ActorRef | undefined {
    if (options !== undefined) {
      if (options === null || typeof options !== 'object') throw new InvalidOptionError('options', 'an object', options);
      if (options.sender !== undefined) {
        if (!(options.sender instanceof ActorRef)) throw new InvalidOptionError('sender', 'an ActorRef', options.sender);
        return options.sender;
      }
    }
    return this.current?.ref;
  }

  private newAskId(): number {
    this.nextAskId = this.nextAskId >= 0xffff_fffe ? 1 : this.nextAskId + 1;
    return this.nextAskId;
  }

  /** Removes a pending ask; true when it was still pending. */
  private settle(askId: number): boolean {
    const entry = this.pending.get(askId);
    if (entry === undefined) return false;
    this.pending.delete(askId);
    if (entry.timer !== undefined) clearTimeout(entry.timer);
    if (entry.onAbort !== undefined) entry.signal?.removeEventListener('abort', entry.onAbort);
    return true;
  }

  stoppedError(ref: ActorRef): ActorStoppedError {
    return new ActorStoppedError(ref.toString(), this.deadReason(ref) === 'unknown' ? 'does not exist' : 'has stopped');
  }

  private deadReason(ref: ActorRef): DeadLetterReason {
    if (!(ref.slot >= 0 && ref.slot < this.dir.slots)) return 'unknown';
    const gen = Atomics.load(this.dir.gen, ref.slot);
    return gen > ref.gen || (gen === ref.gen && ref.gen > 0) ? 'stopped' : 'unknown';
  }

  /**
   * Routes one message; returns kOk, kFull or kDead. Throws SerializationError
   * or MessageTooLargeError before anything is accounted.
   */
  /** @internal */
  route(ref: ActorRef, msg: unknown, sender: ActorRef | undefined, replyTag: number, forSend: boolean): number {
    if (!(ref instanceof ActorRef)) throw new InvalidArgumentError('ref', 'an ActorRef', ref);
    const slot = ref.slot;
    const gen = ref.gen;
    // Same thread, unbounded mailbox: the actor's cell here is the truth, no
    // shared word needs reading or writing.
    const local = this.index !== 0 ? this.cells[slot] : undefined;
    if (local !== undefined && local.gen === gen && local.capacity === 0 && !local.stopped) {
      this.routedTo = -1;
      this.enqueue(local, msg, sender, replyTag);
      return kOk;
    }
    const dir = this.dir;
    if (!dir.isLive(slot, gen)) {
      if (!forSend) this.system.deadLetter({ recipient: ref, message: msg, sender, reason: this.deadReason(ref) });
      return kDead;
    }
    const thread = Atomics.load(dir.thread, slot);
    this.routedTo = thread === this.index ? -1 : thread;
    let bodyLength = 0;
    if (thread !== this.index) bodyLength = this.encodeMessage(ref, msg, sender, replyTag);
    const capacity = dir.capacity[slot];
    if (capacity > 0) {
      const code = this.countIn(ref, capacity, msg, sender, forSend ? kLettersNone : kLettersPolicy);
      if (code !== kOk) return code;
    }
    if (thread === this.index) {
      const cell = this.cells[slot];
      if (cell === undefined || cell.gen !== gen || cell.stopped) {
        this.dropMessage(ref, cell !== undefined && cell.gen === gen ? cell : undefined, msg, sender, replyTag, 'stopped');
        return kOk;
      }
      this.enqueue(cell, msg, sender, replyTag);
    } else if (bodyLength <= this.config.inlineLimit || !this.sendCarried(thread, ref, bodyLength)) {
      this.transport.send(thread, this.writer.bytes, bodyLength);
    }
    return kOk;
  }

  /**
   * Sends one message to many actors (pub/sub, swarm broadcasts): encoded
   * once, then one frame per thread that hosts some of them, listing them;
   * that thread decodes it once and puts it in each one's mailbox as a
   * tell. Targets on this thread get the object itself. Dead targets and
   * full bounded mailboxes are handled as for `tell` (dead letters).
   * Returns how many targets accepted it. Multicast messages are not
   * journaled: one in a mailbox of a thread that dies is lost.
   */
  multicast(targets: readonly ActorRef[], msg: unknown, sender: ActorRef | undefined): number {
    if (!this.accepting || this.closed) throw new RuntimeClosedError('publish');
    const byThread = new Map<number, ActorRef[]>();
    let accepted = 0;
    for (const ref of targets) {
      if (this.admit(ref, msg, sender) !== kOk) continue;
      accepted++;
      const thread = Atomics.load(this.dir.thread, ref.slot);
      if (thread === this.index) {
        const cell = this.cells[ref.slot];
        if (cell !== undefined && cell.gen === ref.gen && !cell.stopped) this.enqueue(cell, msg, sender, kNoReply);
        else this.dropMessage(ref, undefined, msg, sender, kNoReply, 'stopped');
        continue;
      }
      let list = byThread.get(thread);
      if (list === undefined) byThread.set(thread, (list = []));
      list.push(ref);
    }
    if (byThread.size === 0) return accepted;
    // The body once (into its own scratch writer), then a frame per thread around a copy of it.
    const body = this.multicastBody;
    body.reset();
    encodeValue(body, msg, 'msg');
    for (const [thread, refs] of byThread) {
      const w = this.writer;
      w.reset();
      w.pos = kHeaderBytes;
      w.ensure(16 + refs.length * 8 + body.pos);
      w.u8(kMulticast);
      w.u32(refs.length);
      for (const ref of refs) {
        w.u32(ref.slot);
        w.u32(ref.gen);
      }
      w.i32(sender === undefined ? -1 : sender.slot);
      w.u32(sender === undefined ? 0 : sender.gen);
      w.bytes.set(body.bytes.subarray(0, body.pos), w.pos);
      w.pos += body.pos;
      this.transport.send(thread, w.bytes, this.checkSize(w.pos - kHeaderBytes));
    }
    return accepted;
  }

  /** Liveness and bounded-mailbox admission of one target, as `route` does it; kOk, kFull or kDead. */
  private admit(ref: ActorRef, msg: unknown, sender: ActorRef | undefined): number {
    const { slot, gen } = ref;
    const dir = this.dir;
    if (!dir.isLive(slot, gen)) {
      this.system.deadLetter({ recipient: ref, message: msg, sender, reason: this.deadReason(ref) });
      return kDead;
    }
    const capacity = dir.capacity[slot];
    return capacity === 0 ? kOk : this.countIn(ref, capacity, msg, sender, kLettersAll);
  }

  /**
   * Counts one message against `ref`'s bounded mailbox (`capacity` > 0):
   * kOk, kFull (its policy refuses it; the count is given back) or kDead.
   * `letters` says which refusals become dead letters: none (`send` waits
   * instead), drop-newest only (a `tell` reports 'reject' to its caller),
   * or all (a multicast has no caller to report to).
   */
  private countIn(ref: ActorRef, capacity: number, msg: unknown, sender: ActorRef | undefined, letters: number): number {
    const dir = this.dir;
    const slot = ref.slot;
    const depth = Atomics.add(dir.depth, slot, 1);
    // Re-check after counting: if the slot was released meanwhile, the count
    // belongs to nobody (or to a newcomer) and must be taken back.
    if (Atomics.load(dir.gen, slot) !== ref.gen) {
      Atomics.sub(dir.depth, slot, 1);
      if (letters !== kLettersNone) this.system.deadLetter({ recipient: ref, message: msg, sender, reason: 'stopped' });
      return kDead;
    }
    const policy = dir.policy[slot];
    if (depth >= capacity && policy !== kPolicyDropOldest) {
      Atomics.sub(dir.depth, slot, 1);
      if (letters === kLettersAll || (letters === kLettersPolicy && policy === kPolicyDropNewest)) {
        this.system.deadLetter({ recipient: ref, message: msg, sender, reason: 'dropped-newest' });
      }
      return kFull;
    }
    return kOk;
  }

  /** A multicast frame: decode once, deliver to each listed actor of this thread. */
  private onMulticast(r: Reader): void {
    const count = r.u32();
    r.need(8 * count); // before allocating for a count read off the wire
    const slots = new Array<number>(count);
    const gens = new Array<number>(count);
    for (let i = 0; i < count; i++) {
      slots[i] = r.u32();
      gens[i] = r.u32();
    }
    const senderSlot = r.i32();
    const senderGen = r.u32();
    setDecodingHost(this);
    const msg = decodeValue(r);
    const sender = senderSlot >= 0 ? new ActorRef(senderSlot, senderGen, undefined, this) : undefined;
    for (let i = 0; i < count; i++) {
      const cell = this.cells[slots[i]];
      if (cell === undefined || cell.gen !== gens[i] || cell.stopped) {
        this.dropMessage(new ActorRef(slots[i], gens[i], undefined, this), undefined, msg, sender, kNoReply, this.shuttingDown ? 'shutdown' : 'stopped');
      } else this.enqueue(cell, msg, sender, kNoReply);
    }
  }

  /**
   * Moves a large encoded message through the pool: one copy into a region
   * owned by the receiver, and a 13-byte frame through the ring, instead of
   * chunks through the ring. False (use the ring) when no run is free; user
   * caches are never evicted for it.
   */
  private sendCarried(thread: number, ref: ActorRef, bodyLength: number): boolean {
    let handle: RegionHandle;
    try {
      if (this.pool.regionsFor(bodyLength) < 0) return false;
      handle = this.pool.allocateCarrier(bodyLength);
    } catch {
      return false;
    }
    this.pool.carrierView(handle).set(this.writer.bytes.subarray(kHeaderBytes, kHeaderBytes + bodyLength));
    const w = this.writer;
    w.reset();
    w.pos = kHeaderBytes;
    w.ensure(16);
    w.u8(kCarried);
    w.u32(handle.region);
    w.u32(handle.gen);
    w.u32(bodyLength);
    this.transport.send(thread, w.bytes, w.pos - kHeaderBytes);
    return true;
  }

  /** Encodes a TELL or ASK frame body into the scratch writer; returns its length. */
  private encodeMessage(ref: ActorRef, msg: unknown, sender: ActorRef | undefined, replyTag: number): number {
    const w = this.beginMessage(replyTag === kNoReply ? kTell : kAsk, ref.slot, ref.gen, sender);
    if (replyTag !== kNoReply) w.u32(Math.floor(replyTag / kReplyStride));
    encodeValue(w, msg, 'msg');
    return this.checkSize(w.pos - kHeaderBytes);
  }

  /** Starts a TELL, ASK or FORWARD body in the scratch writer: kind, target slot and gen, sender slot and gen. */
  private beginMessage(kind: number, slot: number, gen: number, sender: ActorRef | undefined): Writer {
    const w = this.writer;
    w.reset();
    w.pos = kHeaderBytes;
    w.ensure(40);
    w.u8(kind);
    w.u32(slot);
    w.u32(gen);
    w.i32(sender === undefined ? -1 : sender.slot);
    w.u32(sender === undefined ? 0 : sender.gen);
    return w;
  }

  checkSize(bodyLength: number): number {
    if (bodyLength > this.config.maxMessageBytes) throw new MessageTooLargeError(bodyLength, this.config.maxMessageBytes);
    return bodyLength;
  }

  /** Sends a REPLY or SYSTEM frame whose body is [kind, u32 id, value]. */
  private sendControl(target: number, kind: number, id: number, value: unknown): void {
    const w = this.writer;
    w.reset();
    w.pos = kHeaderBytes;
    w.ensure(8);
    w.u8(kind);
    w.u32(id);
    try {
      encodeValue(w, value, kind === kSystem ? 'request' : 'reply');
      this.checkSize(w.pos - kHeaderBytes);
    } catch (err) {
      if (kind !== kReplyOk) throw err;
      // An answer that cannot cross threads rejects the ask instead.
      this.sendControl(target, kReplyError, id, toError(err));
      return;
    }
    this.transport.send(target, w.bytes, w.pos - kHeaderBytes);
  }

  /** Answers an ask identified by its reply tag. */
  /** @internal */
  reply(replyTag: number, value: unknown, failed: boolean): void {
    const target = replyTag % kReplyStride;
    const askId = Math.floor(replyTag / kReplyStride);
    if (target === this.index) {
      const entry = this.pending.get(askId);
      if (entry !== undefined && this.settle(askId)) (failed ? entry.reject : entry.resolve)(value);
      return;
    }
    if (this.closed) return;
    this.sendControl(target, failed ? kReplyError : kReplyOk, askId, value);
  }

  /**
   * Sends a control request to another endpoint and resolves with its answer.
   * On the main thread (target 0 from 0) the system handler is called directly.
   */
  request(target: number, op: string, payload: Record<string, unknown>): Promise<unknown> {
    if (target === this.index) {
      try {
        return Promise.resolve(this.system.handle(op, payload, this.index));
      } catch (err) {
        return Promise.reject(err);
      }
    }
    const askId = this.newAskId();
    return new Promise((resolve, reject) => {
      const entry: PendingAsk = { resolve, reject, timer: undefined, signal: undefined, onAbort: undefined };
      this.pending.set(askId, entry);
      try {
        this.sendControl(target, kSystem, askId, { ...payload, op });
        entry.target = target;
        entry.seq = this.transport.sentTo(target);
        entry.actor = op;
      } catch (err) {
        this.settle(askId);
        reject(err);
      }
    });
  }

  /** Sends a one-way control message (no answer). */
  notify(target: number, op: string, payload: Record<string, unknown>): void {
    if (target === this.index) {
      this.system.handle(op, payload, this.index);
      return;
    }
    this.sendControl(target, kSystem, 0, { ...payload, op });
  }

  // -------------------------------------------------------------- receiving

  /**
   * Journals a frame the transport just took out of a ring, before any
   * handler of the batch runs (a thread that dies in the middle of a batch
   * then loses none of it): TELL, ASK, carried and forwarded frames; -1 for
   * the others, or when the journal is off or full.
   */
  private readonly journalFrame = (from: number, bytes: Uint8Array, start: number, end: number): number => {
    const journal = this.journal;
    if (journal === undefined || end <= start) return -1;
    const kind = bytes[start];
    if (kind !== kTell && kind !== kAsk && kind !== kCarried && kind !== kForward) return -1;
    return journal.append(from, bytes, start, end);
  };

  /**
   * Handles one message. `pre` is its journal entry when the transport
   * journaled it already (-1: not journaled), or kJournalHere (a replayed
   * or reassembled message: journal it here if it is one of ours).
   */
  private readonly onFrame = (from: number, bytes: Uint8Array, start: number, end: number, pre = kJournalHere): void => {
    const r = this.reader;
    // A message journaled by the transport is finished however this ends.
    let entry = pre >= 0 ? pre : -1;
    try {
      r.reset(bytes, start, end);
      // Inside the try: an empty body is malformed input, not a reason to
      // throw out of the transport's poll (and the drain loop).
      const kind = r.u8();
      if (kind === kCarried) {
        const handle = new RegionHandle(r.u32(), r.u32(), r.u32(), 0, 0);
        const view = this.pool.carrierView(handle);
        // Journaled as the small carried frame: the carrier is kept (and so the
        // message) until the entry is done.
        entry = pre !== kJournalHere ? pre : this.journalFrame(from, bytes, start, end);
        if (entry >= 0) this.carriers.set(entry, handle);
        this.carriedEntry = entry;
        const carried = entry;
        entry = -1; // finished by the inner message from here on
        try {
          this.onFrame(from, view, 0, handle.byteLength);
        } finally {
          this.carriedEntry = -1;
          if (carried < 0) this.pool.freeCarrier(handle);
        }
        return;
      }
      if (kind === kMulticast) {
        this.onMulticast(r);
        return;
      }
      if (kind !== kTell && kind !== kAsk && kind !== kForward) {
        const id = r.u32();
        setDecodingHost(this);
        const value = decodeValue(r);
        if (kind === kReplyOk || kind === kReplyError) {
          const waiting = this.pending.get(id);
          if (waiting !== undefined && this.settle(id)) (kind === kReplyOk ? waiting.resolve : waiting.reject)(value);
          return;
        }
        if (kind === kSystem) this.onSystem(from, id, value as Record<string, unknown>);
        return;
      }
      entry = this.carriedEntry >= 0 ? this.carriedEntry : pre !== kJournalHere ? pre : this.journalFrame(from, bytes, start, end);
      const slot = r.u32();
      const gen = r.u32();
      const senderSlot = r.i32();
      const senderGen = r.u32();
      let replyTag: number;
      if (kind === kForward) {
        const asker = r.i32();
        const askId = r.u32();
        replyTag = asker < 0 ? kNoReply : askId * kReplyStride + asker;
      } else replyTag = kind === kAsk ? r.u32() * kReplyStride + from : kNoReply;
      setDecodingHost(this);
      const msg = decodeValue(r);
      const sender = senderSlot >= 0 ? new ActorRef(senderSlot, senderGen, undefined, this) : undefined;
      const cell = this.cells[slot];
      if (cell === undefined || cell.gen !== gen || cell.stopped) {
        const sameActor = cell !== undefined && cell.gen === gen ? cell : undefined;
        this.dropMessage(new ActorRef(slot, gen, undefined, this), sameActor, msg, sender, replyTag, this.shuttingDown ? 'shutdown' : 'stopped');
        this.finishEntry(entry);
        return;
      }
      if (this.replayingRunning && cell.capacity > 0) {
        // Its handler had taken it off the bounded count before the crash.
        Atomics.add(this.dir.depth, slot, 1);
      }
      if (this.replayingRunning && cell.delivery === 'at-most-once') {
        // It was being handled when its thread died: not handled twice.
        this.dropMessage(cell.ref, cell, msg, sender, replyTag, 'crashed');
        this.finishEntry(entry);
        return;
      }
      if (this.replayCrashes >= kPoisonAfterCrashes) {
        // It took its thread down every time it was handled: its turn, in
        // order, dead-letters it and asks the supervisor (see runCell).
        this.enqueue(cell, new Poisoned(msg, this.replayCrashes), sender, replyTag, entry);
        return;
      }
      if (kind === kForward && cell.arriving !== undefined) {
        // Sent before a migration switched threads: ahead of what came here directly.
        cell.arriving.forwarded.push(msg, sender, replyTag, entry);
        return;
      }
      this.enqueue(cell, msg, sender, replyTag, entry);
    } catch (err) {
      // A frame this thread cannot act on must not take the thread down.
      this.finishEntry(entry);
      this.system.failure({ actor: new ActorRef(-1, 0, 'system', this), error: toError(err), phase: 'receive' });
    }
  };

  private onSystem(from: number, askId: number, request: Record<string, unknown>): void {
    const op = String(request.op);
    let result: unknown;
    try {
      result = this.system.handle(op, request, from);
    } catch (err) {
      if (askId !== 0) this.sendControl(from, kReplyError, askId, toError(err));
      return;
    }
    if (askId === 0) return;
    Promise.resolve(result).then(
      (value) => !this.closed && this.sendControl(from, kReplyOk, askId, value),
      (err: unknown) => !this.closed && this.sendControl(from, kReplyError, askId, toError(err)),
    );
  }

  // --------------------------------------------------------------- mailboxes

  private enqueue(cell: Cell, msg: unknown, sender: ActorRef | undefined, replyTag: number, entry = -1): void {
    // Terminated arrives once per watch: a second one (a watch request that
    // reached a thread after it was replaced, say) or one after unwatch is dropped.
    if (cell.watching !== undefined && replyTag === kNoReply && isTerminated(msg) && !this.takeWatch(cell, msg.actor)) {
      this.takeDepth(cell);
      this.finishEntry(entry);
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
      this.takeDepth(cell);
      this.finishEntry(oldEntry);
      this.system.deadLetter({ recipient: cell.ref, message: oldMsg, sender: oldSender, reason: 'dropped-oldest' });
      if (oldTag !== kNoReply) {
        this.reply(oldTag, new MailboxFullError(cell.ref.toString(), cell.capacity, 'dropped this ask (drop-oldest)'), true);
      }
    }
    cell.mailbox.push(msg, sender, replyTag, entry);
    if (!cell.scheduled && !cell.busy && cell.started && !cell.held) {
      cell.scheduled = true;
      this.ready.push(cell);
      if (!this.draining) this.requestDrain();
    }
  }

  /** A journaled message is finished with (handled, failed, or dead-lettered): its entry, and carrier, go. */
  finishEntry(entry: number): void {
    if (entry < 0 || this.journal === undefined) return;
    this.journal.done(entry);
    const carrier = this.carriers.get(entry);
    if (carrier !== undefined) {
      this.carriers.delete(entry);
      this.pool.freeCarrier(carrier);
    }
  }

  /** True (and forgets it) when `cell` watches `target`. */
  private takeWatch(cell: Cell, target: ActorRef): boolean {
    for (const w of cell.watching ?? []) {
      if (w.equals(target)) {
        cell.watching?.delete(w);
        return true;
      }
    }
    return false;
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
    recipient: ActorRef, cell: Cell | undefined, msg: unknown, sender: ActorRef | undefined, replyTag: number, reason: DeadLetterReason, detail?: string,
  ): void {
    if (cell !== undefined) this.takeDepth(cell);
    // An actor lost with its thread: say so.
    if (reason === 'stopped' && this.dir.whyGone(recipient.slot, recipient.gen) === 'crashed') reason = 'crashed';
    this.system.deadLetter({ recipient, message: msg, sender, reason });
    if (replyTag === kNoReply) return;
    const error =
      reason === 'crashed' ? new ActorCrashedError(recipient.toString())
      : reason === 'stale-term' ? new StaleTermError(recipient.toString(), detail ?? 'a stale leader term')
      : new ActorStoppedError(recipient.toString());
    this.reply(replyTag, error, true);
  }

  // ------------------------------------------------------------- the loop

  private requestDrain(): void {
    if (this.drainScheduled || this.closed) return;
    this.drainScheduled = true;
    setImmediate(this.drain);
  }

  /** Reads the rings and runs ready actors until there is nothing left, then idles. */
  private readonly drain = (): void => {
    this.drainScheduled = false;
    if (this.closed || this.draining) return;
    if (this.parkedAt !== 0) {
      // Woken sooner than a full spin would have lasted: that spin would have
      // caught the message, so spinning pays again.
      if (performance.now() - this.parkedAt < this.config.spinUs / 1000) this.spinBudgetUs = this.config.spinUs;
      this.parkedAt = 0;
    }
    this.draining = true;
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
  };

  private scheduleIdle(): void {
    if (this.idleScheduled || this.closed) return;
    this.idleScheduled = true;
    setImmediate(this.idle);
  }

  /**
   * Runs after promise continuations and I/O had their turn: spins briefly on
   * the rings (a worker only), then parks. Spinning here, not at the end of
   * `drain`, keeps it from delaying continuations that would create work.
   */
  private readonly idle = (): void => {
    this.idleScheduled = false;
    if (this.closed || this.drainScheduled || this.draining) return;
    if (this.readyHead < this.ready.length || this.spin()) {
      this.drain();
      return;
    }
    if (!this.transport.park(this.hasLocalWork)) this.requestDrain();
    else this.parkedAt = performance.now();
  };

  private readonly hasLocalWork = (): boolean => this.readyHead < this.ready.length;

  /**
   * Polls the rings for up to the current spin budget; true when a frame
   * arrived. The budget adapts: a spin that catches a message restores it to
   * `spinUs` (a conversation is going on: the next message is likely within
   * microseconds); one that catches nothing halves it, down to a floor of
   * 2 us. So a thread whose partner needs its core (more busy threads than
   * cores) soon stops holding the core, and parks instead. A thread woken
   * from parking sooner than `spinUs` after it parked also gets the full
   * budget back (a full spin would have caught that message), so the budget
   * does not ratchet down for good.
   */
  private spin(): boolean {
    // The main thread never spins (it belongs to the user); a worker with an
    // async handler in flight must return to the event loop for it.
    if (this.index === 0 || this.config.spinUs === 0 || this.busyCount > 0) return false;
    const until = performance.now() + this.spinBudgetUs / 1000;
    do {
      if (this.transport.hasInbound()) {
        this.spinBudgetUs = this.config.spinUs;
        return true;
      }
    } while (performance.now() < until);
    this.spinBudgetUs = Math.max(2, this.spinBudgetUs / 2);
    return false;
  }

  private runReady(): number {
    let handled = 0;
    const end = this.ready.length;
    while (this.readyHead < end) {
      const cell = this.ready[this.readyHead++];
      handled += this.runCell(cell);
    }
    if (this.readyHead === this.ready.length) {
      this.ready.length = 0;
      this.readyHead = 0;
    } else if (this.readyHead > 1024) {
      this.ready = this.ready.slice(this.readyHead);
      this.readyHead = 0;
    }
    return handled;
  }

  /** Runs up to `throughput` messages of one actor. */
  private runCell(cell: Cell): number {
    const mailbox = cell.mailbox;
    const def = cell.def;
    const limit = this.config.throughput;
    let count = 0;
    while (count < limit && mailbox.length > 0 && !cell.stopRequested && !cell.held) {
      const at = mailbox.peekIndex();
      const msg = mailbox.msgAt(at);
      const sender = mailbox.senderAt(at);
      let replyTag = mailbox.replyTagAt(at);
      const entry = mailbox.journalAt(at);
      mailbox.drop();
      if (cell.capacity > 0) this.takeDepth(cell);
      if (entry >= 0) this.journal?.running(entry);
      count++;
      cell.ctx.sender = sender;
      cell.replyTag = replyTag;
      this.current = cell;
      let result: unknown;
      const began = def.handlerTimeoutMs === undefined ? 0 : performance.now();
      // Envelopes the runtime opens first: a task goes to the agent's `task`
      // handler, a proposal to `vote`; a relay is passed on, a fenced
      // message checked against the swarm's term, then their message handled.
      let task: Task | Proposal | undefined;
      let handled = msg;
      if (msg instanceof Envelope) {
        if (msg instanceof Task || msg instanceof Proposal) task = msg;
        else if (msg instanceof Relay) {
          this.envelopes.passOn(cell, msg);
          handled = msg.msg;
        } else if (msg instanceof Poisoned) {
          this.current = undefined;
          this.system.deadLetter({ recipient: cell.ref, message: msg.msg, sender, reason: 'poison' });
          this.handlerFailed(cell, new PoisonMessageError(cell.ref.toString(), msg.crashes), replyTag);
          this.finishEntry(entry);
          continue;
        } else if (msg instanceof Fenced) {
          const known = this.envelopes.staleAgainst(msg);
          if (known !== undefined) {
            this.current = undefined;
            // Its depth was taken when it was dequeued: no cell here, or it would be taken twice.
            this.dropMessage(cell.ref, undefined, msg.msg, sender, replyTag, 'stale-term', `term ${msg.term} of swarm "${msg.swarm}", this thread knows term ${known}`);
            this.finishEntry(entry);
            continue;
          }
          handled = msg.msg;
        }
      }
      // Its start is progress; while it runs, the watchdog can name it.
      this.turns.begin(cell.slot, entry);
      try {
        result = task === undefined ? def.receive(cell.state, handled, cell.ctx) : this.envelopes.start(cell, task);
      } catch (err) {
        this.turns.end();
        this.current = undefined;
        cell.memory?.endTurn();
        if (task === undefined) this.handlerFailed(cell, err, cell.replyTag);
        else this.envelopes.failed(cell, task, err, cell.replyTag);
        this.finishEntry(entry);
        continue;
      }
      this.turns.end();
      if (task !== undefined && !isThenable(result)) this.envelopes.done(task);
      this.current = undefined;
      cell.memory?.endTurn();
      // ctx.replyLater() took the answer over: the return value answers nothing.
      if (cell.replyTag !== replyTag) replyTag = kNoReply;
      if (began !== 0) this.watchHandlerTime(cell, began, result);
      if (result !== null && typeof result === 'object' && typeof (result as PromiseLike<unknown>).then === 'function') {
        cell.busy = true;
        this.busyCount++;
        (result as PromiseLike<unknown>).then(
          (value) => {
            if (task !== undefined) this.envelopes.done(task);
            this.afterAsync(cell, value, undefined, replyTag, entry);
          },
          (err: unknown) => {
            if (task !== undefined) this.envelopes.done(task);
            this.afterAsync(cell, undefined, err ?? new Error('handler rejected with no reason'), replyTag, entry, task);
          },
        );
        this.handled += count;
        cell.scheduled = false;
        return count;
      }
      // A due checkpoint is taken before the answer leaves: an answered ask's effect survives a crash.
      if (def.checkpointEvery !== undefined) this.checkpointDue(cell);
      if (replyTag !== kNoReply) this.reply(replyTag, result, false);
      if (entry >= 0) this.finishEntry(entry);
    }
    this.handled += count;
    if (cell.stopRequested && !cell.stopped) {
      cell.scheduled = false;
      this.finishStop(cell);
    } else if (mailbox.length > 0 && !cell.held) {
      this.ready.push(cell); // stays scheduled: back of the line for fairness
    } else {
      cell.scheduled = false;
    }
    return count;
  }

  /** ContextHost: `ctx.subscribe`, `ctx.unsubscribe`, `ctx.publish`. */
  topicOp(cell: Cell, op: 'subscribe' | 'unsubscribe' | 'publish', topic: string, msg?: unknown): void {
    this.envelopes.topicOp(cell, op, topic, msg);
  }

  /** ContextHost: `ctx.leaderOf`. */
  leaderOf(swarm: string): { leader: ActorRef | undefined; term: number } | undefined {
    return this.envelopes.leaderOf(swarm);
  }

  private afterAsync(cell: Cell, value: unknown, error: unknown, replyTag: number, entry: number, task?: Task | Proposal): void {
    cell.memory?.endTurn();
    cell.busy = false;
    this.busyCount--;
    if (error === undefined && cell.def.checkpointEvery !== undefined) this.checkpointDue(cell);
    if (cell.checkpointWaiters !== undefined) {
      const waiters = cell.checkpointWaiters;
      cell.checkpointWaiters = undefined;
      for (const run of waiters) run(undefined);
    }
    if (error !== undefined) {
      if (task === undefined) this.handlerFailed(cell, error, replyTag);
      else this.envelopes.failed(cell, task, error, replyTag);
    } else if (replyTag !== kNoReply) this.reply(replyTag, value, false);
    this.finishEntry(entry);
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
      if (!cell.stopped) this.finishStop(cell);
    } else if (cell.mailbox.length > 0 && !cell.scheduled && !cell.held) {
      cell.scheduled = true;
      this.ready.push(cell);
    }
    if (!this.draining) this.requestDrain();
  }

  /**
   * Suspends or resumes an actor of this thread. A suspended actor finishes
   * the handler it is in, then handles nothing; its mailbox keeps accepting
   * messages up to its bound. Returns false when the actor is not here.
   */
  setSuspended(ref: ActorRef, suspended: boolean): boolean {
    const cell = this.cells[ref.slot];
    if (cell === undefined || cell.gen !== ref.gen || cell.stopped) return false;
    cell.setSuspended(suspended);
    this.reschedule(cell);
    return true;
  }

  /**
   * `handlerTimeoutMs`: a handler that ran (or, async, has not settled)
   * longer than its actor's limit is reported on `rt.failures` (phase
   * 'timeout', HandlerTimeoutError). It is not cut off: cancellation is
   * cooperative (`ctx.signal`), and a handler stuck in a synchronous loop
   * is the main thread's watchdog's business (watchdog.ts).
   */
  private watchHandlerTime(cell: Cell, began: number, result: unknown): void {
    const limit = cell.def.handlerTimeoutMs as number;
    const elapsed = performance.now() - began;
    const report = (ms: number) =>
      this.system.failure({ actor: cell.ref, error: new HandlerTimeoutError(cell.ref.toString(), limit, ms), phase: 'timeout' });
    if (elapsed > limit) {
      report(elapsed);
      return;
    }
    if (!isThenable(result)) return;
    const timer = setTimeout(() => report(performance.now() - began), limit - elapsed);
    const clear = () => clearTimeout(timer);
    result.then(clear, clear);
  }

  /** Puts an actor back in the ready queue if it can run and has mail. */
  reschedule(cell: Cell): void {
    if (cell.started && !cell.held && !cell.busy && !cell.scheduled && !cell.stopped && cell.mailbox.length > 0) {
      cell.scheduled = true;
      this.ready.push(cell);
      if (!this.draining) this.requestDrain();
    }
  }

  private handlerFailed(cell: Cell, thrown: unknown, replyTag: number): void {
    const error = toError(thrown);
    if (replyTag !== kNoReply) this.reply(replyTag, error, true);
    this.system.failure({ actor: cell.ref, error, phase: 'receive' });
    this.supervisor.report(cell, error);
  }

  // --------------------------------------------------------- crash recovery

  /**
   * On a replacement thread: brings back the actors of the thread that died,
   * in the same slots and generations (every ref to them keeps working),
   * before this endpoint reads its rings, so what waits there for them is
   * delivered to them, in order. Each state comes from its last checkpoint,
   * else from `init`.
   */
  async rehost(
    actors: Array<{
      slot: number; gen: number; module: string; args: Uint8Array; name: string | undefined; parent: { slot: number; gen: number } | undefined;
      delivery: Delivery; delayMs: number;
    }>,
    error: Error,
    replay: Array<{ at: number; from: number; running: boolean; crashes: number; body: Uint8Array }>,
  ): Promise<void> {
    // Modules first: then every cell is registered in one synchronous pass,
    // before the loop starts and reads a frame addressed to one of them.
    for (const module of new Set(actors.map((a) => a.module))) {
      try {
        await loadModule(module);
      } catch {
        // Reported per actor below, by startActor's own failure.
      }
    }
    const started: Array<Promise<unknown>> = [];
    for (const a of actors) {
      this.pool.reclaim({ slot: a.slot, gen: a.gen }); // its old state's regions have no owner left
      const parent = a.parent === undefined ? undefined : new ActorRef(a.parent.slot, a.parent.gen, undefined, this);
      let args: unknown;
      try {
        args = decode(a.args);
      } catch (err) {
        started.push(Promise.reject(err));
        continue;
      }
      started.push(this.startActor(a.slot, a.gen, a.module, args, a.name, parent, undefined, error, a.delayMs));
      const cell = this.cells[a.slot];
      if (cell !== undefined && cell.gen === a.gen) cell.delivery = a.delivery;
    }
    // What the dead thread had taken and not finished, oldest first, before
    // anything still in the rings: per-sender order holds. Each keeps its
    // journal entry (this thread took the journal over as it was), done when
    // the message is.
    for (const entry of replay) {
      this.replayingRunning = entry.running;
      this.replayCrashes = entry.crashes;
      try {
        this.onFrame(entry.from, entry.body, 0, entry.body.length, entry.at);
      } finally {
        this.replayingRunning = false;
        this.replayCrashes = 0;
      }
    }
    this.start();
    // Taken over: the recovery task answers now, not once every actor's state
    // is built (an async init, a restart backoff). Waiting for those let the
    // loop run a replayed handler first, and one that blocks then held the
    // answer back: the main thread gave the thread up as never started and
    // left it blocked, unwatched. Messages wait in the mailboxes for the
    // state meanwhile; failures are reported when they come.
    void Promise.allSettled(started).then((results) => {
      results.forEach((r, i) => {
        if (r.status === 'rejected') {
          this.system.failure({ actor: new ActorRef(actors[i].slot, actors[i].gen, actors[i].name, this), error: toError(r.reason), phase: 'crashed' });
        }
      });
    });
  }

  /**
   * The (asking endpoint, ask id) of a journaled message when it is an ASK
   * (looking inside a carried one), [] otherwise: the main thread reads a dead
   * thread's journal with it, to leave the asks that replay answers alone.
   */
  askOfJournaled(entry: { from: number; body: Uint8Array }): number[] {
    let body = entry.body;
    if (body[0] === kCarried) {
      const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
      body = this.pool.carrierView(new RegionHandle(view.getUint32(1, true), view.getUint32(5, true), view.getUint32(9, true), 0, 0));
    }
    if (body[0] !== kAsk) return [];
    // kind u8, slot u32, gen u32, sender slot i32, sender gen u32, askId u32
    return [entry.from, new DataView(body.buffer, body.byteOffset, body.byteLength).getUint32(17, true)];
  }

  /**
   * The message inside a journaled TELL, ASK or FORWARD body (looking inside
   * a carried one), decoded; undefined for anything else. For the main
   * thread's watchdog, naming what a handler that holds its thread handles.
   */
  messageOfJournaled(body: Uint8Array): unknown {
    if (body[0] === kCarried) {
      const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
      body = this.pool.carrierView(new RegionHandle(view.getUint32(1, true), view.getUint32(5, true), view.getUint32(9, true), 0, 0));
    }
    const r = new Reader();
    r.reset(body, 0, body.length);
    const kind = r.u8();
    if (kind !== kTell && kind !== kAsk && kind !== kForward) return undefined;
    r.u32(); // slot
    r.u32(); // gen
    r.i32(); // sender slot
    r.u32(); // sender gen
    if (kind === kAsk) r.u32(); // ask id
    if (kind === kForward) {
      r.i32(); // asker
      r.u32(); // ask id
    }
    setDecodingHost(this);
    return decodeValue(r);
  }



  /**
   * The actors (slot and generation) a message counts against: one for a
   * TELL, ASK or FORWARD (looking inside a carried one), each listed one for
   * a MULTICAST, none for anything else. The main thread counts, with it,
   * what still waits for the actors of a thread that died.
   */
  countedTargetsOf(body: Uint8Array): Array<{ slot: number; gen: number }> {
    if (body.length < 9) return [];
    if (body[0] === kCarried) {
      const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
      body = this.pool.carrierView(new RegionHandle(view.getUint32(1, true), view.getUint32(5, true), view.getUint32(9, true), 0, 0));
    }
    const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
    if (body[0] === kMulticast) {
      // kind u8, count u32, then (slot u32, gen u32) each
      const count = view.getUint32(1, true);
      const out: Array<{ slot: number; gen: number }> = [];
      for (let i = 0; i < count && 5 + i * 8 + 8 <= body.length; i++) out.push({ slot: view.getUint32(5 + i * 8, true), gen: view.getUint32(9 + i * 8, true) });
      return out;
    }
    if (body.length < 9 || (body[0] !== kTell && body[0] !== kAsk && body[0] !== kForward)) return [];
    return [{ slot: view.getUint32(1, true), gen: view.getUint32(5, true) }];
  }

  /** @internal Sends one mailbox entry of a migrating actor to its new thread (a kForward frame). */
  forward(to: number, cell: Cell, msg: unknown, sender: ActorRef | undefined, replyTag: number): void {
    const w = this.beginMessage(kForward, cell.slot, cell.gen, sender);
    w.i32(replyTag === kNoReply ? -1 : replyTag % kReplyStride);
    w.u32(replyTag === kNoReply ? 0 : Math.floor(replyTag / kReplyStride));
    encodeValue(w, msg, 'msg');
    this.transport.send(to, w.bytes, this.checkSize(w.pos - kHeaderBytes));
  }

  // ------------------------------------------------------------ checkpoints

  /**
   * Checkpoints `cell` now: its `snapshot(state)`, encoded, in a pool
   * allocation owned by no actor (a restart frees what the actor owned, and
   * this must outlive it), published in the directory so that the main
   * thread finds it after this thread died. The previous one is freed.
   * Returns the snapshot's size in bytes.
   */
  private takeCheckpoint(cell: Cell): number {
    const snapshot = cell.def.snapshot;
    if (snapshot === undefined) throw new InvalidArgumentError('ref', 'an actor whose definition has snapshot and restore', cell.ref);
    const bytes = encode(snapshot(cell.state), 'snapshot');
    const handle = this.pool.allocateCarrier(bytes.length);
    this.pool.carrierView(handle).set(bytes);
    const previous = this.checkpointHandle(cell.slot);
    this.dir.setCheckpoint(cell.slot, { region: handle.region, gen: handle.gen, length: bytes.length });
    if (previous !== undefined) this.freeCheckpoint(previous);
    cell.sinceCheckpoint = 0;
    return bytes.length;
  }

  private freeCheckpoint(handle: RegionHandle): void {
    try {
      this.pool.freeCarrier(handle);
    } catch {
      // Already gone (a stale column after a crash was swept): nothing to free.
    }
  }

  /**
   * The slot's checkpoint allocation: the region the directory names, with
   * the generation and size of that region's own row. The directory's other
   * checkpoint columns are not trusted: a thread that died between its
   * stores would have left them describing the next checkpoint while the
   * region word still names the last one (read that way, the snapshot was
   * garbage and the actor's state lost).
   */
  private checkpointHandle(slot: number): RegionHandle | undefined {
    const at = this.dir.checkpoint(slot);
    return at === undefined ? undefined : this.pool.carrierAt(at.region);
  }

  /** The slot's last checkpoint, decoded from a copy of its bytes, or undefined when it has none. */
  checkpointData(slot: number): { data: unknown } | undefined {
    const handle = this.checkpointHandle(slot);
    if (handle === undefined) return undefined;
    return { data: decode(this.pool.carrierView(handle).slice()) };
  }

  /** Drops the slot's checkpoint (the actor stopped for good, or was lost with its thread). */
  dropCheckpoint(slot: number): void {
    const handle = this.checkpointHandle(slot);
    this.dir.setCheckpoint(slot, undefined);
    if (handle !== undefined) this.freeCheckpoint(handle);
  }

  /**
   * `rt.checkpoint(ref)` on the actor's thread: between two messages (after
   * the running async handler, if one runs). Resolves to the snapshot's size.
   */
  checkpointRef(ref: ActorRef): Promise<number> {
    const cell = this.cells[ref.slot];
    if (cell === undefined || cell.gen !== ref.gen || cell.stopped) return Promise.reject(this.stoppedError(ref));
    if (cell.def.snapshot === undefined) {
      return Promise.reject(new InvalidArgumentError('ref', 'an actor whose definition has snapshot and restore', ref));
    }
    if (!cell.busy) {
      try {
        return Promise.resolve(this.takeCheckpoint(cell));
      } catch (err) {
        return Promise.reject(err);
      }
    }
    return new Promise((resolve, reject) => {
      (cell.checkpointWaiters ??= []).push((failed) => {
        if (failed !== undefined) return reject(failed);
        try {
          resolve(this.takeCheckpoint(cell));
        } catch (err) {
          reject(err);
        }
      });
    });
  }

  /** ContextHost: `ctx.checkpoint()`. */
  checkpointNow(cell: Cell): number {
    if (cell.stopped) throw this.stoppedError(cell.ref);
    return this.takeCheckpoint(cell);
  }

  /** After a handled message: a checkpoint when the actor's `checkpointEvery` is due. */
  private checkpointDue(cell: Cell): void {
    const every = cell.def.checkpointEvery;
    if (every === undefined || ++cell.sinceCheckpoint < every) return;
    try {
      this.takeCheckpoint(cell);
    } catch (err) {
      this.system.failure({ actor: cell.ref, error: toError(err), phase: 'checkpoint' });
    }
  }

  /** Runs `fn` as `cell` (ctx.self, spawn parent, memory owner), awaiting what it returns. */
  inTurn<T>(cell: Cell, fn: () => T | Promise<T>): Promise<T> {
    const previous = this.current;
    this.current = cell;
    try {
      return Promise.resolve(fn());
    } catch (err) {
      return Promise.reject(err);
    } finally {
      this.current = previous;
      cell.memory?.endTurn();
    }
  }

  // ---------------------------------------------------------------- spawning

  /**
   * Starts an actor on this thread in a slot already allocated for it (by the
   * main thread, or by {@link spawnChild}). On failure the slot is released
   * and nothing of the actor remains. When the module is already loaded and
   * `init` is synchronous, the actor is running before this returns (the
   * promise is already resolved): spawning a child costs no async hop.
   */
  startActor(
    slot: number, gen: number, moduleUrl: string, args: unknown, name: string | undefined, parent: ActorRef | undefined,
    parentCell?: Cell, recovered?: Error, delayMs = 0,
  ): Promise<ActorRef> {
    const def = loadedModule(moduleUrl);
    if (def !== undefined) return this.initActor(slot, gen, def, moduleUrl, args, name, parent, parentCell, recovered, delayMs);
    return loadModule(moduleUrl).then(
      (loaded) => this.initActor(slot, gen, loaded, moduleUrl, args, name, parent, parentCell, recovered, delayMs),
      (err: unknown) => {
        this.releaseSlot(slot);
        throw err;
      },
    );
  }

  private initActor(
    slot: number, gen: number, def: ActorDefinition, moduleUrl: string, args: unknown, name: string | undefined,
    parent: ActorRef | undefined, parentCell: Cell | undefined, recovered?: Error, delayMs = 0,
  ): Promise<ActorRef> {
    const ref = new ActorRef(slot, gen, name, this);
    const cell = new Cell(slot, gen, def, ref, moduleUrl, parent, this.dir.capacity[slot], this.dir.policy[slot]);
    cell.ctx = new ActorContext(cell, this);
    this.cells[slot] = cell;
    if (delayMs > 0) {
      // Brought back after a crash with its supervisor's restart backoff: the
      // cell is registered now (messages queue in its mailbox), its state is
      // built when the delay is over, as a restart with backoff would.
      cell.args = args;
      return new Promise<void>((resolve) => setTimeout(resolve, delayMs)).then(() =>
        cell.stopped ? cell.ref : cell.stopRequested ? this.activate(cell, undefined, parentCell) : this.buildState(cell, args, parentCell, recovered),
      );
    }
    return this.buildState(cell, args, parentCell, recovered);
  }

  /** Runs `init` (or `restore`, for an actor brought back with a checkpoint), then `preStart`. */
  private buildState(cell: Cell, args: unknown, parentCell: Cell | undefined, recovered: Error | undefined): Promise<ActorRef> {
    const { slot, def } = cell;
    let state: unknown;
    const previous = this.current;
    this.current = cell;
    // Brought back after its thread died: from its last checkpoint when it has one.
    const saved = recovered !== undefined && def.restore !== undefined ? this.checkpointData(slot) : undefined;
    try {
      if (saved !== undefined && def.restore !== undefined) state = def.restore(saved.data, args, cell.ctx);
      else state = def.init(args, cell.ctx);
    } catch (err) {
      return Promise.reject(this.initFailed(cell, err));
    } finally {
      this.current = previous;
    }
    cell.args = args;
    if (isThenable(state)) {
      return Promise.resolve(state).then(
        (resolved) => this.preStart(cell, resolved, parentCell, recovered),
        (err: unknown) => {
          throw this.initFailed(cell, err);
        },
      );
    }
    return this.preStart(cell, state, parentCell, recovered);
  }

  /**
   * Runs `preStart` (when defined) on a new instance, then lets it take
   * messages. An actor brought back after a crash gets `postRestart` instead, when it has one.
   */
  private preStart(cell: Cell, state: unknown, parentCell: Cell | undefined, recovered?: Error): Promise<ActorRef> {
    const def = cell.def;
    const hook =
      recovered !== undefined && def.postRestart !== undefined
        ? (s: unknown, ctx: ActorContext) => def.postRestart?.(s, recovered, ctx)
        : def.preStart;
    if (hook === undefined) return Promise.resolve(this.activate(cell, state, parentCell));
    let result: unknown;
    const previous = this.current;
    this.current = cell;
    try {
      result = hook(state, cell.ctx);
    } catch (err) {
      return Promise.reject(this.initFailed(cell, err));
    } finally {
      this.current = previous;
    }
    if (!isThenable(result)) return Promise.resolve(this.activate(cell, state, parentCell));
    return Promise.resolve(result).then(
      () => this.activate(cell, state, parentCell),
      (err: unknown) => {
        throw this.initFailed(cell, err);
      },
    );
  }

  /** init failed: nothing half-registered remains. */
  private initFailed(cell: Cell, thrown: unknown): ActorInitError {
    // Messages sent to it during init become dead letters, children it
    // spawned are stopped, the slot is freed.
    cell.stopped = true;
    this.stopChildren(cell);
    this.drainToDeadLetters(cell, 'stopped');
    this.cells[cell.slot] = undefined;
    this.releaseSlot(cell.slot);
    return new ActorInitError(cell.moduleUrl, { cause: toError(thrown) });
  }

  private activate(cell: Cell, state: unknown, parentCell: Cell | undefined): ActorRef {
    cell.state = state;
    cell.started = true;
    Atomics.store(this.dir.state, cell.slot, kAlive);
    this.envelopes.started(cell);
    if (parentCell !== undefined) {
      if (parentCell.stopped) cell.stopRequested = true; // the parent stopped while its child started
      else parentCell.addChild(cell.ref);
    }
    if (cell.stopRequested) {
      // stop() arrived while init ran: the spawn still succeeds, then the actor stops.
      this.finishStop(cell);
      return cell.ref;
    }
    if (cell.mailbox.length > 0 && !cell.scheduled) {
      cell.scheduled = true;
      this.ready.push(cell);
      if (!this.draining) this.requestDrain();
    }
    return cell.ref;
  }

  private releaseSlot(slot: number): void {
    this.dir.release(slot);
    this.transport.addLoad(this.index, -1);
  }

  /** ContextHost: `ctx.spawn`. */
  spawnChild(parent: Cell, moduleUrl: URL | string, args: unknown, options: SpawnOptions | undefined): Promise<ActorRef> {
    let url: string;
    let opts: ReturnType<typeof resolveSpawnOptions>;
    try {
      if (this.closed) throw new RuntimeClosedError('spawn');
      if (parent.stopped) throw new ActorStoppedError(parent.ref.toString(), 'has stopped and cannot spawn');
      url = normalizeModuleUrl(moduleUrl);
      opts = options === undefined ? this.defaultSpawn : resolveSpawnOptions(options, this.config.threads, this.defaultSpawn);
    } catch (err) {
      return Promise.reject(err);
    }
    const thread = opts.thread === undefined ? this.index : opts.thread + 1;
    if (thread !== this.index || opts.name !== undefined) {
      // Placement elsewhere and names are the main thread's business.
      return this.request(0, 'spawn', {
        module: url, args, name: opts.name, thread: thread - 1, capacity: opts.capacity, overflow: opts.policy, parent: parent.ref,
        memoryQuota: opts.memoryQuota, delivery: opts.delivery, agent: opts.agent,
      }).then((ref) => {
        if (parent.stopped) void this.stopRef(ref as ActorRef);
        else parent.addChild(ref as ActorRef);
        return ref as ActorRef;
      });
    }
    const slot = this.dir.allocate(this.index, opts.capacity, overflowPolicies.indexOf(opts.policy));
    if (slot < 0) return Promise.reject(new AgentLimitError(this.dir.maxAgents));
    // Spawning is runtime progress too: a handler or init that builds a big
    // tree of children synchronously is busy, not stuck.
    if ((slot & 1023) === 0) this.transport.beat();
    this.transport.addLoad(this.index, 1);
    this.pool.setQuota(slot, opts.memoryQuota);
    if (opts.agent !== undefined) this.envelopes.override(slot, Atomics.load(this.dir.gen, slot), opts.agent);
    return this.startActor(slot, Atomics.load(this.dir.gen, slot), url, args, undefined, parent.ref, parent);
  }

  /** ContextHost: `ctx.lookup`. */
  lookup(name: string): Promise<ActorRef | undefined> {
    if (typeof name !== 'string') return Promise.reject(new InvalidArgumentError('name', 'a string', name));
    return this.request(0, 'lookup', { name }) as Promise<ActorRef | undefined>;
  }

  /** ContextHost: `ctx.after` / `ctx.every`. */
  startTimer(cell: Cell, ms: number, msg: unknown, repeat: boolean): Timer {
    if (typeof ms !== 'number' || !Number.isFinite(ms) || ms < 0) {
      throw new InvalidOptionError('ms', 'a finite number from 0 up', ms);
    }
    if (cell.stopped) return { cancel() {} };
    const fire = () => {
      if (cell.stopped) return;
      if (!repeat) cell.timers?.delete(timer);
      this.enqueue(cell, msg, undefined, kNoReply);
    };
    const timer = repeat ? setInterval(fire, Math.max(1, ms)) : setTimeout(fire, ms);
    cell.addTimer(timer);
    return {
      cancel: () => {
        clearTimeout(timer);
        cell.timers?.delete(timer);
      },
    };
  }

  /** ContextHost: `ctx.watch`. Terminated arrives once, when `target` stops (at once if it already has). */
  watch(cell: Cell, target: ActorRef): void {
    if (!(target instanceof ActorRef)) throw new InvalidArgumentError('ref', 'an ActorRef', target);
    if (cell.stopped || target.equals(cell.ref)) return;
    (cell.watching ??= new Set()).add(target);
    this.addWatcher(target, cell.ref);
  }

  /** ContextHost: `ctx.unwatch` (a Terminated already sent may still be queued). */
  unwatch(cell: Cell, target: ActorRef): void {
    if (!(target instanceof ActorRef)) throw new InvalidArgumentError('ref', 'an ActorRef', target);
    if (cell.watching !== undefined) for (const w of cell.watching) if (w.equals(target)) cell.watching.delete(w);
    this.removeWatcher(target, cell.ref);
  }

  /** Registers `watcher` on `target`, on whichever thread hosts it. */
  addWatcher(target: ActorRef, watcher: ActorRef): void {
    if (!this.dir.isLive(target.slot, target.gen)) {
      this.sendTerminated(watcher, target, this.dir.whyGone(target.slot, target.gen));
      return;
    }
    const thread = Atomics.load(this.dir.thread, target.slot);
    if (thread !== this.index) {
      this.notify(thread, 'watch', { target, watcher });
      return;
    }
    const cell = this.cells[target.slot];
    if (cell === undefined || cell.gen !== target.gen || cell.completed) {
      this.sendTerminated(watcher, target, 'stopped');
      return;
    }
    const watchers = (cell.watchers ??= new Set());
    for (const w of watchers) if (w.equals(watcher)) return; // watching is idempotent
    watchers.add(watcher);
  }

  removeWatcher(target: ActorRef, watcher: ActorRef): void {
    if (!this.dir.isLive(target.slot, target.gen)) return;
    const thread = Atomics.load(this.dir.thread, target.slot);
    if (thread !== this.index) {
      this.notify(thread, 'unwatch', { target, watcher });
      return;
    }
    const cell = this.cells[target.slot];
    if (cell === undefined || cell.gen !== target.gen || cell.watchers === undefined) return;
    for (const w of cell.watchers) if (w.equals(watcher)) cell.watchers.delete(w);
  }

  private sendTerminated(watcher: ActorRef, actor: ActorRef, reason: TerminatedReason): void {
    // A watcher that stopped meanwhile is not owed a dead letter for it.
    if (!this.dir.isLive(watcher.slot, watcher.gen) || this.closed) return;
    const message: Terminated = { type: 'terminated', actor, reason };
    this.route(watcher, message, undefined, kNoReply, true);
  }

  /** ContextHost: `ctx.memory`. */
  memoryFor(cell: Cell): MemoryContext {
    return (cell.memory ??= new MemoryContext(
      this.pool,
      { slot: cell.slot, gen: cell.gen, name: cell.ref.toString() },
      (slot, gen) => this.dir.isLive(slot, gen),
    ));
  }

  /** ContextHost: `ctx.replyLater`. */
  replyLater(cell: Cell): DeferredReply {
    const tag = cell.replyTag;
    if (this.current !== cell || tag === kNoReply) {
      return { expected: false, resolve() {}, reject() {} };
    }
    cell.replyTag = kNoReply;
    let answered = false;
    return {
      expected: true,
      resolve: (value: unknown) => {
        if (answered) return;
        answered = true;
        this.reply(tag, value, false);
      },
      reject: (error: unknown) => {
        if (answered) return;
        answered = true;
        this.reply(tag, toError(error), true);
      },
    };
  }

  // ---------------------------------------------------------------- stopping

  /** ContextHost: stops an actor of this thread after its running handler. */
  requestStop(cell: Cell): void {
    if (cell.stopped || cell.stopRequested) return;
    cell.stopRequested = true;
    // Moving to another thread (prepared) or arriving here: it stops once it has arrived.
    if (cell.move !== undefined || cell.arriving !== undefined) return;
    if (this.current === cell || cell.busy || !cell.started) return; // finished by runCell / afterAsync / startActor
    this.finishStop(cell);
  }

  /** Stops the actor `ref` names, wherever it lives; resolves when it has stopped. */
  stopRef(ref: ActorRef): Promise<void> {
    if (!this.dir.isLive(ref.slot, ref.gen)) return Promise.resolve();
    const thread = Atomics.load(this.dir.thread, ref.slot);
    if (thread !== this.index) return this.request(thread, 'stop', { ref }).then(() => undefined);
    const cell = this.cells[ref.slot];
    if (cell === undefined || cell.gen !== ref.gen) return Promise.resolve();
    return new Promise((resolve) => {
      if (cell.stopped && this.cells[ref.slot] !== cell) {
        resolve();
        return;
      }
      (cell.stopWaiters ??= []).push(resolve);
      if (!cell.started) cell.stopRequested = true;
      else this.requestStop(cell);
    });
  }

  stopChildren(cell: Cell): void {
    if (cell.children === undefined) return;
    for (const child of cell.children) void this.stopRef(child).catch(() => undefined);
    cell.children.clear();
  }

  private finishStop(cell: Cell): void {
    if (cell.stopped) return;
    cell.stopped = true;
    Atomics.store(this.dir.state, cell.slot, kStopping);
    if (cell.restartTimer !== undefined) clearTimeout(cell.restartTimer);
    cell.restartTimer = undefined;
    this.stopChildren(cell);
    if (cell.timers !== undefined) {
      for (const timer of cell.timers) clearTimeout(timer);
      cell.timers.clear();
    }
    cell.abort?.abort();
    const postStop = cell.def.postStop;
    if (postStop === undefined) {
      this.completeStop(cell);
      return;
    }
    let result: unknown;
    try {
      result = postStop(cell.state, cell.ctx);
    } catch (err) {
      this.system.failure({ actor: cell.ref, error: toError(err), phase: 'postStop' });
      this.completeStop(cell);
      return;
    }
    if (result !== null && typeof result === 'object' && typeof (result as PromiseLike<unknown>).then === 'function') {
      (result as PromiseLike<unknown>).then(
        () => this.completeStop(cell),
        (err: unknown) => {
          this.system.failure({ actor: cell.ref, error: toError(err), phase: 'postStop' });
          this.completeStop(cell);
        },
      );
      return;
    }
    this.completeStop(cell);
  }

  private completeStop(cell: Cell): void {
    if (cell.completed) return;
    cell.completed = true;
    this.drainToDeadLetters(cell, this.shuttingDown ? 'shutdown' : 'stopped');
    if (this.cells[cell.slot] === cell) this.cells[cell.slot] = undefined;
    // What it owned or borrowed goes back to the pool (loans it made live on).
    this.pool.reclaim({ slot: cell.slot, gen: cell.gen });
    this.dropCheckpoint(cell.slot);
    if (cell.checkpointWaiters !== undefined) {
      for (const run of cell.checkpointWaiters) run(new ActorStoppedError(cell.ref.toString()));
      cell.checkpointWaiters = undefined;
    }
    this.releaseSlot(cell.slot);
    if (cell.stopWaiters !== undefined) for (const resolve of cell.stopWaiters) resolve();
    cell.stopWaiters = undefined;
    if (cell.watchers !== undefined) {
      const reason: TerminatedReason = this.shuttingDown ? 'shutdown' : (cell.terminationReason ?? 'stopped');
      for (const watcher of cell.watchers) this.sendTerminated(watcher, cell.ref, reason);
      cell.watchers = undefined;
    }
    if (cell.parent !== undefined && Atomics.load(this.dir.thread, cell.parent.slot) === this.index) {
      this.cells[cell.parent.slot]?.children?.delete(cell.ref);
    }
  }

  private drainToDeadLetters(cell: Cell, reason: DeadLetterReason): void {
    cell.mailbox.takeEach((msg, sender, replyTag, entry) => {
      this.dropMessage(cell.ref, cell, msg, sender, replyTag, reason);
      this.finishEntry(entry);
    });
  }

  /**
   * Stops every actor on this thread (shutdown): postStop runs, queued
   * messages become dead letters with reason 'shutdown'. An actor whose
   * handler or postStop has not settled by `deadline` (Date.now() ms) is
   * stopped regardless: its signal has fired, and whatever it answers later
   * is dropped.
   */
  async stopAll(deadline: number): Promise<void> {
    this.shuttingDown = true;
    this.pollNow(); // what is still in the rings joins the mailboxes first
    const waits: Array<Promise<void>> = [];
    for (let slot = 0; slot < this.cells.length; slot++) {
      const cell = this.cells[slot];
      if (cell !== undefined && !cell.stopped) waits.push(this.stopRef(cell.ref));
    }
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<void>((resolve) => (timer = setTimeout(resolve, Math.max(0, deadline - Date.now()))));
    await Promise.race([Promise.all(waits), late]);
    clearTimeout(timer);
    for (let slot = 0; slot < this.cells.length; slot++) {
      const cell = this.cells[slot];
      if (cell === undefined) continue;
      if (!cell.stopped) {
        cell.stopped = true;
        cell.abort?.abort();
        if (cell.timers !== undefined) for (const t of cell.timers) clearTimeout(t);
      }
      this.completeStop(cell);
    }
    this.pollNow(); // late arrivals: dead letters with reason 'shutdown'
  }

  /** True when this thread has nothing queued, running or unread. */
  isIdle(): boolean {
    return this.readyHead >= this.ready.length && this.busyCount === 0 && !this.transport.hasInbound() && !this.transport.hasBacklog;
  }

  /** Reads whatever the rings hold now (shutdown's last look for dead letters). */
  pollNow(): void {
    while (this.transport.poll(this.onFrame) > 0) {
      // keep reading
    }
  }

  /**
   * The thread of `endpoint` died; `consumed` says how many messages it had
   * taken from each endpoint's ring. Asks (and control requests) this
   * endpoint sent there and that it had taken are in doubt: rejected with
   * ActorCrashedError. Those still in the ring wait for its replacement.
   * Then death watch is settled: actors here that watched an actor of that
   * thread watch it again when it was brought back, and get Terminated
   * ('crashed') when it was not.
   */
  threadCrashed(endpoint: number, consumed: number[], lost: number[], replayed: number[] = []): void {
    const taken = consumed[this.index] ?? 0;
    const answeredLater = new Set<number>();
    for (let i = 0; i + 1 < replayed.length; i += 2) if (replayed[i] === this.index) answeredLater.add(replayed[i + 1]);
    for (const [askId, entry] of this.pending) {
      // Sequence numbers wrap with the int32 counters: compare by difference.
      if (entry.target !== endpoint || entry.seq === undefined || ((entry.seq - taken) | 0) > 0) continue;
      if (answeredLater.has(askId)) continue; // journaled: its replay answers it
      this.settle(askId);
      const actor = entry.actor;
      const name = typeof actor === 'string' ? `the thread of endpoint ${endpoint} (${actor})` : (actor?.toString() ?? `on endpoint ${endpoint}`);
      entry.reject(new ActorCrashedError(name));
    }
    const gone = new Set<string>();
    for (let i = 0; i + 1 < lost.length; i += 2) gone.add(`${lost[i]}.${lost[i + 1]}`);
    for (const cell of this.cells) {
      if (cell === undefined || cell.stopped || cell.watching === undefined) continue;
      for (const target of cell.watching) {
        if (this.dir.isLive(target.slot, target.gen)) {
          if (Atomics.load(this.dir.thread, target.slot) === endpoint) this.addWatcher(target, cell.ref);
          continue;
        }
        // Not live: lost in this crash, or gone otherwise. A Terminated that is
        // already on its way makes this one a duplicate, which takeWatch drops.
        const reason: TerminatedReason = gone.has(`${target.slot}.${target.gen}`) ? 'crashed' : this.dir.whyGone(target.slot, target.gen);
        this.sendTerminated(cell.ref, target, reason);
      }
    }
  }

  /** Stops the loop and rejects what still waits for an answer. */
  close(reason: Error): void {
    if (this.closed) return;
    this.closed = true;
    if (this.heartbeat !== undefined) clearInterval(this.heartbeat);
    this.transport.close();
    for (const [askId, entry] of this.pending) {
      this.settle(askId);
      entry.reject(reason);
    }
  }

  /** @internal For tests and stats: actors hosted here. */
  actorCount(): number {
    return this.transport.load(this.index);
  }

  /** @internal Describes a value for messages. */
  static describe(value: unknown): string {
    return describeValue(value);
  }
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return value !== null && typeof value === 'object' && typeof (value as PromiseLike<unknown>).then === 'function';
}

function isTerminated(msg: unknown): msg is Terminated {
  return msg !== null && typeof msg === 'object' && (msg as Terminated).type === 'terminated' && (msg as Terminated).actor instanceof ActorRef;
}
