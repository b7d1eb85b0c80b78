/**
 * How long a thread polls its rings before it parks: its spin budget.
 *
 * A spin polls the rings for up to the current budget; true when a frame
 * arrived. The budget adapts: a spin that catches nothing halves it, down
 * to a floor of 2 us, so a thread whose partner needs its core (more busy
 * threads than cores) soon stops holding the core, and parks instead.
 *
 * A worker's spin that catches a message restores the full `spinUs` (a
 * conversation is going on: the next message is likely within
 * microseconds), and so does a wake-up sooner than `spinUs` after it
 * parked (a full spin would have caught that message), so the budget does
 * not ratchet down for good.
 *
 * A worker with an async handler in flight spins only while it awaits an
 * ask it sent through a ring less than 1 ms ago (`awaiting`, as the main
 * thread below): the handler most likely awaits that answer, and a parked
 * thread's wake-up costs more than the whole ask. Otherwise it parks at
 * once, since what the handler awaits needs the event loop (a spin holds
 * it for at most the budget either way: the dispatcher spins from
 * `setImmediate`, after the loop's timers and I/O).
 *
 * The main thread belongs to the user: it spins only within 1 ms of
 * sending an ask to a pool thread that is not answered yet (asks.ts,
 * `awaiting`), because a parked main thread takes about 20 us to wake
 * (Atomics.waitAsync through the event loop), several times a whole ask.
 * Its budget regrows by doubling per caught reply, not at once: on a
 * machine with more busy threads than cores, a spinning main thread holds
 * the core its answerer needs, most spins miss and the few that catch a
 * late reply must not win the full budget back (measured at load 6 on 2
 * cores: restoring at once made asks 5x slower than not spinning).
 */

/** @internal */
export class SpinBudget {
  /** The full budget in microseconds: `mainSpinUs` on the main thread, `spinUs` on a worker. */
  private readonly fullUs: number;
  /** The current budget in microseconds. */
  private budgetUs: number;
  private readonly main: boolean;
  /** performance.now() when the thread last parked, 0 when it is not parked. */
  parkedAt = 0;

  constructor(fullUs: number, main: boolean) {
    this.fullUs = fullUs;
    this.budgetUs = fullUs;
    this.main = main;
  }

  /** The thread parked now. */
  parked(): void {
    this.parkedAt = performance.now();
  }

  /** The thread woke (it drains): a worker woken sooner than a full spin would have lasted gets the full budget back. */
  woke(): void {
    if (this.parkedAt === 0) return;
    if (!this.main && performance.now() - this.parkedAt < this.fullUs / 1000) this.budgetUs = this.fullUs;
    this.parkedAt = 0;
  }

  /**
   * Polls `hasInbound` for up to the budget; true when it became true.
   * `handlerInFlight`: a worker's async handler awaits something;
   * `awaiting`: an ask this thread sent through a ring may still await its answer.
   */
  spin(hasInbound: () => boolean, handlerInFlight: boolean, awaiting: () => boolean): boolean {
    if (this.fullUs === 0) return false;
    if ((this.main || handlerInFlight) && !awaiting()) return false;
    const until = performance.now() + this.budgetUs / 1000;
    do {
      if (hasInbound()) {
        this.budgetUs = this.main ? Math.min(this.fullUs, this.budgetUs * 2) : this.fullUs;
        return true;
      }
    } while (performance.now() < until);
    this.budgetUs = Math.min(this.fullUs, Math.max(2, this.budgetUs / 2));
    return false;
  }
}
