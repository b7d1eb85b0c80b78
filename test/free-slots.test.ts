/**
 * Property test of the directory's free slots (transport/free-slots.ts): the
 * main thread and two pool threads, each with its own view of one shared
 * directory (a pool thread with its slot cache), spawn and stop actors in
 * random batches; pool threads die (their actors are released by the main
 * thread and their cached slots taken back). After every step:
 *
 * - no slot is held by two live actors, and the live count is the model's;
 * - a spawn fails exactly when `maxAgents` actors are live, whichever thread
 *   spawns and whatever the caches hold;
 * - at the end, with every actor stopped, `maxAgents` spawns from one thread
 *   all succeed on distinct slots and the next one fails (no slot was lost).
 *
 * Batches of hundreds make the caches refill from the shared stack, from
 * never-used slots, and overflow back to the shared stack. The seed is fixed;
 * replay a failure with FREE_SLOTS_SEED and the path fast-check prints.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Directory, kWhyCrashed, kWhyStopped } from '../src/transport/directory.js';

const seed = Number(process.env.FREE_SLOTS_SEED ?? 0xf7ee_5107);
const threads = 2;

type Step =
  | { kind: 'spawn'; thread: number; count: number }
  | { kind: 'stop'; thread: number; count: number; cache: boolean }
  | { kind: 'crash'; thread: number };

const step: fc.Arbitrary<Step> = fc.oneof(
  fc.record({ kind: fc.constant('spawn' as const), thread: fc.integer({ min: 0, max: threads }), count: fc.integer({ min: 1, max: 700 }) }),
  fc.record({
    kind: fc.constant('stop' as const),
    thread: fc.integer({ min: 0, max: threads }),
    count: fc.integer({ min: 1, max: 700 }),
    cache: fc.boolean(),
  }),
  fc.record({ kind: fc.constant('crash' as const), thread: fc.integer({ min: 1, max: threads }) }),
);

class Model {
  readonly views: Directory[];
  /** Live slots, by the thread hosting them. */
  readonly live: Array<Set<number>>;

  constructor(readonly maxAgents: number) {
    const main = Directory.create(maxAgents, threads);
    this.views = [main, ...Array.from({ length: threads }, (_, i) => new Directory(main.shared, i + 1))];
    this.live = this.views.map(() => new Set<number>());
  }

  liveCount(): number {
    return this.live.reduce((sum, set) => sum + set.size, 0);
  }

  spawn(thread: number): number {
    const full = this.liveCount() >= this.maxAgents;
    const slot = this.views[thread].allocate(thread, 0, 0);
    if (full) {
      expect(slot).toBe(-1);
      return slot;
    }
    expect(slot).toBeGreaterThanOrEqual(0);
    expect(slot).toBeLessThan(this.views[0].slots);
    for (const set of this.live) expect(set.has(slot)).toBe(false);
    this.live[thread].add(slot);
    return slot;
  }

  apply(s: Step): void {
    const set = this.live[s.thread];
    if (s.kind === 'spawn') {
      for (let i = 0; i < s.count; i++) this.spawn(s.thread);
    } else if (s.kind === 'stop') {
      for (const slot of [...set].slice(0, s.count)) {
        set.delete(slot);
        this.views[s.thread].release(slot, kWhyStopped, s.cache);
      }
    } else {
      // Its thread is gone: the main thread releases its actors and takes back its cache.
      for (const slot of set) this.views[0].release(slot, kWhyCrashed);
      set.clear();
      this.views[0].reclaimCachedSlots(s.thread);
      expect(this.views[0].cachedSlots(s.thread)).toBe(0);
    }
    expect(this.views[0].liveCount()).toBe(this.liveCount());
  }
}

describe('directory free slots', () => {
  it('never hands one slot out twice, keeps maxAgents exact whatever the caches hold, and loses no slot', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(1, 3, 300, 1000),
        fc.array(step, { minLength: 1, maxLength: 30 }),
        fc.integer({ min: 0, max: threads }),
        (maxAgents, steps, filler) => {
          const model = new Model(maxAgents);
          for (const s of steps) model.apply(s);
          // Everything stops (cached where a pool thread stops it), then one thread fills the table.
          for (let thread = 0; thread <= threads; thread++) model.apply({ kind: 'stop', thread, count: Number.MAX_SAFE_INTEGER, cache: thread > 0 });
          for (let i = 0; i < maxAgents; i++) expect(model.spawn(filler)).toBeGreaterThanOrEqual(0);
          expect(model.views[filler].allocate(filler, 0, 0)).toBe(-1);
          expect(model.live[filler].size).toBe(maxAgents);
        },
      ),
      { seed, numRuns: 60 },
    );
  });

  it('lets the main thread spawn up to maxAgents while both pool threads hold full caches', () => {
    const model = new Model(600);
    for (const thread of [1, 2]) {
      for (let i = 0; i < 512; i++) model.spawn(thread);
      model.apply({ kind: 'stop', thread, count: 512, cache: true });
      expect(model.views[0].cachedSlots(thread)).toBe(512);
    }
    for (let i = 0; i < 600; i++) expect(model.spawn(0)).toBeGreaterThanOrEqual(0);
    expect(model.views[0].allocate(0, 0, 0)).toBe(-1);
  });

  it('keeps at most two batches in a pool thread cache, overflow going back to the shared stack', () => {
    const model = new Model(2000);
    const view = model.views[1];
    for (let i = 0; i < 1500; i++) model.spawn(1);
    model.apply({ kind: 'stop', thread: 1, count: 1500, cache: true });
    expect(view.cachedSlots(1)).toBeLessThanOrEqual(512);
    // What it let go is there for the main thread's spawns.
    for (let i = 0; i < 1000; i++) expect(model.spawn(0)).toBeGreaterThanOrEqual(0);
    expect(model.views[0].highWater()).toBeLessThanOrEqual(1500 + 512);
  });
});
