/**
 * The pending-ask table (engine/pending-table.ts): slots indexed by an id's
 * low bits, an overflow Map for ids whose slot is taken. A fast-check
 * property compares it with a Map (the shape it replaced) over ids handed
 * out in sequence, as asks are, answered in any order; some ids are held
 * across many others (a slow ask), so the slots wrap and the overflow is
 * used. A second test crowds a slot on purpose.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PendingTable } from '../src/engine/pending-table.js';

const seed = Number(process.env.PENDING_SEED ?? 0x9e9d_1a7b);

/** Start an ask (the next id), answer the n-th oldest waiting one, or jump the id counter ahead. */
type Op = { kind: 'start' } | { kind: 'answer'; nth: number } | { kind: 'jump'; by: number };
const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 6, arbitrary: fc.constant({ kind: 'start' as const }) },
  { weight: 5, arbitrary: fc.record({ kind: fc.constant('answer' as const), nth: fc.nat({ max: 40 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('jump' as const), by: fc.integer({ min: 1, max: 3000 }) }) },
);

describe('pending-ask table', () => {
  it('behaves as a Map of ids handed out in sequence and answered in any order', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 400 }), fc.integer({ min: 1, max: 0xffff_fffe }), (ops, first) => {
        const table = new PendingTable<{ id: number }>();
        const model = new Map<number, { id: number }>();
        // Ids as Asks hands them out: 1 .. 0xffff_fffe, then 1 again.
        const advance = (id: number, by: number): number => ((id - 1 + by) % 0xffff_fffe) + 1;
        let next = first;
        for (const o of ops) {
          if (o.kind === 'start') {
            if (model.has(next)) continue; // an id still waiting after a whole wrap: Asks would not reach it
            const value = { id: next };
            table.set(next, value);
            model.set(next, value);
            next = advance(next, 1);
          } else if (o.kind === 'jump') next = advance(next, o.by);
          else {
            const waiting = [...model.keys()];
            if (waiting.length === 0) {
              expect(table.delete(next)).toBe(false);
              continue;
            }
            const id = waiting[o.nth % waiting.length];
            expect(table.get(id)).toBe(model.get(id));
            expect(table.delete(id)).toBe(true);
            model.delete(id);
            expect(table.delete(id)).toBe(false);
            expect(table.get(id)).toBeUndefined();
          }
          expect(table.size).toBe(model.size);
        }
        expect(table.waitingIds()).toEqual([...model.keys()].sort((a, b) => a - b));
        for (const [id, value] of model) {
          expect(table.has(id)).toBe(true);
          expect(table.get(id)).toBe(value);
        }
        expect(table.has(next)).toBe(false);
      }),
      { seed, numRuns: 300 },
    );
  });

  it('keeps every id that lands on a taken slot (ids 1024 apart), and frees each on its own', () => {
    const table = new PendingTable<string>();
    const ids = [5, 5 + 1024, 5 + 2048, 5 + 1024 * 7, 6];
    for (const id of ids) table.set(id, `v${id}`);
    expect(table.size).toBe(5);
    for (const id of ids) expect(table.get(id)).toBe(`v${id}`);
    expect(table.get(5 + 1024 * 3)).toBeUndefined();
    expect(table.delete(5)).toBe(true); // the slot frees; the ones in the overflow stay
    expect(table.get(5 + 1024)).toBe(`v${5 + 1024}`);
    table.set(5 + 1024 * 9, 'later'); // takes the freed slot
    expect(table.get(5 + 1024 * 9)).toBe('later');
    expect(table.waitingIds()).toEqual([6, 5 + 1024, 5 + 2048, 5 + 1024 * 7, 5 + 1024 * 9]);
    for (const id of [5 + 1024, 5 + 2048, 5 + 1024 * 7, 5 + 1024 * 9, 6]) expect(table.delete(id)).toBe(true);
    expect(table.size).toBe(0);
    expect(table.waitingIds()).toEqual([]);
  });
});
