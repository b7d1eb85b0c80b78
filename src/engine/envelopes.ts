/**
 * The thread side of the scheduler and of swarms: what the endpoint does
 * with the envelopes it opens before an actor's handler (see
 * ../actors/envelope.ts). A Task goes to the agent's `task` handler with a
 * signal the scheduler can fire; a Proposal to the member's `vote`; a
 * Relay is passed on along its topology before the member handles it; a
 * Fenced message is checked against the swarm term this thread knows. Also:
 * agents announcing themselves to the scheduler, and `ctx.subscribe` /
 * `ctx.publish` / `ctx.leaderOf`.
 */
import type { Cell } from '../actors/cell.js';
import { type Fenced, Proposal, Relay } from '../actors/envelope.js';
import type { ActorRef } from '../actors/ref.js';
import { Task } from '../actors/task.js';
import { kNoReply } from '../actors/mailbox.js';
import { relayTargets, relayTo } from '../swarm/topology.js';
import type { Engine, EnvelopesPart } from './parts.js';
import { kRouteOk } from './types.js';
import { ActorCrashedError, ActorStoppedError, HandlerError, InvalidArgumentError, TaskCancelledError, toError } from '../base/errors.js';
import type { AgentOverride } from '../actors/spawn-options.js';

/** Cancelled-while-queued task attempts remembered per thread (see `cancel`). */
const kCancelledKept = 4096;

/** @internal */
export class Envelopes implements EnvelopesPart {
  /** Spawn options that override an agent's `capabilities` / `capacity`, by slot, until it starts. */
  private readonly overrides = new Map<number, AgentOverride & { gen: number }>();
  /** Tasks running on this thread, by id: what `cancel` aborts. */
  private readonly running = new Map<string, Task>();
  /**
   * Attempts (`id#attempt`) cancelled while they waited in a mailbox:
   * answered without running. A cancel that finds the attempt already done
   * leaves an entry nobody takes: the set is cut back past kCancelledKept.
   */
  private readonly cancelled = new Set<string>();
  /** Leader and term of each swarm, as this thread last heard (fenced messages are checked against it). */
  private readonly terms = new Map<string, { leader: ActorRef | undefined; term: number }>();

  constructor(private readonly ep: Engine) {}

  // ------------------------------------------------------------- agents and tasks

  /** A spawn gave an agent `capabilities` / `capacity` of its own (for the actor in `slot`, generation `gen`). */
  override(slot: number, gen: number, agent: AgentOverride): void {
    this.overrides.set(slot, { ...agent, gen });
  }

  /** An actor started here: an agent (it has a `task` handler) tells the scheduler what it can do. */
  started(cell: Cell): void {
    let override = this.overrides.size === 0 ? undefined : this.overrides.get(cell.slot);
    if (override !== undefined) {
      this.overrides.delete(cell.slot);
      if (override.gen !== cell.gen) override = undefined; // left by a spawn that failed
    }
    if (cell.def.task === undefined || cell.stopRequested) return;
    this.ep.router.notify(0, 'agent', {
      ref: cell.ref,
      capabilities: [...(override?.capabilities ?? cell.def.capabilities ?? [])],
      capacity: override?.capacity ?? cell.def.capacity ?? 1,
    });
  }

  /** Runs an agent's `task` handler (its signal made on first use), or a member's `vote` handler. */
  start(cell: Cell, task: Task | Proposal): unknown {
    if (task instanceof Proposal) {
      if (cell.def.vote === undefined)
        throw new InvalidArgumentError('vote', `a \`vote\` handler in the definition of swarm member ${cell.ref}`, undefined);
      return cell.def.vote(cell.state, task, cell.ctx);
    }
    if (cell.def.task === undefined) throw new InvalidArgumentError('task', `a \`task\` handler in the definition of agent ${cell.ref}`, undefined);
    if (this.cancelled.delete(`${task.id}#${task.attempt}`)) throw new TaskCancelledError(task.id, "cancelled while it waited in the agent's mailbox");
    this.running.set(task.id, task);
    return cell.def.task(cell.state, task, cell.ctx);
  }

  /** A task's (or vote's) handler finished. */
  done(task: Task | Proposal): void {
    if (task instanceof Task) this.running.delete(task.id);
  }

  /**
   * A task's handler threw: the error is the task's result (its attempt
   * failed), not a failure of the agent. Like an Orleans grain call, the
   * agent keeps its state and goes on; the scheduler retries elsewhere.
   * The same for a vote handler: the vote counts as faulty.
   */
  failed(cell: Cell, task: Task | Proposal, thrown: unknown, replyTag: number): void {
    this.done(task);
    if (replyTag === kNoReply) return;
    let error = toError(thrown);
    // The handler's own ask to some other actor failed: wrapped, so the
    // scheduler does not take it for the loss of this agent (and re-place it).
    if (error instanceof ActorCrashedError || error instanceof ActorStoppedError) error = new HandlerError(cell.ref.toString(), { cause: error });
    this.ep.asks.reply(replyTag, error, true);
  }

  /**
   * The scheduler cancels attempt `attempt` of task `id` (its signal, or the
   * attempt's timeout): a running one's signal fires (cooperative: nothing
   * is cut off); one still in a mailbox is answered with TaskCancelledError
   * when its turn comes.
   */
  cancel(id: string, attempt: number, reason: string): void {
    const running = this.running.get(id);
    if (running !== undefined && running.attempt === attempt) {
      running.abort(new TaskCancelledError(id, reason));
      return;
    }
    this.cancelled.add(`${id}#${attempt}`);
    if (this.cancelled.size > kCancelledKept) {
      // Oldest first (a Set keeps insertion order): entries for attempts that had finished.
      for (const stale of this.cancelled) {
        this.cancelled.delete(stale);
        if (this.cancelled.size <= kCancelledKept / 2) break;
      }
    }
  }

  // ------------------------------------------------------------- swarms and topics

  /** The main thread announces a swarm's new leader and term (never going back). */
  setTerm(swarm: string, leader: ActorRef | undefined, term: number): void {
    const known = this.terms.get(swarm);
    if (known === undefined || term >= known.term) this.terms.set(swarm, { leader, term });
  }

  /**
   * The main thread forgets a swarm's term: the swarm was another node's, and
   * that node left or was declared down (or a swarm of this node took the
   * name). A swarm formed again under the name, whose terms start over, is
   * then believed from its first term.
   */
  forgetTerm(swarm: string): void {
    this.terms.delete(swarm);
  }

  /** `ctx.leaderOf`. */
  leaderOf(swarm: string): { leader: ActorRef | undefined; term: number } | undefined {
    const known = this.terms.get(swarm);
    return known === undefined ? undefined : { ...known };
  }

  /** The newer term this thread knows when `fenced` carries an older one (it is refused), else undefined. */
  staleAgainst(fenced: Fenced): number | undefined {
    const known = this.terms.get(fenced.swarm);
    return known !== undefined && fenced.term < known.term ? known.term : undefined;
  }

  /**
   * A relayed broadcast reached its member at `relay.at`: pass it on to the
   * member's children along the topology (a dead child's children instead),
   * before the member handles it. Members that relay further get the Relay
   * (with the member list); leaves get the bare message in one multicast
   * (encoded once, a frame per thread): a star's hub or a tree's last level
   * costs one send. Sent as this member.
   */
  passOn(cell: Cell, relay: Relay): void {
    const ep = this.ep;
    const members = relay.members;
    // This directory knows only this node's actors. A member of another node
    // is taken as alive (a thread cannot see membership): if its node is
    // gone, the main thread's gateway dead-letters what is sent to it.
    const alive = (p: number) => members[p].node !== undefined || ep.dir.isLive(members[p].slot, members[p].gen);
    const leaves: ActorRef[] = [];
    try {
      const targets = relayTargets(relay.at, relay.fanout, members.length, alive);
      if (!ep.accepting || ep.closed || targets.length === 0) return;
      relayTo(targets, relay.fanout, members.length, alive, (p) => {
        if (p * relay.fanout + 1 >= members.length) {
          leaves.push(members[p]);
          return true;
        }
        return ep.router.route(members[p], new Relay(relay.swarm, members, relay.fanout, p, relay.msg), cell.ref, kNoReply, false) === kRouteOk;
      });
      if (leaves.length > 0) ep.router.multicast(leaves, relay.msg, cell.ref);
    } catch (err) {
      // Not encodable for another thread (it came from this one), or a relay whose topology cannot be followed: reported, the member still handles it.
      ep.system.failure({ actor: cell.ref, error: toError(err), phase: 'receive' });
    }
  }

  /** `ctx.subscribe`, `ctx.unsubscribe`, `ctx.publish`: the registry is the main thread's. */
  topicOp(cell: Cell, op: 'subscribe' | 'unsubscribe' | 'publish', topic: string, msg?: unknown): void {
    if (typeof topic !== 'string' || topic.length === 0 || topic.length > 256) {
      throw new InvalidArgumentError('topic', 'a non-empty string of at most 256 characters', topic);
    }
    this.ep.router.notify(0, 'topic', op === 'publish' ? { action: op, topic, ref: cell.ref, msg } : { action: op, topic, ref: cell.ref });
  }
}
