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
import { kHeaderBytes } from '../src/transport/ring.js';

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
