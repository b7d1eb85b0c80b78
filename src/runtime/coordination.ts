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
 *
 * Terms heard from another node belong to that node's process (node name
 * and incarnation): when it leaves or is declared down, this node's threads
 * forget them, so a swarm formed again by a later process under the node's
 * name, whose terms start again at 1, is believed. A swarm of this node
 * decides its name's term here: a TERM naming it is ignored. And terms never
 * go back within a process: a swarm formed again under a name goes on from
 * the last term of the one dissolved.
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

/** A swarm's leader and term, as announced. */
interface Term {
  leader: ActorRef | undefined;
  term: number;
}

/** @internal The runtime's topics and swarms. */
export class Coordination {
  /** Subscribers by topic, fed by `ctx.subscribe` in any thread. */
  readonly topics: TopicRegistry;
  private readonly swarms = new Map<string, Swarm>();
  private swarmTimer: NodeJS.Timeout | undefined;
  /**
   * Leader and term of swarms of other nodes with members here, as last heard, by node: the incarnation that sent
   * them, and its terms by swarm name. Told again to a thread brought back; a node's go when it leaves or is declared
   * down, so this holds the swarms of live members only.
   */
  private readonly remoteTerms = new Map<string, { incarnation: string; swarms: Map<string, Term> }>();
  /** The last term of each dissolved swarm of this node, by name: a swarm formed again under the name goes on from it. */
  private readonly endedTerms = new Map<string, number>();
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
    // This node's swarm decides the name's term here from now on: what another node's swarm of the name said goes.
    // (Forgotten before the new swarm's first announcement, which follows on each thread's ring.)
    let heard = false;
    for (const from of this.remoteTerms.values()) if (from.swarms.delete(checked.name)) heard = true;
    if (heard) void this.forgetOnThreads(checked.name);
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

  /** The swarms of this node, by name (for `rt.inspect()`). */
  list(): Swarm[] {
    return [...this.swarms.values()];
  }

  /** A thread brought back after a crash has no swarm terms: it is told them again (this node's swarms', and those heard from other nodes). */
  private watchCrashes(): void {
    if (this.watchingCrashes) return;
    this.watchingCrashes = true;
    this.parts.crashes.subscribe(() => {
      for (const s of this.swarms.values()) s.reannounce();
      for (const from of this.remoteTerms.values()) for (const [swarm, { leader, term }] of from.swarms) void this.tellThreads(swarm, leader, term);
    });
  }

  /**
   * A swarm of incarnation `incarnation` of node `node` has a new leader and term (a TERM record): this node's
   * threads learn it (never going back, within that incarnation). False, and ignored, when it names a swarm of this
   * node.
   */
  remoteTerm(node: string, incarnation: string, swarm: string, leader: ActorRef | undefined, term: number): boolean {
    if (this.swarms.has(swarm)) return false;
    let from = this.remoteTerms.get(node);
    // A later process under the node's name: the earlier one is gone (membership said so before its batches were
    // taken), and so are its swarms.
    if (from !== undefined && from.incarnation !== incarnation) {
      this.forgetNode(node);
      from = undefined;
    }
    if (from === undefined) this.remoteTerms.set(node, (from = { incarnation, swarms: new Map() }));
    const known = from.swarms.get(swarm);
    if (known !== undefined && term < known.term) return true;
    from.swarms.set(swarm, { leader, term });
    this.watchCrashes();
    void this.tellThreads(swarm, leader, term);
    return true;
  }

  /**
   * This node's threads forget the terms heard from `node` (it left, was declared down, or was replaced by a later
   * process). A swarm name another node's swarm uses too gets that one's term back.
   */
  private forgetNode(node: string): void {
    const from = this.remoteTerms.get(node);
    if (from === undefined) return;
    this.remoteTerms.delete(node);
    for (const swarm of from.swarms.keys()) {
      void this.forgetOnThreads(swarm);
      for (const other of this.remoteTerms.values()) {
        const heard = other.swarms.get(swarm);
        if (heard !== undefined) void this.tellThreads(swarm, heard.leader, heard.term);
      }
    }
  }

  /** This node was declared down and joined again: the other nodes forgot its swarms' terms, and hear them again. */
  rejoined(): void {
    for (const s of this.swarms.values()) s.reannounce();
  }

  /**
   * Cluster node `node` left (`'left'`) or was declared down (`'down'`): a
   * swarm whose leader was one of its actors elects another at once, as for
   * a leader that stopped, or (down: its state is lost) whose thread crashed.
   */
  nodeLost(node: string, reason: 'left' | 'down'): void {
    this.forgetNode(node);
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

  /** Tells this node's threads to forget a swarm's term (see `forgetNode`). */
  private async forgetOnThreads(swarm: string): Promise<void> {
    const { endpoint, control } = this.parts;
    endpoint.envelopes.forgetTerm(swarm);
    await Promise.allSettled(control.runningEndpoints().map((e) => withTimeout(endpoint.request(e, 'swarmForget', { swarm }), 5_000, 'swarmForget')));
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
      priorTerm: (swarm) => this.endedTerms.get(swarm) ?? 0,
      forget: (swarm, term) => {
        if (this.swarms.get(swarm.name) !== swarm) return;
        this.swarms.delete(swarm.name);
        if (term > 0) this.endedTerms.set(swarm.name, term);
      },
    };
  }
}
