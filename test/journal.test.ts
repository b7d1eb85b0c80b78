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

type Op = { kind: 'append'; from: number; length: number } | { kind: 'done'; pick: number } | { kind: 'running'; pick: number };

const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant('append' as const), from: fc.integer({ min: 0, max: 8 }), length: fc.integer({ min: 0, max: 300 }) }),
  fc.record({ kind: fc.constant('done' as const), pick: fc.nat() }),
  fc.record({ kind: fc.constant('running' as const), pick: fc.nat() }),
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
            const at = journal.append(o.from, body, 0, body.length);
            if (at < 0) refused++;
            else live.push({ at, from: o.from, body, running: false });
          } else if (live.length > 0) {
            const i = o.pick % live.length;
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
