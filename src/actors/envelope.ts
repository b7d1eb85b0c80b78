/**
 * Messages the runtime itself looks inside before an actor's handler runs:
 * a scheduler's Task, a swarm broadcast's Relay (passed on along the
 * topology), a swarm Proposal (answered by the `vote` handler), a
 * Fenced message (refused when its leader term is stale), and a Poisoned
 * one (a replayed message that took its thread down twice). One `instanceof
 * Envelope` check per message tells them from user messages.
 */
import type { ActorRef } from './ref.js';

export const kTaskEnvelope = 1;
const kRelayEnvelope = 2;
const kProposalEnvelope = 3;
const kFencedEnvelope = 4;
const kPoisonedEnvelope = 5;

export abstract class Envelope {
  /** @internal Which envelope this is. */
  abstract readonly envelope: number;
}

/**
 * A swarm broadcast on its way along a relay topology (ring, star, tree):
 * the member at `at` in `members` handles `msg`, after passing the relay on
 * to its children in the heap-ordered tree of `fanout` (see topology.ts).
 * @internal
 */
export class Relay extends Envelope {
  readonly envelope = kRelayEnvelope;
  constructor(
    readonly swarm: string,
    readonly members: ActorRef[],
    readonly fanout: number,
    readonly at: number,
    readonly msg: unknown,
  ) {
    super();
  }
}

/**
 * A proposal put to a swarm's members (`swarm.propose`): the member's `vote`
 * handler answers `{ approve, reason? }` (or a boolean). `round` is 1, or 2
 * for the confirming round of a `bft` quorum.
 */
export class Proposal<Value = unknown> extends Envelope {
  readonly envelope = kProposalEnvelope;
  constructor(
    /** The name of the swarm that proposes. */
    readonly swarm: string,
    /** The proposal's id, the same in both rounds of a `bft` vote. */
    readonly id: string,
    /** What is proposed (`swarm.propose(value)`). */
    readonly value: Value,
    /** 1, or 2 for the confirming round of a `bft` quorum. */
    readonly round: number,
  ) {
    super();
  }
}

/**
 * A message stamped with a swarm leader's term (`fenced(swarm, term, msg)`):
 * a member's thread refuses it (dead letter 'stale-term', an ask rejects
 * with StaleTermError) when it knows a newer term, so a deposed leader
 * cannot act.
 */
export class Fenced extends Envelope {
  readonly envelope = kFencedEnvelope;
  constructor(
    readonly swarm: string,
    readonly term: number,
    readonly msg: unknown,
  ) {
    super();
  }
}

/**
 * A replayed message that took its thread down twice (see journal.ts): its
 * turn comes in mailbox order, and instead of the handler it is
 * dead-lettered and reported to the actor's supervisor. Made by a
 * replacement thread for its own mailbox only: never encoded.
 * @internal
 */
export class Poisoned extends Envelope {
  readonly envelope = kPoisonedEnvelope;
  constructor(
    readonly msg: unknown,
    readonly crashes: number,
  ) {
    super();
  }
}

/**
 * Stamps `msg` with the sender's leader term in swarm `swarm` (see
 * `ctx.leaderOf(swarm)`).
 *
 * @example
 * const { leader, term } = ctx.leaderOf('workers') ?? {};
 * if (leader?.equals(ctx.self)) member.tell(fenced('workers', term, { type: 'apply', entry }));
 */
export function fenced<Msg>(swarm: string, term: number, msg: Msg): Msg {
  return new Fenced(swarm, term, msg) as unknown as Msg;
}
