/**
 * What the scheduler remembers of how work went: a window of recent
 * durations (for percentiles and adaptive timeouts) and, per agent and kind,
 * a latency average and success counts (for `utility` and `optimal-batch`).
 *
 * Why hand-written: a percentile over a fixed window of 512 numbers is a
 * copy and a sort when someone asks; an HDR histogram library would buy
 * precision nobody here needs and a dependency.
 */

/** The last `size` values, with percentiles on demand. */
export class Window {
  private readonly values: Float64Array;
  private next = 0;
  private filled = 0;
  private sorted: Float64Array | undefined;

  constructor(size = 512) {
    this.values = new Float64Array(size);
  }

  get count(): number {
    return this.filled;
  }

  push(value: number): void {
    this.values[this.next] = value;
    this.next = (this.next + 1) % this.values.length;
    if (this.filled < this.values.length) this.filled++;
    this.sorted = undefined;
  }

  /** The q-quantile (0..1) by nearest rank, or NaN when empty. Cached until the next push. */
  quantile(q: number): number {
    if (this.filled === 0) return Number.NaN;
    this.sorted ??= this.values.slice(0, this.filled).sort();
    const rank = Math.min(this.filled - 1, Math.max(0, Math.ceil(q * this.filled) - 1));
    return this.sorted[rank];
  }

  mean(): number {
    if (this.filled === 0) return Number.NaN;
    let sum = 0;
    for (let i = 0; i < this.filled; i++) sum += this.values[i];
    return sum / this.filled;
  }

  /** p50, p90, p99 and the count. */
  summary(): Percentiles {
    return { count: this.filled, p50: this.quantile(0.5), p90: this.quantile(0.9), p99: this.quantile(0.99) };
  }
}

export interface Percentiles {
  count: number;
  p50: number;
  p90: number;
  p99: number;
}

/** An agent's record for one kind of task. */
export class AgentKindStats {
  /** Exponentially weighted mean duration (ms); NaN until the first success. */
  ewmaMs = Number.NaN;
  successes = 0;
  failures = 0;

  record(ok: boolean, ms: number): void {
    if (ok) {
      this.successes++;
      this.ewmaMs = Number.isNaN(this.ewmaMs) ? ms : this.ewmaMs * 0.8 + ms * 0.2;
    } else this.failures++;
  }

  /** Success probability with a uniform prior (Laplace): (s + 1) / (n + 2). */
  successProbability(): number {
    return (this.successes + 1) / (this.successes + this.failures + 2);
  }
}

/** One kind's outcomes and durations, over all agents. */
export class KindStats {
  readonly durations = new Window();
  succeeded = 0;
  failed = 0;
  cancelled = 0;
  timedOut = 0;
}

/** Counts events per second: the rate over the last full second. */
export class RateCounter {
  private second = -1;
  private current = 0;
  private previous = 0;

  tick(now: number): void {
    const second = Math.floor(now / 1000);
    if (second !== this.second) {
      this.previous = second === this.second + 1 ? this.current : 0;
      this.second = second;
      this.current = 0;
    }
    this.current++;
  }

  rate(now: number): number {
    const second = Math.floor(now / 1000);
    if (second === this.second) return this.previous;
    if (second === this.second + 1) return this.current;
    return 0;
  }
}
