/**
 * How full each ring is and how many messages wait in it, read by the main
 * thread for metrics (`rt.metrics()`): per (sender, receiver) pair, the bytes
 * readable in the ring, its capacity, and the messages the sender handed to
 * the transport that the receiver has not taken yet (in the ring, or in the
 * sender's backlog while the ring is full).
 *
 * Nothing on the message path changes for this: the ring's indices and the
 * per-pair `counts` words (transport.ts: sent by the sender, consumed by the
 * receiver) are already shared; this reads them with Atomics loads. The two
 * counts are read a moment apart, so a figure can be off by what moved in
 * between (never below 0).
 */
import { Ring } from './ring.js';
import type { TransportShared } from './transport.js';

/** One ring's figures. */
export interface RingPair {
  /** Sending endpoint (0: the main thread, 1..: pool threads). */
  from: number;
  /** Receiving endpoint. */
  to: number;
  /** Bytes in the ring not read yet. */
  usedBytes: number;
  /** Bytes the ring holds at most. */
  capacityBytes: number;
  /** Messages sent and not yet taken by the receiver (in the ring or the sender's backlog). */
  unread: number;
}

/** @internal Views over every ring of a runtime. */
export class RingGauges {
  private readonly endpoints: number;
  private readonly rings: Array<Ring | null>;
  private readonly counts: Int32Array;

  constructor(shared: TransportShared) {
    this.endpoints = shared.endpoints;
    this.rings = shared.rings.map((sab) => (sab === null ? null : new Ring(sab)));
    this.counts = new Int32Array(shared.counts);
  }

  /** Every ring's figures now. */
  read(): RingPair[] {
    const n = this.endpoints;
    const pairs: RingPair[] = [];
    for (let from = 0; from < n; from++) {
      for (let to = 0; to < n; to++) {
        const ring = this.rings[from * n + to];
        if (ring === null) continue;
        const usedBytes = ring.availableRead();
        const sent = Atomics.load(this.counts, from * n + to);
        const consumed = Atomics.load(this.counts, n * n + from * n + to);
        pairs.push({ from, to, usedBytes, capacityBytes: usedBytes + ring.availableWrite(), unread: Math.max(0, (sent - consumed) | 0) });
      }
    }
    return pairs;
  }
}
