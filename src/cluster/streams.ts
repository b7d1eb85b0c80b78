/**
 * Sequenced, acknowledged streams between two node incarnations, over core
 * NATS. Core NATS delivers at most once: a message published while the
 * receiver's subscription is away (a NATS server restart, a reconnect that
 * lands later on one side) is dropped by the server. So each node numbers the
 * batches it sends to each other node (per destination incarnation), keeps
 * them until the receiver acknowledges, and sends again what is not
 * acknowledged in time; the receiver takes batches only in order (a gap is
 * dropped and recovered by the resend; a duplicate is dropped) and
 * acknowledges cumulatively, batched. What the sender accepted therefore
 * reaches the receiving node exactly once and in order, as long as both
 * incarnations live; a stream ends with either incarnation (see the
 * README's node-loss table).
 *
 * Wire format (little-endian; strings as the codec writes them):
 *
 *   u8 0xb5 | u8 version 2 | u8 type | str cluster | str from | str fromIncarnation | str toIncarnation | u32 seq | ...
 *     type 1 BATCH: records follow, each u32 length + a cluster record (../transport/kinds.ts)
 *     type 2 ACK:   nothing follows; seq = the last batch taken in order
 *
 * Hand-written rather than JetStream: a JetStream stream per node pair would
 * put every message through the server's storage (and its acks) on the
 * message path; this keeps core NATS's latency and adds one small ACK per
 * batch window.
 */
import { inspect } from 'node:util';
import type { NatsConnection } from '@nats-io/transport-node';
import { Reader, Writer } from '../transport/codec/index.js';
import { isName } from './kv.js';

const kMagic = 0xb5;
const kVersion = 2;
/** Message types. */
const kBatch = 1;
const kAck = 2;
/** How long the receiver waits to acknowledge, collecting batches into one ACK. */
const kAckDelayMs = 5;
/** A batch not acknowledged this long is sent again (with later ones, up to kResendBatches); the wait doubles while no ACK comes, up to kResendMaxMs. */
const kResendAfterMs = 200;
const kResendMaxMs = 3_200;
const kResendBatches = 64;
/** Unacknowledged bytes kept per destination; past this, new records for it are refused (it is not answering). */
export const kMaxUnackedBytes = 64 * 1024 * 1024;
/** Senders whose header fields a receiver remembers (see `Streams.receive`). */
const kKnownSenders = 64;

/** NATS subject of a node's inbound batches and acknowledgements. */
export function nodeSubject(cluster: string, node: string): string {
  return `microswarm.${cluster}.node.${node}`;
}

interface Sent {
  seq: number;
  bytes: Uint8Array;
}

/** @internal One destination incarnation: the batch being filled, and what was sent and not acknowledged. */
export class OutStream {
  /** NATS subject of the destination node. */
  readonly subject: string;
  nextSeq = 1;
  readonly unacked: Sent[] = [];
  unackedBytes = 0;
  /** When the oldest unacknowledged batch was (last) sent. */
  sentAt = 0;
  /** How long to wait for an ACK before sending again (backs off while none comes). */
  resendAfterMs = kResendAfterMs;
  writer: Writer;
  records = 0;
  /** Where the seq field of the batch being filled sits. */
  private seqAt = 0;
  /** The batch header up to its seq field, built once for each incarnation of this node (`prefixOf`). */
  private prefix: Uint8Array = new Uint8Array(0);
  private prefixOf: string | undefined;

  constructor(
    readonly node: string,
    readonly incarnation: string,
    subject: string,
    private readonly streams: Streams,
  ) {
    this.subject = subject;
    this.writer = new Writer(4096);
    this.begin();
  }

  /** Starts the next batch in `writer`. */
  private begin(): void {
    const own = this.streams.ownIncarnation();
    if (own !== this.prefixOf) {
      this.prefix = this.streams.headerBytes(kBatch, this.incarnation);
      this.prefixOf = own;
    }
    const w = this.writer;
    w.reset();
    w.ensure(this.prefix.length + 4);
    w.bytes.set(this.prefix);
    w.pos = this.prefix.length;
    this.seqAt = w.pos;
    w.u32(0);
  }

  /** Bytes in the batch being filled. */
  get size(): number {
    return this.writer.pos;
  }

  /** Appends one record (u32 length + bytes). */
  append(bytes: Uint8Array, start: number, end: number): void {
    const w = this.writer;
    const length = end - start;
    w.ensure(4 + length);
    w.u32(length);
    w.bytes.set(bytes.subarray(start, end), w.pos);
    w.pos += length;
    this.records++;
  }

  /** Seals the batch being filled: numbered, kept until acknowledged; returns its bytes to publish. */
  seal(now: number): Uint8Array {
    const seq = this.nextSeq++;
    const w = this.writer;
    w.view.setUint32(this.seqAt, seq, true);
    const bytes = w.bytes.slice(0, w.pos);
    if (this.unacked.length === 0) this.sentAt = now;
    this.unacked.push({ seq, bytes });
    this.unackedBytes += bytes.length;
    this.records = 0;
    this.begin();
    return bytes;
  }

  /** The receiver took every batch up to `seq`. */
  acked(seq: number): void {
    let n = 0;
    while (n < this.unacked.length && this.unacked[n].seq <= seq) this.unackedBytes -= this.unacked[n++].bytes.length;
    if (n > 0) {
      this.unacked.splice(0, n);
      this.sentAt = performance.now();
      this.resendAfterMs = kResendAfterMs;
    }
  }
}

/** @internal What a received message says, once its header checked out. */
export interface Received {
  type: number;
  from: string;
  fromIncarnation: string;
  toIncarnation: string;
  seq: number;
  /** Where the records start (BATCH). */
  at: number;
}

/** A sender seen in a header that checked out: its from and fromIncarnation fields as received (one run of bytes), and decoded. */
interface KnownSender {
  fields: Uint8Array;
  from: string;
  fromIncarnation: string;
}

/** @internal The streams of one node: out to each other node, in from each. */
export class Streams {
  private readonly out = new Map<string, OutStream>();
  /** Per sending node: its incarnation, the next seq expected from it, and whether an ACK is due. */
  private readonly in = new Map<string, { incarnation: string; expected: number; ackDue: boolean }>();
  private ackTimer: NodeJS.Timeout | undefined;
  private readonly resendTimer: NodeJS.Timeout;
  private readonly reader = new Reader();
  private readonly ackWriter = new Writer(256);
  batchesSent = 0;
  batchesResent = 0;
  /** This node's cluster field as a header carries it (u32 length + UTF-8). */
  private readonly clusterField: Uint8Array;
  /** This node's incarnation field likewise, for the incarnation `toField` names. */
  private toField: Uint8Array = new Uint8Array(0);
  private toFieldOf: string | undefined;
  /** Senders seen (at most kKnownSenders, the oldest replaced): a header naming one of them is read without decoding a string. */
  private readonly known: KnownSender[] = [];
  private knownNext = 0;

  constructor(
    private readonly nc: NatsConnection,
    private readonly cluster: string,
    private readonly node: string,
    readonly ownIncarnation: () => string,
  ) {
    const w = new Writer(64);
    w.str(cluster);
    this.clusterField = w.bytes.slice(0, w.pos);
    this.resendTimer = setInterval(() => this.resend(), kResendAfterMs / 2);
    this.resendTimer.unref();
  }

  private readonly header = (w: Writer, type: number, toIncarnation: string): void => {
    w.ensure(256);
    w.u8(kMagic);
    w.u8(kVersion);
    w.u8(type);
    w.str(this.cluster);
    w.str(this.node);
    w.str(this.ownIncarnation());
    w.str(toIncarnation);
  };

  /** What `util.inspect` shows: never the connection (its options hold the credentials). */
  [inspect.custom](): string {
    return `Streams(${this.node}, ${this.out.size} out)`;
  }

  /** A header of `type` to `toIncarnation` up to its seq field. */
  headerBytes(type: number, toIncarnation: string): Uint8Array {
    const w = new Writer(256);
    this.header(w, type, toIncarnation);
    return w.bytes.slice(0, w.pos);
  }

  /** The stream to (node, incarnation); a stream to an earlier incarnation of that node ends (its batches went with it). */
  stream(node: string, incarnation: string): OutStream {
    let s = this.out.get(node);
    if (s === undefined || s.incarnation !== incarnation)
      this.out.set(node, (s = new OutStream(node, incarnation, s?.subject ?? nodeSubject(this.cluster, node), this)));
    return s;
  }

  /** Publishes the batch being filled for `s` (if it holds any record). */
  publish(s: OutStream): number {
    if (s.records === 0) return 0;
    const records = s.records;
    this.send(s.subject, s.seal(performance.now()));
    this.batchesSent++;
    return records;
  }

  /**
   * Publishes on the connection; never throws (a timer calls it): a closed
   * connection drops it, and the stream keeps the batch until it is
   * acknowledged or dropped with its node.
   */
  private send(subject: string, bytes: Uint8Array): void {
    if (this.nc.isClosed()) return;
    try {
      this.nc.publish(subject, bytes);
    } catch {
      // Closed between the check and the publish.
    }
  }

  /** Publishes every batch being filled. Returns the records sent. */
  flush(): number {
    let records = 0;
    for (const s of this.out.values()) records += this.publish(s);
    return records;
  }

  /** Sends again, in order, what a receiver has not acknowledged in time. */
  private resend(): void {
    const now = performance.now();
    for (const s of this.out.values()) {
      if (s.unacked.length === 0 || now - s.sentAt < s.resendAfterMs) continue;
      // The oldest first, a window of them: the receiver takes batches in order, so the rest would be gaps.
      const window = s.unacked.slice(0, kResendBatches);
      for (const sent of window) this.send(s.subject, sent.bytes);
      this.batchesResent += window.length;
      s.sentAt = now;
      s.resendAfterMs = Math.min(kResendMaxMs, s.resendAfterMs * 2);
    }
  }

  /** `node` is gone: its stream ends (unacknowledged batches are dropped with it). */
  drop(node: string): void {
    this.out.delete(node);
    this.in.delete(node);
  }

  /** This node joined again under a new incarnation: every stream starts over (the others start over with it). */
  resetAll(): void {
    this.out.clear();
    this.in.clear();
  }

  /** The nodes with a stream either way. */
  nodes(): string[] {
    return [...new Set([...this.out.keys(), ...this.in.keys()])];
  }

  /**
   * Reads and checks a message's header. Returns what it is, or a reason to
   * drop it (a string). An ACK is applied here (returns 'ack'). The header
   * of a sender seen before is compared byte for byte with the fields
   * expected (`knownHeader`): four strings decoded per message were most of
   * the cost of taking a batch; anything else is read field by field.
   */
  receive(data: Uint8Array): Received | string {
    const got = this.knownHeader(data) ?? this.readHeader(data);
    if (typeof got === 'string' || got.type === kBatch) return got;
    const s = this.out.get(got.from);
    if (s !== undefined && s.incarnation === got.fromIncarnation) s.acked(got.seq);
    return 'ack';
  }

  /**
   * The header of `data` when its fields are byte for byte this cluster, a
   * sender seen before, and this incarnation: what `readHeader` would make
   * of it, without decoding a string. Undefined otherwise.
   */
  private knownHeader(data: Uint8Array): Received | undefined {
    const type = data[2];
    if (data[0] !== kMagic || data[1] !== kVersion || (type !== kBatch && type !== kAck)) return undefined;
    let at = 3;
    if (!bytesAt(data, at, this.clusterField)) return undefined;
    at += this.clusterField.length;
    let sender: KnownSender | undefined;
    for (const k of this.known) {
      if (bytesAt(data, at, k.fields)) {
        sender = k;
        break;
      }
    }
    if (sender === undefined) return undefined;
    at += sender.fields.length;
    const own = this.ownIncarnation();
    if (own !== this.toFieldOf) {
      const w = new Writer(64);
      w.str(own);
      this.toField = w.bytes.slice(0, w.pos);
      this.toFieldOf = own;
    }
    if (!bytesAt(data, at, this.toField) || data.length < at + this.toField.length + 4) return undefined;
    at += this.toField.length;
    const seq = u32At(data, at);
    return { type, from: sender.from, fromIncarnation: sender.fromIncarnation, toIncarnation: own, seq, at: at + 4 };
  }

  /** Reads and checks a header field by field (a sender whose fields check out is remembered for `knownHeader`). */
  private readHeader(data: Uint8Array): Received | string {
    const r = this.reader;
    let got: Received;
    let fieldsAt: number;
    let fieldsEnd: number;
    try {
      r.reset(data, 0, data.length);
      if (r.u8() !== kMagic) return 'bad-magic';
      if (r.u8() !== kVersion) return 'bad-version';
      const type = r.u8();
      if (type !== kBatch && type !== kAck) return 'bad-type';
      if (r.str() !== this.cluster) return 'wrong-cluster';
      fieldsAt = r.pos;
      const from = r.str();
      const fromIncarnation = r.str();
      fieldsEnd = r.pos;
      const toIncarnation = r.str();
      const seq = r.u32();
      got = { type, from, fromIncarnation, toIncarnation, seq, at: r.pos };
    } catch {
      return 'bad-header';
    }
    if (got.from === this.node || !isName(got.from)) return 'bad-node';
    if (got.fromIncarnation.length === 0 || got.fromIncarnation.length > 64) return 'bad-header';
    if (!this.known.some((k) => k.from === got.from && k.fromIncarnation === got.fromIncarnation)) {
      this.known[this.knownNext] = { fields: data.slice(fieldsAt, fieldsEnd), from: got.from, fromIncarnation: got.fromIncarnation };
      this.knownNext = (this.knownNext + 1) % kKnownSenders;
    }
    if (got.toIncarnation !== this.ownIncarnation()) return 'stale-incarnation';
    return got;
  }

  /**
   * Whether a BATCH is the next one from its sender: true to deliver it;
   * otherwise a reason it is dropped ('duplicate', 'gap'). Either way an ACK
   * of what was taken in order goes back soon.
   */
  inOrder(got: Received): true | string {
    let s = this.in.get(got.from);
    if (s === undefined || s.incarnation !== got.fromIncarnation)
      this.in.set(got.from, (s = { incarnation: got.fromIncarnation, expected: 1, ackDue: false }));
    this.scheduleAck(s);
    if (got.seq === s.expected) {
      s.expected++;
      return true;
    }
    return got.seq < s.expected ? 'duplicate' : 'gap';
  }

  private scheduleAck(s: { ackDue: boolean }): void {
    s.ackDue = true;
    this.ackTimer ??= setTimeout(() => this.sendAcks(), kAckDelayMs);
  }

  private sendAcks(): void {
    this.ackTimer = undefined;
    const w = this.ackWriter;
    for (const [node, s] of this.in) {
      if (!s.ackDue) continue;
      s.ackDue = false;
      w.reset();
      this.header(w, kAck, s.incarnation);
      w.u32(s.expected - 1);
      this.send(nodeSubject(this.cluster, node), w.bytes.slice(0, w.pos));
    }
  }

  close(): void {
    clearInterval(this.resendTimer);
    if (this.ackTimer !== undefined) clearTimeout(this.ackTimer);
    this.sendAcks();
  }
}

/** Whether `data` holds `field` at `at`. */
function bytesAt(data: Uint8Array, at: number, field: Uint8Array): boolean {
  if (at + field.length > data.length) return false;
  for (let i = 0; i < field.length; i++) if (data[at + i] !== field[i]) return false;
  return true;
}

/** The little-endian u32 at `bytes[at]` (read per record and header: no DataView made per message). */
export function u32At(bytes: Uint8Array, at: number): number {
  return (bytes[at] | (bytes[at + 1] << 8) | (bytes[at + 2] << 16) | (bytes[at + 3] << 24)) >>> 0;
}
