/**
 * Piscina's task queue for the runtime's pool, priority-aware: the
 * runtime's own control tasks (attach, spawn, stop...) first, in order;
 * then plain function tasks of `rt.tasks` by the scheduler's key (priority
 * with aging, see queue.ts), FIFO within a priority. Piscina queues a task
 * when its load balancer finds no worker for it (for function tasks: every
 * thread already runs `functionConcurrency` of them).
 */
import { Piscina, type TaskQueue } from 'piscina';

type PiscinaQueued = Parameters<TaskQueue['push']>[0];

/** What the runtime puts in a routed task's queue options. */
export interface FunctionOrder {
  fn: true;
  lane: number;
  key: number;
  /** Submission order: breaks ties between equal keys (FIFO), also when Piscina hands a task back. */
  seq: number;
  /** Set when the balancer hands it to a worker: from then on it is not cancellable without killing the thread. */
  worker?: number;
}

function orderOf(task: PiscinaQueued): FunctionOrder | undefined {
  const options = (task as unknown as Record<symbol, unknown>)[Piscina.queueOptionsSymbol] as { fn?: boolean } | null | undefined;
  return options?.fn === true ? (options as FunctionOrder) : undefined;
}

function before(a: FunctionOrder, b: FunctionOrder): boolean {
  return a.key < b.key || (a.key === b.key && a.seq < b.seq);
}

export class PriorityPoolQueue implements TaskQueue {
  private readonly control: PiscinaQueued[] = [];
  private readonly lanes: PiscinaQueued[][] = [[], [], [], []];
  private count = 0;

  get size(): number {
    return this.count;
  }

  push(task: PiscinaQueued): void {
    this.count++;
    const order = orderOf(task);
    if (order === undefined) {
      this.control.push(task);
      return;
    }
    // Keys grow within a lane, except for a task Piscina hands back after
    // its balancer refused it: keep the lane sorted (that one goes near the front).
    const lane = this.lanes[order.lane];
    let at = lane.length;
    while (at > 0 && before(order, orderOf(lane[at - 1]) as FunctionOrder)) at--;
    lane.splice(at, 0, task);
  }

  unshift(task: PiscinaQueued): void {
    if (orderOf(task) !== undefined) {
      this.push(task);
      return;
    }
    this.count++;
    this.control.unshift(task);
  }

  shift(): PiscinaQueued | null {
    if (this.count === 0) return null;
    this.count--;
    if (this.control.length > 0) return this.control.shift() as PiscinaQueued;
    let best = -1;
    let bestOrder: FunctionOrder | undefined;
    for (let l = 0; l < 4; l++) {
      const head = this.lanes[l][0];
      const order = head === undefined ? undefined : (orderOf(head) as FunctionOrder);
      if (order !== undefined && (best < 0 || before(order, bestOrder as FunctionOrder))) {
        bestOrder = order;
        best = l;
      }
    }
    return this.lanes[best].shift() as PiscinaQueued;
  }

  /**
   * Takes out the queued task whose payload is `payload` (a function task
   * cancelled while it waits); false when it is not here (already running).
   * Piscina's own abort would terminate the thread of a running task, and
   * puts an abortable task in a FIFO side queue that skips this one.
   */
  removePayload(payload: unknown): boolean {
    for (const list of this.lanes) {
      const at = list.findIndex((t) => (t as unknown as { task?: unknown }).task === payload);
      if (at >= 0) {
        list.splice(at, 1);
        this.count--;
        return true;
      }
    }
    return false;
  }

  remove(task: PiscinaQueued): void {
    for (const list of [this.control, ...this.lanes]) {
      const at = list.indexOf(task);
      if (at >= 0) {
        list.splice(at, 1);
        this.count--;
        return;
      }
    }
  }
}
