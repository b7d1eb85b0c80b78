/**
 * An actor's children (actors/children.ts): a small array up to 16, a Map by
 * slot beyond. A fast-check property compares it with a model (a Map from
 * slot to generation, in order of adding) over random adds, deletes and
 * clears of refs to a few dozen slots in two generations, each a new ref
 * object: a child on another thread is known by refs decoded from messages.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Children } from '../src/actors/children.js';
import { ActorRef } from '../src/index.js';

const seed = Number(process.env.CHILDREN_SEED ?? 0xc411_d5e7);
const slots = 30;
const refs = Array.from({ length: 40 }, (_, i) => new ActorRef(i, 1, undefined));

type Op = { kind: 'add' | 'delete'; slot: number; gen: number } | { kind: 'clear' };
const key = { slot: fc.integer({ min: 0, max: slots - 1 }), gen: fc.integer({ min: 1, max: 2 }) };
const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('add' as const), ...key }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('delete' as const), ...key }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('clear' as const) }) },
);

const pairs = (children: Iterable<ActorRef>) => [...children].map((ref) => [ref.slot, ref.gen]);

describe('children of a cell', () => {
  it('keeps one child per slot by (slot, generation), a later generation replacing an earlier one, in order of adding', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 120 }), (ops) => {
        const children = new Children();
        const model = new Map<number, number>(); // slot -> gen, in order of adding
        for (const o of ops) {
          if (o.kind === 'add') {
            children.add(new ActorRef(o.slot, o.gen, undefined));
            if (model.get(o.slot) !== o.gen) {
              model.delete(o.slot);
              model.set(o.slot, o.gen);
            }
          } else if (o.kind === 'delete') {
            const held = model.get(o.slot) === o.gen;
            if (held) model.delete(o.slot);
            expect(children.delete(new ActorRef(o.slot, o.gen, undefined))).toBe(held);
          } else {
            children.clear();
            model.clear();
          }
          expect(children.size).toBe(model.size);
          expect(pairs(children)).toEqual([...model]);
          for (let slot = 0; slot < slots; slot++) {
            for (const gen of [1, 2]) expect(children.has(new ActorRef(slot, gen, undefined))).toBe(model.get(slot) === gen);
          }
        }
      }),
      { seed, numRuns: 200 },
    );
  });

  it('lets a caller delete children while it iterates over them (a stopping child leaves its parent)', () => {
    for (const count of [3, 20]) {
      const children = new Children();
      for (const ref of refs.slice(0, count)) children.add(ref);
      const seen: ActorRef[] = [];
      for (const child of children) {
        seen.push(child);
        children.delete(child);
      }
      expect(seen).toEqual(refs.slice(0, count));
      expect(children.size).toBe(0);
    }
  });

  it('takes an equal ref decoded elsewhere for the same child, and not a ref to the same slot in another generation', () => {
    for (const count of [1, 20]) {
      const children = new Children();
      for (const ref of refs.slice(0, count)) children.add(ref);
      children.add(new ActorRef(0, 1, undefined));
      expect(children.size).toBe(count);
      expect(children.delete(new ActorRef(0, 2, undefined))).toBe(false);
      expect(children.delete(new ActorRef(0, 1, undefined))).toBe(true);
      expect(children.has(refs[0])).toBe(false);
      expect(children.size).toBe(count - 1);
    }
  });
});
