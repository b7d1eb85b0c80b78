/**
 * Tallying a proposal's votes, with faulty voters in mind. Pure: the swarm
 * collects the answers (each one the answer to an ask sent to that member,
 * so the runtime vouches for who voted) and this decides.
 *
 * A vote is valid when it is well formed (`{ approve: boolean, reason? }` or
 * a boolean), names this proposal (when it names one), and, where the
 * proposal was asked twice (`bft`), says the same both times: a member
 * whose answers differ is an equivocator and its vote does not count. A
 * second answer to one ask cannot happen (the runtime settles an ask once).
 *
 * Quorums over n members:
 * - `majority`: approved with more than n/2 approvals; rejected once
 *   approval is out of reach (n - floor(n/2) rejections);
 * - `unanimous`: approved when all n approve; rejected by any valid reject;
 * - a number k: approved with k approvals; rejected with more than n - k rejections;
 * - `bft`: tolerates f = floor((n - 1) / 3) faulty voters (n >= 3f + 1) and
 *   decides on q = ceil((n + f + 1) / 2) matching valid votes (2f + 1 when
 *   n = 3f + 1). Two such quorums share at least f + 1 members, so at least
 *   one honest member, who cannot count on both sides (an equivocator's
 *   vote is discarded): approve and reject can never both reach q. With at
 *   most f faulty voters the n - f >= q honest ones decide; with f + 1 the
 *   faulty alone cannot reach q (for n >= 2), so the result is `undecided`
 *   rather than wrong.
 * Anything short of a decision is `undecided`, with the evidence: who voted
 * what, who was silent, who was faulty and why.
 */
export const quorumKinds = ['majority', 'unanimous', 'bft'] as const;
/** How a proposal is decided: `'majority'`, `'unanimous'`, `'bft'`, or a number of approvals (see the top of voting.ts). */
export type Quorum = (typeof quorumKinds)[number] | number;

/** A proposal's result: `'undecided'` when neither side reached its threshold (see {@link Tally} for the evidence). */
export type Outcome = 'approved' | 'rejected' | 'undecided';

/** One member's answers (index = round). */
export interface Answers {
  member: string;
  /** Not waited for: the proposal was decided before its answer came. */
  pending?: boolean;
  /** The answer of each round asked; undefined: silent (timed out, crashed, stopped). */
  rounds: unknown[];
  /** Milliseconds from the proposal to the member's first answer. */
  ms: number | undefined;
}

/** One member's vote on a proposal, valid or not. */
export interface Vote {
  /** The member, as its ref prints. */
  member: string;
  /** Its answer; undefined when the answer was not a vote (see `fault`). */
  approve: boolean | undefined;
  /** The reason its `vote` handler gave, if any. */
  reason: string | undefined;
  /** Counted in the tally. */
  valid: boolean;
  /** Why not: 'malformed', 'wrong-proposal', 'equivocation', 'error'. */
  fault: string | undefined;
  /** Milliseconds from the proposal to the member's first answer. */
  ms: number | undefined;
}

/** How a proposal's votes came out, with the evidence: who voted what, who was silent, who was faulty. */
export interface Tally {
  /** The decision. */
  outcome: Outcome;
  /** Approvals (or rejections) needed to decide. */
  needed: {
    /** Valid approvals that approve. */
    approve: number;
    /** Valid rejections that reject. */
    reject: number;
  };
  /** Valid votes to approve. */
  approvals: number;
  /** Valid votes to reject. */
  rejections: number;
  /** Every member's vote that came in, valid or not, in membership order. */
  votes: Vote[];
  /** Members that did not answer (timed out, crashed, stopped), as their refs print. */
  silent: string[];
  /** Members still to answer when the outcome was already settled (not waited for; not silent). */
  pending: string[];
  /** Members whose vote did not count (malformed, for another proposal, an error, or equivocation), as their refs print. */
  faulty: string[];
  /** For bft: the faults tolerated. */
  tolerated: number | undefined;
}

/** Votes needed to approve and to reject under `quorum` with `n` members. */
export function thresholds(quorum: Quorum, n: number): { approve: number; reject: number; tolerated: number | undefined } {
  if (quorum === 'majority') return { approve: Math.floor(n / 2) + 1, reject: n - Math.floor(n / 2), tolerated: undefined };
  if (quorum === 'unanimous') return { approve: n, reject: 1, tolerated: undefined };
  if (quorum === 'bft') {
    const f = Math.floor((n - 1) / 3);
    const q = Math.ceil((n + f + 1) / 2);
    return { approve: q, reject: q, tolerated: f };
  }
  return { approve: quorum, reject: n - quorum + 1, tolerated: undefined };
}

/** Reads one answer: `{ approve, reason?, proposal? }` or a boolean; a fault otherwise. */
export function readAnswer(answer: unknown, proposalId: string): { approve: boolean; reason: string | undefined } | { fault: string } {
  if (answer instanceof Error) return { fault: 'error' };
  if (typeof answer === 'boolean') return { approve: answer, reason: undefined };
  if (answer === null || typeof answer !== 'object') return { fault: 'malformed' };
  const a = answer as { approve?: unknown; reason?: unknown; proposal?: unknown };
  if (typeof a.approve !== 'boolean') return { fault: 'malformed' };
  if (a.proposal !== undefined && a.proposal !== proposalId) return { fault: 'wrong-proposal' };
  return { approve: a.approve, reason: typeof a.reason === 'string' ? a.reason : undefined };
}

export function tally(quorum: Quorum, proposalId: string, answers: readonly Answers[]): Tally {
  const n = answers.length;
  const { approve: needApprove, reject: needReject, tolerated } = thresholds(quorum, n);
  const votes: Vote[] = [];
  const silent: string[] = [];
  const pending: string[] = [];
  const faulty: string[] = [];
  let approvals = 0;
  let rejections = 0;
  for (const a of answers) {
    const given = a.rounds.filter((r) => r !== undefined);
    if (given.length === 0) {
      (a.pending === true ? pending : silent).push(a.member);
      continue;
    }
    const read = given.map((r) => readAnswer(r, proposalId));
    const fault = read.find((r): r is { fault: string } => 'fault' in r);
    let vote: Vote;
    if (fault !== undefined) {
      vote = { member: a.member, approve: undefined, reason: undefined, valid: false, fault: fault.fault, ms: a.ms };
    } else {
      const ok = read as Array<{ approve: boolean; reason: string | undefined }>;
      // A member silent in one round but not the other keeps its vote (a
      // slow or crashed honest member); one that answered both ways does not.
      const equivocates = ok.some((r) => r.approve !== ok[0].approve);
      vote = {
        member: a.member,
        approve: ok[0].approve,
        reason: ok[0].reason,
        valid: !equivocates,
        fault: equivocates ? 'equivocation' : undefined,
        ms: a.ms,
      };
    }
    votes.push(vote);
    if (!vote.valid) {
      faulty.push(a.member);
      continue;
    }
    if (vote.approve) approvals++;
    else rejections++;
  }
  // Both reaching their threshold cannot happen under any quorum here with
  // one counted vote per member; if it ever did, nothing is decided.
  let outcome: Outcome = 'undecided';
  if (approvals >= needApprove && rejections < needReject) outcome = 'approved';
  else if (rejections >= needReject && approvals < needApprove) outcome = 'rejected';
  return { outcome, needed: { approve: needApprove, reject: needReject }, approvals, rejections, votes, silent, pending, faulty, tolerated };
}

/**
 * True once the outcome cannot change whatever the members not yet heard
 * from answer (so a proposal may end early). Under `bft` every member is
 * waited for in both rounds, so that an equivocator is caught.
 */
export function settled(quorum: Quorum, approvals: number, rejections: number, n: number): boolean {
  if (quorum === 'bft') return false;
  const { approve, reject } = thresholds(quorum, n);
  return approvals >= approve || rejections >= reject;
}
