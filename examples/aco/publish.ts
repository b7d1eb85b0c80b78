/**
 * When the colony copies its pheromone into the shared matrix the ants read
 * (examples/actors/aco-colony.ts). The colony updates a copy of its own and
 * publishes it: writing every update straight into the shared matrix took
 * the cache lines the other thread's ants were reading away from that core
 * after every tour (eil51, 2 threads: 197-203 thousand tours/s written in
 * place, 205-210 thousand published every 0.5 ms, three 10-second runs each).
 */

/** The least time between two publications. */
export const kPublishMinMs = 0.5;
/** Publications take at most 1 / kPublishShare of the colony's time, whatever the size of the matrix. */
const kPublishShare = 20;

export class PheromonePublisher {
  private publishedAt: number;
  private every = kPublishMinMs;
  /** The fastest copy so far, in milliseconds: what a copy costs (a slow one was paused, by the OS or a GC). */
  private copyMs = Number.POSITIVE_INFINITY;

  /**
   * `working`: the colony's own copy, which it updates; `shared`: a view of
   * the shared matrix, taken when called (in the turn that copies: a view
   * pins the allocation, so none is taken for a message that copies
   * nothing); `now`: a clock in milliseconds (performance.now).
   */
  constructor(
    private readonly working: Float32Array,
    private readonly shared: () => Float32Array,
    private readonly now: () => number,
  ) {
    this.publishedAt = now();
  }

  /**
   * Copies the colony's pheromone into the shared matrix when `force`
   * (before an iteration every ant walks on), or when the time since the
   * last copy is at least kPublishMinMs and kPublishShare times the fastest
   * copy's own time. Returns whether it copied.
   */
  publish(force: boolean): boolean {
    const began = this.now();
    if (!force && began - this.publishedAt < this.every) return false;
    this.shared().set(this.working);
    this.publishedAt = this.now();
    this.copyMs = Math.min(this.copyMs, this.publishedAt - began);
    this.every = Math.max(kPublishMinMs, kPublishShare * this.copyMs);
    return true;
  }
}
