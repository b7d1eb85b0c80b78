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

  constructor(
    readonly node: string,
    readonly incarnation: string,
    private readonly header: (w: Writer, type: number, toIncarnation: string) => void,
  ) {
    this.writer = new Writer(4096);
    this.begin();
  }

  /** Starts the next batch in `writer`. */
  private begin(): void {
    const w = this.writer;
    w.reset();
    this.header(w, kBatch, this.incarnation);
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
    new DataView(w.bytes.buffer, w.bytes.byteOffset).setUint32(this.seqAt, seq, true);
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

  constructor(
    private readonly nc: NatsConnection,
    private readonly cluster: string,
    private readonly node: string,
    private readonly incarnation: () => string,
  ) {
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
    w.str(this.incarnation());
    w.str(toIncarnation);
  };

  /** What `util.inspect` shows: never the connection (its options hold the credentials). */
  [inspect.custom](): string {
    return `Streams(${this.node}, ${this.out.size} out)`;
  }

  /** The stream to (node, incarnation); a stream to an earlier incarnation of that node ends (its batches went with it). */
  stream(node: string, incarnation: string): OutStream {
    let s = this.out.get(node);
    if (s === undefined || s.incarnation !== incarnation) this.out.set(node, (s = new OutStream(node, incarnation, this.header)));
    return s;
  }

  /** The stream to `node`, if one is open. */
  existing(node: string): OutStream | undefined {
    return this.out.get(node);
  }

  /** Publishes the batch being filled for `s` (if it holds any record). */
  publish(s: OutStream): number {
    if (s.records === 0) return 0;
    const records = s.records;
    this.send(nodeSubject(this.cluster, s.node), s.seal(performance.now()));
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
      for (const sent of window) this.send(nodeSubject(this.cluster, s.node), sent.bytes);
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
   * drop it (a string). An ACK is applied here (returns 'ack').
   */
  receive(data: Uint8Array): Received | string {
    const r = this.reader;
    let got: Received;
    try {
      r.reset(data, 0, data.length);
      if (r.u8() !== kMagic) return 'bad-magic';
      if (r.u8() !== kVersion) return 'bad-version';
      const type = r.u8();
      if (type !== kBatch && type !== kAck) return 'bad-type';
      if (r.str() !== this.cluster) return 'wrong-cluster';
      const from = r.str();
      const fromIncarnation = r.str();
      const toIncarnation = r.str();
      const seq = r.u32();
      got = { type, from, fromIncarnation, toIncarnation, seq, at: r.pos };
    } catch {
      return 'bad-header';
    }
    if (got.from === this.node || !isName(got.from)) return 'bad-node';
    if (got.fromIncarnation.length === 0 || got.fromIncarnation.length > 64) return 'bad-header';
    if (got.toIncarnation !== this.incarnation()) return 'stale-incarnation';
    if (got.type === kAck) {
      const s = this.out.get(got.from);
      if (s !== undefined && s.incarnation === got.fromIncarnation) s.acked(got.seq);
      return 'ack';
    }
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
