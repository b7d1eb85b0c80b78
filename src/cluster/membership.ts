/**
 * Cluster membership over a NATS KV bucket (`microswarm_<cluster>_members`).
 * The protocol (all nodes of a cluster must use the same timing):
 *
 * - **Heartbeat.** A node's key is its node name, its value the JSON record
 *   `{ incarnation, joinedAt, beat, meta, load }`, rewritten every `heartbeatMs` by
 *   `kv.update(key, value, revision)`: a compare-and-set on the revision the
 *   node last wrote, so a beat never overwrites what another node wrote.
 * - **Expiry is ours.** nats-server 2.9 has no per-key TTL and tells watchers
 *   nothing about expiry, so every node watches the bucket and notes the LOCAL
 *   monotonic time at which it last saw each key change; other machines'
 *   clocks are never compared (`joinedAt` is information only). Silent for
 *   `suspectAfterMs`: `unreachable`, `reachable` again on its next beat. Time
 *   this node could not observe is not silence: while its connection is down,
 *   across a stall of its own event loop, and a reconnect restarts every clock.
 * - **Down, decided once.** Silent for `downAfterMs`: the node overwrites the
 *   key with the down marker `{ down: true, by, incarnation }` by a
 *   compare-and-set on the revision it last saw (one observer wins; a member
 *   that beat in between keeps its key), then deletes it with `previousSeq` =
 *   the marker's revision. Watchers report `left` 'down' on the marker, `left`
 *   'left' on a delete no marker preceded (`leave()`). The bucket keeps 3
 *   revisions per key, so a watch resumed after a reconnect still sees both.
 * - **Joining.** `kv.create` claims a free name. A key holding a record is
 *   observed for up to `downAfterMs`: its revision moves (the owner beats) =
 *   `NodeNameTakenError`; it stays still (the owner died) = taken over by a
 *   compare-and-set, as a down marker or a malformed value is at once.
 * - **Declared down while alive.** A node that finds its own key changed by
 *   others (on the watch, or by a failed heartbeat compare-and-set) publishes
 *   `{ type: 'left', node: self, reason: 'down' }`, joins again under a new
 *   incarnation and publishes `{ type: 'joined', node: self }`; the others see
 *   the same pair. If a live process holds the name by then, it stops, as
 *   `close()` would.
 *
 * Values in the bucket are bytes another process wrote: a malformed one is
 * counted in `badValues` and never makes a member (a member whose key turns
 * malformed is silent, and goes down).
 */
import { randomUUID } from 'node:crypto';
import { type KV, type KvEntry, Kvm } from '@nats-io/kv';
import type { NatsConnection, QueuedIterator } from '@nats-io/transport-node';
import { checkKeys, isPlainObject } from '../base/check.js';
import { InvalidArgumentError, InvalidOptionError, NodeNameTakenError } from '../base/errors.js';
import { EventSource } from '../base/events.js';
import { checkName, createShared, isIncarnation, isName, isWrongLastSequence, parseJson } from './kv.js';
import type { ClusterTiming, JoinOptions, MemberEvent, MemberInfo } from './member-types.js';

export type { ClusterTiming, JoinOptions, MemberEvent, MemberInfo } from './member-types.js';
export { defaultClusterTiming } from './member-types.js';

const kMaxMetaBytes = 16 * 1024;
/** Revisions kept per key: a marker and the delete after it both survive for a resumed watch. */
const kHistory = 3;
const kMaxValueBytes = 64 * 1024;
const kMaxTimingMs = 3_600_000;
/** Attempts of one claim before giving up (each one lost a compare-and-set race). */
const kClaimAttempts = 8;

function checkTiming(timing: unknown): ClusterTiming {
  if (!isPlainObject(timing)) throw new InvalidOptionError('timing', 'an object { heartbeatMs, suspectAfterMs, downAfterMs }', timing);
  checkKeys('timing', timing, ['heartbeatMs', 'suspectAfterMs', 'downAfterMs']);
  const ms = (name: keyof ClusterTiming, min: number, expected: string): number => {
    const value = timing[name];
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > kMaxTimingMs) {
      throw new InvalidOptionError(`timing.${name}`, `an integer from ${min} to ${kMaxTimingMs}${expected}`, value);
    }
    return value;
  };
  const heartbeatMs = ms('heartbeatMs', 1, '');
  const suspectAfterMs = ms('suspectAfterMs', heartbeatMs + 1, ' (above timing.heartbeatMs)');
  const downAfterMs = ms('downAfterMs', suspectAfterMs + 1, ' (above timing.suspectAfterMs)');
  return { heartbeatMs, suspectAfterMs, downAfterMs };
}

function checkMeta(meta: unknown): Record<string, unknown> {
  if (meta === undefined) return {};
  const expected = `a plain object of JSON values (at most ${kMaxMetaBytes} bytes as JSON)`;
  if (!isPlainObject(meta)) throw new InvalidOptionError('meta', expected, meta);
  let json: string;
  try {
    json = JSON.stringify(meta);
  } catch {
    throw new InvalidOptionError('meta', expected, meta);
  }
  if (Buffer.byteLength(json) > kMaxMetaBytes) throw new InvalidOptionError('meta', expected, meta);
  return Object.freeze(JSON.parse(json) as Record<string, unknown>);
}

type Parsed =
  | { kind: 'member'; incarnation: string; joinedAt: number; meta: Record<string, unknown>; load: number }
  | { kind: 'down'; incarnation: string }
  | { kind: 'bad' };

/** Validates a member record or a down marker read from the bucket. */
function parseValue(bytes: Uint8Array): Parsed {
  const value = parseJson(bytes);
  if (!isPlainObject(value)) return { kind: 'bad' };
  const { incarnation } = value;
  if (!isIncarnation(incarnation)) return { kind: 'bad' };
  if (value.down === true) return typeof value.by === 'string' ? { kind: 'down', incarnation } : { kind: 'bad' };
  const { joinedAt, beat, meta, load = 0 } = value;
  const valid = typeof joinedAt === 'number' && Number.isFinite(joinedAt) && joinedAt >= 0 && isCount(beat) && isCount(load);
  return valid && isPlainObject(meta) ? { kind: 'member', incarnation, joinedAt, meta, load: load as number } : { kind: 'bad' };
}

function isCount(value: unknown): value is number {
  return Number.isSafeInteger(value) && (value as number) >= 0;
}

/**
 * Another member as this node tracks it: `revision`, the last of its key seen (a malformed value's counts: the
 * down marker is set over it); `seenAt`, the local monotonic time of its last beat seen; `downing`, a down attempt
 * is in flight.
 */
interface Tracked {
  info: MemberInfo;
  /** The load its last beat reported. */
  load: number;
  revision: number;
  seenAt: number;
  unreachable: boolean;
  downing: boolean;
}

type State = 'joining' | 'member' | 'rejoining' | 'leaving' | 'closed';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms).unref());

/**
 * This node's membership of a cluster: its heartbeat, and its view of the
 * other members (see the protocol at the top of this file).
 *
 * @example
 * const membership = await Membership.join(nc, { cluster: 'prod', node: 'web-1', timing: defaultClusterTiming });
 * membership.events.subscribe((event) => console.log(event));
 * // ...
 * await membership.leave();
 */
export class Membership {
  /** Changes of membership seen after `join` resolved (`members()` gives the set at that point). */
  readonly events = new EventSource<MemberEvent>();
  /** Values in the bucket that were not a valid record or marker (ignored). */
  badValues = 0;
  /** What this node reports as its load (a count, e.g. its active entities) in each heartbeat. */
  load: () => number = () => 0;

  private state: State = 'joining';
  private info: MemberInfo;
  private beatCount = 0;
  /** The revision of this node's key as it last wrote (or saw) it. */
  private ownRevision = 0;
  private readonly others = new Map<string, Tracked>();
  /** Last revision handled per key, so an entry seen twice (a resumed watch, a read) is handled once. */
  private readonly handled = new Map<string, number>();
  /** Highest revision the watch has shown. */
  private highest = 0;
  /** Join waits for the watch to show its own write. */
  private joinWaiter: { revision: number; resolve: () => void } | undefined;
  private connected = true;
  /** Reconnects of the NATS connection since start. */
  reconnects = 0;
  private watch: QueuedIterator<KvEntry> | undefined;
  private watchGeneration = 0;
  private status: { stop?: () => void } | undefined;
  private beatTimer: NodeJS.Timeout | undefined;
  private checkTimer: NodeJS.Timeout | undefined;
  private lastCheckAt = 0;
  private beating: Promise<void> | undefined;
  private readonly checkMs: number;

  private constructor(
    private readonly nc: NatsConnection,
    private readonly kv: KV,
    private readonly node: string,
    private readonly timing: ClusterTiming,
    private readonly meta: Record<string, unknown>,
  ) {
    this.info = this.newIncarnation();
    this.checkMs = Math.max(5, Math.floor(timing.heartbeatMs / 2));
  }

  /**
   * Joins `cluster` as `node`: opens (or creates) the members bucket, claims
   * the node's key and resolves once the watch has caught up with it, so
   * `members()` already lists every member present. Rejects with
   * `NodeNameTakenError` when a live member holds the name, and with
   * `InvalidOptionError` for bad options.
   */
  static async join(nc: NatsConnection, options: JoinOptions): Promise<Membership> {
    if (nc === null || typeof nc !== 'object') throw new InvalidArgumentError('nc', 'a NatsConnection', nc);
    if (!isPlainObject(options)) throw new InvalidArgumentError('options', 'an object { cluster, node, timing, meta? }', options);
    checkKeys('options', options, ['cluster', 'node', 'timing', 'meta']);
    const cluster = checkName('cluster', options.cluster);
    const node = checkName('node', options.node);
    const timing = checkTiming(options.timing);
    const meta = checkMeta(options.meta);
    const kv = await createShared(() => new Kvm(nc).create(`microswarm_${cluster}_members`, { history: kHistory, maxValueSize: kMaxValueBytes }));
    const membership = new Membership(nc, kv, node, timing, meta);
    await membership.start();
    return membership;
  }

  /** This node as the cluster sees it (a new incarnation after being declared down and joining again). */
  get self(): MemberInfo {
    return this.info;
  }

  /** Live members (not declared down, not left), this node included while it is a member, sorted by node name. */
  members(): MemberInfo[] {
    const list = [...this.others.values()].map((tracked) => tracked.info);
    if (this.state === 'member') list.push(this.info);
    return list.sort((a, b) => (a.node < b.node ? -1 : a.node > b.node ? 1 : 0));
  }

  /** The load `node` reported in its last heartbeat (this node: its load now); undefined when it is not a member. */
  loadOf(node: string): number | undefined {
    if (node === this.node) return this.state === 'member' ? this.load() : undefined;
    return this.others.get(node)?.load;
  }

  /** True when `node` is a live member (this node: while it is one). */
  isMember(node: string): boolean {
    return node === this.node ? this.state === 'member' : this.others.has(node);
  }

  /**
   * Whether `node`'s key in the members bucket holds a member record now, of `incarnation` when it is given: one KV
   * read, the authoritative answer, not this node's view (which may not show a node that joined a moment ago). A
   * member killed but not declared down yet still counts.
   */
  async holds(node: string, incarnation: string | undefined): Promise<boolean> {
    const entry = await this.kv.get(node);
    if (entry === null || entry.operation !== 'PUT') return false;
    const parsed = parseValue(entry.value);
    return parsed.kind === 'member' && (incarnation === undefined || parsed.incarnation === incarnation);
  }

  /**
   * Leaves gracefully: deletes this node's key (compare-and-set, so a key
   * another node wrote since is left alone), stops beating and watching.
   * The others, and this node's `events`, report `left` with reason 'left'.
   */
  async leave(): Promise<void> {
    if (this.state === 'closed' || this.state === 'leaving') return;
    const wasMember = this.state === 'member';
    this.state = 'leaving'; // the timers' callbacks do nothing from now on
    try {
      await this.beating;
      if (wasMember) await this.deleteOwnKey();
    } finally {
      this.close();
      if (wasMember) this.events.publish({ type: 'left', node: this.node, reason: 'left' });
    }
  }

  /** Stops beating and watching without deleting the key (the others will declare this node down). */
  close(): void {
    this.state = 'closed';
    clearInterval(this.beatTimer);
    clearInterval(this.checkTimer);
    this.watchGeneration++;
    this.watch?.stop();
    this.status?.stop?.();
    this.joinWaiter?.resolve();
  }

  private newIncarnation(): MemberInfo {
    this.beatCount = 0;
    return Object.freeze({ node: this.node, incarnation: randomUUID(), joinedAt: Date.now(), meta: this.meta });
  }

  private encodeSelf(): string {
    const { incarnation, joinedAt, meta } = this.info;
    return JSON.stringify({ incarnation, joinedAt, beat: this.beatCount++, meta, load: this.load() });
  }

  private async start(): Promise<void> {
    try {
      await this.startWatch(0);
      this.ownRevision = await this.claim();
      // The watch delivers in revision order: once it has shown this node's own write, it has shown every member before it.
      const guardMs = Math.max(5_000, 2 * this.timing.downAfterMs);
      let timer: NodeJS.Timeout | undefined;
      await new Promise<void>((resolve, reject) => {
        timer = setTimeout(() => reject(new Error(`the members watch did not show this node's key within ${guardMs} ms`)), guardMs);
        this.joinWaiter = { revision: this.ownRevision, resolve };
        this.advance(0);
      }).finally(() => clearTimeout(timer));
    } catch (err) {
      this.close();
      throw err;
    }
    if (this.state !== 'joining') throw new Error('the membership was closed while joining');
    this.state = 'member';
    void this.watchStatus();
    void this.nc.closed().then(() => this.close());
    this.lastCheckAt = performance.now();
    this.beatTimer = setInterval(() => void this.beat(), this.timing.heartbeatMs).unref();
    this.checkTimer = setInterval(() => this.check(), this.checkMs).unref();
  }

  /**
   * Claims this node's key for the current incarnation; returns the revision written.
   * See "Joining" at the top of this file.
   */
  private async claim(): Promise<number> {
    for (let attempt = 0; attempt < kClaimAttempts; attempt++) {
      try {
        return await this.kv.create(this.node, this.encodeSelf());
      } catch (err) {
        if (!isWrongLastSequence(err)) throw err;
      }
      const entry = await this.kv.get(this.node);
      if (entry === null || entry.operation !== 'PUT') continue;
      if (parseValue(entry.value).kind === 'member') {
        const later = await this.observe(entry.revision);
        if (later !== undefined) {
          if (later !== null && later.operation === 'PUT' && parseValue(later.value).kind === 'member') throw new NodeNameTakenError(this.node);
          continue;
        }
      }
      // A down marker, a malformed value, or a record that stayed still for downAfterMs: take it over.
      try {
        return await this.kv.update(this.node, this.encodeSelf(), entry.revision);
      } catch (err) {
        if (!isWrongLastSequence(err)) throw err;
      }
    }
    throw new NodeNameTakenError(this.node);
  }

  /**
   * Watches this node's key at `revision` for `downAfterMs`: the entry it
   * changed to (null when it vanished), or undefined when it stayed still.
   */
  private async observe(revision: number): Promise<KvEntry | null | undefined> {
    const deadline = performance.now() + this.timing.downAfterMs;
    const pollMs = Math.max(5, Math.floor(this.timing.heartbeatMs / 2));
    while (performance.now() < deadline) {
      await sleep(Math.min(pollMs, Math.max(1, deadline - performance.now())));
      const entry = await this.kv.get(this.node);
      if (entry === null || entry.revision !== revision) return entry;
    }
    return undefined;
  }

  private async startWatch(fromRevision: number): Promise<void> {
    const generation = ++this.watchGeneration;
    const watch = await this.kv.watch(fromRevision > 0 ? { resumeFromRevision: fromRevision } : {});
    if (generation !== this.watchGeneration) {
      watch.stop();
      return;
    }
    const previous = this.watch;
    this.watch = watch;
    previous?.stop();
    void (async () => {
      try {
        for await (const entry of watch) {
          this.handle(entry);
          this.advance(entry.revision);
        }
      } catch {
        // The watch failed (its consumer could not be recreated): start another below.
      }
      if (generation === this.watchGeneration && this.state !== 'closed') void this.restartWatch();
    })();
  }

  /** Starts a new watch from the last revision seen, retrying each heartbeat until it is up. */
  private async restartWatch(): Promise<void> {
    while (this.state !== 'closed') {
      try {
        await this.startWatch(this.highest + 1);
        return;
      } catch {
        await sleep(this.timing.heartbeatMs);
      }
    }
  }

  /** @internal The NATS connection is up: not closed, not between a disconnect and its reconnect (`/readyz`). */
  get online(): boolean {
    return this.connected && this.state !== 'closed';
  }

  /** Follows the connection: silence is not counted while disconnected, and a reconnect gives every member a fresh `downAfterMs`. */
  private async watchStatus(): Promise<void> {
    const status = this.nc.status();
    this.status = status as { stop?: () => void };
    try {
      for await (const event of status) {
        if (this.state === 'closed') break;
        if (event.type === 'disconnect') this.connected = false;
        else if (event.type === 'reconnect') {
          this.connected = true;
          this.reconnects++;
          const now = performance.now();
          for (const tracked of this.others.values()) tracked.seenAt = now;
          // The server may have lost the watch's consumer (another server, a memory store): do not wait for the client's own 10 s reset.
          void this.restartWatch();
          void this.beat();
        }
      }
    } catch {
      // The connection closed: nc.closed() closes this membership.
    }
  }

  /** Notes how far the watch has shown the bucket (only the watch: a read may be ahead of it, and a resumed watch starts here). */
  private advance(revision: number): void {
    if (revision > this.highest) this.highest = revision;
    if (this.joinWaiter !== undefined && this.joinWaiter.revision <= this.highest) {
      this.joinWaiter.resolve();
      this.joinWaiter = undefined;
    }
  }

  /**
   * Handles one entry of the bucket, from the watch or a read: another
   * member's key once per revision; this node's own key against the revision
   * it last wrote (a read after a failed beat must be handled even if the
   * watch showed the same entry while this node was not yet a member).
   */
  private handle(entry: KvEntry): void {
    if (entry.key === this.node) this.handleOwn(entry);
    else if ((this.handled.get(entry.key) ?? 0) < entry.revision) {
      this.handled.set(entry.key, entry.revision);
      this.handleOther(entry);
    }
  }

  private handleOwn(entry: KvEntry): void {
    if (this.state !== 'member' || entry.revision <= this.ownRevision) return;
    const parsed = entry.operation === 'PUT' ? parseValue(entry.value) : undefined;
    if (parsed?.kind === 'member' && parsed.incarnation === this.info.incarnation) {
      // A beat of ours whose answer has not come back yet (or was lost).
      this.ownRevision = entry.revision;
      return;
    }
    if (parsed?.kind === 'bad') this.badValues++;
    this.ousted();
  }

  private handleOther(entry: KvEntry): void {
    const node = entry.key;
    const tracked = this.others.get(node);
    if (entry.operation !== 'PUT') {
      if (tracked !== undefined) this.drop(node, 'left');
      return;
    }
    const parsed = isName(node) ? parseValue(entry.value) : ({ kind: 'bad' } as const);
    if (parsed.kind === 'bad') {
      this.badValues++;
      if (tracked !== undefined) tracked.revision = entry.revision;
      return;
    }
    if (parsed.kind === 'down') {
      if (tracked !== undefined) this.drop(node, 'down');
      return;
    }
    if (tracked !== undefined && tracked.info.incarnation === parsed.incarnation) {
      tracked.revision = entry.revision;
      tracked.load = parsed.load;
      tracked.seenAt = performance.now();
      if (tracked.unreachable) {
        tracked.unreachable = false;
        this.events.publish({ type: 'reachable', node });
      }
      return;
    }
    // A new incarnation under a tracked name took over a dead one's key: the old one is gone.
    if (tracked !== undefined) this.drop(node, 'down');
    const info = Object.freeze({ node, incarnation: parsed.incarnation, joinedAt: parsed.joinedAt, meta: parsed.meta });
    this.others.set(node, { info, load: parsed.load, revision: entry.revision, seenAt: performance.now(), unreachable: false, downing: false });
    this.events.publish({ type: 'joined', node });
  }

  private drop(node: string, reason: 'left' | 'down'): void {
    this.others.delete(node);
    this.events.publish({ type: 'left', node, reason });
  }

  /** Every `checkMs`: report silent members, declare the long-silent ones down. */
  private check(): void {
    if (this.state !== 'member') return;
    const now = performance.now();
    // A late timer means this process stalled: time it could not observe is not the members' silence.
    const stall = now - this.lastCheckAt - this.checkMs;
    this.lastCheckAt = now;
    if (stall > this.checkMs) for (const tracked of this.others.values()) tracked.seenAt += stall;
    if (!this.connected) return;
    for (const [node, tracked] of this.others) {
      const silentMs = now - tracked.seenAt;
      if (silentMs >= this.timing.suspectAfterMs && !tracked.unreachable) {
        tracked.unreachable = true;
        this.events.publish({ type: 'unreachable', node, silentMs: Math.round(silentMs) });
      }
      if (silentMs >= this.timing.downAfterMs && !tracked.downing) void this.declareDown(node, tracked);
    }
  }

  /** The two compare-and-set steps of "Down, decided once" (top of this file). */
  private async declareDown(node: string, tracked: Tracked): Promise<void> {
    tracked.downing = true;
    try {
      const marker = JSON.stringify({ down: true, by: this.node, incarnation: tracked.info.incarnation });
      const markerRevision = await this.kv.update(node, marker, tracked.revision);
      await this.kv.delete(node, { previousSeq: markerRevision });
    } catch (err) {
      // Lost a race (the member beat, another node downed it, or it rejoined): read what is there now.
      if (isWrongLastSequence(err)) await this.refresh(node);
    } finally {
      tracked.downing = false;
    }
  }

  /** Reads `key` and handles what is there now (a read can be ahead of the watch). */
  private async refresh(key: string): Promise<void> {
    try {
      const entry = await this.kv.get(key);
      if (entry !== null) this.handle(entry);
      else if (key === this.node) this.ousted();
    } catch {
      // Disconnected: the watch catches up after the reconnect.
    }
  }

  private beat(): Promise<void> {
    if (this.beating !== undefined || this.state !== 'member') return this.beating ?? Promise.resolve();
    const incarnation = this.info.incarnation;
    this.beating = (async () => {
      try {
        const revision = await this.kv.update(this.node, this.encodeSelf(), this.ownRevision, this.timing.suspectAfterMs);
        if (this.info.incarnation === incarnation && revision > this.ownRevision) this.ownRevision = revision;
      } catch (err) {
        // Someone wrote our key (a down marker?), or a beat whose answer was lost moved the revision: read it.
        if (isWrongLastSequence(err) && this.state === 'member' && this.info.incarnation === incarnation) await this.refresh(this.node);
        // Anything else (disconnected, a timeout): the next beat tries again.
      } finally {
        this.beating = undefined;
      }
    })();
    return this.beating;
  }

  /** This node's key was changed by someone else: report it and join again (see the top of this file). */
  private ousted(): void {
    if (this.state !== 'member') return;
    this.state = 'rejoining';
    this.events.publish({ type: 'left', node: this.node, reason: 'down' });
    void this.rejoin();
  }

  private async rejoin(): Promise<void> {
    while (this.state === 'rejoining') {
      await this.beating;
      this.info = this.newIncarnation();
      try {
        const revision = await this.claim();
        if (this.state !== 'rejoining') return;
        this.ownRevision = revision;
        this.state = 'member';
        this.events.publish({ type: 'joined', node: this.node });
        return;
      } catch (err) {
        if (err instanceof NodeNameTakenError) {
          this.close();
          return;
        }
        await sleep(this.timing.heartbeatMs);
      }
    }
  }

  /** Deletes this node's key if it still holds this incarnation (a beat whose answer was lost may have moved its revision). */
  private async deleteOwnKey(): Promise<void> {
    for (let revision = this.ownRevision, attempt = 0; attempt < kClaimAttempts; attempt++) {
      try {
        return await this.kv.delete(this.node, { previousSeq: revision });
      } catch (err) {
        if (!isWrongLastSequence(err)) throw err;
      }
      const entry = await this.kv.get(this.node);
      const parsed = entry?.operation === 'PUT' ? parseValue(entry.value) : undefined;
      if (parsed?.kind !== 'member' || parsed.incarnation !== this.info.incarnation) return;
      revision = entry!.revision;
    }
  }
}
