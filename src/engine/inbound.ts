/**
 * What comes in: each frame a Link hands this thread (today the transport,
 * polling the rings in the drain loop), journaled before any handler of its
 * batch runs, then decoded (layouts: ../transport/kinds.ts) into a mailbox
 * (TELL, ASK, FORWARD, MULTICAST, CARRIED), an answer (REPLY) or a control
 * request (SYSTEM). A journaled message's entry, and its carrier, are
 * finished here when the message is (`finishEntry`).
 *
 * Hot path: `onFrame` for every cross-thread message; the parts it calls
 * are fields set once (`wire`).
 */
import type { Cell } from '../actors/cell.js';
import { kNoReply, kReplyStride } from '../actors/mailbox.js';
import { ActorRef, setDecodingHost, systemRef } from '../actors/ref.js';
import { toError } from '../base/errors.js';
import { Reader, decodeValue } from '../transport/codec/index.js';
import type { Journal } from '../transport/journal.js';
import { kAsk, kCarried, kForward, kKindMask, kMulticast, kRemote, kReplyError, kReplyOk, kSystem, kTell, kTraced } from '../transport/kinds.js';
import { RegionHandle } from '../memory/handle.js';
import type { Pool } from '../memory/pool.js';
import type { AsksPart, DispatcherPart, Engine, InboundPart, RecoveryPart, RouterPart, TracingPart } from './parts.js';
import { readSender } from './sender-field.js';
import { readTraceField, skipTraceField, type WireTrace } from './trace-field.js';
import type { SystemHandler } from './types.js';

/** onFrame's `pre` when the transport did not journal the message. */
const kJournalHere = -2;

/** @internal */
export class Inbound implements InboundPart {
  private readonly engine: Engine;
  private readonly cells: Array<Cell | undefined>;
  private readonly pool: Pool;
  private readonly reader = new Reader();
  /** This thread's journal of taken cross-thread messages (workers, unless journalBytes is 0). */
  private readonly journal: Journal | undefined;
  /** Carrier allocations kept until their journal entry is done, by entry. */
  private readonly carriers = new Map<number, RegionHandle>();
  /** Set while onFrame decodes the message inside a carried frame: that frame's journal entry. */
  private carriedEntry = -1;
  /** Set by Recovery while it replays a dead thread's journal: messages go through `Recovery.replayed` first. */
  replaying = false;
  private system!: SystemHandler;
  private dispatcher!: DispatcherPart;
  private asks!: AsksPart;
  private router!: RouterPart;
  private recovery!: RecoveryPart;
  private tracing!: TracingPart;

  constructor(engine: Engine) {
    this.engine = engine;
    this.cells = engine.cells;
    this.pool = engine.pool;
    this.journal = engine.journal;
  }

  /** Takes the parts it calls once they all exist. */
  wire(): void {
    this.system = this.engine.system;
    this.dispatcher = this.engine.dispatcher;
    this.asks = this.engine.asks;
    this.router = this.engine.router;
    this.recovery = this.engine.recovery;
    this.tracing = this.engine.tracing;
  }

  /**
   * Journals a frame the transport just took out of a ring, before any
   * handler of the batch runs (a thread that dies in the middle of a batch
   * then loses none of it): TELL, ASK, carried and forwarded frames; -1 for
   * the others, or when the journal is off or full.
   */
  readonly journalFrame = (from: number, bytes: Uint8Array, start: number, end: number): number => {
    const journal = this.journal;
    if (journal === undefined || end <= start) return -1;
    const kind = bytes[start] & kKindMask;
    if (kind !== kTell && kind !== kAsk && kind !== kCarried && kind !== kForward) return -1;
    return journal.append(from, bytes, start, end);
  };

  /**
   * Handles one message. `pre` is its journal entry when the transport
   * journaled it already (-1: not journaled), or kJournalHere (a replayed
   * or reassembled message: journal it here if it is one of ours).
   */
  readonly onFrame = (from: number, bytes: Uint8Array, start: number, end: number, pre = kJournalHere): void => {
    const r = this.reader;
    // A message journaled by the transport is finished however this ends.
    let entry = pre >= 0 ? pre : -1;
    try {
      r.reset(bytes, start, end);
      // Inside the try: an empty body is malformed input, not a reason to
      // throw out of the transport's poll (and the drain loop).
      const head = r.u8();
      const kind = head & kKindMask;
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
        this.onMulticast(r, (head & kTraced) !== 0);
        return;
      }
      if (kind === kRemote) {
        // A pool thread's message for another node: the main thread's gateway sends it on.
        const node = r.str();
        const remote = this.engine.remote;
        if (remote === undefined) throw new Error(`a message for node ${JSON.stringify(node)}, but this runtime is not a cluster node`);
        remote.send(node, bytes, r.pos, end);
        return;
      }
      if (kind !== kTell && kind !== kAsk && kind !== kForward) {
        const id = r.u32();
        setDecodingHost(this.engine);
        const value = decodeValue(r);
        if (kind === kReplyOk || kind === kReplyError) {
          this.asks.answer(id, kind === kReplyOk, value);
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
      setDecodingHost(this.engine);
      const sender = readSender(r, senderSlot, senderGen, this.engine);
      // tracing: a message sent in a trace is handled in it when this thread has a tracer, untraced otherwise.
      const trace = this.traceField(r, (head & kTraced) !== 0);
      const msg = decodeValue(r);
      const cell = this.cells[slot];
      if (cell === undefined || cell.gen !== gen || cell.stopped) {
        const sameActor = cell !== undefined && cell.gen === gen ? cell : undefined;
        const reason = this.engine.shuttingDown ? 'shutdown' : 'stopped';
        this.dispatcher.dropMessage(new ActorRef(slot, gen, undefined, this.engine), sameActor, msg, sender, replyTag, reason);
        this.finishEntry(entry);
        return;
      }
      // A message of a thread that died: handled as its journal entry says (recovery.ts).
      if (this.replaying && this.recovery.replayed(cell, msg, sender, replyTag, entry)) return;
      if (kind === kForward && cell.arriving !== undefined) {
        // Sent before a migration switched threads: ahead of what came here directly.
        cell.arriving.forwarded.push(msg, sender, replyTag, entry, trace);
        return;
      }
      this.dispatcher.enqueue(cell, msg, sender, replyTag, entry, trace);
    } catch (err) {
      // A frame this thread cannot act on must not take the thread down.
      this.finishEntry(entry);
      this.system.failure({ actor: systemRef(this.engine), error: toError(err), phase: 'receive' });
    }
  };

  /** The trace field of a frame that has one (`traced`): read when this thread traces, stepped over otherwise. */
  private traceField(r: Reader, traced: boolean): WireTrace | undefined {
    if (!traced) return undefined;
    if (this.tracing.on) return readTraceField(r);
    skipTraceField(r);
    return undefined;
  }

  /** A multicast frame: decode once, deliver to each listed actor of this thread. */
  private onMulticast(r: Reader, traced: boolean): void {
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
    setDecodingHost(this.engine);
    const sender = readSender(r, senderSlot, senderGen, this.engine);
    const trace = this.traceField(r, traced);
    const msg = decodeValue(r);
    for (let i = 0; i < count; i++) {
      const cell = this.cells[slots[i]];
      if (cell === undefined || cell.gen !== gens[i] || cell.stopped) {
        const reason = this.engine.shuttingDown ? 'shutdown' : 'stopped';
        this.dispatcher.dropMessage(new ActorRef(slots[i], gens[i], undefined, this.engine), undefined, msg, sender, kNoReply, reason);
      } else this.dispatcher.enqueue(cell, msg, sender, kNoReply, -1, trace);
    }
  }

  private onSystem(from: number, askId: number, request: Record<string, unknown>): void {
    const op = String(request.op);
    let result: unknown;
    try {
      result = this.system.handle(op, request, from);
    } catch (err) {
      if (askId !== 0) this.router.sendControl(from, kReplyError, askId, toError(err));
      return;
    }
    if (askId === 0) return;
    // A plain value is answered now (function tasks answer most requests):
    // no promise and no microtask per request.
    if (result === null || (typeof result !== 'object' && typeof result !== 'function') || typeof (result as PromiseLike<unknown>).then !== 'function') {
      if (!this.engine.closed) this.router.sendControl(from, kReplyOk, askId, result);
      return;
    }
    Promise.resolve(result).then(
      (value) => !this.engine.closed && this.router.sendControl(from, kReplyOk, askId, value),
      (err: unknown) => !this.engine.closed && this.router.sendControl(from, kReplyError, askId, toError(err)),
    );
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
}
