/** What membership (membership.ts) says about the cluster: members, events, timing. */

/** How often a node beats and how long a silent member stays a member, in milliseconds. */
export interface ClusterTiming {
  /** How often each node rewrites its key. */
  heartbeatMs: number;
  /** Silence after which a member is reported `unreachable`; above `heartbeatMs`. */
  suspectAfterMs: number;
  /** Silence after which a member is declared down and removed; above `suspectAfterMs`. */
  downAfterMs: number;
}

/** The timing the runtime uses unless told otherwise: a killed node is down in under 2 s. */
export const defaultClusterTiming: Readonly<ClusterTiming> = Object.freeze({ heartbeatMs: 250, suspectAfterMs: 750, downAfterMs: 1500 });

/** A member of the cluster, as its own record says. */
export interface MemberInfo {
  /** The node name (its key in the bucket). */
  node: string;
  /** Random per join: a node that joins again under the same name is a new incarnation. */
  incarnation: string;
  /** The member's own wall clock (ms since the epoch) when it joined; informational, never compared. */
  joinedAt: number;
  /** What the member published about itself at join. */
  meta: Record<string, unknown>;
}

/** A change of membership, as this node observed it. */
export type MemberEvent =
  | {
      /** A node joined (or joined again under a new incarnation). */
      type: 'joined';
      /** The node. */
      node: string;
    }
  | {
      /** No heartbeat from it for `suspectAfterMs`. */
      type: 'unreachable';
      /** The node. */
      node: string;
      /** How long it has been silent, as this node measured it. */
      silentMs: number;
    }
  | {
      /** It beat again after being unreachable. */
      type: 'reachable';
      /** The node. */
      node: string;
    }
  | {
      /** It is no longer a member. */
      type: 'left';
      /** The node. */
      node: string;
      /** `'left'`: it left on its own (shutdown); `'down'`: declared down after `downAfterMs` of silence. */
      reason: 'left' | 'down';
    };

/** Options of `Membership.join`. */
export interface JoinOptions {
  /** The cluster's name: 1 to 64 letters, digits, `-` or `_`. */
  cluster: string;
  /** This node's name, unique in the cluster: 1 to 64 letters, digits, `-` or `_`. */
  node: string;
  timing: ClusterTiming;
  /** Published with this node's record (a plain object of JSON values, at most 16 KiB as JSON). */
  meta?: Record<string, unknown>;
}
