/**
 * Death watch (`ctx.watch`, `ctx.unwatch`): a watcher gets one Terminated
 * message when an actor it watches terminates, for any reason, on any
 * thread. The watched actor's cell keeps its watchers (registered on its
 * own thread, by a control message when the watcher is elsewhere); the
 * watcher's cell keeps what it watches, so a Terminated that arrives twice
 * (or after unwatch) is dropped, and so a crash of the watched actor's
 * thread can be answered (`threadCrashed`).
 *
 * Across cluster nodes the same design holds: watching an actor of another
 * node sends a WATCH record there (the path of a remote tell), and that
 * node registers the watcher, a ref of this node, on the watched cell like
 * any other; its Terminated comes back as an ordinary remote tell. This
 * node's gateway keeps which of its actors watch which actors of each other
 * node, so that when that node leaves or is declared down each watcher gets
 * Terminated ('node-down') once (../cluster/watches.ts).
 */
import type { Cell } from '../actors/cell.js';
import { kNoReply } from '../actors/mailbox.js';
import { ActorRef } from '../actors/ref.js';
import { InvalidArgumentError } from '../base/errors.js';
import { kRecordUnwatch, kRecordWatch } from '../transport/kinds.js';
import type { Engine, WatchPart } from './parts.js';
import type { Terminated, TerminatedReason } from './types.js';

/** Entries of watchers of other nodes kept before the first sweep of those whose actor stopped. */
const kSweepAtLeast = 1024;

/** @internal */
export class DeathWatch implements WatchPart {
  /**
   * On the main thread: the watchers of other nodes registered here, by
   * watched actor (`slot.gen`; watcher by `ref.id`). The watched cell keeps
   * them too, but a cell dies with its thread, and a watcher of another node
   * cannot see that happen (a watcher of this node watches again, or is told,
   * from its own thread: `threadCrashed`). This copy does it for them.
   */
  private readonly remoteWatchers = new Map<string, { target: ActorRef; watchers: Map<string, ActorRef> }>();
  /** remoteWatchers' size at which entries of actors no longer alive are swept out. */
  private sweepAt = kSweepAtLeast;

  constructor(private readonly engine: Engine) {}

  /**
   * `ctx.watch`. Terminated arrives once, when `target` stops (at once if it
   * already has), or when its node leaves or is declared down.
   */
  watch(cell: Cell, target: ActorRef): void {
    if (!(target instanceof ActorRef)) throw new InvalidArgumentError('ref', 'an ActorRef', target);
    if (target.node !== undefined && this.engine.config.node === undefined)
      throw new InvalidArgumentError('ref', 'an actor of this process (this runtime is not a cluster node)', target.toString());
    if (cell.stopped || target.equals(cell.ref)) return;
    const watching = (cell.watching ??= new Set());
    // Watching twice is one watch (as in Akka): one Terminated. A second
    // registration would be answered a second time where the target is
    // already gone (on another node, a stop can overtake both WATCH records).
    if (findRef(watching, target) !== undefined) return;
    watching.add(target);
    this.add(target, cell.ref);
  }

  /** `ctx.unwatch` (a Terminated already sent may still be queued). */
  unwatch(cell: Cell, target: ActorRef): void {
    if (!(target instanceof ActorRef)) throw new InvalidArgumentError('ref', 'an ActorRef', target);
    forget(cell.watching, target);
    this.remove(target, cell.ref);
  }

  /** Registers `watcher` (an actor of this node or of another) on `target`, on whichever thread or node hosts it. */
  add(target: ActorRef, watcher: ActorRef): void {
    const { dir, index } = this.engine;
    if (target.node !== undefined) {
      this.engine.router.sendWatch(kRecordWatch, target, watcher);
      return;
    }
    if (!dir.isLive(target.slot, target.gen)) {
      this.sendTerminated(watcher, target, dir.whyGone(target.slot, target.gen));
      return;
    }
    const thread = Atomics.load(dir.thread, target.slot);
    if (thread !== index) {
      if (watcher.node !== undefined && index === 0) this.keepRemote(target, watcher);
      this.engine.router.notify(thread, 'watch', { target, watcher });
      return;
    }
    const cell = this.engine.cells[target.slot];
    if (cell === undefined || cell.gen !== target.gen || cell.completed) {
      this.sendTerminated(watcher, target, 'stopped');
      return;
    }
    const watchers = (cell.watchers ??= new Set());
    if (findRef(watchers, watcher) !== undefined) return; // watching is idempotent
    watchers.add(watcher);
  }

  /** Removes `watcher` from `target`'s watchers, on whichever thread or node hosts it. */
  remove(target: ActorRef, watcher: ActorRef): void {
    const { dir, index } = this.engine;
    if (target.node !== undefined) {
      this.engine.router.sendWatch(kRecordUnwatch, target, watcher);
      return;
    }
    if (watcher.node !== undefined) this.remoteWatchers.get(`${target.slot}.${target.gen}`)?.watchers.delete(watcher.id);
    if (!dir.isLive(target.slot, target.gen)) return;
    const thread = Atomics.load(dir.thread, target.slot);
    if (thread !== index) {
      this.engine.router.notify(thread, 'unwatch', { target, watcher });
      return;
    }
    const cell = this.engine.cells[target.slot];
    if (cell === undefined || cell.gen !== target.gen) return;
    forget(cell.watchers, watcher);
  }

  /** `cell` stopped: each of its watchers gets Terminated with `reason`. */
  terminated(cell: Cell, reason: TerminatedReason): void {
    if (cell.watchers === undefined) return;
    for (const watcher of cell.watchers) this.sendTerminated(watcher, cell.ref, reason);
    cell.watchers = undefined;
  }

  /**
   * `cell` stopped for good: its watches of actors of other nodes end there
   * too (best effort: a Terminated already on its way is dropped on
   * arrival, as one for a stopped watcher is here).
   */
  watcherStopped(cell: Cell): void {
    if (cell.watching === undefined) return;
    for (const target of cell.watching) if (target.node !== undefined) this.remove(target, cell.ref);
  }

  private sendTerminated(watcher: ActorRef, actor: ActorRef, reason: TerminatedReason): void {
    if (this.engine.closed) return;
    // A watcher that stopped meanwhile is not owed a dead letter for it. One
    // of another node is not known here: its own node drops what it is not owed.
    if (watcher.node === undefined && !this.engine.dir.isLive(watcher.slot, watcher.gen)) return;
    const message: Terminated = { type: 'terminated', actor, reason };
    this.engine.router.route(watcher, message, undefined, kNoReply, true);
  }

  /**
   * True when `msg`, about to go into `cell`'s mailbox as a tell, is a
   * Terminated that `cell` is not owed (a second one for the same watch, or
   * one after unwatch): it is dropped. Otherwise a Terminated is taken off
   * what `cell` watches (it arrives once per watch).
   */
  isUnexpected(cell: Cell, msg: unknown): boolean {
    return isTerminated(msg) && !this.takeWatch(cell, msg.actor);
  }

  /** True (and forgets it) when `cell` watches `target`. */
  private takeWatch(cell: Cell, target: ActorRef): boolean {
    return forget(cell.watching, target);
  }

  /**
   * The thread of `endpoint` died (`lost`: slot, gen pairs of the actors not
   * brought back): actors here that watched an actor of that thread watch
   * it again when it was brought back, and get Terminated ('crashed') when
   * it was not.
   */
  threadCrashed(endpoint: number, lost: number[]): void {
    const dir = this.engine.dir;
    const gone = new Set<string>();
    for (let i = 0; i + 1 < lost.length; i += 2) gone.add(`${lost[i]}.${lost[i + 1]}`);
    for (const cell of this.engine.cells) {
      if (cell === undefined || cell.stopped || cell.watching === undefined) continue;
      for (const target of cell.watching) {
        if (target.node !== undefined) continue; // another node's: no thread of this process hosts it
        if (dir.isLive(target.slot, target.gen)) {
          if (Atomics.load(dir.thread, target.slot) === endpoint) this.add(target, cell.ref);
          continue;
        }
        // Not live: lost in this crash, or gone otherwise. A Terminated that is
        // already on its way makes this one a duplicate, which takeWatch drops.
        const reason: TerminatedReason = gone.has(`${target.slot}.${target.gen}`) ? 'crashed' : dir.whyGone(target.slot, target.gen);
        this.sendTerminated(cell.ref, target, reason);
      }
    }
    this.remoteThreadCrashed(endpoint, gone);
  }

  /** The main thread keeps a copy of a watcher of another node registered on `target`. */
  private keepRemote(target: ActorRef, watcher: ActorRef): void {
    const dir = this.engine.dir;
    if (this.remoteWatchers.size >= this.sweepAt) {
      for (const [key, { target: t }] of this.remoteWatchers) if (!dir.isLive(t.slot, t.gen)) this.remoteWatchers.delete(key);
      this.sweepAt = Math.max(kSweepAtLeast, 2 * this.remoteWatchers.size);
    }
    const key = `${target.slot}.${target.gen}`;
    let entry = this.remoteWatchers.get(key);
    if (entry === undefined) this.remoteWatchers.set(key, (entry = { target, watchers: new Map() }));
    entry.watchers.set(watcher.id, watcher);
  }

  /**
   * `threadCrashed` for the watchers of other nodes (the main thread's
   * copy): registered again on an actor brought back on that thread, told
   * Terminated ('crashed') for one lost (`gone`), forgotten for one that
   * stopped before (its Terminated went then).
   */
  private remoteThreadCrashed(endpoint: number, gone: Set<string>): void {
    const dir = this.engine.dir;
    for (const [key, { target, watchers }] of this.remoteWatchers) {
      if (dir.isLive(target.slot, target.gen)) {
        if (Atomics.load(dir.thread, target.slot) === endpoint) for (const watcher of watchers.values()) this.add(target, watcher);
        continue;
      }
      this.remoteWatchers.delete(key);
      if (gone.has(key)) for (const watcher of watchers.values()) this.sendTerminated(watcher, target, 'crashed');
    }
  }
}

/** @internal True for a Terminated message (what a watch delivers): of type 'terminated', naming an actor. */
export function isTerminated(msg: unknown): msg is Terminated {
  return msg !== null && typeof msg === 'object' && (msg as Terminated).type === 'terminated' && (msg as Terminated).actor instanceof ActorRef;
}

/** The ref in `refs` equal to `ref` (a set of refs holds objects: an equal ref is another object), if any. */
function findRef(refs: Set<ActorRef>, ref: ActorRef): ActorRef | undefined {
  for (const r of refs) if (r.equals(ref)) return r;
  return undefined;
}

/** Removes the ref equal to `ref` from `refs` (each holds one at most); true when there was one. */
function forget(refs: Set<ActorRef> | undefined, ref: ActorRef): boolean {
  if (refs === undefined) return false;
  const found = findRef(refs, ref);
  if (found === undefined) return false;
  refs.delete(found);
  return true;
}
