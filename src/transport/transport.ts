/**
 * The cross-thread data plane of one thread ("endpoint"): its outbound rings
 * (one to every other endpoint), its inbound rings (one from every other
 * endpoint), and the doorbell protocol that parks an idle thread on Atomics
 * and wakes it only when it is parked.
 *
 * Endpoints: 0 is the main thread, 1..threads are the pool's workers. All
 * shared buffers are allocated by the main thread (see `createTransportShared`),
 * so what a thread has not read survives its death.
 *
 * Doorbells: one Int32Array, 16 words (64 bytes, one cache line) per endpoint:
 *
 *   word kSeq     bumped by a sender that wakes the endpoint; waited on
 *   word kParked  1 while the endpoint is (about to be) parked
 *   word kLoad    actors hosted (for least-loaded placement)
 *   word kBeat    heartbeat: bumped by the endpoint's thread from its event loop, and as it makes progress
 *
 * Park/wake (a Dekker-style handshake; all Atomics are sequentially consistent):
 *   receiver: seq = load(kSeq); store(kParked, 1); if any ring non-empty -> unpark; else waitAsync(kSeq, seq)
 *   sender:   push frame (store of the ring's write index); if CAS(kParked, 1 -> 0) succeeded: add(kSeq, 1); notify(kSeq)
 * Either the receiver's re-check sees the frame, or the sender's CAS sees the
 * parked flag; and because the receiver waits on the value of kSeq read
 * before its re-check, a bump between the re-check and the wait makes
 * waitAsync return at once. No wake-up is lost, and a busy receiver costs its
 * senders one failed CAS per message, no notify.
 *
 * Backpressure between threads: when a ring is full, frames wait in the
 * sender's backlog (heap, FIFO, so ordering holds) and the sender raises the
 * ring's `spaceWanted` flag; the consumer, after reading from that ring,
 * clears the flag and rings the sender's doorbell, which flushes the backlog.
 */
import { Ring, allocateRing, kContinuedFlag, kHeaderBytes, kLengthMask, kMoreFlag, wordAlign } from './ring.js';
import { Journal, allocateJournal } from './journal.js';
import { DecodeError } from '../base/errors.js';
import { Reassembly, frameEnd, frameHeader, truncatedFrameError } from './frames.js';
import { allocateTurns } from './turns.js';
import { allocateMeters } from './meters.js';

const kBellWords = 16;
const kSeq = 0;
const kParked = 1;
const kLoad = 2;
const kBeat = 3;

/** Shared buffers of the data plane; plain data that travels to workers. */
export interface TransportShared {
  endpoints: number;
  /** rings[from * endpoints + to], null on the diagonal. */
  rings: Array<SharedArrayBuffer | null>;
  bells: SharedArrayBuffer;
  spaceWanted: SharedArrayBuffer;
  /**
   * Message counts per ring, for crash recovery: words [from * endpoints +
   * to] count messages the sender handed to the transport for that ring
   * (`sent`, written by the sender only), and words [endpoints^2 + from *
   * endpoints + to] count whole messages the receiver took out of it
   * (`consumed`, bumped once per batch). When a thread dies, its `consumed`
   * words say which of the asks sent to it it had taken: those are in doubt,
   * the rest are still in the ring for its replacement.
   */
  counts: SharedArrayBuffer;
  /** Each endpoint's journal (see journal.ts); null for the main thread, or when journals are off. */
  journals: Array<SharedArrayBuffer | null>;
  /** Which handler each endpoint runs (see turns.ts), for the main thread's watchdog. */
  turns: SharedArrayBuffer;
  /** Each endpoint's metric counters, and the module table (see meters.ts). */
  meters: SharedArrayBuffer;
}

/** `slots`: the actor directory's slots (metrics record each one's module). */
export function createTransportShared(endpoints: number, ringBytes: number, journalBytes = 0, slots = 0): TransportShared {
  const rings: Array<SharedArrayBuffer | null> = [];
  for (let from = 0; from < endpoints; from++) {
    for (let to = 0; to < endpoints; to++) rings.push(from === to ? null : allocateRing(ringBytes));
  }
  return {
    endpoints,
    rings,
    bells: new SharedArrayBuffer(endpoints * kBellWords * 4),
    spaceWanted: new SharedArrayBuffer(endpoints * endpoints * 4),
    counts: new SharedArrayBuffer(2 * endpoints * endpoints * 4),
    journals: Array.from({ length: endpoints }, (_, e) => (e === 0 || journalBytes === 0 ? null : allocateJournal(journalBytes))),
    turns: allocateTurns(endpoints),
    meters: allocateMeters(endpoints, slots),
  };
}

/** Frames waiting for room in one outbound ring, stored back to back in chunks. */
class Backlog {
  /** Each chunk holds whole frames in [0, end). */
  private chunks: Array<{ bytes: Uint8Array; end: number }> = [];
  private readPos = 0;
  get isEmpty(): boolean {
    return this.chunks.length === 0;
  }

  /** Appends a complete frame (header included), padded to a whole word (ring.ts). */
  append(frame: Uint8Array, length: number): void {
    const span = wordAlign(length);
    let last = this.chunks[this.chunks.length - 1];
    if (last === undefined || last.bytes.length - last.end < span) {
      last = { bytes: new Uint8Array(Math.max(64 * 1024, span)), end: 0 };
      this.chunks.push(last);
    }
    last.bytes.set(frame.subarray(0, length), last.end);
    last.end += span;
  }

  /**
   * Pushes frames into `ring` until it is full or the backlog is empty;
   * returns frames pushed. The whole frames of a chunk that fit go in one
   * push (one copy, one store of the write index).
   */
  flushInto(ring: Ring): number {
    let pushed = 0;
    while (this.chunks.length > 0) {
      const chunk = this.chunks[0];
      if (this.readPos >= chunk.end) {
        this.chunks.shift();
        this.readPos = 0;
        continue;
      }
      const b = chunk.bytes;
      const room = ring.availableWrite();
      const from = this.readPos;
      let at = from;
      let frames = 0;
      while (at < chunk.end) {
        const length = wordAlign(kHeaderBytes + (frameHeader(b, at) & kLengthMask));
        if (at + length - from > room) break;
        at += length;
        frames++;
      }
      if (frames === 0 || !ring.pushFrames(b, from, at - from)) return pushed;
      this.readPos = at;
      pushed += frames;
    }
    return pushed;
  }
}

/** What the transport hands each complete inbound message to. */
export type FrameHandler = (from: number, bytes: Uint8Array, start: number, end: number, journalEntry?: number) => void;
/** Journals one taken message; returns its entry, or -1. */
export type FrameJournal = (from: number, bytes: Uint8Array, start: number, end: number) => number;
/** Told about inbound bytes refused as malformed (see `Transport.poll`). */
export type MalformedHandler = (from: number, error: DecodeError) => void;

export class Transport {
  readonly index: number;
  readonly endpoints: number;
  private readonly outRings: Array<Ring | null> = [];
  private readonly inRings: Array<Ring | null> = [];
  private readonly backlogs: Array<Backlog | null> = [];
  private backlogCount = 0;
  private readonly bells: Int32Array;
  private readonly spaceWanted: Int32Array;
  private readonly counts: Int32Array;
  /** Reassembly of split messages, per inbound ring. */
  private readonly partial: Reassembly[] = [];
  /** This thread's copy of one ring's readable bytes. Handlers must not keep views into it. */
  private batch = new Uint8Array(64 * 1024);
  private waiting = false;
  private closed = false;
  private readonly onWake: () => void;
  /** Set by an endpoint with a journal: each taken message is journaled before any handler of its batch runs. */
  journal: FrameJournal | undefined;
  /** That journal, set with `journal`: a batch is journaled and consumed in one commit (see journal.ts). */
  batchJournal: Journal | undefined;
  private entries = new Int32Array(256);
  /** Parts of split messages dropped because their other part was lost with a thread (see `poll`). */
  droppedPartials = 0;
  /** Inbound bytes refused as malformed: batches whose tail was not whole frames, split messages over the limit. */
  malformed = 0;
  /** Set by an endpoint to report what `malformed` counts. */
  onMalformed: MalformedHandler | undefined;

  /**
   * `maxMessageBytes` bounds the reassembly of a split message: every sender
   * refuses a larger body, so a larger one is malformed and is not kept.
   */
  constructor(shared: TransportShared, index: number, onWake: () => void, maxMessageBytes = 2 ** 31 - 1) {
    this.index = index;
    this.endpoints = shared.endpoints;
    this.onWake = onWake;
    for (let other = 0; other < shared.endpoints; other++) {
      const out = shared.rings[index * shared.endpoints + other];
      const inbound = shared.rings[other * shared.endpoints + index];
      this.outRings.push(out ? new Ring(out) : null);
      this.inRings.push(inbound ? new Ring(inbound) : null);
      this.backlogs.push(out ? new Backlog() : null);
      this.partial.push(new Reassembly(maxMessageBytes));
    }
    this.bells = new Int32Array(shared.bells);
    this.spaceWanted = new Int32Array(shared.spaceWanted);
    this.counts = new Int32Array(shared.counts);
  }

  /** Messages this endpoint has sent to `target` so far (across its incarnations): the sequence number of the last one. */
  sentTo(target: number): number {
    return this.counts[this.index * this.endpoints + target];
  }

  /** Messages `from` has sent to `to` so far (read by the main thread after `to` died). */
  sent(from: number, to: number): number {
    return Atomics.load(this.counts, from * this.endpoints + to);
  }

  /** Messages `to` has taken out of the ring from `from` (read by the main thread after `to` died). */
  consumed(from: number, to: number): number {
    return Atomics.load(this.counts, this.endpoints * this.endpoints + from * this.endpoints + to);
  }

  /** Largest body one frame to `target` can carry. */
  maxFrameBody(target: number): number {
    return (this.outRings[target] as Ring).maxFrameBody;
  }

  /**
   * Sends one message whose body sits in `scratch[kHeaderBytes, kHeaderBytes +
   * bodyLength)`; the first 4 bytes of scratch are overwritten with the frame
   * header. Never drops: what the ring cannot take now waits in the backlog.
   */
  send(target: number, scratch: Uint8Array, bodyLength: number): void {
    const ring = this.outRings[target];
    if (ring === null || ring === undefined) throw new Error(`no ring from endpoint ${this.index} to ${target}`);
    const backlog = this.backlogs[target] as Backlog;
    // Only this endpoint writes its `sent` words (and a replacement thread
    // after it died): a plain increment; the sum wraps with the int32.
    this.counts[this.index * this.endpoints + target]++;
    if (backlog.isEmpty && bodyLength <= ring.maxFrameBody) {
      writeHeader(scratch, 0, bodyLength);
      if (ring.pushFrame(scratch, kHeaderBytes + bodyLength)) {
        this.wake(target);
        return;
      }
    }
    this.enqueueBacklog(ring, backlog, scratch, bodyLength);
    this.flush(target);
  }

  private enqueueBacklog(ring: Ring, backlog: Backlog, scratch: Uint8Array, bodyLength: number): void {
    if (backlog.isEmpty) this.backlogCount++;
    const max = ring.maxFrameBody;
    if (bodyLength <= max) {
      // One frame: copied from the scratch as it stands, header and all.
      writeHeader(scratch, 0, bodyLength);
      backlog.append(scratch, kHeaderBytes + bodyLength);
      return;
    }
    for (let offset = 0; offset < bodyLength || offset === 0; offset += max) {
      const chunk = Math.min(max, bodyLength - offset);
      const more = offset + chunk < bodyLength;
      const framed = new Uint8Array(kHeaderBytes + chunk);
      writeHeader(framed, 0, chunk | (more ? kMoreFlag : 0) | (offset > 0 ? kContinuedFlag : 0));
      framed.set(scratch.subarray(kHeaderBytes + offset, kHeaderBytes + offset + chunk), kHeaderBytes);
      backlog.append(framed, framed.length);
      if (!more) break;
    }
  }

  /**
   * Pushes what waits in the backlog to `target`; returns the frames pushed.
   * When frames remain, raises the ring's `spaceWanted` flag so the consumer
   * rings us after it reads.
   */
  private flush(target: number): number {
    const backlog = this.backlogs[target] as Backlog;
    if (backlog.isEmpty) return 0;
    const ring = this.outRings[target] as Ring;
    let pushed = backlog.flushInto(ring);
    if (!backlog.isEmpty) {
      // Ask the consumer to ring us when it has read; then look again, in
      // case it read everything between our push attempt and the flag.
      Atomics.store(this.spaceWanted, this.index * this.endpoints + target, 1);
      pushed += backlog.flushInto(ring);
    }
    if (pushed > 0) this.wake(target);
    if (backlog.isEmpty) this.backlogCount--;
    return pushed;
  }

  /** Flushes every backlog; returns the frames pushed. */
  flushAll(): number {
    if (this.backlogCount === 0) return 0;
    let pushed = 0;
    for (let target = 0; target < this.endpoints; target++) if (this.backlogs[target] !== null) pushed += this.flush(target);
    return pushed;
  }

  get hasBacklog(): boolean {
    return this.backlogCount > 0;
  }

  /** Rings `target`'s doorbell if it is parked. */
  wake(target: number): void {
    const base = target * kBellWords;
    // A plain load first: while the receiver is busy the line stays shared
    // and senders pay no locked instruction.
    if (Atomics.load(this.bells, base + kParked) === 1 && Atomics.compareExchange(this.bells, base + kParked, 1, 0) === 1) {
      Atomics.add(this.bells, base + kSeq, 1);
      Atomics.notify(this.bells, base + kSeq);
    }
  }

  /**
   * Reads the inbound rings, handing each complete message to `handler`.
   * Each ring is emptied in one batch (one pop of all readable bytes), then
   * parsed from this thread's copy. Returns the number of messages.
   *
   * Malformed input is refused, counted in `malformed` and reported to
   * `onMalformed` as a DecodeError, never read: a frame whose header or body
   * runs past the batch ends the batch (nothing after it can be framed; the
   * next batch starts at the producer's next frame), and a split message
   * larger than `maxMessageBytes` is skipped to its last frame.
   */
  poll(handler: FrameHandler): number {
    let count = 0;
    for (let from = 0; from < this.endpoints; from++) {
      const ring = this.inRings[from];
      if (ring === null || ring === undefined) continue;
      const available = ring.availableRead();
      if (available === 0) continue;
      if (available > this.batch.length) this.batch = new Uint8Array(Math.max(available, this.batch.length * 2));
      const batch = this.batch;
      // The main thread never dies alone (its death ends the process): it
      // pops, and neither journals nor counts. A pool thread copies the
      // batch, journals and counts it, and only then consumes it: a thread
      // that dies before the batch is journaled leaves it in the ring for
      // its replacement (it was not taken), never in neither place.
      const log = this.index !== 0 ? this.batchJournal : undefined;
      let readAfter = 0;
      if (this.index === 0) ring.popAll(batch, available);
      else readAfter = ring.peekAll(batch, available);
      log?.beginBatch();
      const consumedAt = this.endpoints * this.endpoints + from * this.endpoints + this.index;
      // Before any handler of this batch runs: every whole message in it is
      // journaled and counted as taken, so a thread that dies in the middle
      // of the batch loses none of it (its asks are replayed or in doubt,
      // never silently waiting).
      let messages = 0;
      const assembly = this.partial[from];
      let inMessage = assembly.active;
      for (let scan = 0; this.index !== 0 && scan < available; ) {
        const end = frameEnd(batch, scan, available);
        if (end < 0) break; // reported by the loop below
        const header = frameHeader(batch, scan);
        const start = scan + kHeaderBytes;
        const continued = (header & kContinuedFlag) !== 0;
        scan = wordAlign(end);
        // The rest of a message whose start this thread never had (see below): skipped.
        if (continued && !inMessage) continue;
        if ((header & kMoreFlag) !== 0) inMessage = true;
        else {
          if (!continued && this.journal !== undefined) {
            if (messages >= this.entries.length) {
              const grown = new Int32Array(this.entries.length * 2);
              grown.set(this.entries);
              this.entries = grown;
            }
            this.entries[messages] = this.journal(from, batch, start, end);
          }
          inMessage = false;
          messages++;
        }
      }
      if (log !== undefined) {
        // One commit (journal.ts): once armed, the main thread finishes it if we die here.
        const consumed = (Atomics.load(this.counts, consumedAt) + messages) | 0;
        log.commitBatch(from, readAfter, consumed);
        ring.advanceTo(readAfter);
        Atomics.store(this.counts, consumedAt, consumed);
        log.endBatch();
      } else if (this.index !== 0) {
        // No journal: counted first, so an ask taken is never left waiting
        // (dying between the two makes asks still in the ring in doubt:
        // rejected, and answered too, whichever comes first).
        if (messages > 0) Atomics.add(this.counts, consumedAt, messages);
        ring.advanceTo(readAfter);
      }
      // Room was made: a producer waiting on it is rung.
      const flag = from * this.endpoints + this.index;
      if (Atomics.load(this.spaceWanted, flag) === 1) {
        Atomics.store(this.spaceWanted, flag, 0);
        this.wake(from);
      }
      let message = 0;
      let at = 0;
      while (at < available) {
        const end = frameEnd(batch, at, available);
        if (end < 0) {
          assembly.clear();
          this.refuse(from, truncatedFrameError(batch, at, available));
          break;
        }
        const header = frameHeader(batch, at);
        const length = header & kLengthMask;
        const start = at + kHeaderBytes;
        at = wordAlign(end);
        const continued = (header & kContinuedFlag) !== 0;
        if (continued !== assembly.active) {
          // A frame that does not fit the message being reassembled: the
          // tail of a message whose first frames a dead predecessor of this
          // thread had taken (continued, nothing pending), or a new message
          // after a sender died between the frames of a split one (pending,
          // not continued). Either part is dropped, never glued to another
          // message, and counted.
          this.droppedPartials++;
          assembly.clear();
          if (continued) continue;
        }
        if ((header & kMoreFlag) !== 0 || continued) {
          assembly.append(batch, start, end);
          if ((header & kMoreFlag) !== 0) continue;
          const { bytes, length: assembled, oversized, declared } = assembly;
          assembly.clear();
          count++;
          message++;
          if (oversized) {
            this.refuse(
              from,
              new DecodeError(`a split message of ${declared} bytes, over the limit of ${assembly.limit} (maxMessageBytes)`, start - kHeaderBytes),
            );
            continue;
          }
          handler(from, bytes, 0, assembled); // journaled by the handler, now whole
          continue;
        }
        count++;
        // A batch of many thousand messages (answers to a burst of asks,
        // say) is progress too: the watchdog must not take it for a hang.
        if ((count & 1023) === 0) this.beat();
        const entry = this.journal !== undefined ? this.entries[message] : -1;
        message++;
        handler(from, batch, start, start + length, this.journal !== undefined ? entry : undefined);
      }
    }
    return count;
  }

  private refuse(from: number, error: DecodeError): void {
    this.malformed++;
    this.onMalformed?.(from, error);
  }

  /** True when some inbound ring holds a frame. */
  hasInbound(): boolean {
    for (let from = 0; from < this.endpoints; from++) {
      const ring = this.inRings[from];
      if (ring !== null && ring !== undefined && !ring.isEmpty()) return true;
    }
    return false;
  }

  /**
   * Parks this endpoint until a sender rings. `hasLocalWork` is checked after
   * the parked flag is raised, closing the race with senders. Returns false
   * (not parked) when there is work to do now.
   */
  park(hasLocalWork: () => boolean): boolean {
    if (this.closed) return true;
    const base = this.index * kBellWords;
    const seq = Atomics.load(this.bells, base + kSeq);
    Atomics.store(this.bells, base + kParked, 1);
    // With the parked flag up, look once more for work: frames that arrived,
    // local work, and room for our own backlog. A consumer that made room
    // before this point may have rung while we were not parked (its ring
    // was lost); after it, its ring wakes us.
    if (this.hasInbound() || hasLocalWork() || this.flushAll() > 0) {
      Atomics.compareExchange(this.bells, base + kParked, 1, 0);
      return false;
    }
    if (this.waiting) return true; // an earlier waitAsync is still armed
    const result = Atomics.waitAsync(this.bells, base + kSeq, seq);
    if (!result.async) {
      Atomics.compareExchange(this.bells, base + kParked, 1, 0);
      return false;
    }
    this.waiting = true;
    void result.value.then(() => {
      this.waiting = false;
      if (!this.closed) this.onWake();
    });
    return true;
  }

  /** Marks this endpoint busy, so senders skip the notify. */
  unpark(): void {
    Atomics.store(this.bells, this.index * kBellWords + kParked, 0);
  }

  /** Adds `delta` to the actor count published for `endpoint`. */
  addLoad(endpoint: number, delta: number): void {
    Atomics.add(this.bells, endpoint * kBellWords + kLoad, delta);
  }

  /** A heartbeat of this endpoint's thread (its event loop is turning). */
  beat(): void {
    Atomics.add(this.bells, this.index * kBellWords + kBeat, 1);
  }

  /** `endpoint`'s heartbeat counter. */
  beats(endpoint: number): number {
    return Atomics.load(this.bells, endpoint * kBellWords + kBeat);
  }

  load(endpoint: number): number {
    return Atomics.load(this.bells, endpoint * kBellWords + kLoad);
  }

  /** Stops parking; wakes a pending waitAsync so nothing is left armed. */
  close(): void {
    this.closed = true;
    const base = this.index * kBellWords;
    Atomics.add(this.bells, base + kSeq, 1);
    Atomics.notify(this.bells, base + kSeq);
  }

  /** Nothing waits in our backlog or in a ring we write, except rings to the endpoints in `skip` (threads that are down: nobody reads them). */
  outboundDrained(skip?: ReadonlySet<number>): boolean {
    if (this.backlogCount > 0) return false;
    for (let to = 0; to < this.outRings.length; to++) {
      const ring = this.outRings[to];
      if (ring !== null && ring !== undefined && !ring.isEmpty() && skip?.has(to) !== true) return false;
    }
    return true;
  }
}

/**
 * The main thread, first thing after pool thread `endpoint` died: when the
 * thread died in the middle of committing a batch it had journaled (see
 * journal.ts), finishes that commit: the ring it came from is consumed up to
 * the batch's end and counted, so its messages are replayed from the
 * journal and not read again from the ring.
 */
export function finishTakenBatch(shared: TransportShared, endpoint: number): void {
  const journal = shared.journals[endpoint];
  if (journal === null || journal === undefined) return;
  const batch = new Journal(journal).takenBatch();
  if (batch === undefined) return;
  const ring = shared.rings[batch.from * shared.endpoints + endpoint];
  if (ring !== null && ring !== undefined) new Ring(ring).advanceTo(batch.read);
  Atomics.store(new Int32Array(shared.counts), shared.endpoints * shared.endpoints + batch.from * shared.endpoints + endpoint, batch.consumed);
}

function writeHeader(bytes: Uint8Array, at: number, header: number): void {
  bytes[at] = header & 0xff;
  bytes[at + 1] = (header >>> 8) & 0xff;
  bytes[at + 2] = (header >>> 16) & 0xff;
  bytes[at + 3] = (header >>> 24) & 0xff;
}
