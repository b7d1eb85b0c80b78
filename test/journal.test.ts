/**
 * The journal (src/runtime/journal.ts) against a model: random appends and
 * out-of-order completions; what `pending()` reads back (as the main thread
 * does after a thread died) is exactly the entries not done, oldest first,
 * with their bytes; space is reclaimed as the oldest entries finish, and a
 * full journal refuses (counted) instead of overwriting.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Journal, allocateJournal } from '../src/runtime/journal.js';
import { Ring, allocateRing, kHeaderBytes, kMoreFlag } from '../src/runtime/ring.js';

type Op = { kind: 'append'; from: number; length: number } | { kind: 'done'; pick: number } | { kind: 'running'; pick: number } | { kind: 'done-oldest' };

const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant('append' as const), from: fc.integer({ min: 0, max: 8 }), length: fc.integer({ min: 0, max: 300 }) }),
  fc.record({ kind: fc.constant('done' as const), pick: fc.nat() }),
  fc.record({ kind: fc.constant('running' as const), pick: fc.nat() }),
  // Mostly in order, as a busy thread finishes them: the tail moves, so the journal wraps.
  fc.record({ kind: fc.constant('done-oldest' as const) }),
);

describe('Journal', () => {
  it('reads back exactly the entries not done, in order, whatever the order of completion', () => {
    fc.assert(
      fc.property(fc.integer({ min: 64, max: 4096 }), fc.array(op, { maxLength: 300 }), (size, ops) => {
        const journal = new Journal(allocateJournal(size));
        const live: Array<{ at: number; from: number; body: Uint8Array; running: boolean }> = [];
        let serial = 0;
        let refused = 0;
        for (const o of ops) {
          if (o.kind === 'append') {
            const body = new Uint8Array(o.length).map((_, i) => (serial * 31 + i) & 0xff);
            serial++;
            // Taken from the middle of a larger buffer, as frames are.
            const source = new Uint8Array(body.length + 3);
            source.set(body, 3);
            const at = journal.append(o.from, source, 3, 3 + body.length);
            if (at < 0) refused++;
            else live.push({ at, from: o.from, body, running: false });
          } else if (live.length > 0) {
            const i = o.kind === 'done-oldest' ? 0 : o.pick % live.length;
            if (o.kind === 'running') {
              journal.running(live[i].at);
              live[i].running = true;
            } else {
              journal.done(live[i].at);
              live.splice(i, 1);
            }
          }
        }
        const pending = journal.pending();
        expect(pending.map((p) => ({ from: p.from, running: p.running, body: [...p.body] }))).toEqual(
          live.map((l) => ({ from: l.from, running: l.running, body: [...l.body] })),
        );
        expect(journal.unjournaled()).toBe(refused);
        if (live.length === 0) expect(journal.used()).toBe(0);
        else expect(journal.used()).toBeGreaterThanOrEqual(live.reduce((sum, l) => sum + 8 + l.body.length, 0));
      }),
      { numRuns: 300, seed: 20261123 },
    );
  });

  it('reuses its space: a long run of appends, each done, never fills a small journal', () => {
    const journal = new Journal(allocateJournal(256));
    for (let i = 0; i < 10_000; i++) {
      const at = journal.append(1, new Uint8Array(40), 0, 40);
      expect(at).toBeGreaterThanOrEqual(0);
      journal.done(at);
    }
    expect(journal.used()).toBe(0);
    expect(journal.unjournaled()).toBe(0);
    // Empty, it starts over at 0: an entry of nearly the whole journal fits.
    expect(journal.append(1, new Uint8Array(232), 0, 232)).toBe(0);
    expect(journal.unjournaled()).toBe(0);
  });

  it('wraps around the end, keeps the head from reaching the tail, and reads back across the wrap', () => {
    const journal = new Journal(allocateJournal(256));
    const body = (n: number) => new Uint8Array(32).fill(n);
    const at = [0, 1, 2, 3, 4, 5].map((n) => journal.append(n, body(n), 0, 32)); // 40 bytes each
    expect(at).toEqual([0, 40, 80, 120, 160, 200]);
    journal.done(at[0]); // tail 40: wrapping needs 40 bytes before it, and the head must stay behind the tail
    expect(journal.append(6, body(6), 0, 32)).toBe(-1);
    journal.done(at[1]); // tail 80
    expect(journal.append(6, body(6), 0, 32)).toBe(0); // wrapped: the last 16 bytes are left unused
    expect(journal.used()).toBe(256 - 80 + 40);
    expect(journal.append(7, body(7), 0, 32)).toBe(-1); // it would end exactly at the tail
    expect(journal.pending().map((e) => [e.from, e.body[0]])).toEqual([[2, 2], [3, 3], [4, 4], [5, 5], [6, 6]]);
    journal.done(at[2]); // tail 120: room behind it now
    expect(journal.append(7, body(7), 0, 32)).toBe(40);
    for (const a of at.slice(3)) journal.done(a);
    expect(journal.pending().map((e) => e.from)).toEqual([6, 7]);
    expect(journal.used()).toBe(80);
    expect(journal.unjournaled()).toBe(2);
    journal.reset(); // as the main thread does once it has read it
    expect([journal.used(), journal.pending()]).toEqual([0, []]);
  });

  it('sends the head back to 0 after an entry that ends exactly at the end', () => {
    const journal = new Journal(allocateJournal(256));
    const at = Array.from({ length: 7 }, (_, n) => journal.append(n, new Uint8Array(24).fill(n), 0, 24)); // 32 bytes each
    expect(journal.append(7, new Uint8Array(24), 0, 24)).toBe(-1); // filling it up would make the head meet the tail at 0
    journal.done(at[0]);
    journal.done(at[1]); // tail 64
    expect(journal.append(7, new Uint8Array(24).fill(7), 0, 24)).toBe(224);
    expect(journal.used()).toBe(192);
    expect(journal.pending().map((e) => e.from)).toEqual([2, 3, 4, 5, 6, 7]);
    for (const a of [...at.slice(2), 224]) journal.done(a); // the tail, too, reaches the end and goes back to 0
    expect([journal.used(), journal.pending()]).toEqual([0, []]);
    for (let i = 0; i < 20; i++) journal.done(journal.append(8, new Uint8Array(24), 0, 24));
    expect(journal.unjournaled()).toBe(1);
  });

  it('refuses when the oldest entry holds the space, and takes entries again once it is done', () => {
    const journal = new Journal(allocateJournal(256));
    const first = journal.append(0, new Uint8Array(100), 0, 100);
    const second = journal.append(0, new Uint8Array(100), 0, 100);
    expect(journal.append(0, new Uint8Array(100), 0, 100)).toBe(-1);
    journal.done(second); // not the oldest: nothing reclaimed yet
    expect(journal.append(0, new Uint8Array(100), 0, 100)).toBe(-1);
    journal.done(first);
    expect(journal.append(0, new Uint8Array(100), 0, 100)).toBeGreaterThanOrEqual(0);
    expect(journal.unjournaled()).toBe(2);
  });
});

describe('Ring.peekMessages', () => {
  it('reads the first frame of every unread message, across the wrap, without consuming anything', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ body: fc.uint8Array({ minLength: 1, maxLength: 40 }), more: fc.boolean() }), { minLength: 4, maxLength: 60, size: 'large' }),
        fc.nat({ max: 20 }),
        (frames, popMore) => {
          const ring = new Ring(allocateRing(100)); // small: most runs wrap
          const scratch = new Uint8Array(64);
          const unread: Array<{ body: Uint8Array; first: boolean }> = [];
          // Consumes the oldest whole message (all its frames), as a reader does.
          const popMessage = () => {
            do {
              const head = unread.shift() as { body: Uint8Array };
              ring.popAll(new Uint8Array(kHeaderBytes + head.body.length), kHeaderBytes + head.body.length);
            } while (unread.length > 0 && !unread[0].first);
          };
          let continuing = false;
          for (const frame of frames) {
            const length = kHeaderBytes + frame.body.length;
            while (ring.availableWrite() < length) popMessage(); // so the ring wraps
            new DataView(scratch.buffer).setUint32(0, frame.body.length | (frame.more ? kMoreFlag : 0), true);
            scratch.set(frame.body, kHeaderBytes);
            ring.pushFrame(scratch, length);
            unread.push({ body: frame.body, first: !continuing });
            continuing = frame.more;
          }
          for (let n = 0; n < popMore && unread.length > 0; n++) popMessage();
          const seen: number[][] = [];
          const before = ring.availableRead();
          ring.peekMessages((body) => seen.push([...body]));
          expect(ring.availableRead()).toBe(before);
          expect(seen).toEqual(unread.filter((f) => f.first).map((f) => [...f.body]));
        },
      ),
    );
  });
});
