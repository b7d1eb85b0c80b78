/**
 * Topics and swarms on the main thread: `rt.topic` and `rt.swarm`, the
 * topic registry threads subscribe through, and the swarms' leader checks
 * (every heartbeat, and again after a thread is brought back).
 *
 * In a cluster, a swarm lives on the node that made it; its members may be
 * of any node. Its leader changes go to the threads of this node and to
 * every other node with members in it (`remoteTerm` there), so `ctx.leaderOf`
 * and fenced messages work on those nodes too. A node that leaves or is
 * declared down takes its members with it (`nodeLost`).
 */
import { Swarm, type SwarmHost, type SwarmOptions } from '../swarm/swarm.js';
import { Topic, TopicRegistry } from '../swarm/topics.js';
import { InvalidOptionError, toError } from '../base/errors.js';
import type { EventSource } from '../base/events.js';
import { ActorRef } from '../actors/ref.js';
import type { Endpoint } from '../engine/endpoint.js';
import type { Directory } from '../transport/directory.js';
import { withTimeout, type ControlPlane } from './control.js';
import type { ThreadCrash } from './recovery.js';

/** @internal What topics and swarms work with: the runtime's parts, set once. */
export interface CoordinationParts {
  control: ControlPlane;
  endpoint: Endpoint;
  directory: Directory;
  crashes: EventSource<ThreadCrash>;
  heartbeatMs: number;
  /** The runtime's cluster node, once joined: topics reach its other nodes. */
  cluster: () =>
    | {
        publishTopic(name: string, msg: unknown, sender: ActorRef | undefined): void;
        isMember(node: string): boolean;
        announceTerm(nodes: readonly string[], swarm: string, leader: ActorRef | undefined, term: number): void;
      }
    | undefined;
}

/** @internal The runtime's topics and swarms. */
export class Coordination {
  /** Subscribers by topic, fed by `ctx.subscribe` in any thread. */
  readonly topics: TopicRegistry;
  private readonly swarms = new Map<string, Swarm>();
  private swarmTimer: NodeJS.Timeout | undefined;
  /** Leader and term of swarms of other nodes with members here, as last heard: told again to a thread brought back. */
  private readonly remoteTerms = new Map<string, { leader: ActorRef | undefined; term: number }>();
  private watchingCrashes = false;
  private readonly parts: CoordinationParts;

  constructor(parts: CoordinationParts) {
    this.parts = parts;
    const { endpoint } = parts;
    this.topics = new TopicRegistry({
      isAlive: (ref) => this.isAlive(ref),
      multicast: (targets, msg, sender) => endpoint.multicast(targets, msg, sender),
      published: (name, msg, sender) => {
        try {
          parts.cluster()?.publishTopic(name, msg, sender);
        } catch (err) {
          // This node's subscribers still get it; the others' failure is reported.
          endpoint.system.failure({ actor: new ActorRef(-1, 0, `topic ${name}`, endpoint), error: toError(err), phase: 'receive' });
        }
      },
    });
  }

  /** `rt.topic(name)`. */
  topic<Msg>(name: string): Topic<Msg> {
    return new Topic<Msg>(TopicRegistry.checkName(name, 'name'), this.topics);
  }

  /** The swarms formed and not closed (for metrics). */
  swarmList(): Swarm[] {
    return [...this.swarms.values()];
  }

  /** `rt.swarm(options)`. */
  swarm(options: SwarmOptions): Swarm {
    const checked = Swarm.check(options);
    if (this.swarms.has(checked.name)) throw new InvalidOptionError('name', 'a swarm name not already in use', checked.name);
    const swarm = new Swarm(checked, this.swarmHost());
    this.swarms.set(checked.name, swarm);
    if (this.swarmTimer === undefined) {
      // With the first swarm: its leader is checked every heartbeat.
      this.swarmTimer = setInterval(() => {
        for (const s of this.swarms.values()) s.check();
      }, this.parts.heartbeatMs);
      this.swarmTimer.unref();
    }
    this.watchCrashes();
    return swarm;
  }

  /** A thread brought back after a crash has no swarm terms: it is told them again (this node's swarms', and those heard from other nodes). */
  private watchCrashes(): void {
    if (this.watchingCrashes) return;
    this.watchingCrashes = true;
    this.parts.crashes.subscribe(() => {
      for (const s of this.swarms.values()) s.reannounce();
      for (const [swarm, { leader, term }] of this.remoteTerms) void this.tellThreads(swarm, leader, term);
    });
  }

  /** A swarm of another node has a new leader and term (a TERM record): this node's threads learn it (never going back). */
  remoteTerm(swarm: string, leader: ActorRef | undefined, term: number): void {
    const known = this.remoteTerms.get(swarm);
    if (known !== undefined && term < known.term) return;
    this.remoteTerms.set(swarm, { leader, term });
    this.watchCrashes();
    void this.tellThreads(swarm, leader, term);
  }

  /**
   * Cluster node `node` left (`'left'`) or was declared down (`'down'`): a
   * swarm whose leader was one of its actors elects another at once, as for
   * a leader that stopped, or (down: its state is lost) whose thread crashed.
   */
  nodeLost(node: string, reason: 'left' | 'down'): void {
    for (const swarm of this.swarms.values()) {
      const leader = swarm.leader()?.leader;
      if (leader?.node === node) swarm.membersLost([leader], reason === 'down' ? 'crashed' : 'stopped');
    }
  }

  /** Tells this node's threads (the main thread and every running pool thread) a swarm's leader and term; resolves when all applied it. */
  private async tellThreads(swarm: string, leader: ActorRef | undefined, term: number): Promise<void> {
    const { endpoint, control } = this.parts;
    endpoint.envelopes.setTerm(swarm, leader, term);
    await Promise.allSettled(
      control.runningEndpoints().map((e) => withTimeout(endpoint.request(e, 'swarmTerm', { swarm, leader, term }), 5_000, 'swarmTerm')),
    );
  }

  /** The thread of `endpoint` died: swarms learn at once (not after the recovery) that their members there lost their state. */
  threadLost(endpoint: number): void {
    if (this.swarms.size > 0) {
      for (const swarm of this.swarms.values()) {
        // Members of this node only: one of another node may have a slot number that is hosted here.
        const there = swarm.members().filter((m) => m.node === undefined && Atomics.load(this.parts.directory.thread, m.slot) === endpoint);
        if (there.length > 0) swarm.membersLost(there, 'crashed');
      }
    }
  }

  /** An actor of this node is alive while its slot holds its generation; one of another node while that node is a member (its own death is not watched across nodes). */
  private isAlive(ref: ActorRef): boolean {
    return ref.node === undefined ? this.parts.directory.isLive(ref.slot, ref.gen) : (this.parts.cluster()?.isMember(ref.node) ?? false);
  }

  /** Stops the leader checks (shutdown). */
  stop(): void {
    if (this.swarmTimer !== undefined) clearInterval(this.swarmTimer);
  }

  private swarmHost(): SwarmHost {
    const { endpoint, control } = this.parts;
    return {
      isAlive: (ref) => this.isAlive(ref),
      tell: (ref, msg) => endpoint.tell(ref, msg, undefined),
      ask: (ref, msg, timeoutMs) => endpoint.ask(ref, msg, { timeoutMs }, undefined),
      multicast: (targets, msg) => endpoint.multicast(targets, msg, undefined),
      announce: (swarm, leader, term, nodes) => {
        if (nodes.length > 0) {
          try {
            this.parts.cluster()?.announceTerm(nodes, swarm, leader, term);
          } catch (err) {
            // This node's threads still learn it; the other nodes' failure is reported.
            endpoint.system.failure({ actor: new ActorRef(-1, 0, `swarm ${swarm}`, endpoint), error: toError(err), phase: 'receive' });
          }
        }
        return this.tellThreads(swarm, leader, term);
      },
      closed: () => control.closing,
      forget: (swarm) => {
        if (this.swarms.get(swarm.name) === swarm) this.swarms.delete(swarm.name);
      },
    };
  }
}
