/**
 * The scheduler's wait queue: four FIFO lanes (critical, high, normal, low)
 * read in one order by a virtual deadline, so priorities hold and aging is
 * built in. A task's key is `enqueuedAt + rank * agingMs` (rank 0 for
 * critical up to 3 for low): a higher priority goes first unless a lower one
 * has already waited `agingMs` longer per level between them. So a low task
 * waits at most about `3 * agingMs` behind a stream of critical ones, never
 * forever. Within a lane keys only grow (the clock does not go back), so
 * each lane stays FIFO and the next task overall is the least of four heads.
 *
 * Why hand-written: a binary heap (e.g. a kept npm one) would cost O(log n)
 * per operation and lose FIFO order on equal keys; four index-based lanes
 * cost O(1), keep FIFO, and let the dispatcher walk past tasks it cannot
 * place yet (their capabilities are busy) without taking them out.
 */

/** The task priorities, highest first. */
export const priorities = ['critical', 'high', 'normal', 'low'] as const;
/**
 * A task's priority (`TaskSpec.priority`, default `'normal'`): higher ones
 * are placed first, FIFO within one, with aging (`SchedulerOptions.agingMs`).
 */
export type Priority = (typeof priorities)[number];

/** What the queue needs of an entry. */
export interface Queued {
  /** The virtual deadline (set by `push`). */
  key: number;
  /** Lane index (0 critical .. 3 low). */
  lane: number;
  /** False once taken or removed: skipped where it lies. */
  queued: boolean;
  /** A function task's module (undefined for an agent's task): the queue counts function tasks apart. */
  readonly module: string | undefined;
}

class Lane<T extends Queued> {
  items: T[] = [];
  head = 0;

  /** Drops taken entries from the front; compacts once half the array is dead. */
  trim(): void {
    const items = this.items;
    while (this.head < items.length && !items[this.head].queued) this.head++;
    if (this.head > 1024 && this.head * 2 > items.length) {
      this.items = items.slice(this.head);
      this.head = 0;
    }
  }
}

export class TaskQueue<T extends Queued> {
  private readonly lanes: Array<Lane<T>> = [new Lane(), new Lane(), new Lane(), new Lane()];
  private count = 0;
  private functionCount = 0;
  private readonly agingMs: number;

  constructor(agingMs: number) {
    this.agingMs = agingMs;
  }

  /** Entries waiting. */
  get size(): number {
    return this.count;
  }

  /** Entries waiting that are function tasks (their `module` set). */
  get functions(): number {
    return this.functionCount;
  }

  /** Entries waiting in each lane (critical, high, normal, low). */
  sizes(): number[] {
    return this.lanes.map((lane) => {
      let n = 0;
      for (let i = lane.head; i < lane.items.length; i++) if (lane.items[i].queued) n++;
      return n;
    });
  }

  push(entry: T, lane: number, now: number): void {
    entry.lane = lane;
    entry.key = now + lane * this.agingMs;
    entry.queued = true;
    this.lanes[lane].items.push(entry);
    this.count++;
    if (entry.module !== undefined) this.functionCount++;
  }

  /** Takes `entry` out (placed, cancelled): O(1), the slot is skipped later. */
  remove(entry: T): void {
    if (!entry.queued) return;
    entry.queued = false;
    this.count--;
    if (entry.module !== undefined) this.functionCount--;
    this.lanes[entry.lane].trim();
  }

  /**
   * Visits waiting entries in key order (at most `limit`) until `visit`
   * returns false. `visit` may remove the entry it is given.
   */
  walk(limit: number, visit: (entry: T) => boolean): void {
    const cursors = this.lanes.map((lane) => lane.head);
    for (let seen = 0; seen < limit; seen++) {
      let best = -1;
      let bestKey = Infinity;
      for (let l = 0; l < 4; l++) {
        const items = this.lanes[l].items;
        let c = cursors[l];
        while (c < items.length && !items[c].queued) c++;
        cursors[l] = c;
        if (c < items.length && items[c].key < bestKey) {
          bestKey = items[c].key;
          best = l;
        }
      }
      if (best < 0) return;
      const entry = this.lanes[best].items[cursors[best]++];
      if (!visit(entry)) return;
    }
  }

  /** The first waiting entry by key, or undefined. */
  peek(): T | undefined {
    let found: T | undefined;
    this.walk(1, (entry) => {
      found = entry;
      return false;
    });
    return found;
  }
}
