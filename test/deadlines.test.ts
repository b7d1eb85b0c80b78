/**
 * The deadlines of a thread's asks (src/engine/deadlines.ts): one timer for
 * all, 1 ms buckets; an ask expires at or after its deadline, never early,
 * and at most about 1 ms late. A fake clock drives the timer and `now`.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Deadlines } from '../src/engine/deadlines.js';

describe('ask deadlines', () => {
  let expired: number[];
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
    expired = [];
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('expires an ask at the first whole millisecond at or after its deadline, not before', () => {
    const deadlines = new Deadlines((id) => expired.push(id), true);
    vi.advanceTimersByTime(0.4);
    deadlines.add(1, 10); // deadline 10.4: bucket 11
    vi.advanceTimersByTime(10.5); // clock 10.9
    expect(expired).toEqual([]);
    vi.advanceTimersByTime(0.1); // clock 11.0
    expect(expired).toEqual([1]);
    expect(deadlines.size).toBe(0);
  });

  it('re-arms its one timer for an earlier deadline added later, and keeps the later one', () => {
    const deadlines = new Deadlines((id) => expired.push(id), true);
    deadlines.add(1, 100);
    deadlines.add(2, 10);
    deadlines.add(3, 50);
    vi.advanceTimersByTime(10);
    expect(expired).toEqual([2]);
    vi.advanceTimersByTime(40);
    expect(expired).toEqual([2, 3]);
    vi.advanceTimersByTime(50);
    expect(expired).toEqual([2, 3, 1]);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('never expires a removed ask; the others of its bucket still expire', () => {
    const deadlines = new Deadlines((id) => expired.push(id), true);
    const a = deadlines.add(1, 20);
    deadlines.add(2, 20);
    const c = deadlines.add(3, 30);
    deadlines.remove(1, a);
    deadlines.remove(3, c);
    deadlines.remove(3, c); // twice: counted once
    expect(deadlines.size).toBe(1);
    vi.advanceTimersByTime(100);
    expect(expired).toEqual([2]);
  });

  it('does not expire early when the timer fires before its clock reaches the deadline', () => {
    let lag = 0;
    const deadlines = new Deadlines(
      (id) => expired.push(id),
      true,
      () => performance.now() - lag,
    );
    deadlines.add(1, 10);
    lag = 3; // the clock it reads runs 3 ms behind the timers'
    vi.advanceTimersByTime(10);
    expect(expired).toEqual([]);
    vi.advanceTimersByTime(3);
    expect(expired).toEqual([1]);
  });

  it('waits out a timeout longer than the 2^31 - 1 ms Node timers take, instead of firing at once', () => {
    const deadlines = new Deadlines((id) => expired.push(id), true);
    deadlines.add(1, 3e9);
    vi.advanceTimersByTime(2 ** 31);
    expect(expired).toEqual([]);
    vi.advanceTimersByTime(3e9 - 2 ** 31);
    expect(expired).toEqual([1]);
  });

  it('holds the process (main thread) only while an ask waits, and never on a pool thread', () => {
    const main = new Deadlines((id) => expired.push(id), true);
    const at = main.add(1, 1000);
    const timer = (main as unknown as { timer: NodeJS.Timeout }).timer;
    expect(timer.hasRef()).toBe(true);
    main.remove(1, at);
    expect(timer.hasRef()).toBe(false);
    main.add(2, 1000);
    expect(timer.hasRef()).toBe(true);
    const pool = new Deadlines((id) => expired.push(id), false);
    pool.add(3, 1000);
    expect((pool as unknown as { timer: NodeJS.Timeout }).timer.hasRef()).toBe(false);
    main.close();
    pool.close();
    expect(vi.getTimerCount()).toBe(0);
  });
});
