/**
 * An actor's children (actors/children.ts): a small array up to 16, a Set
 * beyond. A fast-check property compares it with a Set (the shape it
 * replaced) over random adds, deletes and clears of a few dozen refs.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Children } from '../src/actors/children.js';
import { ActorRef } from '../src/index.js';

const seed = Number(process.env.CHILDREN_SEED ?? 0xc411_d5e7);
const refs = Array.from({ length: 40 }, (_, i) => new ActorRef(i, 1, undefined));

type Op = { kind: 'add' | 'delete'; ref: number } | { kind: 'clear' };
const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('add' as const), ref: fc.integer({ min: 0, max: refs.length - 1 }) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('delete' as const), ref: fc.integer({ min: 0, max: refs.length - 1 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('clear' as const) }) },
);

describe('children of a cell', () => {
  it('behaves as a Set of refs by identity: members, size, order of adding', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 120 }), (ops) => {
        const children = new Children();
        const model = new Set<ActorRef>();
        for (const o of ops) {
          if (o.kind === 'add') {
            children.add(refs[o.ref]);
            model.add(refs[o.ref]);
          } else if (o.kind === 'delete') expect(children.delete(refs[o.ref])).toBe(model.delete(refs[o.ref]));
          else {
            children.clear();
            model.clear();
          }
          expect(children.size).toBe(model.size);
          expect([...children]).toEqual([...model]);
          for (const ref of refs) expect(children.has(ref)).toBe(model.has(ref));
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

  it('tells a ref from an equal one: membership is by identity, as a Set of refs was', () => {
    const children = new Children();
    children.add(refs[0]);
    expect(children.has(new ActorRef(0, 1, undefined))).toBe(false);
    expect(children.delete(new ActorRef(0, 1, undefined))).toBe(false);
    expect(children.size).toBe(1);
  });
});
