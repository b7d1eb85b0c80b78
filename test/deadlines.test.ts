/**
 * The deadlines of a thread's asks (src/engine/deadlines.ts): one timer for
 * all, 1 ms buckets; an ask expires at or after its deadline, never early,
 * and at most about 1 ms late; a bucket keeps only a bounded list of
 * answered ids. A fake clock drives the timer and `now`.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { type DeadlineBucket, Deadlines } from '../src/engine/deadlines.js';

/** A bucket's id list after compaction stays below this (it compacts from 64 ids, three quarters answered). */
const kCompacted = 64;

describe('ask deadlines', () => {
  let expired: number[];
  /** What the owner (Asks) knows: each waiting ask's bucket. */
  let waiting: Map<number, DeadlineBucket>;
  /** A Deadlines whose owner keeps `waiting`, as Asks keeps its pending table. */
  const deadlinesOf = (keepAlive: boolean, now?: () => number) => {
    const deadlines = new Deadlines(
      (id) => {
        waiting.delete(id);
        expired.push(id);
      },
      (id, bucket) => waiting.get(id) === bucket,
      keepAlive,
      now,
    );
    return {
      deadlines,
      add(id: number, ms: number): DeadlineBucket {
        const bucket = deadlines.add(id, ms);
        waiting.set(id, bucket);
        return bucket;
      },
      answer(id: number): void {
        const bucket = waiting.get(id);
        if (bucket === undefined) return; // settled already: the owner removes once
        waiting.delete(id);
        deadlines.remove(bucket);
      },
    };
  };
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
    expired = [];
    waiting = new Map();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('expires an ask at the first whole millisecond at or after its deadline, not before', () => {
    const { deadlines, add } = deadlinesOf(true);
    vi.advanceTimersByTime(0.4);
    add(1, 10); // deadline 10.4: bucket 11
    vi.advanceTimersByTime(10.5); // clock 10.9
    expect(expired).toEqual([]);
    vi.advanceTimersByTime(0.1); // clock 11.0
    expect(expired).toEqual([1]);
    expect(deadlines.size).toBe(0);
  });

  it('re-arms its one timer for an earlier deadline added later, and keeps the later one', () => {
    const { add } = deadlinesOf(true);
    add(1, 100);
    add(2, 10);
    add(3, 50);
    vi.advanceTimersByTime(10);
    expect(expired).toEqual([2]);
    vi.advanceTimersByTime(40);
    expect(expired).toEqual([2, 3]);
    vi.advanceTimersByTime(50);
    expect(expired).toEqual([2, 3, 1]);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('never expires a removed ask; the others of its bucket still expire', () => {
    const { deadlines, add, answer } = deadlinesOf(true);
    add(1, 20);
    add(2, 20);
    add(3, 30);
    answer(1);
    answer(3);
    expect(deadlines.size).toBe(1);
    vi.advanceTimersByTime(100);
    expect(expired).toEqual([2]);
    expect(deadlines.size).toBe(0);
  });

  it('keeps a long-waiting ask of a busy millisecond while the answered ids of its bucket are dropped', () => {
    const { deadlines, add, answer } = deadlinesOf(false);
    for (let id = 1; id <= 1000; id++) add(id, 50); // one millisecond's asks, one bucket
    for (let id = 1; id <= 1000; id++) if (id !== 500) answer(id);
    expect(deadlines.size).toBe(1);
    const bucket = waiting.get(500) as DeadlineBucket;
    expect(bucket.ids.length).toBeLessThan(kCompacted);
    vi.advanceTimersByTime(50);
    expect(expired).toEqual([500]);
    expect(deadlines.size).toBe(0);
  });

  it('does not expire early when the timer fires before its clock reaches the deadline', () => {
    let lag = 0;
    const { add } = deadlinesOf(true, () => performance.now() - lag);
    add(1, 10);
    lag = 3; // the clock it reads runs 3 ms behind the timers'
    vi.advanceTimersByTime(10);
    expect(expired).toEqual([]);
    vi.advanceTimersByTime(3);
    expect(expired).toEqual([1]);
  });

  it('waits out a timeout longer than the 2^31 - 1 ms Node timers take, instead of firing at once', () => {
    const { add } = deadlinesOf(true);
    add(1, 3e9);
    vi.advanceTimersByTime(2 ** 31);
    expect(expired).toEqual([]);
    vi.advanceTimersByTime(3e9 - 2 ** 31);
    expect(expired).toEqual([1]);
  });

  it('holds the process (main thread) only while an ask waits, and never on a pool thread', () => {
    const main = deadlinesOf(true);
    main.add(1, 1000);
    const timer = (main.deadlines as unknown as { timer: NodeJS.Timeout }).timer;
    expect(timer.hasRef()).toBe(true);
    main.answer(1);
    expect(timer.hasRef()).toBe(false);
    main.add(2, 1000);
    expect(timer.hasRef()).toBe(true);
    const pool = deadlinesOf(false);
    pool.add(3, 1000);
    expect((pool.deadlines as unknown as { timer: NodeJS.Timeout }).timer.hasRef()).toBe(false);
    main.deadlines.close();
    pool.deadlines.close();
    expect(vi.getTimerCount()).toBe(0);
  });
});
