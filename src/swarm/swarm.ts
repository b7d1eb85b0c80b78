/**
 * Swarms (`rt.swarm`): a named group of member actors with a topology,
 * broadcast along it, gather (scatter and collect), proposals decided by
 * vote with faulty members in mind, and a leader with terms.
 *
 * The swarm object lives on the main thread; members are ordinary actors
 * anywhere in the pool, or on other cluster nodes (alive while their node
 * is a member; keyed by `ref.id`, which names the node). Membership is
 * re-read at every call: a member that stopped or was lost with its thread
 * is not in the live list, so the topology repairs itself (the ring closes,
 * the tree re-parents, the star's hub is the first live member).
 */
import { Proposal, Relay } from '../actors/envelope.js';
import { ActorRef } from '../actors/ref.js';
import { EventSource } from '../base/events.js';
import { InvalidArgumentError, InvalidOptionError, RuntimeClosedError } from '../base/errors.js';
import { neighbors, relayFanout, relayTo, topologies, type Topology } from './topology.js';
import { quorumKinds, readAnswer, settled, tally, type Answers, type Outcome, type Quorum, type Tally } from './voting.js';

export { topologies, quorumKinds };
export type { Topology, Quorum };

/** Options of `rt.swarm(options)`. */
export interface SwarmOptions {
  /** The swarm's name, unique in the runtime: members read its leader with `ctx.leaderOf(name)`. */
  name: string;
  /** The member actors, in membership order (the order topologies are built in and leaders elected by). */
  members: readonly ActorRef[];
  /** Default `'mesh'`. */
  topology?: Topology;
  /** Children per member in a `hierarchical` swarm. Default 4. */
  fanout?: number;
  /** Elect and track a leader (`swarm.leader()`). Default true. */
  leader?: boolean;
}

/** What `swarm.gather` collected: partial results, never a rejection for what members do. */
export interface GatherResult<Reply = unknown> {
  /** Answers, in membership order. */
  replies: Array<{
    /** The member that answered. */
    member: ActorRef;
    /** Its handler's return value. */
    value: Reply;
  }>;
  /** Members whose handler failed (the error). */
  errors: Array<{
    /** The member whose handler failed. */
    member: ActorRef;
    /** What the ask rejected with. */
    error: Error;
  }>;
  /** Members that did not answer in time, or were gone. */
  silent: ActorRef[];
  /** Milliseconds from the call to the last answer or timeout. */
  ms: number;
}

/** What `swarm.propose` resolves with: the tally and the proposal it decided. */
export interface ProposalResult<Value = unknown> extends Tally {
  /** The proposal's id, `swarmName#n`. */
  id: string;
  /** The value proposed. */
  value: Value;
  /** The quorum it was decided under. */
  quorum: Quorum;
  /** Members asked (n): every member at the time, live or not. */
  members: number;
  /** Milliseconds from the call to the decision. */
  ms: number;
}

/** A leader change, published on `swarm.leaderChanges`. */
export interface LeaderChange {
  /** The swarm's name. */
  swarm: string;
  /** The new leader; undefined when no live member is left to lead. */
  leader: ActorRef | undefined;
  /** The new term: one more at every change. Fenced messages of older terms are refused. */
  term: number;
  /** The leader before this change, if there was one. */
  previous: ActorRef | undefined;
  /** Why: the first election, or what happened to the previous leader. */
  reason: 'elected' | 'stopped' | 'crashed' | 'resigned' | 'removed';
}

/** @internal What a swarm needs of the runtime. */
export interface SwarmHost {
  isAlive(ref: ActorRef): boolean;
  tell(ref: ActorRef, msg: unknown): boolean;
  ask(ref: ActorRef, msg: unknown, timeoutMs: number): Promise<unknown>;
  multicast(targets: readonly ActorRef[], msg: unknown): number;
  /**
   * Tells every pool thread the swarm's leader and term; resolves when all
   * running ones applied it. The cluster nodes in `nodes` (those of members
   * of other nodes) are sent it too, not waited for.
   */
  announce(swarm: string, leader: ActorRef | undefined, term: number, nodes: readonly string[]): Promise<void>;
  closed(): boolean;
  /**
   * The last term a swarm of this name had on this node (0: none). A swarm
   * formed again under the name goes on from it: threads (here and on other
   * nodes) never take a term lower than one they know.
   */
  priorTerm(swarm: string): number;
  /** The swarm is dissolved at `term`: the runtime forgets it (its name is free again). */
  forget(swarm: Swarm, term: number): void;
}

/**
 * A member's key (passed over, excluded, distinct): its id, which names its
 * node too (`node/slot.gen`). Slot and generation alone are not enough: an
 * actor of another node can have the same ones as an actor of this node.
 */
const keyOf = (ref: ActorRef): string => ref.id;

/**
 * A named group of member actors (`rt.swarm(options)`): broadcast along its
 * topology, gather, proposals decided by vote, and a leader with terms.
 * Lives on the main thread; see the top of swarm.ts.
 */
export class Swarm {
  /** The swarm's name ({@link SwarmOptions.name}). */
  readonly name: string;
  /** How broadcasts travel and who a member's neighbours are. */
  readonly topology: Topology;
  /** Children per member in a `hierarchical` swarm. */
  readonly fanout: number;
  /** Leader changes (elections after a leader stopped, crashed, resigned or was removed). */
  readonly leaderChanges = new EventSource<LeaderChange>();
  private readonly host: SwarmHost;
  private readonly roster: ActorRef[];
  private readonly electing: boolean;
  private current: ActorRef | undefined;
  private term = 0;
  /** Members passed over for leadership until they are re-added (crashed leaders). */
  private readonly passedOver = new Set<string>();
  private proposals = 0;
  /** Proposals decided, by outcome. */
  private readonly outcomes: Record<Outcome, number> = { approved: 0, rejected: 0, undecided: 0 };
  /** The last announcement, resolved when every running thread knows it. */
  private announced: Promise<void> = Promise.resolve();

  /** @internal */
  constructor(options: SwarmOptions, host: SwarmHost) {
    this.name = options.name;
    this.topology = options.topology ?? 'mesh';
    this.fanout = options.fanout ?? 4;
    this.host = host;
    this.roster = [...options.members];
    this.electing = options.leader ?? true;
    this.term = host.priorTerm(this.name);
    if (this.electing) this.elect('elected');
  }

  /** @internal Checks `rt.swarm` options. */
  static check(options: unknown): SwarmOptions {
    if (options === null || typeof options !== 'object' || Array.isArray(options))
      throw new InvalidOptionError('options', 'an object { name, members, topology? }', options);
    const o = options as Record<string, unknown>;
    for (const key of Object.keys(o)) {
      if (!['name', 'members', 'topology', 'fanout', 'leader'].includes(key))
        throw new InvalidOptionError(key, 'one of name, members, topology, fanout, leader', o[key]);
    }
    if (typeof o.name !== 'string' || o.name.length === 0 || o.name.length > 256)
      throw new InvalidOptionError('name', 'a non-empty string of at most 256 characters', o.name);
    if (!Array.isArray(o.members) || o.members.some((m) => !(m instanceof ActorRef))) {
      throw new InvalidOptionError('members', 'an array of ActorRefs', o.members);
    }
    const keys = new Set((o.members as ActorRef[]).map(keyOf));
    if (keys.size !== o.members.length) throw new InvalidOptionError('members', 'distinct actors (one appears twice)', o.members);
    if (o.topology !== undefined && !topologies.includes(o.topology as Topology)) {
      throw new InvalidOptionError('topology', `one of ${topologies.map((t) => `'${t}'`).join(', ')}`, o.topology);
    }
    if (o.fanout !== undefined && (typeof o.fanout !== 'number' || !Number.isInteger(o.fanout) || o.fanout < 1 || o.fanout > 1024)) {
      throw new InvalidOptionError('fanout', 'an integer from 1 to 1024', o.fanout);
    }
    if (o.leader !== undefined && typeof o.leader !== 'boolean') throw new InvalidOptionError('leader', 'a boolean', o.leader);
    return o as unknown as SwarmOptions;
  }

  // ------------------------------------------------------------- membership

  /** Live members, in membership order (the order topologies are built in). */
  members(): ActorRef[] {
    return this.roster.filter((m) => this.host.isAlive(m));
  }

  /** Adds a member (at the end of the order). */
  add(ref: ActorRef): void {
    this.checkRef(ref, 'ref');
    if (this.roster.some((m) => m.equals(ref))) return;
    this.roster.push(ref);
    this.passedOver.delete(keyOf(ref));
    if (this.electing && this.current === undefined) this.elect('elected');
    // A member of a node that had none here yet: that node learns the current term.
    else if (ref.node !== undefined && this.current !== undefined) this.reannounce();
  }

  /** Removes a member; a removed leader is replaced at once. */
  remove(ref: ActorRef): boolean {
    this.checkRef(ref, 'ref');
    const at = this.roster.findIndex((m) => m.equals(ref));
    if (at < 0) return false;
    this.roster.splice(at, 1);
    if (this.current?.equals(ref)) this.elect('removed');
    return true;
  }

  /** The neighbours of a member by the topology, among live members. */
  neighbors(ref: ActorRef): ActorRef[] {
    this.checkRef(ref, 'ref');
    const live = this.members();
    const at = live.findIndex((m) => m.equals(ref));
    if (at < 0) throw new InvalidArgumentError('ref', `a live member of swarm "${this.name}"`, ref.toString());
    return neighbors(this.topology, live.length, at, this.fanout).map((i) => live[i]);
  }

  // ------------------------------------------------------------- broadcast and gather

  /**
   * Sends `msg` to every live member along the topology: `mesh` and
   * `centralized` send to each directly (one multicast: encoded once, one
   * frame per thread); `star` to the hub, which relays to the others;
   * `ring` to the first member, each passing it to its successor;
   * `hierarchical` down the tree, level by level. A relaying member passes
   * it on before it handles it, skipping dead members (their children are
   * reached instead). Members receive `msg` itself. Returns the number of
   * live members it is meant for.
   */
  broadcast(msg: unknown): number {
    this.checkOpen('broadcast');
    const live = this.members();
    if (live.length === 0) return 0;
    const fanout = relayFanout(this.topology, live.length, this.fanout);
    if (fanout === 'direct') {
      this.host.multicast(live, msg);
      return live.length;
    }
    // The first live member heads the relay; one that cannot take it (died
    // since, full mailbox) is passed over: its children are sent to instead.
    const alive = (p: number) => this.host.isAlive(live[p]);
    relayTo([0], fanout, live.length, alive, (p) => alive(p) && this.host.tell(live[p], new Relay(this.name, live, fanout, p, msg)));
    return live.length;
  }

  /**
   * Asks every live member `request` and collects the answers: replies,
   * errors, and the silent (no answer within `timeoutMs`, or gone).
   */
  async gather<Reply = unknown>(request: unknown, options: { timeoutMs?: number } = {}): Promise<GatherResult<Reply>> {
    this.checkOpen('gather');
    const timeoutMs = checkTimeout(options);
    const started = performance.now();
    // Every member: one that is gone is silent.
    const all = [...this.roster];
    const settled = await Promise.allSettled(all.map((m) => this.host.ask(m, request, timeoutMs)));
    const result: GatherResult<Reply> = { replies: [], errors: [], silent: [], ms: 0 };
    settled.forEach((s, i) => {
      if (s.status === 'fulfilled') result.replies.push({ member: all[i], value: s.value as Reply });
      else if (isSilence(s.reason)) result.silent.push(all[i]);
      else result.errors.push({ member: all[i], error: s.reason as Error });
    });
    result.ms = performance.now() - started;
    return result;
  }

  // ------------------------------------------------------------- voting

  /**
   * Puts `value` to the members (their `vote` handlers) and decides by
   * `quorum` (see voting.ts): `'majority'` (default), `'unanimous'`, a
   * number of approvals, or `'bft'` (tolerates f faulty voters out of
   * n >= 3f + 1; asks twice to catch equivocation). Every member asked
   * counts in n, live or not: a member that is gone is silent. Resolves
   * with the outcome and the evidence; never rejects for what members do.
   */
  async propose<Value>(value: Value, options: { quorum?: Quorum; timeoutMs?: number } = {}): Promise<ProposalResult<Value>> {
    this.checkOpen('propose');
    const quorum = options.quorum ?? 'majority';
    const n = this.roster.length;
    if (!(quorumKinds as readonly unknown[]).includes(quorum) && (typeof quorum !== 'number' || !Number.isInteger(quorum) || quorum < 1 || quorum > n)) {
      throw new InvalidArgumentError('quorum', `'majority', 'unanimous', 'bft' or an integer from 1 to the member count (${n})`, quorum);
    }
    const timeoutMs = checkTimeout(options);
    const id = `${this.name}#${++this.proposals}`;
    const started = performance.now();
    const members = [...this.roster];
    const answers: Answers[] = members.map((m) => ({ member: m.toString(), rounds: [], ms: undefined }));
    const rounds = quorum === 'bft' ? 2 : 1;
    for (let round = 1; round <= rounds; round++) {
      await this.collect(members, answers, id, value, round, timeoutMs, quorum);
    }
    const result = tally(quorum, id, answers);
    this.outcomes[result.outcome]++;
    return { ...result, id, value, quorum, members: n, ms: performance.now() - started };
  }

  /** One round: ask every member; stop early once the outcome cannot change (not for bft). */
  private collect(members: ActorRef[], answers: Answers[], id: string, value: unknown, round: number, timeoutMs: number, quorum: Quorum): Promise<void> {
    const started = performance.now();
    return new Promise((resolve) => {
      let pending = members.length;
      let approvals = 0;
      let rejections = 0;
      let done = false;
      const finish = () => {
        if (done) return;
        done = true;
        // Those not heard from yet were not waited for: listed as pending, not silent.
        if (pending > 0) {
          answers.forEach((a, i) => {
            if (a.rounds[round - 1] === undefined && a.ms === undefined && this.host.isAlive(members[i])) a.pending = true;
          });
        }
        resolve();
      };
      if (pending === 0) finish();
      members.forEach((member, i) => {
        answers[i].rounds[round - 1] = undefined;
        if (!this.host.isAlive(member)) {
          if (--pending === 0) finish();
          return;
        }
        this.host.ask(member, new Proposal(this.name, id, value, round), timeoutMs).then(
          (answer) => {
            if (done) return;
            answers[i].rounds[round - 1] = answer;
            answers[i].ms ??= performance.now() - started;
            // Only a vote that counts can settle the proposal early.
            const read = readAnswer(answer, id);
            if ('approve' in read) {
              if (read.approve) approvals++;
              else rejections++;
            }
            if (--pending === 0 || settled(quorum, approvals, rejections, members.length)) finish();
          },
          (error: unknown) => {
            if (done) return;
            // A handler that threw voted badly; a timeout, crash or stop is silence.
            if (!isSilence(error)) answers[i].rounds[round - 1] = error instanceof Error ? error : new Error(String(error));
            if (--pending === 0) finish();
          },
        );
      });
    });
  }

  /** @internal What metrics read (src/observe): members, proposals by outcome, leader changes, the term. */
  counts(): { members: number; proposals: Readonly<Record<Outcome, number>>; leaderChanges: number; term: number } {
    return { members: this.roster.length, proposals: this.outcomes, leaderChanges: this.leaderChanges.count, term: this.term };
  }

  // ------------------------------------------------------------- leadership

  /** The current leader and its term, or undefined (no live member, or `leader: false`). */
  leader():
    | {
        /** The leading member. */
        leader: ActorRef;
        /** Its term. */
        term: number;
      }
    | undefined {
    return this.current === undefined ? undefined : { leader: this.current, term: this.term };
  }

  /**
   * Resolves when every running thread of this node has applied the latest
   * leader announcement. The nodes of members of other nodes are sent it
   * too, and apply it when it arrives; that is not waited for.
   */
  whenAnnounced(): Promise<void> {
    return this.announced;
  }

  /** The leader gives up leadership: the next live member takes over (a new term). */
  resign(): void {
    if (this.current !== undefined) this.passedOver.add(keyOf(this.current));
    this.elect('resigned');
  }

  /**
   * @internal The runtime's failure detection: a member stopped, or the
   * thread of some members died (`crashed` lists them). A leader among them
   * is replaced; a crashed one is passed over (its state was lost) until re-added.
   */
  membersLost(lost: readonly ActorRef[], reason: 'stopped' | 'crashed'): void {
    if (!this.electing || this.current === undefined) return;
    const leader = this.current;
    if (!lost.some((r) => r.equals(leader))) return;
    if (reason === 'crashed') this.passedOver.add(keyOf(leader));
    // Its thread-mates lost their state too: none of them takes over now.
    this.elect(reason, new Set(lost.map(keyOf)));
  }

  /** @internal Periodic check: a leader that stopped is replaced. */
  check(): void {
    if (this.electing && this.current !== undefined && !this.host.isAlive(this.current)) this.elect('stopped');
    else if (this.electing && this.current === undefined && this.members().length > 0) this.elect('elected');
  }

  /** @internal A thread came back after a crash: it needs the current term again. */
  reannounce(): void {
    if (this.electing) this.announced = this.host.announce(this.name, this.current, this.term, this.nodes());
  }

  /**
   * Elects the first live member in membership order not passed over (a
   * bully election by rank: deterministic, no messages between members
   * needed, since the main thread sees every member's liveness). A new
   * term every time; every thread learns it, so fenced messages from an
   * older term are refused everywhere.
   */
  private elect(reason: LeaderChange['reason'], exclude?: ReadonlySet<string>): void {
    const previous = this.current;
    const live = this.members();
    const next =
      live.find((m) => !this.passedOver.has(keyOf(m)) && exclude?.has(keyOf(m)) !== true) ?? live.find((m) => exclude?.has(keyOf(m)) !== true) ?? live[0];
    if (next === undefined && previous === undefined) return;
    if (next !== undefined && previous !== undefined && next.equals(previous) && reason === 'elected') return;
    this.current = next;
    this.term++;
    this.announced = this.host.announce(this.name, next, this.term, this.nodes());
    this.leaderChanges.publish({ swarm: this.name, leader: next, term: this.term, previous, reason });
  }

  /** Dissolves the swarm: no more leader tracking; its name can be used again. Members are not touched. */
  dissolve(): void {
    this.host.forget(this, this.term);
  }

  // ------------------------------------------------------------- helpers

  /** The other cluster nodes with members in the roster, each once. */
  private nodes(): string[] {
    const nodes = new Set<string>();
    for (const m of this.roster) if (m.node !== undefined) nodes.add(m.node);
    return [...nodes];
  }

  private checkOpen(what: string): void {
    if (this.host.closed()) throw new RuntimeClosedError(`swarm.${what}`);
  }

  private checkRef(ref: unknown, option: string): void {
    if (ref === null || typeof ref !== 'object' || typeof (ref as ActorRef).slot !== 'number' || typeof (ref as ActorRef).equals !== 'function') {
      throw new InvalidArgumentError(option, 'an ActorRef', ref);
    }
  }
}

function checkTimeout(options: { timeoutMs?: number }): number {
  if (options === null || typeof options !== 'object') throw new InvalidArgumentError('options', 'an object', options);
  const t = options.timeoutMs ?? 1000;
  if (typeof t !== 'number' || !Number.isFinite(t) || t <= 0) throw new InvalidArgumentError('timeoutMs', 'a finite number above 0', options.timeoutMs);
  return t;
}

/** A timeout, a crash, a stop, or (a member of another node) its node gone: the member said nothing. */
function isSilence(error: unknown): boolean {
  const name = (error as { name?: string } | null)?.name;
  return (
    name === 'AskTimeoutError' ||
    name === 'ActorCrashedError' ||
    name === 'ActorStoppedError' ||
    name === 'RuntimeClosedError' ||
    name === 'NodeUnreachableError'
  );
}
