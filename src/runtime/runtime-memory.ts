/** `rt.memory`: the shared region pool seen from the main thread (moved out of runtime.ts, which was at its size limit). */
import type { MemoryStats, Pool } from '../memory/pool.js';
import type { Directory } from '../transport/directory.js';

/** `rt.memory`: the pool seen from the main thread. */
export class RuntimeMemory {
  private readonly pool: Pool;
  private readonly directory: Directory;

  /** @internal */
  constructor(pool: Pool, directory: Directory) {
    this.pool = pool;
    this.directory = directory;
  }

  /** Size, used, free, largest free run, counters, and bytes owned per actor. */
  stats(): MemoryStats {
    return this.pool.stats();
  }

  /**
   * Reclaims orphans: allocations whose owner is no longer live and loans
   * whose holder is not (normally done when each actor stops; this sweeps up
   * after anything that escaped that, such as a thread that died).
   */
  collect(): {
    /** Allocations freed because their owner was gone. */
    allocations: number;
    /** Bytes those allocations held. */
    bytes: number;
    /** Loans ended because their holder was gone. */
    loans: number;
  } {
    return this.pool.collect(
      (slot, gen) => this.directory.isLive(slot, gen),
      (slot) => this.directory.isLive(slot, Atomics.load(this.directory.gen, slot)),
    );
  }
}
