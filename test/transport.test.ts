/**
 * The transport's split messages across a thread's death: a message larger
 * than one frame travels as several frames, and either end may die between
 * them. A replacement reader that finds the tail of a message whose start
 * died with its predecessor, or a reader holding the start of a message
 * whose sender died before the rest, drops the orphaned part (counted) and
 * never glues it to another message.
 */
import { describe, expect, it } from 'vitest';
import { Transport, createTransportShared } from '../src/transport/transport.js';
import { Ring, allocateRing, kHeaderBytes, wordAlign } from '../src/transport/ring.js';
import { frameEnd } from '../src/transport/frames.js';

const kRingBytes = 4096;

/** Sends a message of `length` bytes, each byte `fill`, from `sender` to endpoint 1. */
function send(sender: Transport, length: number, fill: number): void {
  const scratch = new Uint8Array(kHeaderBytes + length).fill(fill);
  sender.send(1, scratch, length);
}

/** Polls `reader`, returning each message received as [length, first byte, every byte equal]. */
function receive(reader: Transport): Array<[number, number, boolean]> {
  const got: Array<[number, number, boolean]> = [];
  reader.poll((_from, bytes, start, end) => {
    const body = bytes.subarray(start, end);
    got.push([body.length, body[0], body.every((b) => b === body[0])]);
  });
  return got;
}

describe('Transport split messages', () => {
  it('reassembles a message larger than the ring', () => {
    const shared = createTransportShared(2, kRingBytes);
    const sender = new Transport(shared, 0, () => {});
    const reader = new Transport(shared, 1, () => {});
    send(sender, 10_000, 7);
    const got: Array<[number, number, boolean]> = [];
    for (let i = 0; i < 20 && got.length === 0; i++) {
      got.push(...receive(reader));
      sender.flushAll();
    }
    expect(got).toEqual([[10_000, 7, true]]);
    expect(reader.droppedPartials).toBe(0);
  });

  it('a replacement reader drops the tail of a message whose first frames died with its predecessor', () => {
    const shared = createTransportShared(2, kRingBytes);
    const sender = new Transport(shared, 0, () => {});
    const dead = new Transport(shared, 1, () => {});
    send(sender, 10_000, 7);
    expect(receive(dead)).toEqual([]); // took the first frame only, then "died"
    const replacement = new Transport(shared, 1, () => {});
    const got: Array<[number, number, boolean]> = [];
    for (let i = 0; i < 20; i++) {
      sender.flushAll();
      got.push(...receive(replacement));
    }
    send(sender, 100, 9);
    got.push(...receive(replacement));
    expect(got).toEqual([[100, 9, true]]);
    expect(replacement.droppedPartials).toBeGreaterThan(0);
  });

  it('a reader drops the start of a message whose sender died before the rest, and reads the next one whole', () => {
    const shared = createTransportShared(2, kRingBytes);
    const dead = new Transport(shared, 0, () => {});
    const reader = new Transport(shared, 1, () => {});
    send(dead, 10_000, 7); // one frame reaches the ring; the rest dies in its backlog
    expect(receive(reader)).toEqual([]);
    const replacement = new Transport(shared, 0, () => {});
    send(replacement, 100, 9);
    expect(receive(reader)).toEqual([[100, 9, true]]);
    expect(reader.droppedPartials).toBe(1);
  });
});

describe('Ring word copies', () => {
  it('carry frames of every length byte for byte across the wrap, from word-aligned and unaligned sources', () => {
    const ring = new Ring(allocateRing(256));
    const out = new Uint8Array(256);
    let seed = 7;
    for (let n = 0; n < 400; n++) {
      const length = n % 71;
      const buffer = new Uint8Array(kHeaderBytes + length + 8);
      // Even: the source starts a buffer (word copies); odd: one byte in, and its last word partial (byte copies).
      const frame = n % 2 === 0 ? buffer.subarray(0, kHeaderBytes + length) : new Uint8Array(buffer.buffer, 1, kHeaderBytes + length);
      new DataView(frame.buffer, frame.byteOffset).setUint32(0, length, true);
      for (let i = 0; i < length; i++) {
        seed = (seed * 1103515245 + 12345) & 0x7fffffff;
        frame[kHeaderBytes + i] = seed & 0xff;
      }
      expect(ring.pushFrame(frame, frame.length)).toBe(true);
      const available = ring.availableRead();
      expect(available).toBe(wordAlign(kHeaderBytes + length));
      ring.popAll(out, available);
      expect(frameEnd(out, 0, available)).toBe(kHeaderBytes + length);
      expect([...out.subarray(kHeaderBytes, kHeaderBytes + length)]).toEqual([...frame.subarray(kHeaderBytes)]);
    }
  });
});
