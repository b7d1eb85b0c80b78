/**
 * A runtime's place in a cluster: the NATS connection, membership (who is
 * up, heartbeats in KV), cluster-wide names, and the gateway that carries
 * messages to the actors of other nodes. Made by `Runtime.start` when
 * `options.cluster` is given, through a dynamic import of this folder: a
 * runtime without it loads no NATS code.
 *
 * Order of joining: connect (a refusal fails `start` with ClusterConnectError
 * naming the server, never a credential), then the runtime starts its
 * threads knowing this node's name, then membership, names (and their
 * replica: `start` resolves once it holds every name), and the gateway.
 */
import { inspect } from 'node:util';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { ActorRef } from '../actors/ref.js';
import { ClusterConnectError } from '../base/errors.js';
import type { EventSource } from '../base/events.js';
import { Kvm } from '@nats-io/kv';
import { createShared } from './kv.js';
import { type EntityDelivery, EntityRef } from '../actors/entity-ref.js';
import { Entities, type EntityRuntime, type EntityStats } from './entities.js';
import { Placement } from './placement.js';
import { Gateway, type GatewayHost, type GatewayStats } from './gateway.js';
import { type MemberEvent, type MemberInfo, Membership } from './membership.js';
import { ClusterNames, type NameEntry } from './names.js';
import { NamesReplica } from './names-replica.js';
import { Snapshots } from './snapshots.js';
import { redactServer, resolveClusterOptions, type ResolvedClusterOptions } from './options.js';

export type { MemberEvent, MemberInfo } from './membership.js';

/** `rt.cluster`: this node's view of the cluster. */
export interface Cluster {
  /** The cluster's name. */
  readonly name: string;
  /** This node's name. */
  readonly node: string;
  /** Live members (this node included), sorted by name. */
  members(): MemberInfo[];
  /** joined, unreachable, reachable, left (reason 'left' or 'down'). */
  readonly events: EventSource<MemberEvent>;
  /**
   * Finds an actor registered with `scope: 'cluster'` on any node (undefined: no such name), reading the names
   * bucket now: authoritative, one KV read. `rt.lookup` answers from this node's replica instead (synchronous,
   * eventually consistent).
   */
  lookup<Msg = unknown, Reply = unknown>(name: string): Promise<ActorRef<Msg, Reply> | undefined>;
  /** What crossed this node's gateway, and what it refused (by reason); this node's entities. */
  stats(): ClusterStats;
}

/** `rt.cluster.stats()`. */
export interface ClusterStats extends GatewayStats {
  /** This node's entities. */
  entities: EntityStats;
  /** This node's NATS connection: all it carried (records, heartbeats, KV, object store), and its reconnects. */
  connection: ConnectionStats;
}

/** What a cluster node's NATS connection carried (the client's own counts: records, heartbeats, KV and object store alike). */
export interface ConnectionStats {
  /** Bytes received. */
  bytesIn: number;
  /** Bytes sent. */
  bytesOut: number;
  /** NATS messages received. */
  messagesIn: number;
  /** NATS messages sent. */
  messagesOut: number;
  /** Reconnects since the node started. */
  reconnects: number;
}

/** @internal Connected, not yet joined: the runtime starts its threads with `node` in between. */
export interface PreparedCluster {
  readonly options: ResolvedClusterOptions;
  readonly node: string;
  join(host: GatewayHost, entities: EntityRuntime, askTimeoutMs: number): Promise<ClusterNode>;
  /** Closes the connection (start failed before joining). */
  abandon(): Promise<void>;
}

/** @internal Validates the options and connects to NATS. */
export async function connectCluster(value: unknown): Promise<PreparedCluster> {
  const options = resolveClusterOptions(value);
  let nc: NatsConnection;
  try {
    // Reconnect for good, and soon: a NATS server restart is ridden out (what is
    // published meanwhile waits in the client's buffer). Overridable.
    nc = await connect({
      maxReconnectAttempts: -1,
      reconnectTimeWait: 250,
      ...options.connection,
      servers: options.servers,
      name: `microswarm-${options.cluster}-${options.node}`,
    });
  } catch (err) {
    throw new ClusterConnectError(options.servers.map(redactServer).join(', '), { cause: err });
  }
  return {
    options,
    node: options.node,
    join: (host, entities, askTimeoutMs) => ClusterNode.join(nc, options, host, entities, askTimeoutMs),
    abandon: () => nc.close(),
  };
}

/** @internal */
export class ClusterNode implements Cluster {
  readonly name: string;
  readonly node: string;
  readonly events: EventSource<MemberEvent>;
  private closing: Promise<void> | undefined;
  /** Cluster-scoped names of actors of this node, released once their actor stops (`sweep`). */
  private readonly owned = new Map<string, { slot: number; gen: number }>();
  private readonly sweeper: NodeJS.Timeout;

  private constructor(
    private readonly nc: NatsConnection,
    private readonly membership: Membership,
    private readonly names: ClusterNames,
    private readonly replica: NamesReplica,
    readonly gateway: Gateway,
    private readonly host: GatewayHost,
    options: ResolvedClusterOptions,
    readonly entities: Entities,
    /** Live members and their incarnations, kept from membership's events (read per message). */
    private readonly live: ReadonlyMap<string, string>,
  ) {
    this.name = options.cluster;
    this.node = options.node;
    this.events = membership.events;
    // A connection closed for good (reconnects given up, credentials refused
    // on reconnect): the gateway closes, and asks waiting on other nodes
    // settle with NodeUnreachableError.
    void nc.closed().then(() => {
      replica.close();
      if (this.closing === undefined) void gateway.close();
    });
    this.sweeper = setInterval(() => this.sweep(), options.timing.heartbeatMs);
    this.sweeper.unref();
    membership.events.subscribe((event) => {
      if (event.node === this.node) {
        // Declared down while alive, then joined again under a new incarnation:
        // the streams start over, and this node's names are registered again
        // (stamped with the new incarnation: the old one's release leaves them).
        if (event.type === 'joined') {
          gateway.selfRejoined();
          const { incarnation } = membership.self;
          for (const [name, { slot, gen }] of this.owned) {
            void names.register(name, { node: this.node, slot, gen }, incarnation, this.holderLive).catch(() => this.owned.delete(name));
          }
        }
        return;
      }
      if (event.type === 'left') gateway.nodeGone(event.node);
    });
  }

  static async join(
    nc: NatsConnection,
    options: ResolvedClusterOptions,
    host: GatewayHost,
    runtime: EntityRuntime,
    askTimeoutMs: number,
  ): Promise<ClusterNode> {
    let replica: NamesReplica | undefined;
    try {
      const membership = await Membership.join(nc, { cluster: options.cluster, node: options.node, timing: options.timing });
      const names = await ClusterNames.open(nc, { cluster: options.cluster, node: options.node });
      const { heartbeatMs, downAfterMs } = options.timing;
      replica = await NamesReplica.start(nc, names, { retryMs: heartbeatMs, guardMs: Math.max(5_000, 2 * downAfterMs) });
      // The live members' incarnations (read per message sent, so kept here
      // rather than asked of membership each time), and the incarnations
      // declared down: their batches are refused for good (fencing: a paused
      // process that wakes up after it was declared down). One merely not
      // known yet (joined a moment ago) is accepted.
      const live = new Map<string, string>();
      const downed = new Set<string>();
      const note = () => {
        live.clear();
        for (const m of membership.members()) live.set(m.node, m.incarnation);
      };
      note();
      membership.events.subscribe((event) => {
        if (event.type === 'left' && event.reason === 'down') {
          // The incarnation that went down, read before `note` forgets it: its names are released, and only its
          // own (fencing: the process that replaced it under the same node name may have registered names by now).
          const incarnation = live.get(event.node);
          if (incarnation !== undefined) {
            downed.add(incarnation);
            if (event.node !== options.node) void names.releaseNode(event.node, incarnation).catch(() => undefined);
          }
        }
        if (event.type === 'joined' || event.type === 'left') note();
      });
      const gateway = new Gateway(
        nc,
        options.cluster,
        options.node,
        () => membership.self.incarnation,
        host,
        (node) => live.get(node),
        (_node, incarnation) => downed.has(incarnation),
      );
      const bucket = await createShared(() => new Kvm(nc).create(`microswarm_${options.cluster}_entities`, { history: 1 }));
      // Snapshots too large for the lease go to an object store bucket, created on first use.
      const snapshots = new Snapshots(nc, `microswarm_${options.cluster}_snapshots`);
      const placement = new Placement(options.node, options.placement, live, (node) => membership.loadOf(node));
      const entities = new Entities(
        bucket,
        options.node,
        () => membership.self.incarnation,
        live,
        placement,
        gateway,
        runtime,
        options.entityIdleMs,
        askTimeoutMs,
        snapshots,
      );
      // Each heartbeat reports this node's active entities (least-loaded placement reads them).
      membership.load = () => entities.active;
      gateway.entities = entities;
      return new ClusterNode(nc, membership, names, replica, gateway, host, options, entities, live);
    } catch (err) {
      replica?.close();
      await nc.close().catch(() => undefined);
      throw err;
    }
  }

  /** @internal Whether `node` is a live member. */
  isMember(node: string): boolean {
    return this.membership.isMember(node);
  }

  /** @internal A publish made on this node: a TOPIC record to every other live member (their subscribers). */
  publishTopic(name: string, msg: unknown, sender: ActorRef | undefined): void {
    for (const node of this.live.keys()) if (node !== this.node) this.gateway.publishTo(node, name, msg, sender);
  }

  /** @internal A swarm of this node has a new leader and term: a TERM record to each of `nodes` (where it has members) that is a live member. */
  announceTerm(nodes: readonly string[], swarm: string, leader: ActorRef | undefined, term: number): void {
    for (const node of nodes) if (node !== this.node) this.gateway.sendTerm(node, swarm, leader, term);
  }

  /** What `util.inspect` and `console.log` show: never the connection (its options hold the credentials). */
  [inspect.custom](): string {
    return `Cluster(${this.name}, node ${this.node}, ${this.membership.members().length} members)`;
  }

  /** @internal The NATS connection is up (`/readyz`): not closed, not disconnected. */
  connected(): boolean {
    return !this.nc.isClosed() && this.membership.online;
  }

  members(): MemberInfo[] {
    return this.membership.members();
  }

  async lookup<Msg = unknown, Reply = unknown>(name: string): Promise<ActorRef<Msg, Reply> | undefined> {
    const found = await this.names.lookup(name);
    if (found === undefined) return undefined;
    return new ActorRef<Msg, Reply>(found.slot, found.gen, name, this.host.refHost, found.node === this.node ? undefined : found.node);
  }

  /**
   * @internal `rt.lookup` for a name this node does not hold: an actor of another node, from this node's replica of
   * the names (eventually consistent). A name counts as absent while its node is not a live member, and while its
   * value was written by another incarnation of the node than the live one (an earlier process not released yet).
   */
  lookupReplica<Msg = unknown, Reply = unknown>(name: string): ActorRef<Msg, Reply> | undefined {
    const held = this.replica.get(name);
    // This node's names: the runtime's own registry answers for them (a stale value here names a stopped actor).
    if (held === undefined || held.node === this.node) return undefined;
    const live = this.live.get(held.node);
    if (live === undefined || (held.incarnation !== undefined && held.incarnation !== live)) return undefined;
    return new ActorRef<Msg, Reply>(held.slot, held.gen, name, this.host.refHost, held.node);
  }

  /**
   * @internal Registers a cluster-scoped name of an actor of this node; NameTakenError when a live holder has it. A
   * name whose holder is gone is taken over: an earlier process under this node's name (this process holds the node's
   * key now, so that one is gone or declared down), or a node that is not a member.
   */
  async register(name: string, slot: number, gen: number): Promise<void> {
    await this.names.register(name, { node: this.node, slot, gen }, this.membership.self.incarnation, this.holderLive);
    this.owned.set(name, { slot, gen });
  }

  /**
   * Whether the node and incarnation that wrote a name's value hold their node's key in the members bucket now (read
   * there, not from this node's view, which may lag behind a node that just joined). A value without an incarnation
   * counts as live while its node holds its key at all.
   */
  private readonly holderLive = (held: NameEntry): Promise<boolean> => this.membership.holds(held.node, held.incarnation);

  /** Releases the names of actors of this node that stopped (within a heartbeat of the stop). */
  private sweep(): void {
    for (const [name, { slot, gen }] of this.owned) {
      if (this.host.isLive(slot, gen)) continue;
      this.owned.delete(name);
      void this.names.release(name, { node: this.node, slot, gen }).catch(() => undefined);
    }
  }

  stats(): ClusterStats {
    const { inBytes, outBytes, inMsgs, outMsgs } = this.nc.stats();
    return {
      ...this.gateway.stats,
      entities: this.entities.stats(),
      connection: { bytesIn: inBytes, bytesOut: outBytes, messagesIn: inMsgs, messagesOut: outMsgs, reconnects: this.membership.reconnects },
    };
  }

  /** A ref to the entity (`module`, `key`): see `Runtime.entity`. */
  entity<Msg = unknown, Reply = unknown>(module: string, key: string, delivery: EntityDelivery): EntityRef<Msg, Reply> {
    return new EntityRef<Msg, Reply>(module, key, this.entities, delivery);
  }

  /** @internal Leaves the cluster: flushes, leaves membership (others see 'left'), closes the connection. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      clearInterval(this.sweeper);
      this.replica.close();
      await this.gateway.close();
      // Our names go with us (a node that dies instead loses them when it is declared down).
      await Promise.all([...this.owned].map(([name, ref]) => this.names.release(name, { node: this.node, ...ref }).catch(() => undefined)));
      await this.membership.leave().catch(() => undefined);
      await this.nc.drain().catch(() => undefined);
    })();
    return this.closing;
  }
}
