/**
 * The router: where a message for an actor goes. Routing to (slot, gen):
 *   - resolve the slot in the shared directory (live? which endpoint? bounded?);
 *   - this thread: push (msg, sender, replyTag) onto the actor's heap
 *     mailbox (the dispatcher's), no copy, no encoding; the drain loop runs
 *     it in a batch;
 *   - another endpoint: encode once into this thread's scratch and hand the
 *     frame to that endpoint's Link (link.ts): today the (this thread ->
 *     that thread) ring, the receiver woken only if it is parked; later
 *     another node.
 * Also every other frame this thread sends (multicasts, forwarded mailboxes,
 * replies and control requests), and bounded-mailbox admission.
 *
 * Hot path: `tell` -> `route` -> `Dispatcher.enqueue` or `Link.sendMessage`.
 * It allocates nothing per message, and the parts it calls are fields set
 * once (`wire`).
 */
import type { Cell } from '../actors/cell.js';
import { kNoReply, kReplyStride } from '../actors/mailbox.js';
import { ActorRef, type TellOptions } from '../actors/ref.js';
import { ActorStoppedError, InvalidArgumentError, InvalidOptionError, MessageTooLargeError, RuntimeClosedError, toError } from '../base/errors.js';
import { Writer, encodeValue } from '../transport/codec/index.js';
import { kPolicyDropNewest, kPolicyDropOldest, type Directory } from '../transport/directory.js';
import { kAsk, kForward, kMulticast, kRemote, kReplyError, kReplyOk, kSystem, kTell, kTraced } from '../transport/kinds.js';
import { kHeaderBytes } from '../transport/ring.js';
import type { Link } from './link.js';
import type { Metering } from './metering.js';
import { kPathCross, kPathLocal, kPathRemote, kSent } from '../transport/meters.js';
import { writeRemoteSender, writeSenderHead } from './sender-field.js';
import type { DispatcherPart, Engine, MemoryPart, RouterPart, TracingPart } from './parts.js';
import { type TraceContext, isWritable, writeTraceField } from './trace-field.js';
import { kRouteDead, kRouteFull, kRouteOk, type DeadLetterReason, type EndpointConfig } from './types.js';

/** `countIn`: which refusals of a bounded mailbox become dead letters. */
const kLettersNone = 0;
const kLettersPolicy = 1;
const kLettersAll = 2;

/** @internal */
export class Router implements RouterPart {
  private readonly engine: Engine;
  private readonly index: number;
  private readonly dir: Directory;
  private readonly config: EndpointConfig;
  private readonly cells: Array<Cell | undefined>;
  /** The way to each other endpoint, by endpoint index. */
  private readonly links: Link[];
  /** Messages sent, by path, for metrics. */
  private readonly metering: Metering;
  private readonly writer = new Writer(64 * 1024);
  /** A multicast's body, encoded once before `writer` frames it per thread. */
  private readonly multicastBody = new Writer(256);
  /** The endpoint the last routed message went to through a link, -1 when it stayed on this thread (or left for another node). */
  routedTo = -1;
  /** The timeout of the ask being routed (ms; 0: none), set by Asks around `route`: a cluster record carries it. */
  askTimeoutMs = 0;
  /** Set by beginMessage: the sender is another node's, its ref follows before the message. */
  private senderFollows = false;
  private dispatcher!: DispatcherPart;
  private memory!: MemoryPart;
  private tracing!: TracingPart;

  constructor(engine: Engine, links: Link[]) {
    this.engine = engine;
    this.index = engine.index;
    this.dir = engine.dir;
    this.config = engine.config;
    this.cells = engine.cells;
    this.links = links;
    this.metering = engine.metering;
  }

  /** Takes the parts it calls once they all exist. */
  wire(): void {
    this.dispatcher = this.engine.dispatcher;
    this.memory = this.engine.memory;
    this.tracing = this.engine.tracing;
  }

  tell(ref: ActorRef, msg: unknown, options: TellOptions | undefined): boolean {
    if (!this.engine.accepting || this.engine.closed) throw new RuntimeClosedError('tell');
    const sender = this.senderFor(options);
    if (options?.transfer !== undefined) {
      return this.memory.withTransfer(ref, options.transfer, sender, msg, kNoReply) === kRouteOk;
    }
    return this.route(ref, msg, sender, kNoReply, false) === kRouteOk;
  }

  async send(ref: ActorRef, msg: unknown, options: TellOptions | undefined): Promise<void> {
    const sender = this.senderFor(options);
    for (;;) {
      if (!this.engine.accepting || this.engine.closed) throw new RuntimeClosedError('send');
      const code = this.route(ref, msg, sender, kNoReply, true);
      if (code === kRouteOk) return;
      if (code === kRouteDead) throw this.stoppedError(ref);
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

  senderFor(options: TellOptions | undefined): ActorRef | undefined {
    if (options !== undefined) {
      if (options === null || typeof options !== 'object') throw new InvalidOptionError('options', 'an object', options);
      if (options.sender !== undefined) {
        if (!(options.sender instanceof ActorRef)) throw new InvalidOptionError('sender', 'an ActorRef', options.sender);
        return options.sender;
      }
    }
    return this.dispatcher.current?.ref;
  }

  stoppedError(ref: ActorRef): ActorStoppedError {
    return new ActorStoppedError(ref.toString(), this.deadReason(ref) === 'unknown' ? 'does not exist' : 'has stopped');
  }

  private deadReason(ref: ActorRef): DeadLetterReason {
    if (!(ref.slot >= 0 && ref.slot < this.dir.slots)) return 'unknown';
    const gen = Atomics.load(this.dir.gen, ref.slot);
    // A generation this process never gave out (at or below its base, or ahead of the slot's) names no actor of ours.
    if (ref.gen <= this.dir.genBase() || ref.gen > gen) return 'unknown';
    return 'stopped';
  }

  /**
   * Routes one message; returns kRouteOk, kRouteFull or kRouteDead. Throws
   * SerializationError or MessageTooLargeError before anything is accounted.
   * `trace`: the trace context it carries (an ask's span, one relayed from
   * another node); undefined: the sender's active one when tracing is on.
   */
  route(ref: ActorRef, msg: unknown, sender: ActorRef | undefined, replyTag: number, forSend: boolean, trace?: TraceContext): number {
    if (!(ref instanceof ActorRef)) throw new InvalidArgumentError('ref', 'an ActorRef', ref);
    // tracing (tracing.ts): one field read when no tracer provider is registered.
    if (trace === undefined && this.tracing.on) trace = this.tracing.outgoing();
    if (ref.node !== undefined) return this.routeRemote(ref, msg, sender, replyTag, trace);
    const slot = ref.slot;
    const gen = ref.gen;
    // Same thread, unbounded mailbox: the actor's cell here is the truth, no
    // shared word needs reading or writing.
    const local = this.index !== 0 ? this.cells[slot] : undefined;
    if (local !== undefined && local.gen === gen && local.capacity === 0 && !local.stopped) {
      this.routedTo = -1;
      this.metering.sent(kPathLocal);
      this.dispatcher.enqueue(local, msg, sender, replyTag, -1, trace);
      return kRouteOk;
    }
    const dir = this.dir;
    if (!dir.isLive(slot, gen)) {
      if (!forSend) this.engine.system.deadLetter({ recipient: ref, message: msg, sender, reason: this.deadReason(ref) });
      return kRouteDead;
    }
    const thread = Atomics.load(dir.thread, slot);
    this.routedTo = thread === this.index ? -1 : thread;
    let bodyLength = 0;
    if (thread !== this.index) bodyLength = this.encodeMessage(ref, msg, sender, replyTag, trace);
    const capacity = dir.capacity[slot];
    if (capacity > 0) {
      const code = this.countIn(ref, capacity, msg, sender, forSend ? kLettersNone : kLettersPolicy);
      if (code !== kRouteOk) return code;
    }
    if (thread === this.index) {
      const cell = this.cells[slot];
      if (cell === undefined || cell.gen !== gen || cell.stopped) {
        this.dispatcher.dropMessage(ref, cell !== undefined && cell.gen === gen ? cell : undefined, msg, sender, replyTag, 'stopped');
        return kRouteOk;
      }
      this.metering.sent(kPathLocal);
      this.dispatcher.enqueue(cell, msg, sender, replyTag, -1, trace);
    } else {
      this.metering.sent(kPathCross);
      this.links[thread].sendMessage(thread, this.writer, bodyLength);
    }
    return kRouteOk;
  }

  /**
   * A message for an actor of another cluster node: one cluster record
   * (layout: ../transport/kinds.ts). The main thread hands it to the cluster
   * gateway, which batches it onto that node's subject; a pool thread sends
   * it to the main thread (a REMOTE frame). Accepted here means handed over:
   * the receiving node dead-letters what its actor cannot take, and an ask
   * settles with the answer, the handler's error, AskTimeoutError,
   * ActorStoppedError or NodeUnreachableError.
   */
  private routeRemote(ref: ActorRef, msg: unknown, sender: ActorRef | undefined, replyTag: number, trace?: TraceContext): number {
    this.routedTo = -1;
    const remote = this.engine.remote;
    if (this.index === 0 && remote === undefined) {
      // Not in a cluster: no node of that name can be reached.
      this.engine.system.deadLetter({ recipient: ref, message: msg, sender, reason: 'unknown' });
      return kRouteDead;
    }
    const asks = replyTag !== kNoReply;
    // Whole milliseconds, at least 1 (0 is "no timeout" on the wire), at most a u32.
    const timeout = asks && this.askTimeoutMs > 0 ? Math.min(0xffff_ffff, Math.max(1, Math.ceil(this.askTimeoutMs))) : 0;
    const asker = asks ? replyTag % kReplyStride : 0;
    const askId = asks ? Math.floor(replyTag / kReplyStride) : 0;
    this.sendRecord(ref, asks ? kAsk : kTell, asker, askId, timeout, sender, msg, trace);
    return kRouteOk;
  }

  /**
   * Sends a WATCH or UNWATCH record (`kind`) for `target`, an actor of
   * another node, on behalf of `watcher`: the path of a remote tell.
   */
  sendWatch(kind: number, target: ActorRef, watcher: ActorRef): void {
    // The main thread without a gateway (it closed at shutdown): nothing left to tell.
    if (this.index === 0 && this.engine.remote === undefined) return;
    this.sendRecord(target, kind, 0, 0, 0, watcher, undefined);
  }

  /**
   * One cluster record for `ref`'s node: the main thread hands it to the
   * gateway, a pool thread sends it to the main thread in a REMOTE frame.
   */
  private sendRecord(
    ref: ActorRef,
    kind: number,
    asker: number,
    askId: number,
    timeout: number,
    sender: ActorRef | undefined,
    msg: unknown,
    trace?: TraceContext,
  ): void {
    const w = this.writer;
    w.reset();
    w.pos = kHeaderBytes;
    w.ensure(64);
    if (this.index !== 0) {
      w.u8(kRemote);
      w.str(ref.node as string);
    }
    const recordStart = w.pos;
    // tracing: a TELL or ASK sent in a trace carries its context (trace-field.ts).
    const traced = trace !== undefined && isWritable(trace);
    w.ensure(32);
    w.u8(kind | (traced ? kTraced : 0));
    w.u32(ref.slot);
    w.u32(ref.gen);
    w.u32(asker);
    w.u32(askId);
    w.u32(timeout);
    encodeValue(w, sender, 'sender');
    if (traced) writeTraceField(w, trace as TraceContext);
    encodeValue(w, msg, 'msg');
    this.checkSize(w.pos - kHeaderBytes);
    this.metering.sent(kPathRemote);
    const remote = this.engine.remote;
    if (remote !== undefined && this.index === 0) remote.send(ref.node as string, w.bytes, recordStart, w.pos);
    else this.links[0].send(0, w.bytes, w.pos - kHeaderBytes);
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
    if (!this.engine.accepting || this.engine.closed) throw new RuntimeClosedError('publish');
    const byThread = new Map<number, ActorRef[]>();
    let accepted = 0;
    // tracing (tracing.ts): each target handles it in the context it was sent in, as for a tell.
    const trace = this.tracing.on ? this.tracing.outgoing() : undefined;
    const traced = trace !== undefined && isWritable(trace);
    for (const ref of targets) {
      if (ref.node !== undefined) {
        // A member on another node: a tell of its own through the cluster.
        if (this.routeRemote(ref, msg, sender, kNoReply, trace) === kRouteOk) accepted++;
        continue;
      }
      if (this.admit(ref, msg, sender) !== kRouteOk) continue;
      accepted++;
      const thread = Atomics.load(this.dir.thread, ref.slot);
      if (thread === this.index) {
        const cell = this.cells[ref.slot];
        this.metering.sent(kPathLocal);
        if (cell !== undefined && cell.gen === ref.gen && !cell.stopped) this.dispatcher.enqueue(cell, msg, sender, kNoReply, -1, trace);
        else this.dispatcher.dropMessage(ref, undefined, msg, sender, kNoReply, 'stopped');
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
      w.u8(kMulticast | (traced ? kTraced : 0));
      w.u32(refs.length);
      for (const ref of refs) {
        w.u32(ref.slot);
        w.u32(ref.gen);
      }
      if (writeSenderHead(w, sender)) writeRemoteSender(w, sender as ActorRef);
      if (traced) writeTraceField(w, trace as TraceContext);
      w.ensure(body.pos);
      w.bytes.set(body.bytes.subarray(0, body.pos), w.pos);
      w.pos += body.pos;
      this.links[thread].send(thread, w.bytes, this.checkSize(w.pos - kHeaderBytes));
      this.metering.writer.add(kSent + kPathCross, refs.length);
    }
    return accepted;
  }

  /** Liveness and bounded-mailbox admission of one target, as `route` does it; kRouteOk, kRouteFull or kRouteDead. */
  private admit(ref: ActorRef, msg: unknown, sender: ActorRef | undefined): number {
    const { slot, gen } = ref;
    const dir = this.dir;
    if (!dir.isLive(slot, gen)) {
      this.engine.system.deadLetter({ recipient: ref, message: msg, sender, reason: this.deadReason(ref) });
      return kRouteDead;
    }
    const capacity = dir.capacity[slot];
    return capacity === 0 ? kRouteOk : this.countIn(ref, capacity, msg, sender, kLettersAll);
  }

  /**
   * Counts one message against `ref`'s bounded mailbox (`capacity` > 0):
   * kRouteOk, kRouteFull (its policy refuses it; the count is given back) or
   * kRouteDead. `letters` says which refusals become dead letters: none
   * (`send` waits instead), drop-newest only (a `tell` reports 'reject' to
   * its caller), or all (a multicast has no caller to report to).
   */
  private countIn(ref: ActorRef, capacity: number, msg: unknown, sender: ActorRef | undefined, letters: number): number {
    const dir = this.dir;
    const slot = ref.slot;
    const depth = Atomics.add(dir.depth, slot, 1);
    // Re-check after counting: if the slot was released meanwhile, the count
    // belongs to nobody (or to a newcomer) and must be taken back.
    if (Atomics.load(dir.gen, slot) !== ref.gen) {
      Atomics.sub(dir.depth, slot, 1);
      if (letters !== kLettersNone) this.engine.system.deadLetter({ recipient: ref, message: msg, sender, reason: 'stopped' });
      return kRouteDead;
    }
    const policy = dir.policy[slot];
    if (depth >= capacity && policy !== kPolicyDropOldest) {
      Atomics.sub(dir.depth, slot, 1);
      if (letters === kLettersAll || (letters === kLettersPolicy && policy === kPolicyDropNewest)) {
        this.engine.system.deadLetter({ recipient: ref, message: msg, sender, reason: 'dropped-newest' });
      }
      return kRouteFull;
    }
    return kRouteOk;
  }

  /** Encodes a TELL or ASK frame body into the scratch writer; returns its length. */
  private encodeMessage(ref: ActorRef, msg: unknown, sender: ActorRef | undefined, replyTag: number, trace: TraceContext | undefined): number {
    const traced = trace !== undefined && isWritable(trace);
    const w = this.beginMessage((replyTag === kNoReply ? kTell : kAsk) | (traced ? kTraced : 0), ref.slot, ref.gen, sender);
    if (replyTag !== kNoReply) w.u32(Math.floor(replyTag / kReplyStride));
    if (this.senderFollows) writeRemoteSender(w, sender as ActorRef);
    if (traced) writeTraceField(w, trace as TraceContext);
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
    this.senderFollows = writeSenderHead(w, sender);
    return w;
  }

  private checkSize(bodyLength: number): number {
    if (bodyLength > this.config.maxMessageBytes) throw new MessageTooLargeError(bodyLength, this.config.maxMessageBytes);
    return bodyLength;
  }

  /** Sends a REPLY or SYSTEM frame whose body is [kind, u32 id, value]. */
  sendControl(target: number, kind: number, id: number, value: unknown): void {
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
    this.links[target].send(target, w.bytes, w.pos - kHeaderBytes);
  }

  /** Sends a one-way control message (no answer). */
  notify(target: number, op: string, payload: Record<string, unknown>): void {
    if (target === this.index) {
      this.engine.system.handle(op, payload, this.index);
      return;
    }
    this.sendControl(target, kSystem, 0, { ...payload, op });
  }

  /** Sends one mailbox entry of a migrating actor to its new thread (a FORWARD frame). */
  forward(to: number, cell: Cell, msg: unknown, sender: ActorRef | undefined, replyTag: number, trace?: unknown): void {
    const traced = trace !== undefined && isWritable(trace as TraceContext);
    const w = this.beginMessage(kForward | (traced ? kTraced : 0), cell.slot, cell.gen, sender);
    w.i32(replyTag === kNoReply ? -1 : replyTag % kReplyStride);
    w.u32(replyTag === kNoReply ? 0 : Math.floor(replyTag / kReplyStride));
    if (this.senderFollows) writeRemoteSender(w, sender as ActorRef);
    if (traced) writeTraceField(w, trace as TraceContext);
    encodeValue(w, msg, 'msg');
    this.links[to].send(to, w.bytes, this.checkSize(w.pos - kHeaderBytes));
  }

  /** Messages handed to the link of `endpoint` so far (see Asks.failInDoubt). */
  sentTo(endpoint: number): number {
    return this.links[endpoint].sentTo(endpoint);
  }
}
