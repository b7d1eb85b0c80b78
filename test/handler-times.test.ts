/** An actor's kept handler times and their p99 (src/actors/handler-times.ts). */
import { describe, expect, it } from 'vitest';
import { HandlerTimes } from '../src/actors/handler-times.js';

describe('HandlerTimes', () => {
  it('gives no p99 below 8 samples, then the nearest-rank 99th percentile in ms', () => {
    const times = new HandlerTimes();
    for (let i = 1; i <= 7; i++) times.record(i * 1000);
    expect(times.p99Ms()).toBeNull();
    times.record(8000);
    expect(times.p99Ms()).toBe(8); // 8 samples: rank ceil(7.92) = 8, the largest
    for (let i = 9; i <= 100; i++) times.record(i * 1000);
    expect(times.p99Ms()).toBe(99); // 100 samples: rank 99
  });

  it('keeps the last 128, sorting numerically', () => {
    const times = new HandlerTimes();
    times.record(1_000_000); // overwritten below
    for (let i = 0; i < 128; i++) times.record(i < 64 ? 9 : 10_000);
    expect(times.p99Ms()).toBe(10);
    for (let i = 0; i < 128; i++) times.record(i === 5 ? 100_000 : 20);
    // One slow handler in 128 is above the 99th percentile (rank 127 is the largest of the 127 others).
    expect(times.p99Ms()).toBe(0.02);
  });
});
