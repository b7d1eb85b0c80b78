/**
 * An actor's recent handler times, for its handler p99 in `rt.inspect()`:
 * the last kKept timed handlers (one message in `sampleEvery` of its thread
 * is timed once `rt.metrics()` is registered: engine/metering.ts), kept on
 * its cell in microseconds, oldest overwritten. Nothing is allocated until
 * the actor's first timed handler; the p99 is computed when a snapshot asks.
 */

/** Handler times kept per actor. */
const kKept = 128;
/** Fewer samples than this give no p99 (one slow message would be it). */
const kMinSamples = 8;

/** @internal The ring of one actor's handler times (µs) and how many were recorded. */
export class HandlerTimes {
  private readonly times = new Uint32Array(kKept);
  private recorded = 0;

  record(us: number): void {
    this.times[this.recorded % kKept] = us;
    this.recorded++;
  }

  /** The 99th percentile (nearest rank) of the kept times in ms, or null with fewer than kMinSamples. */
  p99Ms(): number | null {
    const n = Math.min(this.recorded, kKept);
    if (n < kMinSamples) return null;
    const sorted = this.times.slice(0, n).sort();
    return sorted[Math.ceil(0.99 * n) - 1] / 1000;
  }
}
