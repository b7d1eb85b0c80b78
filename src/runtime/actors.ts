/**
 * Actors driven from the main thread: spawn (placement, names, spawn
 * records) and stop, each a control request on the actor's thread's ring;
 * suspend and resume, checkpoint, migrate, each a control task (Piscina) to
 * it; and the root supervisor, which decides for top-level actors that fail.
 */
import { ActorRef, checkLocalRef } from '../actors/ref.js';
import { overflowPolicies } from '../actors/spawn-options.js';
import type { SupervisorState } from '../actors/supervision.js';
import { ActorCrashedError, ActorStoppedError, AgentLimitError, InvalidArgumentError, InvalidOptionError, MigrationError } from '../base/errors.js';
import type { EventSource } from '../base/events.js';
import { inDoubtName } from '../engine/asks.js';
import type { ActorFailure, Endpoint } from '../engine/endpoint.js';
import type { HostResult, SpawnRequest } from '../engine/host.js';
import { encode } from '../transport/codec/index.js';
import { type Directory, kFree, kWhyCrashed, kWhyStopped } from '../transport/directory.js';
import { unwrap, type ControlPlane } from './control.js';
import type { ResolvedOptions, ResolvedSpawnOptions } from './options.js';
import type { Registry } from './registry.js';
import type { Spares } from './spares.js';

/** @internal What actor control works with: the runtime's parts, set once. */
export interface ActorParts {
  options: ResolvedOptions;
  control: ControlPlane;
  endpoint: Endpoint;
  directory: Directory;
  registry: Registry;
  spares: Spares;
  rootSupervision: SupervisorState;
  failures: EventSource<ActorFailure>;
  /** The runtime's cluster node, once joined (cluster-scoped names). */
  cluster: () => ClusterNames | undefined;
}

/** @internal What spawn needs of the cluster: cluster-wide names. */
export interface ClusterNames {
  register(name: string, slot: number, gen: number): Promise<void>;
}

/** @internal Spawn, stop, suspend, resume, checkpoint, migrate; the root supervisor. */
export class ActorControl {
  /** Actors whose supervisor is the root, in start order (one-for-all and rest-for-one need it). */
  private readonly topLevel = new Set<ActorRef>();
  private readonly options: ResolvedOptions;
  private readonly threads: number;
  private readonly control: ControlPlane;
  private readonly endpoint: Endpoint;
  private readonly directory: Directory;
  private readonly registry: Registry;
  private readonly spares: Spares;
  private readonly rootSupervision: SupervisorState;
  private readonly failures: EventSource<ActorFailure>;
  private readonly cluster: () => ClusterNames | undefined;

  constructor(parts: ActorParts) {
    this.cluster = parts.cluster;
    this.options = parts.options;
    this.threads = parts.options.threads;
    this.control = parts.control;
    this.endpoint = parts.endpoint;
    this.directory = parts.directory;
    this.registry = parts.registry;
    this.spares = parts.spares;
    this.rootSupervision = parts.rootSupervision;
    this.failures = parts.failures;
  }

  /**
   * Spawns from checked options, on behalf of the main thread (`parent`
   * undefined) or of an actor (`ctx.spawn` sent to the root). `snapshot`
   * (encoded): its state is built with `restore` from it instead of `init`
   * (a cluster entity activated again).
   */
  async spawn(url: string, args: unknown, opts: ResolvedSpawnOptions, parent: ActorRef | undefined, snapshot?: Uint8Array): Promise<ActorRef> {
    this.control.checkOpen('spawn');
    const cluster = opts.scope === 'cluster' ? this.cluster() : undefined;
    if (opts.scope === 'cluster' && cluster === undefined)
      throw new InvalidOptionError('scope', "'local' (this runtime is not a cluster node)", opts.scope);
    const argBytes = encode(args, 'args');
    const endpoint = opts.thread === undefined ? this.leastLoaded() : opts.thread + 1;
    if (this.control.down.has(endpoint)) {
      throw new InvalidOptionError('thread', 'a running pool thread (this one died and could not be replaced)', opts.thread);
    }
    if (opts.name !== undefined) this.registry.checkFree(opts.name);
    const slot = this.directory.allocate(endpoint, opts.capacity, overflowPolicies.indexOf(opts.policy));
    if (slot < 0) throw new AgentLimitError(this.options.maxAgents);
    this.endpoint.transport.addLoad(endpoint, 1);
    this.endpoint.pool.setQuota(slot, opts.memoryQuota);
    const gen = Atomics.load(this.directory.gen, slot);
    if (snapshot !== undefined) this.endpoint.checkpoints.put(slot, snapshot);
    const ref = new ActorRef(slot, gen, opts.name, this.endpoint);
    // Reserved before init runs: a second spawn with the same name fails at once.
    if (opts.name !== undefined) this.registry.reserve(opts.name, ref);
    // In flight: a recovery of that thread leaves this slot to this call.
    this.registry.spawning.add(slot);
    const request: SpawnRequest = {
      slot,
      gen,
      module: url,
      args: argBytes,
      name: opts.name,
      parent: parent === undefined ? undefined : { slot: parent.slot, gen: parent.gen },
      agent: opts.agent,
      restore: snapshot !== undefined,
    };
    try {
      await this.requestAbout(ref, endpoint, 'spawn', request as unknown as Record<string, unknown>, 'starting');
    } catch (err) {
      this.registry.spawning.delete(slot);
      // The thread never took the slot, or died with it (starting, alive or
      // stopping: nothing there finishes it now): give it back here, once,
      // as crash recovery releases the actors it loses (what init allocated
      // from the pool, its checkpoint). A failed init released it already,
      // its checkpoint too.
      const dir = this.directory;
      if (Atomics.load(dir.gen, slot) === gen && Atomics.load(dir.state, slot) !== kFree) {
        const crashed = err instanceof ActorCrashedError;
        if (crashed) this.endpoint.pool.reclaim({ slot, gen });
        this.endpoint.dropCheckpoint(slot);
        dir.release(slot, crashed ? kWhyCrashed : kWhyStopped);
        this.endpoint.transport.addLoad(endpoint, -1);
      }
      throw err;
    }
    this.registry.spawning.delete(slot);
    if (parent === undefined) this.topLevel.add(ref);
    this.spares.moduleSpawned(url);
    this.registry.records.set(slot, {
      gen,
      module: url,
      args: argBytes,
      name: opts.name,
      parent: parent === undefined ? undefined : { slot: parent.slot, gen: parent.gen },
      delivery: opts.delivery,
    });
    if (cluster !== undefined) {
      // Registered once it runs: a name another node holds stops it again (NameTakenError).
      try {
        await cluster.register(opts.name as string, slot, gen);
      } catch (err) {
        await this.stop(ref).catch(() => undefined);
        throw err;
      }
    }
    return ref;
  }

  private leastLoaded(): number {
    let best = 1;
    let bestLoad = Infinity;
    for (let endpoint = 1; endpoint <= this.threads; endpoint++) {
      if (this.control.down.has(endpoint) || this.control.recovering.has(endpoint)) continue;
      const load = this.endpoint.transport.load(endpoint);
      if (load < bestLoad) {
        best = endpoint;
        bestLoad = load;
      }
    }
    return best;
  }

  /** `rt.stop(ref)`; `duringShutdown`: the runtime's own stop while it shuts down (cluster entities passivated first). */
  async stop(ref: ActorRef, duringShutdown = false): Promise<void> {
    if (!duringShutdown) this.control.checkOpen('stop');
    checkLocalRef(ref, 'stop');
    if (!this.directory.isLive(ref.slot, ref.gen)) return;
    const endpoint = Atomics.load(this.directory.thread, ref.slot);
    await this.requestAbout(ref, endpoint, 'stop', { ref }, 'stopping');
  }

  /**
   * A control request about `ref` through the ring of `endpoint`'s thread
   * (engine/host.ts, WorkerSystem); that thread's death while it held the
   * request rejects it with ActorCrashedError naming `ref` (`doing` says what
   * it was doing), the thread's own error as the cause. So does the death of
   * a thread the request was passed on to (a stop that found its actor moved
   * away), whose error, the cause, names that thread.
   */
  private requestAbout(ref: ActorRef, endpoint: number, op: 'spawn' | 'stop', payload: Record<string, unknown>, doing: string): Promise<unknown> {
    return this.endpoint.request(endpoint, op, payload).catch((err: unknown) => {
      if (!(err instanceof ActorCrashedError)) throw err;
      const why =
        err.actor === inDoubtName(endpoint, op)
          ? `was ${doing} on pool thread ${endpoint - 1}, which died`
          : `was ${doing}, and the pool thread its request was passed on to died`;
      throw new ActorCrashedError(ref.toString(), why, { cause: err });
    });
  }

  /** `rt.suspend(ref)` and `rt.resume(ref)`. */
  async lifecycle(op: 'suspend' | 'resume', ref: ActorRef): Promise<void> {
    this.control.checkOpen(op);
    checkLocalRef(ref, op);
    if (!this.directory.isLive(ref.slot, ref.gen)) throw new ActorStoppedError(ref.toString());
    const endpoint = Atomics.load(this.directory.thread, ref.slot);
    unwrap(await this.control.run({ op, slot: ref.slot, gen: ref.gen }, { endpoint }));
  }

  /** `rt.checkpoint(ref)`: the snapshot's size in bytes. `duringShutdown` as for `stop`. */
  async checkpoint(ref: ActorRef, duringShutdown = false): Promise<number> {
    if (!duringShutdown) this.control.checkOpen('checkpoint');
    checkLocalRef(ref, 'checkpoint');
    if (!this.directory.isLive(ref.slot, ref.gen)) throw new ActorStoppedError(ref.toString());
    const endpoint = Atomics.load(this.directory.thread, ref.slot);
    // closing: a failed actor's checkpoint does not wait for a directive the root no longer gives (checkpoints.ts).
    return unwrap(await this.control.run({ op: 'checkpoint', slot: ref.slot, gen: ref.gen, closing: duringShutdown }, { endpoint })).bytes ?? 0;
  }

  /** `rt.migrate(ref, thread)`. */
  async migrate(ref: ActorRef, thread: number): Promise<void> {
    const control = this.control;
    control.checkOpen('migrate');
    checkLocalRef(ref, 'migrate');
    if (typeof thread !== 'number' || !Number.isInteger(thread) || thread < 0 || thread >= this.threads) {
      throw new InvalidArgumentError('thread', `an integer from 0 to ${this.threads - 1}`, thread);
    }
    const to = thread + 1;
    if (control.down.has(to)) throw new InvalidArgumentError('thread', 'a running pool thread (this one died and could not be replaced)', thread);
    if (!this.directory.isLive(ref.slot, ref.gen)) throw new ActorStoppedError(ref.toString());
    const from = Atomics.load(this.directory.thread, ref.slot);
    if (from === to) return;
    const key = { slot: ref.slot, gen: ref.gen };
    // 1. Hold it between messages; encode what moves (may fail: nothing changed).
    const prepared = unwrap(await control.run({ op: 'migratePrepare', ...key }, { endpoint: from }));
    const moving = prepared.moving as NonNullable<typeof prepared.moving>;
    // The thread that prepared it (the endpoint's replacement, when the call
    // waited for a recovery): if it dies during the move, another takes its endpoint.
    const holder = prepared.worker;
    // 2. A cell on the new thread that queues what arrives.
    try {
      unwrap(await control.run({ op: 'migrateIn', ...key, module: moving.module, name: moving.name, parent: moving.parent }, { endpoint: to }));
    } catch (err) {
      await control.run({ op: 'migrateCancel', ...key }, { endpoint: from }).catch(() => undefined);
      throw err;
    }
    // The old thread died meanwhile: what it held is gone, and its recovery
    // brought the actor back on the replacement thread (from its checkpoint,
    // or by init) or lost it. Nothing was sent to the new cell: it goes.
    if (
      control.endpointToWorker.get(from) !== holder ||
      control.down.has(from) ||
      control.recovering.has(from) ||
      !this.directory.isLive(ref.slot, ref.gen)
    ) {
      await control.run({ op: 'migrateAbandon', ...key }, { endpoint: to }).catch(() => undefined);
      throw new MigrationError(ref.toString(), 'its thread died while it moved (recovery brought it back as after any crash, or lost it)');
    }
    const arrived = control.run({ op: 'migrateArrived', ...key }, { endpoint: to });
    // 3. New sends go to the new thread.
    Atomics.store(this.directory.thread, ref.slot, to);
    // 4. Every other endpoint fences its ring to the old thread; then the old
    //    thread forwards what it holds, in order, and the move.
    const out = control.run({ op: 'migrateOut', ...key, to, fences: this.threads }, { endpoint: from });
    this.endpoint.migration.sendFence(from, ref.slot, ref.gen);
    const fences: Array<Promise<HostResult>> = [];
    for (let e = 1; e <= this.threads; e++) {
      if (e !== from && !control.down.has(e)) fences.push(control.run({ op: 'fence', ...key, old: from }, { endpoint: e }));
    }
    // A down thread sends nothing: its fence is given for it.
    for (const e of control.down) if (e !== from) this.endpoint.migration.sendFence(from, ref.slot, ref.gen);
    for (const result of await Promise.all([out, ...fences, arrived])) unwrap(result);
  }

  /**
   * The root supervisor: a top-level actor failed. Escalating past the root
   * stops the actor (its failure, wrapped, is on `rt.failures` with phase 'escalated').
   */
  rootFailed(child: ActorRef, error: Error): void {
    // Shutting down: no directive; it stays failed until the shutdown stops
    // it (dead letters 'shutdown'). A checkpoint asked meanwhile does not
    // wait for a directive (checkpoints.ts, `closing`).
    if (this.control.closing) return;
    for (const ref of this.topLevel) if (!this.directory.isLive(ref.slot, ref.gen)) this.topLevel.delete(ref);
    const decision = this.rootSupervision.decide(child.toString(), error, child);
    this.endpoint.supervisor.applyDecision(decision, this.options.supervisor.strategy, child, [...this.topLevel], error, (escalated) => {
      this.failures.publish({ actor: child, error: escalated, phase: 'escalated' });
      void this.endpoint.supervisor.superviseRef(child, 'stop', escalated, 0);
    });
  }
}
