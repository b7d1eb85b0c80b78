/**
 * The cluster gateway: the main thread's way to the actors of other nodes,
 * and theirs to ours. The engine hands it cluster records (layout:
 * ../transport/kinds.ts) for a node, through `RemotePart.send`; it batches
 * them per node and publishes each batch on that node's NATS subject once
 * the code that made them yields (see `earlyFlushed`), many records per
 * NATS message (as the rings batch frames). What arrives on this node's
 * subject is validated before use and delivered to the actors here through
 * the main thread's engine; answers go back as records to the asking node.
 *
 * Hand-written rather than a library: the records are the engine's own
 * frames (the project's binary codec), and batching them is the point; NATS
 * (nats.js) carries the bytes.
 *
 * Ordering and delivery: batches to a node travel on a sequenced,
 * acknowledged stream (streams.ts), so what one node sends another arrives
 * once and in order while both live, a NATS server restart included.
 */
import { inspect } from 'node:util';
import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import { ActorRef, type RefHost, setDecodingHost } from '../actors/ref.js';
import { MessageTooLargeError, NodeUnreachableError, toError } from '../base/errors.js';
import { Reader, Writer, decodeValue, encodeValue } from '../transport/codec/index.js';
import { Streams, kMaxUnackedBytes, nodeSubject, u32At, type OutStream } from './streams.js';
import {
  kAsk,
  kRecordAskIdAt,
  kRecordAskerAt,
  kRecordHeaderBytes,
  kRecordTimeoutAt,
  kRecordTopic,
  kRecordEntity,
  kRecordTerm,
  kRecordUnwatch,
  kRecordWatch,
  kEntityAsker,
  kReplyError,
  kReplyOk,
  kTell,
  kKindMask,
  kTraced,
} from '../transport/kinds.js';
import type { RemotePart } from '../engine/parts.js';
import { readTraceField, skipTraceField, type WireTrace } from '../engine/trace-field.js';
import { setDecodeOrigin } from '../engine/ref-codec.js';
import type { DeadLetterReason } from '../engine/types.js';
import { isTerminated } from '../engine/watch.js';
import { RemoteWatches, type WatchesHost } from './watches.js';
import { askKey, beginRecord, isAsk, isEntityMessage, isTerm } from './records.js';

/** Room kept in a NATS message for the batch header. */
const kHeaderRoom = 256;
/** How long past its own timeout an ask's bookkeeping waits for a late answer. */
const kAskGraceMs = 5_000;

/** What the gateway needs of the main thread's engine (the runtime provides it). */
export interface GatewayHost extends WatchesHost {
  /** Rows of this process's directory: a record naming a slot beyond is refused. */
  readonly slots: number;
  /** What refs decoded here talk through (the main thread's engine). */
  readonly refHost: RefHost;
  /** A tell from another node to an actor here; dead letters and bounded mailboxes as for a local tell (the host reports them). */
  deliver(ref: ActorRef, msg: unknown, sender: ActorRef | undefined, trace?: WireTrace): void;
  /** An ask from another node to an actor here; settles as a local ask does. */
  ask(ref: ActorRef, msg: unknown, sender: ActorRef | undefined, timeoutMs: number, trace?: WireTrace): Promise<unknown>;
  /** The answer to an ask of endpoint `asker` of this process. */
  answer(asker: number, askId: number, ok: boolean, value: unknown): void;
  deadLetter(recipient: ActorRef, message: unknown, sender: ActorRef | undefined, reason: DeadLetterReason): void;
  /** Whether the actor (slot, gen) of this process is still alive. */
  isLive(slot: number, gen: number): boolean;
  /** A publish to `topic` made on node `fromNode`, for this node's subscribers. */
  publish(topic: string, msg: unknown, sender: ActorRef | undefined, fromNode: string): void;
  /**
   * A swarm of incarnation `incarnation` of node `node` has a new leader and term: this node's threads, where some of
   * its members live, learn it. False when it names a swarm of this node (ignored: that one decides the name's term here).
   */
  swarmTerm(node: string, incarnation: string, swarm: string, leader: ActorRef | undefined, term: number): boolean;
}

/** Counters of what crossed the gateway. */
export interface GatewayStats {
  /** Records (messages, answers, publishes) sent to other nodes. */
  recordsSent: number;
  /** The NATS messages (batches) that carried them, first sends only. */
  batchesSent: number;
  /** Records received from other nodes, in batches taken in order. */
  recordsReceived: number;
  /** Batches taken in order. */
  batchesReceived: number;
  /** Batches sent again because the receiver had not acknowledged them in time. */
  batchesResent: number;
  /** Inbound bytes refused, by reason (a bad batch counts once; a bad record once each). */
  dropped: Record<string, number>;
  /** Watches (`ctx.watch`) by actors of this node of actors of other nodes, not yet ended by a Terminated. */
  watching: number;
}

/** @internal */
export class Gateway implements RemotePart {
  private readonly streams: Streams;
  /** Asks sent to each node and not answered yet: key (askId * 2^16 + asker) -> expiry (ms, Infinity: none). */
  private readonly outstanding = new Map<string, Map<number, number>>();
  private readonly reader = new Reader();
  private readonly replyWriter = new Writer(1024);
  private flushQueued = false;
  /**
   * Whether a flush went early (at the end of the microtask queue) in this
   * turn of the event loop. The first flush of a turn goes early: a lone ask
   * or answer leaves at once, not a turn later (nats.js writes the socket at
   * the end of the same microtask queue). Any later one in the turn waits
   * for its end (setImmediate), so records made across microtasks (a
   * producer awaiting between its tells, answers settling one by one) still
   * go many per NATS message; a synchronous burst is one batch either way.
   */
  private earlyFlushed = false;
  private readonly sub: Subscription;
  private readonly sweep: NodeJS.Timeout;
  private closed = false;
  private readonly counts = { recordsSent: 0, recordsReceived: 0, batchesReceived: 0, dropped: {} as Record<string, number> };
  /** Largest NATS message the server takes. */
  private readonly maxPayload: number;
  /** Which actors of this node watch which actors of each other node. */
  readonly watches: RemoteWatches;

  constructor(
    nc: NatsConnection,
    cluster: string,
    private readonly node: string,
    /** This node's current incarnation (a new one after it was declared down and joined again). */
    incarnation: () => string,
    private readonly host: GatewayHost,
    /** The incarnation of `node` if it is a live member now (records for any other are refused at once). */
    private readonly memberIncarnation: (node: string) => string | undefined,
    /** Whether batches from (node, incarnation) are refused: an incarnation declared down is fenced off. */
    private readonly isFenced: (node: string, incarnation: string) => boolean,
  ) {
    this.maxPayload = nc.info?.max_payload ?? 1024 * 1024;
    this.watches = new RemoteWatches(host);
    this.streams = new Streams(nc, cluster, node, incarnation);
    this.sub = nc.subscribe(nodeSubject(cluster, node), {
      callback: (err, msg) => {
        if (err !== null) return;
        // nats.js runs this inside its socket reader: a throw would end the
        // reader, and the connection would read nothing again. Nothing may.
        try {
          this.onBatch(msg.data);
        } catch {
          this.drop('failed');
        }
      },
    });
    this.sweep = setInterval(() => this.expire(), 1_000);
    this.sweep.unref();
  }

  // ------------------------------------------------------------- outbound

  send(node: string, bytes: Uint8Array, start: number, end: number): void {
    const length = end - start;
    if (node === this.node) {
      // A ref naming this node decodes as a local one; one built by hand could still name it.
      this.refuse(node, bytes, start, end, 'unknown', new NodeUnreachableError(node, 'is this node: a ref of one of its actors must not name it'));
      return;
    }
    const incarnation = this.closed ? undefined : this.memberIncarnation(node);
    if (incarnation === undefined) {
      this.refuse(node, bytes, start, end, 'node-unreachable', new NodeUnreachableError(node));
      return;
    }
    if (length + 4 > this.maxPayload - kHeaderRoom) {
      this.refuse(node, bytes, start, end, 'too-large', new MessageTooLargeError(length, this.maxPayload - kHeaderRoom - 4));
      return;
    }
    const out = this.streams.stream(node, incarnation);
    if (out.unackedBytes > kMaxUnackedBytes) {
      this.refuse(node, bytes, start, end, 'node-unreachable', new NodeUnreachableError(node, `has not acknowledged ${out.unackedBytes} bytes`));
      return;
    }
    this.append(out, bytes, start, end);
    if (bytes[start] === kRecordWatch || bytes[start] === kRecordUnwatch) {
      const { sender } = this.decodeOutbound(bytes, start, end);
      this.watches.sent(node, bytes[start] === kRecordWatch, sender, u32At(bytes, start + 1), u32At(bytes, start + 5));
    } else if (isAsk(bytes, start)) {
      const asker = u32At(bytes, start + kRecordAskerAt);
      const askId = u32At(bytes, start + kRecordAskIdAt);
      const timeout = u32At(bytes, start + kRecordTimeoutAt);
      let asks = this.outstanding.get(node);
      if (asks === undefined) this.outstanding.set(node, (asks = new Map()));
      asks.set(askKey(asker, askId), timeout === 0 ? Infinity : Date.now() + timeout + kAskGraceMs);
    }
  }

  /** The sender and message of a record this node made (refs in it name this node's actors as local). */
  private decodeOutbound(bytes: Uint8Array, start: number, end: number): { sender: unknown; message: unknown } {
    const r = this.reader;
    r.reset(bytes, start + kRecordHeaderBytes, end);
    setDecodingHost(this.host.refHost);
    const sender = decodeValue(r);
    if ((bytes[start] & kTraced) !== 0) skipTraceField(r);
    return { sender, message: decodeValue(r) };
  }

  /** Where entity messages and the answers to entity asks go (set once the manager exists). */
  entities: EntitySink | undefined;
  private readonly entityWriter = new Writer(1024);

  /** Sends a message for a cluster entity to `node` (an ENTITY record); `id` > 0: an ask of this node's entity manager. */
  sendEntity(
    node: string,
    module: string,
    key: string,
    msg: unknown,
    sender: ActorRef | undefined,
    timeoutMs: number,
    id: number,
    direct: boolean,
  ): void {
    const w = beginRecord(this.entityWriter, kRecordEntity, id > 0 ? kEntityAsker : 0, id, timeoutMs);
    encodeValue(w, sender, 'sender');
    encodeValue(w, direct ? [module, key, msg, 1] : [module, key, msg], 'msg');
    this.send(node, w.bytes, 0, w.pos);
  }

  /** An answer for endpoint `asker` of this process, or (kEntityAsker) for the entity manager. */
  private answer(asker: number, askId: number, ok: boolean, value: unknown): void {
    if (asker === kEntityAsker) this.entities?.answer(askId, ok, value);
    else this.host.answer(asker, askId, ok, value);
  }

  /** What `util.inspect` shows: never the connection (its options hold the credentials). */
  [inspect.custom](): string {
    return `Gateway(${this.node})`;
  }

  /** Appends a record to a stream's batch (publishing the batch first when it is full), and queues the flush. */
  private append(out: OutStream, bytes: Uint8Array, start: number, end: number): void {
    if (out.size + 4 + (end - start) > this.maxPayload) this.counts.recordsSent += this.streams.publish(out);
    out.append(bytes, start, end);
    if (this.flushQueued) return;
    this.flushQueued = true;
    if (this.earlyFlushed) {
      setImmediate(this.flush);
      return;
    }
    this.earlyFlushed = true;
    queueMicrotask(this.flush);
    setImmediate(this.turnEnded);
  }

  /** The event loop's turn is over: the next flush may go early again. */
  private readonly turnEnded = (): void => {
    this.earlyFlushed = false;
  };

  /** Publishes every batch waiting. */
  readonly flush = (): void => {
    this.flushQueued = false;
    if (!this.closed) this.counts.recordsSent += this.streams.flush();
  };

  /** What crossed the gateway. */
  get stats(): GatewayStats {
    const { batchesSent, batchesResent } = this.streams;
    return { ...this.counts, dropped: { ...this.counts.dropped }, batchesSent, batchesResent, watching: this.watches.size };
  }

  /** A record that cannot go: an ask answered with `error`, a tell dead-lettered with `reason`. */
  private refuse(node: string, bytes: Uint8Array, start: number, end: number, reason: DeadLetterReason, error: Error | undefined): void {
    if (isAsk(bytes, start)) {
      this.answer(u32At(bytes, start + kRecordAskerAt), u32At(bytes, start + kRecordAskIdAt), false, error ?? new NodeUnreachableError(node));
      return;
    }
    const kind = bytes[start] & kKindMask;
    if (kind !== kTell && kind !== kRecordEntity && kind !== kRecordWatch) return; // an answer for a node gone: its asker is gone too
    const recipient =
      kind === kRecordEntity
        ? new ActorRef(-1, 0, 'entity', this.host.refHost, node)
        : new ActorRef(u32At(bytes, start + 1), u32At(bytes, start + 5), undefined, this.host.refHost, node);
    let sender: unknown;
    let message: unknown;
    try {
      ({ sender, message } = this.decodeOutbound(bytes, start, end));
    } catch (err) {
      message = `[not decodable: ${toError(err).message}]`;
    }
    // A watch of an actor of a node that is not a member ends at once; a
    // Terminated (sent by no actor) for a watcher there is not owed a dead letter.
    if (kind === kRecordWatch) {
      if (sender instanceof ActorRef) this.watches.refused(sender, recipient);
      return;
    }
    if (sender === undefined && isTerminated(message)) return;
    this.host.deadLetter(recipient, message, sender instanceof ActorRef ? sender : undefined, reason);
  }

  /** Sends a publish to `topic` to the subscribers of `node` (a TOPIC record on its stream). */
  publishTo(node: string, topic: string, msg: unknown, sender: ActorRef | undefined): void {
    this.sendToNode(node, kRecordTopic, sender, [topic, msg]);
  }

  /** Tells the threads of `node` a swarm's new leader and term (a TERM record on its stream). */
  sendTerm(node: string, swarm: string, leader: ActorRef | undefined, term: number): void {
    this.sendToNode(node, kRecordTerm, undefined, [swarm, leader, term]);
  }

  /** A record of `kind` for no actor and no asker (TOPIC, TERM) to `node`, if it is a live member. */
  private sendToNode(node: string, kind: number, sender: ActorRef | undefined, payload: unknown[]): void {
    const incarnation = this.closed ? undefined : this.memberIncarnation(node);
    if (incarnation === undefined) return;
    const w = beginRecord(this.replyWriter, kind, 0, 0, 0);
    encodeValue(w, sender, 'sender');
    encodeValue(w, payload, 'msg');
    if (w.pos + 4 > this.maxPayload - kHeaderRoom) throw new MessageTooLargeError(w.pos, this.maxPayload - kHeaderRoom - 4);
    this.append(this.streams.stream(node, incarnation), w.bytes, 0, w.pos);
  }

  /** `node` is gone (left, or declared down): its asks still waiting settle with NodeUnreachableError. */
  nodeGone(node: string): void {
    this.streams.drop(node);
    this.failAsks(node, 'left the cluster or was declared down');
    this.watches.nodeGone(node);
  }

  /** The asks waiting on `node` settle with NodeUnreachableError. */
  private failAsks(node: string, detail: string): void {
    const asks = this.outstanding.get(node);
    this.outstanding.delete(node);
    if (asks === undefined) return;
    for (const key of asks.keys()) this.answer(key % 0x1_0000, Math.floor(key / 0x1_0000), false, new NodeUnreachableError(node, detail));
  }

  /** Drops the bookkeeping of asks long past their timeout (their askers gave up; a late answer is dropped). */
  private expire(): void {
    const now = Date.now();
    for (const asks of this.outstanding.values()) for (const [key, at] of asks) if (at < now) asks.delete(key);
    // Streams of nodes that are not members (left, or a made-up name) go,
    // after one sweep of grace for a node that joined a moment ago.
    const strangers = this.streams.nodes().filter((node) => this.memberIncarnation(node) === undefined);
    for (const node of strangers) if (this.strangers.has(node)) this.streams.drop(node);
    this.strangers = new Set(strangers);
  }

  /** Nodes with a stream that were not members at the last sweep. */
  private strangers = new Set<string>();

  /** This node was declared down and joined again: streams start over, and asks sent before settle with NodeUnreachableError. */
  selfRejoined(): void {
    this.streams.resetAll();
    for (const node of [...this.outstanding.keys()]) this.failAsks(node, 'was unreachable while this node rejoined the cluster');
    this.watches.allGone();
  }

  // ------------------------------------------------------------- inbound

  /** One NATS message from another node: validated, then (a batch taken in order) each record delivered. Never throws. */
  private onBatch(data: Uint8Array): void {
    const got = this.streams.receive(data);
    if (typeof got === 'string') {
      if (got !== 'ack') this.drop(got);
      return;
    }
    if (this.isFenced(got.from, got.fromIncarnation)) {
      this.drop('fenced-node');
      return;
    }
    // A member speaks with its current incarnation; an earlier one is refused (not yet known: accepted).
    const current = this.memberIncarnation(got.from);
    if (current !== undefined && current !== got.fromIncarnation) {
      this.drop('stale-sender');
      return;
    }
    const order = this.streams.inOrder(got);
    if (order !== true) {
      this.drop(order);
      return;
    }
    this.counts.batchesReceived++;
    let at = got.at;
    while (at < data.length) {
      if (data.length - at < 4) {
        this.drop('truncated');
        return;
      }
      const length = u32At(data, at);
      const start = at + 4;
      if (length < kRecordHeaderBytes || length > data.length - start) {
        this.drop('truncated');
        return;
      }
      at = start + length;
      this.counts.recordsReceived++;
      this.onRecord(got.from, got.fromIncarnation, data, start, at);
    }
  }

  private onRecord(from: string, fromIncarnation: string, data: Uint8Array, start: number, end: number): void {
    const kind = data[start] & kKindMask;
    const slot = u32At(data, start + 1);
    const gen = u32At(data, start + 5);
    const asker = u32At(data, start + kRecordAskerAt);
    const askId = u32At(data, start + kRecordAskIdAt);
    // A timeout past setTimeout's range (2^31 - 1 ms, about 24 days) is taken as that range.
    const timeout = Math.min(u32At(data, start + kRecordTimeoutAt), 0x7fff_ffff);
    // Record kinds are 1 (TELL) to 9 (UNWATCH): see ../transport/kinds.ts.
    if (kind < kTell || kind > kRecordUnwatch) {
      this.drop('bad-kind');
      return;
    }
    // An asking endpoint is a thread index or the entity manager's mark, below 2^16 (askKey needs it).
    if (asker > kEntityAsker) {
      this.drop('bad-asker');
      return;
    }
    let sender: unknown;
    let msg: unknown;
    // The trace context the sending node's message carries (kinds.ts): handed on with it, whether this thread traces or not.
    let trace: WireTrace | undefined;
    const r = this.reader;
    try {
      r.reset(data, start + kRecordHeaderBytes, end);
      setDecodingHost(this.host.refHost);
      setDecodeOrigin(from);
      sender = decodeValue(r);
      if ((data[start] & kTraced) !== 0) trace = readTraceField(r);
      msg = decodeValue(r);
      if (r.pos !== end) throw new Error('bytes after the message');
    } catch {
      if (kind === kAsk)
        this.reply(from, fromIncarnation, kReplyError, asker, askId, new Error('the message could not be decoded on the receiving node'));
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
      this.answer(asker, askId, kind === kReplyOk, msg);
      return;
    }
    if (kind === kRecordEntity) {
      const entities = this.entities;
      if (entities === undefined || !isEntityMessage(msg)) {
        this.drop('bad-entity');
        return;
      }
      const reply =
        askId > 0
          ? (ok: boolean, value: unknown) => this.reply(from, fromIncarnation, ok ? kReplyOk : kReplyError, asker, askId, ok ? value : toError(value))
          : undefined;
      entities.received(msg[0], msg[1], msg[2], senderRef, timeout, reply, msg.length === 4);
      return;
    }
    if (kind === kRecordTerm) {
      if (!isTerm(msg)) {
        this.drop('bad-term');
        return;
      }
      if (!this.host.swarmTerm(from, fromIncarnation, msg[0], msg[1], msg[2])) this.drop('term-of-local-swarm');
      return;
    }
    if (kind === kRecordTopic) {
      if (!Array.isArray(msg) || msg.length !== 2 || typeof msg[0] !== 'string' || msg[0].length === 0 || msg[0].length > 256) {
        this.drop('bad-topic');
        return;
      }
      this.host.publish(msg[0], msg[1], senderRef, from);
      return;
    }
    const ref = new ActorRef(slot, gen, undefined, this.host.refHost);
    if (kind === kRecordWatch || kind === kRecordUnwatch) {
      if (!this.watches.received(from, kind === kRecordWatch, ref, senderRef, msg)) this.drop('bad-watch');
      return;
    }
    if (slot >= this.host.slots) {
      // No such row here: as for any ref that names no actor.
      if (kind === kAsk) this.reply(from, fromIncarnation, kReplyError, asker, askId, new NodeUnreachableError(this.node, `has no actor ${slot}.${gen}`));
      else this.host.deadLetter(ref, msg, senderRef, 'unknown');
      return;
    }
    if (kind === kTell) {
      if (this.watches.arrived(from, ref, msg)) return;
      this.host.deliver(ref, msg, senderRef, trace);
      return;
    }
    this.host.ask(ref, msg, senderRef, timeout, trace).then(
      (value) => this.reply(from, fromIncarnation, kReplyOk, asker, askId, value),
      (error: unknown) => this.reply(from, fromIncarnation, kReplyError, asker, askId, toError(error)),
    );
  }

  /** Sends an answer record to the asking node (the incarnation that asked: it goes even before this node saw it join). */
  private reply(node: string, incarnation: string, kind: number, asker: number, askId: number, value: unknown): void {
    // Not to an incarnation that is gone (it left, or restarted meanwhile): its stream would replace the live one's.
    const current = this.memberIncarnation(node);
    if ((current !== undefined && current !== incarnation) || this.isFenced(node, incarnation)) {
      this.drop('reply-to-gone');
      return;
    }
    const w = beginRecord(this.replyWriter, kind, asker, askId, 0);
    encodeValue(w, undefined, 'sender');
    try {
      encodeValue(w, value, 'reply');
    } catch (err) {
      if (kind === kReplyOk) this.reply(node, incarnation, kReplyError, asker, askId, toError(err));
      return;
    }
    if (this.closed) return;
    if (w.pos + 4 > this.maxPayload - kHeaderRoom) {
      this.reply(node, incarnation, kReplyError, asker, askId, new MessageTooLargeError(w.pos, this.maxPayload - kHeaderRoom - 4));
      return;
    }
    this.append(this.streams.stream(node, incarnation), w.bytes, 0, w.pos);
  }

  private drop(reason: string): void {
    this.counts.dropped[reason] = (this.counts.dropped[reason] ?? 0) + 1;
  }

  /** Flushes what waits, stops listening; asks still waiting on other nodes settle with NodeUnreachableError. */
  async close(): Promise<void> {
    this.flush();
    this.closed = true;
    this.streams.close();
    try {
      this.sub.unsubscribe();
    } catch {
      // The connection is closed already.
    }
    clearInterval(this.sweep);
    for (const node of [...this.outstanding.keys()]) this.nodeGone(node);
  }
}

/** What the gateway hands entity messages and answers to (entities.ts). */
export interface EntitySink {
  received(
    module: string,
    key: string,
    msg: unknown,
    sender: ActorRef | undefined,
    timeoutMs: number,
    reply: ((ok: boolean, value: unknown) => void) | undefined,
    direct: boolean,
  ): void;
  answer(id: number, ok: boolean, value: unknown): void;
}
