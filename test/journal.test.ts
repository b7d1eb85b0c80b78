/**
 * The journal (src/runtime/journal.ts) against a model: random appends and
 * out-of-order completions; what `pending()` reads back (as the main thread
 * does after a thread died) is exactly the entries not done, oldest first,
 * with their bytes and their crash counts (deaths while running, carried
 * over by a replacement thread, plus this one when running); space is reclaimed as the oldest entries finish, and a
 * full journal refuses (counted) instead of overwriting.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Journal, allocateJournal, kBlameNone } from '../src/transport/journal.js';
import { Ring, allocateRing, kContinuedFlag, kHeaderBytes, kMoreFlag, wordAlign } from '../src/transport/ring.js';

type Op =
  | { kind: 'append'; from: number; length: number; crashes: number }
  | { kind: 'done'; pick: number }
  | { kind: 'running'; pick: number }
  | { kind: 'done-oldest' };

const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({
    kind: fc.constant('append' as const),
    from: fc.integer({ min: 0, max: 8 }),
    length: fc.integer({ min: 0, max: 300 }),
    crashes: fc.integer({ min: 0, max: 3 }),
  }),
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
        const live: Array<{ at: number; from: number; body: Uint8Array; running: boolean; crashes: number }> = [];
        let serial = 0;
        let refused = 0;
        for (const o of ops) {
          if (o.kind === 'append') {
            const body = new Uint8Array(o.length).map((_, i) => (serial * 31 + i) & 0xff);
            serial++;
            // Taken from the middle of a larger buffer, as frames are.
            const source = new Uint8Array(body.length + 3);
            source.set(body, 3);
            const at = journal.append(o.from, source, 3, 3 + body.length, o.crashes);
            if (at < 0) refused++;
            else live.push({ at, from: o.from, body, running: false, crashes: o.crashes });
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
        // What the watchdog reads of a running entry (its owner alive): its body, and nothing of the others.
        for (const l of live) expect(journal.runningBody(l.at)).toEqual(l.running ? l.body : undefined);
        const pending = journal.pending();
        expect(pending.map((p) => ({ at: p.at, from: p.from, running: p.running, crashes: p.crashes, body: [...p.body] }))).toEqual(
          live.map((l) => ({ at: l.at, from: l.from, running: l.running, crashes: l.crashes + (l.running ? 1 : 0), body: [...l.body] })),
        );
        expect(journal.unjournaled()).toBe(refused);
        if (live.length === 0) expect(journal.used()).toBe(0);
        else expect(journal.used()).toBeGreaterThanOrEqual(live.reduce((sum, l) => sum + 8 + l.body.length, 0));
      }),
      { numRuns: 300, seed: 20261123 },
    );
  });

  it('blames one running entry, or none, when told which took the thread down, and keeps the count in the entry for the next death', () => {
    const journal = new Journal(allocateJournal(1024));
    const body = new Uint8Array(8);
    const first = journal.append(1, body, 0, 8, 1);
    const second = journal.append(2, body, 0, 8);
    journal.append(3, body, 0, 8, 1); // queued: never blamed
    journal.running(first);
    journal.running(second);
    expect(journal.pending(second).map((e) => [e.from, e.running, e.crashes])).toEqual([
      [1, true, 1],
      [2, true, 1],
      [3, false, 1],
    ]);
    // Each read is one death: the blame stays with the entry (a replacement
    // replays this same entry). An entry that was running is in doubt from
    // then on (still `running` for at-most-once) but blamed again only if it
    // runs again: a replacement that dies before running it does not poison it.
    expect(journal.pending(kBlameNone).map((e) => [e.running, e.crashes])).toEqual([
      [true, 1],
      [true, 1],
      [false, 1],
    ]);
    expect(journal.pending().map((e) => [e.running, e.crashes])).toEqual([
      [true, 1],
      [true, 1],
      [false, 1],
    ]);
    journal.running(second); // replayed and run again, and the replacement dies in it
    expect(journal.pending().map((e) => [e.running, e.crashes])).toEqual([
      [true, 1],
      [true, 2],
      [false, 1],
    ]);
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
    expect(journal.pending().map((e) => [e.from, e.body[0]])).toEqual([
      [2, 2],
      [3, 3],
      [4, 4],
      [5, 5],
      [6, 6],
    ]);
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

describe('Journal batches (taking a batch out of a ring as one step)', () => {
  const body = (n: number) => new Uint8Array([n, n, n]);
  it('publishes a batch only when its commit is armed; before that, what died with the thread is not in the journal', () => {
    const buffer = allocateJournal(1024);
    const journal = new Journal(buffer);
    journal.append(1, body(1), 0, 3);
    journal.beginBatch();
    journal.append(2, body(2), 0, 3);
    journal.append(2, body(3), 0, 3);
    // The thread dies here: the batch is still in its ring, and only there.
    const afterDeath = new Journal(buffer);
    expect(afterDeath.takenBatch()).toBeUndefined();
    expect(afterDeath.pending().map((e) => e.body[0])).toEqual([1]);
  });

  it('an armed commit that the thread did not end is finished by the main thread: its entries are pending, the ring position returned', () => {
    const buffer = allocateJournal(1024);
    const journal = new Journal(buffer);
    journal.beginBatch();
    journal.append(2, body(2), 0, 3);
    journal.append(2, body(3), 0, 3);
    journal.commitBatch(2, 4242, 17);
    const afterDeath = new Journal(buffer);
    expect(afterDeath.takenBatch()).toEqual({ from: 2, read: 4242, consumed: 17 });
    expect(afterDeath.takenBatch()).toBeUndefined(); // finished once
    expect(afterDeath.pending().map((e) => [e.from, e.body[0]])).toEqual([
      [2, 2],
      [2, 3],
    ]);
  });

  it('an ended commit leaves nothing to finish', () => {
    const buffer = allocateJournal(1024);
    const journal = new Journal(buffer);
    journal.beginBatch();
    journal.append(2, body(2), 0, 3);
    journal.commitBatch(2, 8, 1);
    journal.endBatch();
    expect(new Journal(buffer).takenBatch()).toBeUndefined();
  });

  it('a replacement takes the journal over as it is: replayed entries keep their offsets and are reclaimed when done', () => {
    const buffer = allocateJournal(256);
    const dead = new Journal(buffer);
    const a = dead.append(1, body(1), 0, 3);
    const b = dead.append(1, body(2), 0, 3);
    dead.running(a);
    const replay = new Journal(buffer).pending();
    expect(replay.map((e) => [e.at, e.running])).toEqual([
      [a, true],
      [b, false],
    ]);
    const replacement = new Journal(buffer);
    const c = replacement.append(1, body(3), 0, 3); // new messages go after the old ones
    replacement.done(b);
    // The replacement dies too: the next one still replays a, then c.
    expect(new Journal(buffer).pending().map((e) => e.body[0])).toEqual([1, 3]);
    replacement.done(a);
    replacement.done(c);
    expect(replacement.used()).toBe(0);
  });
});

type Frame = { body: Uint8Array; more: boolean };

/**
 * Pushes `frames` through a small ring (so most runs wrap), consuming whole
 * messages as a reader does whenever the producer needs room (so the reader
 * may take the first frames of a message larger than the ring before the
 * producer has pushed the rest), then `popMore` more messages; then peeks.
 */
function checkPeek(frames: Frame[], popMore: number): void {
  const ring = new Ring(allocateRing(100));
  const scratch = new Uint8Array(64);
  const unread: Array<{ body: Uint8Array; first: boolean }> = [];
  // Consumes the oldest whole message (all its frames now in the ring), as a reader does.
  const popMessage = () => {
    do {
      const head = unread.shift() as { body: Uint8Array };
      const span = wordAlign(kHeaderBytes + head.body.length);
      ring.popAll(new Uint8Array(span), span);
    } while (unread.length > 0 && !unread[0].first);
  };
  let continuing = false;
  for (const frame of frames) {
    const length = kHeaderBytes + frame.body.length;
    while (ring.availableWrite() < wordAlign(length)) popMessage(); // so the ring wraps
    new DataView(scratch.buffer).setUint32(0, frame.body.length | (frame.more ? kMoreFlag : 0) | (continuing ? kContinuedFlag : 0), true);
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
}

describe('Ring.peekMessages', () => {
  it('reads the first frame of every unread message, across the wrap, without consuming anything', () => {
    // Many runs, a random seed (fast-check prints it on failure, with the
    // path to replay): the bug below showed up only one CI run in a few at 100.
    fc.assert(
      fc.property(
        fc.array(fc.record({ body: fc.uint8Array({ minLength: 1, maxLength: 40 }), more: fc.boolean() }), { minLength: 4, maxLength: 60, size: 'large' }),
        fc.nat({ max: 20 }),
        checkPeek,
      ),
      { numRuns: 3_000 },
    );
  });

  it('regression: a ring that starts in the middle of a message larger than the ring (seed -332045917)', () => {
    // The reader took the first frames of a 10-frame, 101-byte message to let
    // the producer push the rest; the tail at the head of the ring was taken
    // for a message of its own (fixed by the frames' continued flag).
    const sizes = [11, 6, 5, 9, 1, 11, 9, 1, 4, 4];
    const frames: Frame[] = sizes.map((n, i) => ({ body: new Uint8Array(n), more: i < sizes.length - 1 }));
    for (let i = 0; i < 3; i++) frames.push({ body: new Uint8Array(1), more: false });
    checkPeek(frames, 0);
  });
});
