/**
 * Where an entity goes: the node a message for an entity not active here is
 * sent to.
 *
 * - **`'rendezvous'`** (the default): rendezvous (highest random weight)
 *   hashing over the live members. Every node computes the same owner for a
 *   key from the same membership, with no table to share, and a node that
 *   leaves moves only its own keys.
 * - **`'least-loaded'`** (Orleans' activation-count placement): a new
 *   activation goes to the live member with the fewest active entities, as
 *   their heartbeats report them, plus the ones this node placed there since
 *   that node's reported load last changed (so a burst of new keys spreads
 *   instead of piling on the node that was least loaded a heartbeat ago);
 *   ties go by rendezvous. Nodes may pick
 *   different nodes for one key at once: the lease decides, and the loser
 *   forwards to the holder.
 *
 * **Hints.** A node that learned where an entity is held (it forwarded a
 * message there, or placed it there) sends the entity's next messages
 * straight there, instead of reading the lease again or placing it anew.
 * A hint is advice: a node that no longer holds the entity finds its
 * holder in the lease and forwards. Hints to a node that left are dropped.
 */

/** How entities are placed (`cluster.placement`). */
export type EntityPlacement = 'rendezvous' | 'least-loaded';

/** Hints kept at most; the oldest go first. */
const kMaxHints = 100_000;

/** @internal */
export class Placement {
  private readonly hints = new Map<string, string>();
  /** Activations this node placed on each node since that node's reported load (`base`) last changed. */
  private readonly placed = new Map<string, { base: number; n: number }>();

  constructor(
    private readonly node: string,
    readonly mode: EntityPlacement,
    /** Live members and their incarnations (this node included). */
    private readonly live: ReadonlyMap<string, string>,
    /** The load a member reported (its active entities); undefined for one not known. */
    private readonly loadOf: (node: string) => number | undefined,
  ) {}

  /** The node rendezvous hashing picks for `id` among the live members. */
  owner(id: string): string {
    let best = this.node;
    let bestScore = -1;
    for (const node of this.live.keys()) {
      const score = score32(`${node}\u0000${id}`);
      if (score > bestScore || (score === bestScore && node < best)) {
        best = node;
        bestScore = score;
      }
    }
    return best;
  }

  /** The live member with the least load (reported, plus placed from here since), ties by rendezvous; counted as placed. */
  leastLoaded(id: string): string {
    let best = this.node;
    let bestLoad = Infinity;
    let bestScore = -1;
    for (const node of this.live.keys()) {
      const reported = this.loadOf(node) ?? 0;
      let mine = this.placed.get(node);
      // A new load reported: it holds what was placed there before it.
      if (mine === undefined || mine.base !== reported) this.placed.set(node, (mine = { base: reported, n: 0 }));
      const load = reported + mine.n;
      const score = score32(`${node}\u0000${id}`);
      if (load < bestLoad || (load === bestLoad && score > bestScore)) {
        best = node;
        bestLoad = load;
        bestScore = score;
      }
    }
    const mine = this.placed.get(best);
    if (mine !== undefined) mine.n++;
    return best;
  }

  /** Where `id` was last known to be held, if that node is still a member. */
  hint(id: string): string | undefined {
    const node = this.hints.get(id);
    if (node === undefined || this.live.has(node)) return node;
    this.hints.delete(id);
    return undefined;
  }

  /** Notes that `node` holds (or was sent) `id`. */
  remember(id: string, node: string): void {
    if (node === this.node) {
      this.hints.delete(id);
      return;
    }
    this.hints.delete(id); // re-inserted as the newest
    this.hints.set(id, node);
    if (this.hints.size > kMaxHints) this.hints.delete(this.hints.keys().next().value as string);
  }

  /** Forgets a hint (the entity is active here, or the hint led nowhere). */
  forget(id: string): void {
    this.hints.delete(id);
  }
}

/** A 32-bit score of a string: FNV-1a, then murmur3's finalizer (so close strings spread). */
function score32(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
