/**
 * Task dependencies: a task starts when every task it depends on has
 * finished well. A dependency may name a task submitted later (by its `id`),
 * so a cycle is possible and is refused when the task closing it is
 * submitted. Only tasks with dependencies, and the tasks they name, are in
 * the graph (see the scheduler).
 */
import { DependencyCycleError } from '../base/errors.js';

export type Outcome = 'succeeded' | 'failed';

interface Node {
  /** Ids this task waits for. */
  readonly deps: readonly string[];
  /** Ids waiting for this task. */
  readonly dependents: Set<string>;
  /** Deps not yet finished (either way). */
  unsettled: number;
  /** The first dep that failed, if one did. */
  failedDep: string | undefined;
  outcome: Outcome | undefined;
}

/** What finishing a task means for those waiting on it. */
export interface Settled {
  /** Dependents whose deps have now all finished (some may have failed: see `failedDep`). */
  allSettled: Array<{ id: string; failedDep: string | undefined }>;
  /** Dependents that just saw their first failed dep (they fail now unless they run anyway). */
  firstFailure: string[];
}

export class DependencyGraph {
  private readonly nodes = new Map<string, Node>();
  /** Ids submitted and remembered (a node may exist only because a task named it as a dependency). */
  private readonly submitted = new Set<string>();
  private readonly remember: number;
  /** Finished ids, oldest first, for forgetting (see forgetOld). */
  private finished: string[] = [];
  private finishedHead = 0;

  constructor(remember = 100_000) {
    this.remember = remember;
  }

  /** True when a task of this id was submitted and is remembered (running, waiting, or recently finished). */
  isSubmitted(id: string): boolean {
    return this.submitted.has(id);
  }

  /** True when the graph has a node for `id` (it has dependencies, or something depends on it). */
  knows(id: string): boolean {
    return this.nodes.has(id);
  }

  private node(id: string): Node {
    let node = this.nodes.get(id);
    if (node === undefined) {
      node = { deps: [], dependents: new Set(), unsettled: 0, failedDep: undefined, outcome: undefined };
      this.nodes.set(id, node);
    }
    return node;
  }

  /**
   * Brings a task submitted without dependencies into the graph, because a
   * new task depends on it: still running (no outcome) or finished.
   */
  track(id: string, outcome: Outcome | undefined): void {
    if (this.nodes.has(id)) return;
    const node = this.node(id);
    node.outcome = outcome;
    this.submitted.add(id);
    if (outcome !== undefined) this.noteFinished(id);
  }

  /**
   * Adds task `id` depending on `deps`. Throws DependencyCycleError (naming
   * the cycle) when that would close one. Returns whether it can start now,
   * and the first of its deps that already failed.
   */
  add(id: string, deps: readonly string[]): { ready: boolean; failed: string | undefined; allSettled: boolean } {
    if (deps.includes(id)) throw new DependencyCycleError([id, id]);
    const existing = this.nodes.get(id);
    // Only a task some earlier task named (a forward reference) can close a
    // cycle: look from it along those who wait on it for one of its deps.
    if (existing !== undefined && existing.dependents.size > 0) {
      const cycle = this.dependentPath(id, new Set(deps));
      if (cycle !== undefined) throw new DependencyCycleError([id, ...cycle]);
    }
    const node: Node = { deps, dependents: existing?.dependents ?? new Set(), unsettled: 0, failedDep: undefined, outcome: undefined };
    this.nodes.set(id, node);
    this.submitted.add(id);
    for (const dep of deps) {
      const d = this.node(dep);
      d.dependents.add(id);
      if (d.outcome === undefined) node.unsettled++;
      else if (d.outcome === 'failed') node.failedDep ??= dep;
    }
    return { ready: node.unsettled === 0 && node.failedDep === undefined, failed: node.failedDep, allSettled: node.unsettled === 0 };
  }

  /**
   * Breadth-first from `from` along dependents (who waits on whom, the
   * reverse of dependencies) until one of `targets`; the path from that
   * target back to `from`, or undefined. Parents are kept in a map, so the
   * search is linear in what it visits.
   */
  private dependentPath(from: string, targets: ReadonlySet<string>): string[] | undefined {
    const parent = new Map<string, string>([[from, from]]);
    const queue = [from];
    for (let at = 0; at < queue.length; at++) {
      const id = queue[at];
      for (const next of this.nodes.get(id)?.dependents ?? []) {
        if (parent.has(next)) continue;
        parent.set(next, id);
        if (targets.has(next)) {
          const path = [next];
          for (let p = id; p !== from; p = parent.get(p) as string) path.push(p);
          path.push(from);
          return path; // next (a dep of the new task) ... from: its dependency chain down to `from`
        }
        queue.push(next);
      }
    }
    return undefined;
  }

  /** Records the outcome of `id` and returns what it means for those waiting on it. */
  settle(id: string, outcome: Outcome): Settled {
    const result: Settled = { allSettled: [], firstFailure: [] };
    const node = this.nodes.get(id);
    if (node === undefined || node.outcome !== undefined) return result;
    node.outcome = outcome;
    this.noteFinished(id);
    for (const dependent of node.dependents) {
      const d = this.nodes.get(dependent);
      if (d === undefined || d.outcome !== undefined || !this.submitted.has(dependent)) continue;
      if (outcome === 'failed' && d.failedDep === undefined) {
        d.failedDep = id;
        result.firstFailure.push(dependent);
      }
      if (--d.unsettled === 0) result.allSettled.push({ id: dependent, failedDep: d.failedDep });
    }
    return result;
  }

  private noteFinished(id: string): void {
    this.finished.push(id);
    // In batches (a quarter over), so forgetting costs O(1) per finished task.
    if (this.finished.length - this.finishedHead > this.remember + Math.max(16, this.remember >> 2)) this.forgetOld();
  }

  /**
   * Forgets the oldest finished tasks beyond `remember`, except those a
   * waiting task still depends on (kept, and looked at again next time).
   * One pass over what is there at most: it never loops, however many must
   * be kept.
   */
  private forgetOld(): void {
    const keep: string[] = [];
    let excess = this.finished.length - this.finishedHead - this.remember;
    while (excess > 0 && this.finishedHead < this.finished.length) {
      const id = this.finished[this.finishedHead++];
      excess--;
      const node = this.nodes.get(id);
      if (node === undefined) continue;
      let needed = false;
      for (const d of node.dependents) {
        if (this.nodes.get(d)?.outcome === undefined && this.submitted.has(d)) {
          needed = true;
          break;
        }
      }
      if (needed) keep.push(id);
      else {
        this.nodes.delete(id);
        this.submitted.delete(id);
      }
    }
    this.finished = this.finished.slice(this.finishedHead).concat(keep);
    this.finishedHead = 0;
  }
}
