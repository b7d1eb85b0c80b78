/**
 * The cluster gateway: the main thread's way to the actors of other nodes,
 * and theirs to ours. The engine hands it cluster records (layout:
 * ../transport/kinds.ts) for a node, through `RemotePart.send`; it batches
 * them per node and publishes each batch on that node's NATS subject at the
 * end of the turn, many records per NATS message (as the rings batch
 * frames). What arrives on this node's subject is validated before use and
 * delivered to the actors here through the main thread's engine; answers go
 * back as records to the asking node.
 *
 * Hand-written rather than a library: the records are the engine's own
 * frames (the project's binary codec), and batching them is the point; NATS
 * (nats.js) carries the bytes.
 *
 * Ordering: one gateway per node and one subject per receiving node, so the
 * messages of one sender to one node arrive in the order they were sent
 * (NATS keeps a publisher's order on a subject).
 */
import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import { ActorRef, type RefHost, setDecodingHost } from '../actors/ref.js';
import { MessageTooLargeError, NodeUnreachableError, toError } from '../base/errors.js';
import { Reader, Writer, decodeValue, encodeValue } from '../transport/codec/index.js';
import { kAsk, kRecordAskIdAt, kRecordAskerAt, kRecordHeaderBytes, kRecordTimeoutAt, kReplyError, kReplyOk, kTell } from '../transport/kinds.js';
import type { RemotePart } from '../engine/parts.js';
import { setDecodeOrigin } from '../engine/ref-codec.js';
import type { DeadLetterReason } from '../engine/types.js';

/** First byte of every batch, then the format version. */
const kMagic = 0xb5;
const kVersion = 1;
/** Room kept in a NATS message for the batch header. */
const kHeaderRoom = 256;
/** How long past its own timeout an ask's bookkeeping waits for a late answer. */
const kAskGraceMs = 5_000;

/** What the gateway needs of the main thread's engine (the runtime provides it). */
export interface GatewayHost {
  /** Rows of this process's directory: a record naming a slot beyond is refused. */
  readonly slots: number;
  /** What refs decoded here talk through (the main thread's engine). */
  readonly refHost: RefHost;
  /** A tell from another node to an actor here; dead letters and bounded mailboxes as for a local tell (the host reports them). */
  deliver(ref: ActorRef, msg: unknown, sender: ActorRef | undefined): void;
  /** An ask from another node to an actor here; settles as a local ask does. */
  ask(ref: ActorRef, msg: unknown, sender: ActorRef | undefined, timeoutMs: number): Promise<unknown>;
  /** The answer to an ask of endpoint `asker` of this process. */
  answer(asker: number, askId: number, ok: boolean, value: unknown): void;
  deadLetter(recipient: ActorRef, message: unknown, sender: ActorRef | undefined, reason: DeadLetterReason): void;
  /** Whether the actor (slot, gen) of this process is still alive. */
  isLive(slot: number, gen: number): boolean;
}

/** Counters of what crossed the gateway. */
export interface GatewayStats {
  /** Records sent to other nodes, and the NATS messages that carried them. */
  recordsSent: number;
  batchesSent: number;
  recordsReceived: number;
  batchesReceived: number;
  /** Inbound bytes refused, by reason (a bad batch counts once; a bad record once each). */
  dropped: Record<string, number>;
}

/** NATS subject of a node's inbound batches. */
export function nodeSubject(cluster: string, node: string): string {
  return `microswarm.${cluster}.node.${node}`;
}

interface Outgoing {
  writer: Writer;
  records: number;
}

/** @internal */
export class Gateway implements RemotePart {
  private readonly out = new Map<string, Outgoing>();
  /** Asks sent to each node and not answered yet: key (askId * 2^16 + asker) -> expiry (ms, Infinity: none). */
  private readonly outstanding = new Map<string, Map<number, number>>();
  private readonly reader = new Reader();
  private readonly replyWriter = new Writer(1024);
  private flushQueued = false;
  private readonly sub: Subscription;
  private readonly sweep: NodeJS.Timeout;
  private closed = false;
  readonly stats: GatewayStats = { recordsSent: 0, batchesSent: 0, recordsReceived: 0, batchesReceived: 0, dropped: {} };
  /** Largest NATS message the server takes. */
  private readonly maxPayload: number;

  constructor(
    private readonly nc: NatsConnection,
    private readonly cluster: string,
    private readonly node: string,
    /** This node's current incarnation (a new one after it was declared down and joined again). */
    private readonly incarnation: () => string,
    private readonly host: GatewayHost,
    /** Whether `node` is a live member now: records for any other are refused at once. */
    private readonly isMember: (node: string) => boolean,
    /** Whether batches from (node, incarnation) are refused: an incarnation declared down is fenced off. */
    private readonly isFenced: (node: string, incarnation: string) => boolean,
  ) {
    this.maxPayload = nc.info?.max_payload ?? 1024 * 1024;
    this.sub = nc.subscribe(nodeSubject(cluster, node), {
      callback: (err, msg) => {
        if (err === null) this.onBatch(msg.data);
      },
    });
    this.sweep = setInterval(() => this.expire(), 1_000);
    this.sweep.unref();
  }

  // ------------------------------------------------------------- outbound

  send(node: string, bytes: Uint8Array, start: number, end: number): void {
    const length = end - start;
    const kind = bytes[start];
    if (node === this.node) {
      // A ref naming this node decodes as a local one; one built by hand could still name it.
      this.refuse(node, bytes, start, end, 'unknown', undefined);
      return;
    }
    if (this.closed || !this.isMember(node)) {
      this.refuse(node, bytes, start, end, 'node-unreachable', new NodeUnreachableError(node));
      return;
    }
    if (length + 4 > this.maxPayload - kHeaderRoom) {
      this.refuse(node, bytes, start, end, 'too-large', new MessageTooLargeError(length, this.maxPayload - kHeaderRoom - 4));
      return;
    }
    let out = this.out.get(node);
    if (out === undefined) this.out.set(node, (out = { writer: this.newBatch(), records: 0 }));
    else if (out.writer.pos + 4 + length > this.maxPayload) {
      this.publish(node, out);
      out.writer = this.newBatch();
      out.records = 0;
    }
    const w = out.writer;
    w.ensure(4 + length);
    w.u32(length);
    w.bytes.set(bytes.subarray(start, end), w.pos);
    w.pos += length;
    out.records++;
    if (kind === kAsk) {
      const view = new DataView(bytes.buffer, bytes.byteOffset + start, length);
      const asker = view.getUint32(kRecordAskerAt, true);
      const askId = view.getUint32(kRecordAskIdAt, true);
      const timeout = view.getUint32(kRecordTimeoutAt, true);
      let asks = this.outstanding.get(node);
      if (asks === undefined) this.outstanding.set(node, (asks = new Map()));
      asks.set(askKey(asker, askId), timeout === 0 ? Infinity : Date.now() + timeout + kAskGraceMs);
    }
    if (!this.flushQueued) {
      this.flushQueued = true;
      setImmediate(this.flush);
    }
  }

  /** Publishes every batch waiting (the end of the turn). */
  readonly flush = (): void => {
    this.flushQueued = false;
    for (const [node, out] of this.out) {
      if (out.records === 0) continue;
      this.publish(node, out);
      out.writer.reset();
      this.startBatch(out.writer);
      out.records = 0;
    }
  };

  private newBatch(): Writer {
    const w = new Writer(4096);
    this.startBatch(w);
    return w;
  }

  private startBatch(w: Writer): void {
    w.ensure(kHeaderRoom);
    w.u8(kMagic);
    w.u8(kVersion);
    w.str(this.cluster);
    w.str(this.node);
    w.str(this.incarnation());
  }

  private publish(node: string, out: Outgoing): void {
    if (this.closed) return;
    // A copy: nats.js may keep the bytes until its socket takes them, and the writer is reused.
    this.nc.publish(nodeSubject(this.cluster, node), out.writer.bytes.slice(0, out.writer.pos));
    this.stats.batchesSent++;
    this.stats.recordsSent += out.records;
  }

  /** A record that cannot go: an ask answered with `error`, a tell dead-lettered with `reason`. */
  private refuse(node: string, bytes: Uint8Array, start: number, end: number, reason: DeadLetterReason, error: Error | undefined): void {
    const view = new DataView(bytes.buffer, bytes.byteOffset + start, end - start);
    if (bytes[start] === kAsk) {
      this.host.answer(view.getUint32(kRecordAskerAt, true), view.getUint32(kRecordAskIdAt, true), false, error ?? new NodeUnreachableError(node));
      return;
    }
    if (bytes[start] !== kTell) return; // an answer for a node gone: its asker is gone too
    const recipient = new ActorRef(view.getUint32(1, true), view.getUint32(5, true), undefined, this.host.refHost, node);
    let sender: unknown;
    let message: unknown;
    try {
      const r = this.reader;
      r.reset(bytes, start + kRecordHeaderBytes, end);
      setDecodingHost(this.host.refHost);
      sender = decodeValue(r);
      message = decodeValue(r);
    } catch (err) {
      message = `[not decodable: ${toError(err).message}]`;
    }
    this.host.deadLetter(recipient, message, sender instanceof ActorRef ? sender : undefined, reason);
  }

  /** `node` is gone (left, or declared down): its asks still waiting settle with NodeUnreachableError. */
  nodeGone(node: string): void {
    const asks = this.outstanding.get(node);
    this.outstanding.delete(node);
    this.out.delete(node);
    if (asks === undefined) return;
    for (const key of asks.keys())
      this.host.answer(key % 0x1_0000, Math.floor(key / 0x1_0000), false, new NodeUnreachableError(node, 'left the cluster or was declared down'));
  }

  /** Drops the bookkeeping of asks long past their timeout (their askers gave up; a late answer is dropped). */
  private expire(): void {
    const now = Date.now();
    for (const asks of this.outstanding.values()) for (const [key, at] of asks) if (at < now) asks.delete(key);
  }

  // ------------------------------------------------------------- inbound

  /** One NATS message from another node: validated, then each record delivered. Never throws. */
  private onBatch(data: Uint8Array): void {
    const r = this.reader;
    let from: string;
    try {
      r.reset(data, 0, data.length);
      if (r.u8() !== kMagic) {
        this.drop('bad-magic');
        return;
      }
      if (r.u8() !== kVersion) {
        this.drop('bad-version');
        return;
      }
      if (r.str() !== this.cluster) {
        this.drop('wrong-cluster');
        return;
      }
      from = r.str();
      const incarnation = r.str();
      if (from === this.node || !/^[A-Za-z0-9_-]{1,64}$/.test(from)) {
        this.drop('bad-node');
        return;
      }
      if (this.isFenced(from, incarnation)) {
        this.drop('fenced-node');
        return;
      }
    } catch {
      this.drop('bad-header');
      return;
    }
    this.stats.batchesReceived++;
    let at = r.pos;
    while (at < data.length) {
      if (data.length - at < 4) {
        this.drop('truncated');
        return;
      }
      const length = new DataView(data.buffer, data.byteOffset + at, 4).getUint32(0, true);
      const start = at + 4;
      if (length < kRecordHeaderBytes || length > data.length - start) {
        this.drop('truncated');
        return;
      }
      at = start + length;
      this.stats.recordsReceived++;
      this.onRecord(from, data, start, at);
    }
  }

  private onRecord(from: string, data: Uint8Array, start: number, end: number): void {
    const view = new DataView(data.buffer, data.byteOffset + start, end - start);
    const kind = data[start];
    const slot = view.getUint32(1, true);
    const gen = view.getUint32(5, true);
    const asker = view.getUint32(kRecordAskerAt, true);
    const askId = view.getUint32(kRecordAskIdAt, true);
    const timeout = view.getUint32(kRecordTimeoutAt, true);
    if (kind !== kTell && kind !== kAsk && kind !== kReplyOk && kind !== kReplyError) {
      this.drop('bad-kind');
      return;
    }
    let sender: unknown;
    let msg: unknown;
    const r = this.reader;
    try {
      r.reset(data, start + kRecordHeaderBytes, end);
      setDecodingHost(this.host.refHost);
      setDecodeOrigin(from);
      sender = decodeValue(r);
      msg = decodeValue(r);
      if (r.pos !== end) throw new Error('bytes after the message');
    } catch {
      if (kind === kAsk) this.reply(from, kReplyError, asker, askId, new Error('the message could not be decoded on the receiving node'));
      this.drop('decode');
      return;
    } finally {
      setDecodeOrigin(undefined);
    }
    if (sender !== undefined && !(sender instanceof ActorRef)) {
      this.drop('bad-sender');
      return;
    }
    const senderRef = sender as ActorRef | undefined;
    if (kind === kReplyOk || kind === kReplyError) {
      // Only an answer this node is waiting for, from the node it asked.
      const asks = this.outstanding.get(from);
      if (asks === undefined || !asks.delete(askKey(asker, askId))) {
        this.drop('unexpected-reply');
        return;
      }
      this.host.answer(asker, askId, kind === kReplyOk, msg);
      return;
    }
    const ref = new ActorRef(slot, gen, undefined, this.host.refHost);
    if (slot >= this.host.slots) {
      // No such row here: as for any ref that names no actor.
      if (kind === kAsk) this.reply(from, kReplyError, asker, askId, new NodeUnreachableError(this.node, `has no actor ${slot}.${gen}`));
      else this.host.deadLetter(ref, msg, senderRef, 'unknown');
      return;
    }
    if (kind === kTell) {
      this.host.deliver(ref, msg, senderRef);
      return;
    }
    this.host.ask(ref, msg, senderRef, timeout).then(
      (value) => this.reply(from, kReplyOk, asker, askId, value),
      (error: unknown) => this.reply(from, kReplyError, asker, askId, toError(error)),
    );
  }

  /** Sends an answer record to the asking node. */
  private reply(node: string, kind: number, asker: number, askId: number, value: unknown): void {
    const w = this.replyWriter;
    w.reset();
    w.ensure(kRecordHeaderBytes + 8);
    w.u8(kind);
    w.u32(0);
    w.u32(0);
    w.u32(asker);
    w.u32(askId);
    w.u32(0);
    encodeValue(w, undefined, 'sender');
    try {
      encodeValue(w, value, 'reply');
    } catch (err) {
      if (kind !== kReplyOk) return;
      this.reply(node, kReplyError, asker, askId, toError(err));
      return;
    }
    if (this.closed) return;
    if (w.pos + 4 > this.maxPayload - kHeaderRoom) {
      this.reply(node, kReplyError, asker, askId, new MessageTooLargeError(w.pos, this.maxPayload - kHeaderRoom - 4));
      return;
    }
    // Not through `send`: an answer goes even to a node this one has not seen join yet.
    let out = this.out.get(node);
    if (out === undefined) this.out.set(node, (out = { writer: this.newBatch(), records: 0 }));
    else if (out.writer.pos + 4 + w.pos > this.maxPayload) {
      this.publish(node, out);
      out.writer = this.newBatch();
      out.records = 0;
    }
    out.writer.ensure(4 + w.pos);
    out.writer.u32(w.pos);
    out.writer.bytes.set(w.bytes.subarray(0, w.pos), out.writer.pos);
    out.writer.pos += w.pos;
    out.records++;
    if (!this.flushQueued) {
      this.flushQueued = true;
      setImmediate(this.flush);
    }
  }

  private drop(reason: string): void {
    this.stats.dropped[reason] = (this.stats.dropped[reason] ?? 0) + 1;
  }

  /** Flushes what waits, stops listening; asks still waiting on other nodes settle with NodeUnreachableError. */
  async close(): Promise<void> {
    this.flush();
    this.closed = true;
    clearInterval(this.sweep);
    this.sub.unsubscribe();
    for (const node of [...this.outstanding.keys()]) this.nodeGone(node);
  }
}

function askKey(asker: number, askId: number): number {
  return askId * 0x1_0000 + asker;
}
