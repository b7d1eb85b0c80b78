/**
 * Task dependencies: a task starts when every task it depends on has
 * succeeded. A dependency may name a task submitted later (by its `id`), so
 * a cycle is possible and is refused when the task closing it is submitted.
 */
import { DependencyCycleError } from '../runtime/errors.js';

export type Outcome = 'succeeded' | 'failed';

interface Node {
  /** Ids this task waits for. */
  readonly deps: readonly string[];
  /** Ids waiting for this task. */
  readonly dependents: Set<string>;
  /** Deps not yet succeeded. */
  waiting: number;
  outcome: Outcome | undefined;
}

export class DependencyGraph {
  private readonly nodes = new Map<string, Node>();
  /** Ids submitted and remembered (a node may exist only because a task named it as a dependency). */
  private readonly submitted = new Set<string>();
  private readonly remember: number;

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

  /**
   * Brings a task submitted without dependencies into the graph, because a
   * new task depends on it: still running (no outcome) or finished.
   */
  track(id: string, outcome: Outcome | undefined): void {
    if (this.nodes.has(id)) return;
    this.nodes.set(id, { deps: [], dependents: new Set(), waiting: 0, outcome });
    this.submitted.add(id);
    if (outcome !== undefined) {
      this.finished.push(id);
      this.forgetOld();
    }
  }

  /**
   * Adds task `id` depending on `deps`. Throws DependencyCycleError (naming
   * the cycle) when that would close one. Returns the deps that already
   * failed (the task cannot run) and whether it is ready now.
   */
  add(id: string, deps: readonly string[]): { ready: boolean; failed: string | undefined } {
    if (deps.includes(id)) throw new DependencyCycleError([id, id]);
    // A cycle through the new task: some dep reaches `id` via dependencies.
    const cycle = this.pathTo(deps, id);
    if (cycle !== undefined) throw new DependencyCycleError([id, ...cycle]);
    const existing = this.nodes.get(id);
    const node: Node = { deps, dependents: existing?.dependents ?? new Set(), waiting: 0, outcome: undefined };
    this.nodes.set(id, node);
    this.submitted.add(id);
    let failed: string | undefined;
    for (const dep of deps) {
      let d = this.nodes.get(dep);
      if (d === undefined) {
        d = { deps: [], dependents: new Set(), waiting: 0, outcome: undefined };
        this.nodes.set(dep, d);
      }
      d.dependents.add(id);
      if (d.outcome === 'failed') failed ??= dep;
      else if (d.outcome !== 'succeeded') node.waiting++;
    }
    return { ready: node.waiting === 0 && failed === undefined, failed };
  }

  /** Depth-first search from `starts` along dependencies for `target`; the path (starts.. target) or undefined. */
  private pathTo(starts: readonly string[], target: string): string[] | undefined {
    const seen = new Set<string>();
    const stack: Array<{ id: string; path: string[] }> = starts.map((id) => ({ id, path: [id] }));
    while (stack.length > 0) {
      const { id, path } = stack.pop() as { id: string; path: string[] };
      if (id === target) return path;
      if (seen.has(id)) continue;
      seen.add(id);
      const node = this.nodes.get(id);
      if (node === undefined) continue;
      for (const dep of node.deps) stack.push({ id: dep, path: [...path, dep] });
    }
    return undefined;
  }

  /**
   * Records the outcome of `id`. Returns its dependents that became ready
   * (on success) or that must fail (on failure: direct dependents only; the
   * caller settles them, which recurses).
   */
  settle(id: string, outcome: Outcome): string[] {
    const node = this.nodes.get(id);
    if (node === undefined || node.outcome !== undefined) return [];
    node.outcome = outcome;
    this.finished.push(id);
    this.forgetOld();
    const out: string[] = [];
    for (const dependent of node.dependents) {
      const d = this.nodes.get(dependent);
      if (d === undefined || d.outcome !== undefined) continue;
      if (outcome === 'failed') out.push(dependent);
      else if (--d.waiting === 0) out.push(dependent);
    }
    return out;
  }

  /**
   * Finished tasks are remembered (a task submitted later may still depend
   * on them) up to `remember`, oldest forgotten first, unless a task still
   * waits on them: memory follows recent work, not everything ever submitted.
   */
  private readonly finished: string[] = [];
  private finishedHead = 0;

  private forgetOld(): void {
    while (this.finished.length - this.finishedHead > this.remember) {
      const id = this.finished[this.finishedHead++];
      const node = this.nodes.get(id);
      if (node === undefined) continue;
      if ([...node.dependents].some((d) => this.nodes.get(d)?.outcome === undefined)) {
        this.finished.push(id); // still needed: look again later
        continue;
      }
      this.nodes.delete(id);
      this.submitted.delete(id);
    }
    if (this.finishedHead > 4096 && this.finishedHead * 2 > this.finished.length) {
      this.finished.splice(0, this.finishedHead);
      this.finishedHead = 0;
    }
  }

  /** The outcome of a finished task still remembered. */
  outcomeOf(id: string): Outcome | undefined {
    return this.nodes.get(id)?.outcome;
  }
}
