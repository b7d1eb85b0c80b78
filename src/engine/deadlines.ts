/**
 * The deadlines of a thread's pending asks: one Node timer for all of them.
 *
 * A timer per ask (`setTimeout` at the ask, `clearTimeout` at its answer)
 * was a quarter of the cost of an ask between two actors of one thread
 * (profiled: 50,000 sequential asks). Here an ask joins the bucket of the
 * millisecond its deadline falls in (rounded up), and one timer is armed for
 * the earliest bucket. An ask therefore times out at or after its deadline,
 * at most about 1 ms late, never early (the clock is checked when the timer
 * fires: Node's timers may fire before `performance.now()` reaches their
 * delay). Hand-written: timer-wheel libraries keep one callback object per
 * entry and their own clock, which is what this removes.
 *
 * Buckets are found by their millisecond in a Map and ordered in a binary
 * min-heap of those milliseconds; a bucket emptied by answers is dropped,
 * except the newest (the one the next ask joins); a dropped bucket's key
 * left in the heap is skipped when it comes up. On the main thread the timer
 * keeps the process alive only while an ask waits, as a per-ask timer did;
 * on pool threads it never does (Piscina owns their lifetime).
 *
 * A bucket is a list of ask ids and a count of those still waiting: an ask
 * keeps its bucket (what `add` returns) and an answer only counts it down.
 * A Set per bucket (an add and a delete per ask) cost about 0.2 us of a
 * 0.8 us ask between two actors of one thread (measured by leaving the
 * deadlines out). The ids of answered asks stay in the list until the
 * bucket fires or empties, or until they are three quarters of a long
 * list, which is then compacted: `isWaiting` says which ids still wait
 * there. When the bucket fires, `expire` is called only for those.
 */

/** Called with an ask's id when its deadline passed and it is still pending. */
export type ExpireAsk = (askId: number) => void;

/** The asks whose deadlines fall in one millisecond. */
export class DeadlineBucket {
  /** The millisecond (rounded up). */
  readonly at: number;
  /** Ids of asks that joined, some perhaps answered since (see `live`). */
  ids: number[] = [];
  /** How many of `ids` still wait. */
  live = 0;
  constructor(at: number) {
    this.at = at;
  }
}

/** Whether ask `askId` still waits in `bucket` (for compaction and firing). */
export type IsWaiting = (askId: number, bucket: DeadlineBucket) => boolean;

/** A bucket's list is compacted when it is at least this long and three quarters answered. */
const kCompactAt = 64;

/** @internal */
export class Deadlines {
  private readonly expire: ExpireAsk;
  private readonly isWaiting: IsWaiting;
  private readonly keepAlive: boolean;
  private readonly now: () => number;
  /** Buckets by their millisecond. */
  private readonly buckets = new Map<number, DeadlineBucket>();
  /** Deadline milliseconds, a binary min-heap (may hold keys of dropped buckets). */
  private readonly heap: number[] = [];
  /** The bucket the last ask joined (kept when emptied: the next ask likely joins it too). */
  private newest: DeadlineBucket | undefined = undefined;
  private timer: NodeJS.Timeout | undefined;
  /** The millisecond the timer is armed for (Infinity: not armed). */
  private armedFor = Infinity;
  /** Asks waiting, over all buckets. */
  private waiting = 0;
  private held = false;

  constructor(expire: ExpireAsk, isWaiting: IsWaiting, keepAlive: boolean, now: () => number = () => performance.now()) {
    this.expire = expire;
    this.isWaiting = isWaiting;
    this.keepAlive = keepAlive;
    this.now = now;
  }

  /** Asks waiting for their deadline. */
  get size(): number {
    return this.waiting;
  }

  /** Adds an ask that times out `timeoutMs` from now; returns its bucket, for `remove`. */
  add(askId: number, timeoutMs: number): DeadlineBucket {
    const at = Math.ceil(this.now() + timeoutMs);
    let bucket = this.newest;
    if (bucket === undefined || bucket.at !== at) {
      bucket = this.buckets.get(at);
      if (bucket === undefined) {
        bucket = new DeadlineBucket(at);
        this.buckets.set(at, bucket);
        this.push(at);
      }
      this.newest = bucket;
    }
    bucket.ids.push(askId);
    bucket.live++;
    this.waiting++;
    if (at < this.armedFor) this.arm(at);
    this.hold(true);
    return bucket;
  }

  /** An ask of `bucket` (what `add` returned) settled: once per ask, its owner sees to that. */
  remove(bucket: DeadlineBucket): void {
    if (bucket.live === 0) return; // fired or closed already
    bucket.live--;
    this.waiting--;
    if (bucket.live === 0) {
      bucket.ids.length = 0;
      if (bucket !== this.newest) this.buckets.delete(bucket.at);
    } else if (bucket.ids.length >= kCompactAt && bucket.live * 4 <= bucket.ids.length) {
      // Mostly answered: keep the ids that still wait, so that a long-waiting
      // ask does not hold on to every answered id of its millisecond.
      bucket.ids = bucket.ids.filter((id) => this.isWaiting(id, bucket));
    }
    if (this.waiting === 0) this.hold(false);
  }

  /** Stops the timer (the endpoint closed); pending asks are settled by their owner. */
  close(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.armedFor = Infinity;
    for (const bucket of this.buckets.values()) {
      bucket.live = 0;
      bucket.ids.length = 0;
    }
    this.buckets.clear();
    this.heap.length = 0;
    this.newest = undefined;
    this.waiting = 0;
  }

  private arm(at: number): void {
    this.armedFor = at;
    if (this.timer !== undefined) clearTimeout(this.timer);
    // Node fires a delay above 2^31 - 1 ms at once: a longer one is re-armed when it fires.
    this.timer = setTimeout(this.fire, Math.min(0x7fff_ffff, Math.max(1, at - this.now())));
    this.held = this.keepAlive && this.waiting > 0;
    if (!this.held) this.timer.unref();
  }

  /** On the main thread, the timer keeps the process alive exactly while an ask waits. */
  private hold(waiting: boolean): void {
    if (!this.keepAlive || this.timer === undefined || this.held === waiting) return;
    this.held = waiting;
    if (waiting) this.timer.ref();
    else this.timer.unref();
  }

  private readonly fire = (): void => {
    this.armedFor = Infinity;
    this.timer = undefined;
    const now = this.now();
    const heap = this.heap;
    while (heap.length > 0 && heap[0] <= now) {
      const at = this.pop();
      const bucket = this.buckets.get(at);
      if (bucket === undefined) continue;
      this.buckets.delete(at);
      if (bucket === this.newest) this.newest = undefined;
      this.waiting -= bucket.live;
      const due = bucket.ids.filter((askId) => this.isWaiting(askId, bucket));
      // Emptied before the expiries run: their `remove` finds nothing left to count.
      bucket.live = 0;
      bucket.ids = [];
      for (const askId of due) this.expire(askId);
    }
    while (heap.length > 0 && !this.buckets.has(heap[0])) this.pop();
    if (this.waiting === 0) this.hold(false);
    if (heap.length > 0) this.arm(heap[0]);
  };

  private push(at: number): void {
    const heap = this.heap;
    let i = heap.length;
    heap.push(at);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (heap[parent] <= at) break;
      heap[i] = heap[parent];
      i = parent;
    }
    heap[i] = at;
  }

  private pop(): number {
    const heap = this.heap;
    const top = heap[0];
    const last = heap.pop() as number;
    const n = heap.length;
    if (n === 0) return top;
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= n) break;
      const right = left + 1;
      const child = right < n && heap[right] < heap[left] ? right : left;
      if (heap[child] >= last) break;
      heap[i] = heap[child];
      i = child;
    }
    heap[i] = last;
    return top;
  }
}
