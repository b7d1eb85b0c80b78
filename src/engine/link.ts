/**
 * The way to another endpoint: the seam between routing (router.ts decides
 * whether an actor is on this thread or on endpoint N) and how bytes get to
 * endpoint N. The router encodes a frame once (layouts: ../transport/kinds.ts)
 * and hands it to the Link of its endpoint; what comes back in is handed to
 * `Inbound.onFrame`, whatever brought it.
 *
 * Today every other endpoint is a pool thread of this process, reached
 * through the ring of this (sender, receiver) pair: RingLink. An endpoint on
 * another node would get a Link of its own (one that batches frames onto
 * that node's subject, with the same codec and frame kinds), put in the
 * router's table at that endpoint's index; the router does not change.
 */
import type { Writer } from '../transport/codec/index.js';
import { kCarried } from '../transport/kinds.js';
import { kHeaderBytes } from '../transport/ring.js';
import type { Transport } from '../transport/transport.js';
import type { RegionHandle } from '../memory/handle.js';
import type { Pool } from '../memory/pool.js';

/** @internal How frames reach one kind of endpoint. */
export interface Link {
  /**
   * Sends a TELL or ASK whose body is `writer.bytes[kHeaderBytes, kHeaderBytes
   * + bodyLength)`. A link may carry a large one another way, and may reuse
   * `writer` for it.
   */
  sendMessage(endpoint: number, writer: Writer, bodyLength: number): void;
  /** Sends one frame of any kind as it is: its body is `bytes[kHeaderBytes, kHeaderBytes + bodyLength)`. */
  send(endpoint: number, bytes: Uint8Array, bodyLength: number): void;
  /** Messages handed over for `endpoint` so far (an ask notes it: see Asks.failInDoubt). */
  sentTo(endpoint: number): number;
}

/** @internal Pool threads of this process: the (this thread -> that thread) ring, large bodies through the pool. */
export class RingLink implements Link {
  constructor(
    private readonly transport: Transport,
    private readonly pool: Pool,
    /** Bodies up to this many bytes always go through the ring. */
    private readonly inlineLimit: number,
  ) {}

  sendMessage(endpoint: number, writer: Writer, bodyLength: number): void {
    if (bodyLength <= this.inlineLimit || !this.sendCarried(endpoint, writer, bodyLength)) this.transport.send(endpoint, writer.bytes, bodyLength);
  }

  send(endpoint: number, bytes: Uint8Array, bodyLength: number): void {
    this.transport.send(endpoint, bytes, bodyLength);
  }

  sentTo(endpoint: number): number {
    return this.transport.sentTo(endpoint);
  }

  /**
   * Moves a large encoded message through the pool: one copy into a region
   * freed by the receiving thread once decoded (owned by no actor), and a 13-byte frame through the ring, instead of
   * chunks through the ring. False (use the ring) when no run is free; user
   * caches are never evicted for it.
   */
  private sendCarried(endpoint: number, w: Writer, bodyLength: number): boolean {
    let handle: RegionHandle;
    try {
      if (this.pool.regionsFor(bodyLength) < 0) return false;
      handle = this.pool.allocateCarrier(bodyLength);
    } catch {
      return false;
    }
    this.pool.carrierView(handle).set(w.bytes.subarray(kHeaderBytes, kHeaderBytes + bodyLength));
    w.reset();
    w.pos = kHeaderBytes;
    w.ensure(16);
    w.u8(kCarried);
    w.u32(handle.region);
    w.u32(handle.gen);
    w.u32(bodyLength);
    this.transport.send(endpoint, w.bytes, w.pos - kHeaderBytes);
    return true;
  }
}
