/**
 * Death watch across nodes, as this node's gateway sees it: which actors of
 * this node watch which actors of each other node. The watch itself lives
 * on the watched actor's node (a WATCH record registers the watcher there,
 * and its Terminated comes back as a remote tell, ../engine/watch.ts); what
 * that node cannot say is that it died. So this node keeps, per other node,
 * the watches its actors sent there, and when that node leaves or is
 * declared down each watcher still owed one gets Terminated with reason
 * 'node-down' (Akka's `addressTerminated`, Erlang's `noconnection`). A
 * watch sent while the node was unreachable but still a member is kept the
 * same way, so it fires once the node is declared down.
 *
 * Exactly once: the watcher's cell takes one Terminated per watch and drops
 * any other (a Terminated from the node on its way when the node was
 * declared down, then this node's 'node-down'), as it does locally.
 */
import { ActorRef, type RefHost } from '../actors/ref.js';
import type { Terminated, TerminatedReason } from '../engine/types.js';
import { isTerminated } from '../engine/watch.js';

/** What the watches need of this node (the gateway's host): its refs' host, liveness, local delivery, the watches here. */
export interface WatchesHost {
  readonly refHost: RefHost;
  /** Whether the actor (slot, gen) of this process is still alive. */
  isLive(slot: number, gen: number): boolean;
  /** A tell to an actor of this node, from none. */
  deliver(ref: ActorRef, msg: unknown, sender: ActorRef | undefined): void;
  /** `watcher`, an actor of another node, watches `target` here (Terminated at once when it is not alive), or stops watching it. */
  watch(target: ActorRef, watcher: ActorRef, on: boolean): void;
}

/** @internal */
export class RemoteWatches {
  /** Per other node: `watcher slot.gen>target slot.gen` -> [watcher (of this node), target (of that node)]. */
  private readonly byNode = new Map<string, Map<string, [ActorRef, ActorRef]>>();

  constructor(private readonly host: WatchesHost) {}

  /** How many watches of actors of other nodes this node keeps. */
  get size(): number {
    let n = 0;
    for (const watches of this.byNode.values()) n += watches.size;
    return n;
  }

  /**
   * A WATCH (`on`) or UNWATCH record went to `node`: (slot, gen) there is
   * watched, or no longer, by `watcher` (the record's sender), an actor of this node.
   */
  sent(node: string, on: boolean, watcher: unknown, slot: number, gen: number): void {
    if (!(watcher instanceof ActorRef)) return;
    if (!on) {
      this.removed(node, watcher, slot, gen);
      return;
    }
    let watches = this.byNode.get(node);
    if (watches === undefined) this.byNode.set(node, (watches = new Map()));
    watches.set(key(watcher, slot, gen), [watcher, new ActorRef(slot, gen, undefined, this.host.refHost, node)]);
  }

  /**
   * A WATCH (`on`) or UNWATCH record from node `from` for `target` here,
   * validated: the watcher is an actor of the sending node, and the record
   * carries nothing else. False when it is malformed. A slot that does not
   * exist here is not alive: its watch answers Terminated at once.
   */
  received(from: string, on: boolean, target: ActorRef, watcher: ActorRef | undefined, msg: unknown): boolean {
    if (watcher === undefined || watcher.node !== from || msg !== undefined) return false;
    this.host.watch(target, watcher, on);
    return true;
  }

  private removed(node: string, watcher: ActorRef, slot: number, gen: number): void {
    const watches = this.byNode.get(node);
    if (watches === undefined) return;
    watches.delete(key(watcher, slot, gen));
    if (watches.size === 0) this.byNode.delete(node);
  }

  /**
   * A tell from node `from` to `recipient` here. When it is the Terminated of
   * a watch this node keeps, the watch is forgotten (it has been answered).
   * Returns true when it is a Terminated for a watcher that stopped: dropped,
   * as a local one is, rather than a dead letter.
   */
  arrived(from: string, recipient: ActorRef, msg: unknown): boolean {
    if (!isTerminated(msg) || msg.actor.node !== from) return false;
    this.removed(from, recipient, msg.actor.slot, msg.actor.gen);
    return !this.host.isLive(recipient.slot, recipient.gen);
  }

  /** `node` left or was declared down: each watcher of its actors that is still alive gets Terminated ('node-down'), once. */
  nodeGone(node: string): void {
    const watches = this.byNode.get(node);
    this.byNode.delete(node);
    if (watches === undefined) return;
    for (const [watcher, target] of watches.values()) this.tell(watcher, target, 'node-down');
  }

  /** A WATCH that could not be sent (`node` is not a member): the watcher gets Terminated ('node-down') at once. */
  refused(watcher: ActorRef, target: ActorRef): void {
    this.tell(watcher, target, 'node-down');
  }

  /**
   * This node was declared down and joined again: what its old incarnation
   * exchanged with the others may be lost with its streams (a WATCH, a
   * Terminated), so every watch ends ('node-down'), as Erlang's monitors do
   * when the connection is lost.
   */
  allGone(): void {
    for (const node of [...this.byNode.keys()]) this.nodeGone(node);
  }

  private tell(watcher: ActorRef, actor: ActorRef, reason: TerminatedReason): void {
    if (!this.host.isLive(watcher.slot, watcher.gen)) return;
    const message: Terminated = { type: 'terminated', actor, reason };
    this.host.deliver(watcher, message, undefined);
  }
}

function key(watcher: ActorRef, slot: number, gen: number): string {
  return `${watcher.slot}.${watcher.gen}>${slot}.${gen}`;
}
