/**
 * Cluster entities (Orleans grains, Akka Cluster Sharding): actors named by
 * (module, key), activated where placement puts them when a message comes,
 * passivated when idle, activated again from their last checkpoint.
 *
 * - **Placement** (placement.ts): rendezvous hashing over the live members
 *   (every node computes the same owner for a key, with no table to share),
 *   or least-loaded; hints send an entity's messages to where it is held.
 * - **At most one activation.** An activation holds a lease in the
 *   entities bucket (JetStream KV): `{ node, incarnation, epoch }` and where
 *   its snapshot is (`snap` inline, or `obj`, an object of the object store:
 *   see snapshots.ts) under the entity's key. It is taken by
 *   compare-and-set: created when free, taken over (epoch + 1) only from a
 *   holder that is not a live member (or that released it). A node that
 *   receives a message for an entity whose lease a live member holds
 *   forwards it there, so an entity stays where it is until it is
 *   passivated, even when a new member would now be its owner.
 * - **Checkpoints and fencing.** For a module with `snapshot`/`restore`,
 *   the activation writes its snapshot into its lease (or into an object
 *   the lease then names) after the messages it handles (one write at a
 *   time; what was handled meanwhile goes in the next), each write a
 *   compare-and-set on the revision it holds: a holder that was deposed
 *   (declared down while alive, its lease taken over) fails its next
 *   write, stops its activation and forwards what it still had to the new
 *   holder. A write whose outcome is unknown (the KV update failed without
 *   an answer) stops the activation too: its revision, and whether the
 *   lease names its object, are unknown. A new activation starts from the
 *   last snapshot written (`restore`), else `init({ key })`; a snapshot
 *   that cannot be read (its object missing or corrupt, the lease's
 *   reference malformed) fails the activation with EntitySnapshotError. An
 *   ask is answered only once a checkpoint that covers its message is
 *   written, so an answered message's effect survives the node; one not
 *   answered when the node died may be sent again by its sender (make such
 *   messages idempotent).
 * - **Passivation.** Idle for `entityIdleMs`: a last checkpoint, the lease
 *   released (node null, epoch and snapshot or its reference kept), the
 *   actor stopped.
 *
 * Messages for an entity are asks to its actor underneath (a tell's answer
 * is dropped): the manager learns when each is handled, to checkpoint.
 */
import type { KV } from '@nats-io/kv';
import type { EntityDelivery, EntityHost } from '../actors/entity-ref.js';
import type { ActorRef } from '../actors/ref.js';
import { ActorCrashedError, ActorStoppedError, EntitySnapshotError, EntityUnavailableError, NodeUnreachableError, toError } from '../base/errors.js';
import type { DeadLetterReason } from '../engine/types.js';
import { EntityAsks } from './entity-asks.js';
import { isWrongLastSequence } from './kv.js';
import { letterReason } from './outcomes.js';
import { encodeLease, entityKey, localId, parseLease } from './leases.js';
import type { Placement } from './placement.js';
import { Redelivery } from './redelivery.js';
import { kNoSnapshot, type SnapshotLocation, type Snapshots } from './snapshots.js';

/** What entities need of the runtime on this node. */
export interface EntityRuntime {
  /** Spawns the entity's actor: `restore` from `snapshot` when given, else `init({ key })`. */
  spawn(module: string, key: string, snapshot: Uint8Array | undefined): Promise<ActorRef>;
  /** The actor's snapshot, encoded; undefined when its module has no `snapshot`. */
  snapshot(ref: ActorRef): Promise<Uint8Array | undefined>;
  stop(ref: ActorRef): Promise<void>;
  ask(ref: ActorRef, msg: unknown, sender: ActorRef | undefined, timeoutMs: number): Promise<unknown>;
  /** Whether the actor is live (not stopped for good: one whose thread died and that is brought back counts as live). */
  alive(ref: ActorRef): boolean;
  /** Publishes a dead letter for an entity message that could not be delivered. */
  deadLetter(key: string, msg: unknown, reason: DeadLetterReason): void;
}

/** How entity messages reach another node (the gateway). */
export interface EntityWire {
  /**
   * Sends an entity message to `node`; an ask (id > 0) is answered through
   * `Entities.answer`. `direct`: that node delivers it (activating the
   * entity if need be) rather than following a hint of its own.
   */
  sendEntity(node: string, module: string, key: string, msg: unknown, sender: ActorRef | undefined, timeoutMs: number, id: number, direct: boolean): void;
}

/** Counters of this node's entities (`rt.cluster.stats().entities`). */
export interface EntityStats {
  /** Activations here now. */
  active: number;
  /** Activations started here. */
  activated: number;
  /** Passivations done here (idle, or at shutdown). */
  passivated: number;
  /** Leases taken over here from a holder that was no longer a member (failover). */
  takenOver: number;
  /** Messages sent on to the node that holds the entity. */
  forwarded: number;
  /** Snapshots written (into the lease, or to the object store). */
  checkpoints: number;
  /** Leases read here (a KV get): one per activation tried here, including ones that found the entity held elsewhere. */
  leaseReads: number;
  /** At-least-once messages sent from here and not confirmed yet. */
  unconfirmed: number;
  /** At-least-once tries sent again (the entity's node died or refused them). */
  redelivered: number;
}

type Reply = (ok: boolean, value: unknown) => void;

interface Delivery {
  msg: unknown;
  sender: ActorRef | undefined;
  timeoutMs: number;
  reply: Reply | undefined;
}

/** An answer held for a checkpoint. */
interface Held {
  reply: Reply;
  ok: boolean;
  value: unknown;
}

interface Activation {
  /** Its key in the entities bucket (entityKey), computed once. */
  id: string;
  module: string;
  key: string;
  state: 'starting' | 'active' | 'stopping';
  ref: ActorRef | undefined;
  queue: Delivery[];
  revision: number;
  epoch: number;
  /** The object its lease names (snapshots.ts), null when none. */
  obj: string | null;
  lastUsed: number;
  inFlight: number;
  writing: boolean;
  /** Messages handled since the last checkpoint was taken. */
  dirty: boolean;
  /** Its state as of now is saved (false after a checkpoint that failed). */
  saved: boolean;
  /** Answers held until a checkpoint that covers their message is written. */
  unsaved: Held[];
  /** Least-loaded placement picks its node when its lease is free. */
  place: boolean;
}

/** @internal */
export class Entities implements EntityHost {
  private readonly activations = new Map<string, Activation>();
  private readonly asks = new EntityAsks();
  /** Modules found without `snapshot`: their entities are not checkpointed. */
  private readonly stateless = new Set<string>();
  private readonly sweeper: NodeJS.Timeout;
  /** Shutting down: no new activation. */
  private closing = false;
  private readonly counts: Omit<EntityStats, 'active' | 'unconfirmed' | 'redelivered'> = {
    activated: 0,
    passivated: 0,
    takenOver: 0,
    forwarded: 0,
    checkpoints: 0,
    leaseReads: 0,
  };
  private readonly redelivery: Redelivery;

  constructor(
    private readonly kv: KV,
    private readonly node: string,
    private readonly incarnation: () => string,
    /** Live members and their incarnations (this node included). */
    private readonly live: ReadonlyMap<string, string>,
    /** Where entities not held here go. */
    readonly placement: Placement,
    private readonly wire: EntityWire,
    private readonly runtime: EntityRuntime,
    private readonly idleMs: number,
    readonly askTimeoutMs: number,
    private readonly snapshots: Snapshots,
  ) {
    this.sweeper = setInterval(() => this.sweep(), Math.max(50, Math.min(1000, idleMs / 2)));
    this.sweeper.unref();
    this.redelivery = new Redelivery(
      node,
      (...a) => this.attempt(...a),
      (n) => live.has(n),
      (key, msg, reason) => runtime.deadLetter(key, msg, reason),
    );
  }

  // ------------------------------------------------------------- EntityHost (rt.entity refs)

  tellEntity(module: string, key: string, msg: unknown, delivery: EntityDelivery): boolean {
    if (delivery === 'at-least-once') return this.redelivery.tell(module, key, msg);
    this.route(module, key, { msg, sender: undefined, timeoutMs: 0, reply: undefined });
    return true;
  }

  askEntity(module: string, key: string, msg: unknown, timeoutMs: number, delivery: EntityDelivery): Promise<unknown> {
    if (delivery === 'at-least-once') return this.redelivery.ask(module, key, msg, timeoutMs);
    return new Promise((resolve, reject) => this.attempt(module, key, msg, timeoutMs, (ok, value) => (ok ? resolve : reject)(value)));
  }

  /**
   * One ask of the entity, from this node: `done` is called once, with
   * AskTimeoutError after `timeoutMs` (0: none). Throws what sending throws
   * (a message that cannot be encoded), leaving nothing pending.
   */
  private attempt(module: string, key: string, msg: unknown, timeoutMs: number, done: Reply): void {
    const id = this.asks.expect(
      key,
      timeoutMs,
      (v) => done(true, v),
      (e) => done(false, e),
    );
    try {
      this.route(module, key, { msg, sender: undefined, timeoutMs, reply: (ok, value) => this.answer(id, ok, value) }, id);
    } catch (err) {
      this.asks.cancel(id);
      throw err;
    }
  }

  /** The answer to an entity ask of this node (`id`), from here or another node. */
  answer(id: number, ok: boolean, value: unknown): void {
    this.asks.answer(id, ok, value);
  }

  // ------------------------------------------------------------- routing

  /**
   * Delivers here when this node holds the entity; else sends it where a
   * hint says it is, else where placement puts it (rendezvous: its owner;
   * least-loaded: decided here, once the lease says it is not held).
   */
  private route(module: string, key: string, d: Delivery, askId = 0): void {
    const local = localId(module, key);
    let to = this.node;
    let place = false;
    if (!this.activations.has(local)) {
      const hinted = this.placement.hint(local);
      if (hinted !== undefined) to = hinted;
      else if (this.placement.mode === 'rendezvous') to = this.placement.owner(local);
      else place = true;
    }
    if (to === this.node) this.deliver(local, module, key, d, place);
    else {
      this.counts.forwarded++;
      this.wire.sendEntity(to, module, key, d.msg, d.sender, d.timeoutMs, askId, false);
    }
  }

  /**
   * An entity message that another node sent here (`reply` for an ask). Not
   * held here and not `direct`: sent on where a hint says it is (a sender
   * whose placement still names this node reaches the holder in two hops,
   * without a lease read per message); else delivered here.
   */
  received(module: string, key: string, msg: unknown, sender: ActorRef | undefined, timeoutMs: number, reply: Reply | undefined, direct: boolean): void {
    const d: Delivery = { msg, sender, timeoutMs, reply };
    const local = localId(module, key);
    const hinted = direct || this.activations.has(local) ? undefined : this.placement.hint(local);
    if (hinted === undefined) this.deliver(local, module, key, d);
    else this.forward(hinted, module, key, d);
  }

  // ------------------------------------------------------------- activations

  /** `local`: localId(module, key), as the caller computed it. `place`: when the entity is not held, least-loaded placement picks its node (a message from another node is activated here). */
  private deliver(local: string, module: string, key: string, d: Delivery, place = false): void {
    let act = this.activations.get(local);
    if (act === undefined && this.closing) {
      if (d.reply !== undefined) d.reply(false, new NodeUnreachableError(this.node, `is shutting down: Entity(${key}) was not delivered`));
      else this.runtime.deadLetter(key, d.msg, 'shutdown');
      return;
    }
    if (act === undefined) {
      act = {
        id: entityKey(module, key),
        module,
        key,
        state: 'starting',
        ref: undefined,
        queue: [],
        revision: 0,
        epoch: 0,
        obj: null,
        lastUsed: 0,
        inFlight: 0,
        writing: false,
        dirty: false,
        saved: true,
        unsaved: [],
        place,
      };
      this.activations.set(local, act);
      void this.activate(act);
    }
    act.lastUsed = performance.now();
    if (act.state === 'active') this.run(act, d);
    else act.queue.push(d);
  }

  /** Takes the lease (or finds who holds it), then spawns the actor from the last snapshot. */
  private async activate(act: Activation): Promise<void> {
    const id = act.id;
    try {
      for (;;) {
        const entry = await this.kv.get(id);
        this.counts.leaseReads++;
        const lease = entry !== null && entry.operation === 'PUT' ? parseLease(entry.value) : undefined;
        const mine = { node: this.node, incarnation: this.incarnation() };
        const holderLive = lease !== undefined && lease.node !== null && this.live.get(lease.node) === lease.incarnation;
        if (act.place && !holderLive) {
          // Least-loaded: not held by a live member, so it goes where the load is least.
          const target = this.placement.leastLoaded(localId(act.module, act.key));
          if (target !== this.node) {
            this.handOff(act, target);
            return;
          }
        }
        if (entry === null || entry.operation !== 'PUT' || lease === undefined) {
          // Free (or unreadable: taken over as free).
          const value = encodeLease({ ...mine, epoch: 1, ...kNoSnapshot });
          try {
            act.revision =
              entry === null || entry.operation !== 'PUT' ? await this.kv.create(id, value) : await this.kv.update(id, value, entry.revision);
            act.epoch = 1;
            act.obj = null;
            return await this.start(act, undefined);
          } catch (err) {
            if (isWrongLastSequence(err)) continue;
            throw err;
          }
        }
        if (holderLive && lease.node !== this.node) {
          // Another live node holds it: it stays there.
          this.handOff(act, lease.node as string);
          return;
        }
        // Checked and read before the lease is taken: a malformed reference or a snapshot that cannot be
        // read fails with EntitySnapshotError and leaves the lease (and the state it names) as it was.
        const at: SnapshotLocation = lease.location(act);
        const snapshot = await this.snapshots.load(act, at);
        try {
          act.revision = await this.kv.update(id, encodeLease({ ...mine, epoch: lease.epoch + 1, ...at }), entry.revision);
          act.epoch = lease.epoch + 1;
          act.obj = at.obj;
          if (lease.node !== null && lease.node !== this.node) this.counts.takenOver++;
          // Not released: its holder may have died while writing an object (named by its epoch and this revision).
          this.snapshots.activated(act, at, lease.node === null ? undefined : { epoch: lease.epoch, revision: entry.revision });
          return await this.start(act, snapshot);
        } catch (err) {
          if (isWrongLastSequence(err)) continue;
          throw err;
        }
      }
    } catch (err) {
      // The lease or the actor could not be had: what waited fails, the next message tries again.
      this.forget(act);
      const error = err instanceof EntitySnapshotError ? err : new EntityUnavailableError(`Entity(${act.key})`, toError(err).message, { cause: err });
      for (const d of act.queue.splice(0)) d.reply?.(false, error);
    }
  }

  private async start(act: Activation, snapshot: Uint8Array | undefined): Promise<void> {
    this.placement.forget(localId(act.module, act.key));
    act.ref = await this.runtime.spawn(act.module, act.key, snapshot);
    act.state = 'active';
    this.counts.activated++;
    for (const d of act.queue.splice(0)) this.run(act, d);
  }

  /** Sends what waited for an activation here to `node`, which holds the entity (or was picked to). */
  private handOff(act: Activation, node: string): void {
    this.forget(act);
    this.placement.remember(localId(act.module, act.key), node);
    for (const d of act.queue.splice(0)) this.forward(node, act.module, act.key, d);
  }

  /**
   * Sends a message on to `node`, for it to deliver (direct); an ask goes
   * as a fresh ask of this node (with the same timeout, 0: none), answered
   * to the original asker.
   */
  private forward(node: string, module: string, key: string, d: Delivery): void {
    this.counts.forwarded++;
    const reply = d.reply;
    const askId =
      reply === undefined
        ? 0
        : this.asks.expect(
            key,
            d.timeoutMs,
            (v) => reply(true, v),
            (e) => reply(false, e),
          );
    try {
      this.wire.sendEntity(node, module, key, d.msg, d.sender, d.timeoutMs, askId, true);
    } catch (err) {
      // It decoded here, so it encodes: this is a message too large for the link, or the like.
      this.asks.cancel(askId);
      this.failed(key, d, err);
    }
  }

  /** A message that could not be delivered: an ask fails with `error`, a tell becomes a dead letter. */
  private failed(key: string, d: Delivery, error: unknown): void {
    if (d.reply !== undefined) d.reply(false, error);
    else this.runtime.deadLetter(key, d.msg, letterReason(error) ?? 'undeliverable');
  }

  /** Drops the activation from the table (if it is still the one there). */
  private forget(act: Activation): void {
    const local = localId(act.module, act.key);
    if (this.activations.get(local) === act) this.activations.delete(local);
  }

  private run(act: Activation, d: Delivery): void {
    act.inFlight++;
    const ref = act.ref as ActorRef;
    this.runtime.ask(ref, d.msg, d.sender, d.timeoutMs).then(
      (value) => this.handled(act, d, true, value),
      (error: unknown) => this.handled(act, d, false, error),
    );
  }

  private handled(act: Activation, d: Delivery, ok: boolean, value: unknown): void {
    act.inFlight--;
    act.lastUsed = performance.now();
    if (!ok && act.ref !== undefined && (value instanceof ActorStoppedError || value instanceof ActorCrashedError) && !this.runtime.alive(act.ref)) {
      // Its actor stopped for good (it stopped itself, or its supervisor gave up): the activation goes,
      // the lease stays this node's, and the next message activates it again from its last snapshot.
      this.failed(act.key, d, value);
      this.retire(act);
      return;
    }
    const reason = d.reply === undefined && !ok ? letterReason(value) : undefined;
    // A tell that was not handled (its mailbox full, or the like): a dead letter here, as a local tell's.
    if (reason !== undefined) this.runtime.deadLetter(act.key, d.msg, reason);
    if (this.stateless.has(act.module)) {
      d.reply?.(ok, value);
      return;
    }
    // Answered once a checkpoint that covers it is written: an answered
    // message's effect survives its node (a message not answered may be
    // sent again by its sender: entities that can see one twice make it
    // idempotent, as the chaos test's accounts do).
    if (d.reply !== undefined) act.unsaved.push({ reply: d.reply, ok, value });
    act.dirty = true;
    if (!act.writing) void this.checkpoint(act);
  }

  /**
   * Writes the activation's snapshot into its lease, or into an object first
   * that the lease then names (compare-and-set), then sends the answers it
   * covers; a lost compare-and-set means it was deposed.
   */
  private async checkpoint(act: Activation): Promise<boolean> {
    act.writing = true;
    let answers: Held[] = [];
    try {
      while (act.dirty && act.ref !== undefined) {
        act.dirty = false;
        // The snapshot covers every message handled before it is taken.
        answers = act.unsaved.splice(0);
        const snap = await this.runtime.snapshot(act.ref);
        if (snap === undefined) {
          this.stateless.add(act.module);
          for (const h of answers.concat(act.unsaved.splice(0))) h.reply(h.ok, h.value);
          return true;
        }
        // A large snapshot's object is written here, before the lease that names it (fencing: snapshots.ts).
        const at = await this.snapshots.place(act, act.epoch, act.revision, snap, act.obj);
        const value = encodeLease({ node: this.node, incarnation: this.incarnation(), epoch: act.epoch, ...at });
        try {
          act.revision = await this.kv.update(act.id, value, act.revision);
        } catch (err) {
          const lost = isWrongLastSequence(err);
          // Lost: no lease names the object, it goes. Unknown (no answer): the lease may name it, so it stays,
          // and the activation stops: the next one reads the lease as it is (and deletes the object if unnamed).
          if (lost) this.snapshots.abandoned(at);
          const why = lost ? 'lost its lease (taken over) before its state was saved' : `could not save its state: ${toError(err).message}`;
          this.unsaved(answers.concat(act.unsaved.splice(0)), act, why);
          act.saved = false;
          await this.deposed(act);
          return false;
        }
        this.counts.checkpoints++;
        act.saved = !act.dirty;
        act.obj = at.obj;
        this.snapshots.committed(at);
        for (const h of answers.splice(0)) h.reply(h.ok, h.value);
      }
      return true;
    } catch (err) {
      // The snapshot or the write failed: what it would have covered is answered with the failure (its sender may try again).
      this.unsaved(answers.concat(act.unsaved.splice(0)), act, `could not save its state: ${toError(err).message}`);
      act.saved = false;
      return false;
    } finally {
      act.writing = false;
    }
  }

  /** Answers held for a checkpoint that will not come: each fails with ActorCrashedError. */
  private unsaved(answers: Held[], act: Activation, why: string): void {
    for (const h of answers) h.reply(false, new ActorCrashedError(`Entity(${act.key})`, why));
  }

  /** Another node took the lease over (or this one's last write may have): this activation stops, and what it still had goes to the holder. */
  private async deposed(act: Activation): Promise<void> {
    this.forget(act);
    act.state = 'stopping';
    if (act.ref !== undefined) await this.runtime.stop(act.ref).catch(() => undefined);
    for (const d of act.queue.splice(0)) this.route(act.module, act.key, d);
  }

  /** Its actor is gone for good: the activation leaves the table (once), what waited goes to the next one. */
  private retire(act: Activation): void {
    if (act.state === 'stopping') return;
    act.state = 'stopping';
    this.forget(act);
    this.unsaved(act.unsaved.splice(0), act, 'stopped before its state was saved');
    for (const d of act.queue.splice(0)) this.route(act.module, act.key, d);
  }

  /** Passivates the activations idle for idleMs. */
  private sweep(): void {
    const now = performance.now();
    for (const act of this.activations.values()) {
      if (act.state === 'active' && act.inFlight === 0 && !act.writing && now - act.lastUsed >= this.idleMs) void this.passivate(act);
    }
  }

  /** A last checkpoint, the lease released (epoch and snapshot, or its reference, kept), the actor stopped. */
  private async passivate(act: Activation): Promise<void> {
    const id = act.id;
    act.state = 'stopping';
    // Every handled message was checkpointed after it; a last write only when one of them failed.
    act.dirty = !this.stateless.has(act.module) && (act.dirty || !act.saved);
    const kept = await this.checkpoint(act);
    if (kept) {
      try {
        const entry = await this.kv.get(id);
        const lease = entry === null ? undefined : parseLease(entry.value);
        if (entry !== null && lease !== undefined && entry.revision === act.revision) {
          await this.kv.update(id, encodeLease({ ...lease.location(act), node: null, incarnation: null, epoch: act.epoch }), act.revision);
        }
      } catch {
        // Taken over meanwhile: nothing of ours to release.
      }
    }
    if (act.ref !== undefined) await this.runtime.stop(act.ref).catch(() => undefined);
    this.forget(act);
    this.counts.passivated++;
    // What came while it was stopping starts a new activation.
    for (const d of act.queue.splice(0)) this.route(act.module, act.key, d);
  }

  /** Activations here now. */
  get active(): number {
    return this.activations.size;
  }

  stats(): EntityStats {
    return { active: this.active, ...this.counts, unconfirmed: this.redelivery.unconfirmed, redelivered: this.redelivery.redelivered };
  }

  /** Shutdown: every activation is passivated (checkpointed, its lease released); entity asks still waiting reject. */
  async close(): Promise<void> {
    clearInterval(this.sweeper);
    // No new activation from here on: what comes for one that is passivating fails (or is a dead letter).
    this.closing = true;
    await Promise.all([...this.activations.values()].filter((a) => a.state === 'active').map((a) => this.passivate(a)));
    this.redelivery.close();
    this.asks.rejectAll(new NodeUnreachableError(this.node, 'shut down before the entity answered'));
  }
}
