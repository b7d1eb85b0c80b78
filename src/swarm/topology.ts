/**
 * Swarm topologies as pure functions of the live members, in membership
 * order: who a member's neighbours are, and the plan a broadcast follows.
 * Repair is recomputation: a dead member is simply not in `live`, so the
 * ring closes over it, the tree re-parents its children, and the star's
 * hub is the first live member (a new hub when the old one died).
 */
export const topologies = ['mesh', 'star', 'ring', 'hierarchical', 'centralized'] as const;
/** A swarm's shape: `'mesh'`, `'star'`, `'ring'`, `'hierarchical'` or `'centralized'` (how each broadcasts: `relayFanout` in topology.ts). */
export type Topology = (typeof topologies)[number];

/**
 * How a broadcast travels over the live members (in order): `direct` (mesh,
 * centralized: the sender reaches each member itself) or relayed along a
 * tree in heap order with `fanout` children per member: the member at
 * position p hands it to positions p*fanout+1 .. p*fanout+fanout after
 * handling it. A star is fanout n-1 under its hub, a ring fanout 1 (a chain
 * around it), a hierarchy the configured fanout.
 */
export function relayFanout(topology: Topology, count: number, fanout: number): number | 'direct' {
  switch (topology) {
    case 'mesh':
    case 'centralized':
      return 'direct';
    case 'star':
      return Math.max(1, count - 1);
    case 'ring':
      return 1;
    case 'hierarchical':
      return fanout;
  }
}

/**
 * The positions a member at `at` relays to: its children in the heap-ordered
 * tree, skipping dead ones by handing their children over instead (a ring
 * closes over a dead member; a tree re-parents a dead node's children).
 */
export function relayTargets(at: number, fanout: number, count: number, alive: (position: number) => boolean): number[] {
  const out: number[] = [];
  const visit = (p: number): void => {
    for (let c = p * fanout + 1; c <= p * fanout + fanout && c < count; c++) {
      if (alive(c)) out.push(c);
      else visit(c);
    }
  };
  visit(at);
  return out;
}

/**
 * Hands a relay to each position in `starts` with `send`; a position that
 * cannot take it (`send` returns false: it died, its mailbox is full) is
 * passed over, and its children are sent to instead, so no subtree is cut off.
 */
export function relayTo(
  starts: readonly number[],
  fanout: number,
  count: number,
  alive: (position: number) => boolean,
  send: (position: number) => boolean,
): void {
  const queue = [...starts];
  for (let at = 0; at < queue.length; at++) {
    const p = queue[at];
    if (!send(p)) queue.push(...relayTargets(p, fanout, count, alive));
  }
}

/** Neighbours of live member `i` (indices into the live members), per topology. */
export function neighbors(topology: Topology, count: number, i: number, fanout: number): number[] {
  if (count <= 1) return [];
  switch (topology) {
    case 'mesh':
      return range(count).filter((j) => j !== i);
    case 'star':
    case 'centralized':
      // The hub (star) or coordinator (centralized) is the first live member.
      return i === 0 ? range(count).slice(1) : [0];
    case 'ring':
      // Successor first, then predecessor (the same one when there are two).
      return [...new Set([(i + 1) % count, (i - 1 + count) % count])];
    case 'hierarchical': {
      const out: number[] = [];
      if (i > 0) out.push(Math.floor((i - 1) / fanout));
      for (let c = i * fanout + 1; c <= i * fanout + fanout && c < count; c++) out.push(c);
      return out;
    }
  }
}

function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}
