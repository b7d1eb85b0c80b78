/**
 * What the cluster gateway (../cluster/gateway.ts) reaches on this node: the
 * main thread's engine. A tell from another node is routed as a local tell
 * from the main thread (bounded mailboxes and dead letters as for any), an
 * ask as a local ask on behalf of the remote sender, and an answer goes to
 * the endpoint that asked (the main thread's own asks, or a pool thread's
 * through its ring).
 */
import { kNoReply } from '../actors/mailbox.js';
import { ActorRef } from '../actors/ref.js';
import { InvalidArgumentError, MessageTooLargeError } from '../base/errors.js';
import type { EventSource } from '../base/events.js';
import type { EntityRuntime, GatewayHost } from '../cluster/index.js';
import type { ActorControl } from './actors.js';
import type { ControlPlane } from './control.js';
import type { ResolvedSpawnOptions } from './options.js';
import type { DeadLetter, Endpoint } from '../engine/endpoint.js';
import type { WireTrace } from '../engine/trace-field.js';
import { kRouteFull } from '../engine/types.js';
import { kReplyError, kReplyOk } from '../transport/kinds.js';
import { kPolicyDropNewest, type Directory } from '../transport/directory.js';

/** @internal */
export function clusterHost(
  endpoint: Endpoint,
  directory: Directory,
  runtime: {
    deadLetter(letter: DeadLetter): void;
    workerUp(endpoint: number): boolean;
    /** Pool threads (endpoints 1..threads): an answer for any other endpoint is refused. */
    threads: number;
    /** A publish from another node, for this node's subscribers. */
    publish(topic: string, msg: unknown, sender: ActorRef | undefined, fromNode: string): void;
    /** A swarm of (node, incarnation) has a new leader and term; false when it names a swarm of this node (ignored). */
    swarmTerm(node: string, incarnation: string, swarm: string, leader: ActorRef | undefined, term: number): boolean;
  },
): GatewayHost {
  const { deadLetter, workerUp } = runtime;
  return {
    slots: directory.slots,
    refHost: endpoint,
    deliver(ref: ActorRef, msg: unknown, sender: ActorRef | undefined, trace?: WireTrace): void {
      let code: number;
      try {
        code = endpoint.router.route(ref, msg, sender, kNoReply, false, trace);
      } catch (err) {
        // Closed (shutting down) or too large for this node's threads: not delivered, said so.
        deadLetter({ recipient: ref, message: msg, sender, reason: err instanceof MessageTooLargeError ? 'too-large' : 'shutdown' });
        return;
      }
      // A bounded mailbox that refuses it ('reject'): the sender is on another
      // node and cannot be told, so it is a dead letter here (drop-newest
      // already made one).
      if (code === kRouteFull && directory.policy[ref.slot] !== kPolicyDropNewest)
        deadLetter({ recipient: ref, message: msg, sender, reason: 'dropped-newest' });
    },
    ask: (ref, msg, sender, timeoutMs, trace) => endpoint.asks.askFrom(ref, msg, sender, timeoutMs, trace),
    answer(asker: number, askId: number, ok: boolean, value: unknown): void {
      if (asker === 0) endpoint.asks.answer(askId, ok, value);
      else if (asker <= runtime.threads && workerUp(asker)) endpoint.router.sendControl(asker, ok ? kReplyOk : kReplyError, askId, value);
    },
    deadLetter: (recipient, message, sender, reason) => deadLetter({ recipient, message, sender, reason }),
    isLive: (slot, gen) => directory.isLive(slot, gen),
    swarmTerm: (node, incarnation, swarm, leader, term) => runtime.swarmTerm(node, incarnation, swarm, leader, term),
    watch(target, watcher, on) {
      if (on) endpoint.deathWatch.add(target, watcher);
      else endpoint.deathWatch.remove(target, watcher);
    },
    publish(topic, msg, sender, fromNode) {
      try {
        runtime.publish(topic, msg, sender, fromNode);
      } catch (err) {
        // Closed (shutting down) or too large for this node's threads.
        deadLetter({
          recipient: new ActorRef(-1, 0, `topic ${topic}`, endpoint),
          message: msg,
          sender,
          reason: err instanceof MessageTooLargeError ? 'too-large' : 'shutdown',
        });
      }
    },
  };
}

/** @internal What entityRuntime uses of the runtime. */
export interface EntityParts {
  actors: ActorControl;
  endpoint: Endpoint;
  directory: Directory;
  control: ControlPlane;
  deadLetters: EventSource<DeadLetter>;
  /** The spawn options of an entity's actor: the runtime's defaults. */
  defaults: ResolvedSpawnOptions;
}

/** @internal What the cluster's entities need of this node. */
export function entityRuntime(parts: EntityParts): EntityRuntime {
  const { actors, endpoint, directory, control, deadLetters, defaults } = parts;
  return {
    spawn: (module, key, snapshot) => actors.spawn(module, { key }, defaults, undefined, snapshot),
    snapshot: async (ref) => {
      try {
        await actors.checkpoint(ref, control.closing);
      } catch (err) {
        if (err instanceof InvalidArgumentError) return undefined; // no snapshot in its definition
        throw err;
      }
      return endpoint.checkpoints.bytes(ref.slot);
    },
    stop: (ref) => actors.stop(ref, control.closing),
    ask: (ref, msg, sender, timeoutMs) => endpoint.asks.askFrom(ref, msg, sender, timeoutMs),
    alive: (ref) => directory.isLive(ref.slot, ref.gen),
    deadLetter: (key, message, reason) =>
      deadLetters.publish({ recipient: new ActorRef(-1, 0, `Entity(${key})`, endpoint), message, sender: undefined, reason }),
  };
}
