/**
 * Topics and swarms on the main thread: `rt.topic` and `rt.swarm`, the
 * topic registry threads subscribe through, and the swarms' leader checks
 * (every heartbeat, and again after a thread is brought back).
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
  cluster: () => { publishTopic(name: string, msg: unknown, sender: ActorRef | undefined): void; isMember(node: string): boolean } | undefined;
}

/** @internal The runtime's topics and swarms. */
export class Coordination {
  /** Subscribers by topic, fed by `ctx.subscribe` in any thread. */
  readonly topics: TopicRegistry;
  private readonly swarms = new Map<string, Swarm>();
  private swarmTimer: NodeJS.Timeout | undefined;
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

  /** `rt.swarm(options)`. */
  swarm(options: SwarmOptions): Swarm {
    const checked = Swarm.check(options);
    if (this.swarms.has(checked.name)) throw new InvalidOptionError('name', 'a swarm name not already in use', checked.name);
    const swarm = new Swarm(checked, this.swarmHost());
    this.swarms.set(checked.name, swarm);
    if (this.swarmTimer === undefined) {
      // With the first swarm: its leader is checked every heartbeat, and a
      // thread brought back after a crash (it has no swarm terms) is told again.
      this.swarmTimer = setInterval(() => {
        for (const s of this.swarms.values()) s.check();
      }, this.parts.heartbeatMs);
      this.swarmTimer.unref();
      this.parts.crashes.subscribe(() => {
        for (const s of this.swarms.values()) s.reannounce();
      });
    }
    return swarm;
  }

  /** The thread of `endpoint` died: swarms learn at once (not after the recovery) that their members there lost their state. */
  threadLost(endpoint: number): void {
    if (this.swarms.size > 0) {
      for (const swarm of this.swarms.values()) {
        const there = swarm.members().filter((m) => Atomics.load(this.parts.directory.thread, m.slot) === endpoint);
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
      announce: async (swarm, leader, term) => {
        endpoint.envelopes.setTerm(swarm, leader, term);
        await Promise.allSettled(
          control.runningEndpoints().map((e) => withTimeout(endpoint.request(e, 'swarmTerm', { swarm, leader, term }), 5_000, 'swarmTerm')),
        );
      },
      closed: () => control.closing,
      forget: (swarm) => {
        if (this.swarms.get(swarm.name) === swarm) this.swarms.delete(swarm.name);
      },
    };
  }
}
