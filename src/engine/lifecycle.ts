/**
 * An actor's life on this thread: starting it (`init` or `restore`, then
 * `preStart`; a child's slot and cell for spawning.ts, which handles
 * `ctx.spawn` and `ctx.spawnNow`), and stopping it (after its running
 * handler; `postStop`, its children, timers, mailbox, pool regions,
 * checkpoint and watchers), one actor or all of them at shutdown. Restarts
 * in place are the supervisor's (supervisor.ts).
 */
import { ActorContext } from '../actors/context.js';
import { Cell } from '../actors/cell.js';
import type { ActorDefinition } from '../actors/define.js';
import { emptyMailbox, recycleMailbox } from '../actors/mailbox.js';
import { ActorRef } from '../actors/ref.js';
import { overflowPolicies, type ResolvedSpawnOptions } from '../actors/spawn-options.js';
import { ActorInitError, ActorStoppedError, AgentLimitError, InvalidArgumentError, toError } from '../base/errors.js';
import { kAlive, kStopAsked, kStopping, kWhyStopped } from '../transport/directory.js';
import { loadModule, loadedModule } from './modules.js';
import type { Engine, LifecyclePart } from './parts.js';
import { isThenable, type TerminatedReason } from './types.js';

/** @internal */
export class Lifecycle implements LifecyclePart {
  private readonly engine: Engine;
  /**
   * 1 for each slot this thread allocated itself (ctx.spawn or
   * ctx.spawnNow of a child on it): released into this thread's slot cache. Slots the main thread
   * handed out go back to the shared stack, where it takes its next one.
   * Made at the first such spawn.
   */
  private ownSlots: Uint8Array | undefined = undefined;

  constructor(engine: Engine) {
    this.engine = engine;
  }

  // ---------------------------------------------------------------- starting

  /**
   * Starts an actor on this thread in a slot already allocated for it (by the
   * main thread, or by `ctx.spawn`: spawning.ts). On failure the slot is released
   * and nothing of the actor remains. When the module is already loaded and
   * `init` is synchronous, the actor is running before this returns (the
   * promise is already resolved): spawning a child costs no async hop.
   */
  startActor(
    slot: number,
    gen: number,
    moduleUrl: string,
    args: unknown,
    name: string | undefined,
    parent: ActorRef | undefined,
    parentCell?: Cell,
    recovered?: Error,
    delayMs = 0,
    fromCheckpoint = false,
  ): Promise<ActorRef> {
    const def = loadedModule(moduleUrl);
    if (def !== undefined) return this.initActor(slot, gen, def, moduleUrl, args, name, parent, parentCell, recovered, delayMs, fromCheckpoint);
    return loadModule(moduleUrl).then(
      (loaded) => this.initActor(slot, gen, loaded, moduleUrl, args, name, parent, parentCell, recovered, delayMs, fromCheckpoint),
      (err: unknown) => {
        this.releaseSlot(slot);
        throw err;
      },
    );
  }

  private initActor(
    slot: number,
    gen: number,
    def: ActorDefinition,
    moduleUrl: string,
    args: unknown,
    name: string | undefined,
    parent: ActorRef | undefined,
    parentCell: Cell | undefined,
    recovered?: Error,
    delayMs = 0,
    fromCheckpoint = false,
  ): Promise<ActorRef> {
    const cell = this.createCell(slot, gen, def, moduleUrl, name, parent, recovered === undefined);
    if (delayMs > 0) {
      // Brought back after a crash with its supervisor's restart backoff: the
      // cell is registered now (messages queue in its mailbox), its state is
      // built when the delay is over, as a restart with backoff would.
      cell.args = args;
      return new Promise<void>((resolve) => setTimeout(resolve, delayMs)).then(() => {
        if (cell.stopped) return cell.ref;
        // Stopped during the delay: it has no state, so no postStop runs.
        if (cell.stopRequested) {
          this.endUnstarted(cell, undefined);
          return cell.ref;
        }
        return this.buildState(cell, args, parentCell, recovered, fromCheckpoint);
      });
    }
    let started: ActorRef | Promise<ActorRef>;
    try {
      started = this.buildState(cell, args, parentCell, recovered, fromCheckpoint);
    } catch (err) {
      return Promise.reject(err);
    }
    return started instanceof ActorRef ? Promise.resolve(started) : started;
  }

  /** Registers a new actor's cell on this thread: messages to it queue from now on (handled once it has started). */
  createCell(
    slot: number,
    gen: number,
    def: ActorDefinition,
    moduleUrl: string,
    name: string | undefined,
    parent: ActorRef | undefined,
    fresh: boolean,
  ): Cell {
    const engine = this.engine;
    const ref = new ActorRef(slot, gen, name, engine);
    const cell = new Cell(slot, gen, def, ref, moduleUrl, parent, engine.dir.capacity[slot], engine.dir.policy[slot]);
    cell.ctx = new ActorContext(cell, engine.services);
    engine.cells[slot] = cell;
    engine.metering.cellCreated(cell, fresh);
    return cell;
  }

  /**
   * Runs `init` (or `restore`, for an actor brought back with a checkpoint),
   * then `preStart`. Returns the ref when both ran synchronously (the actor
   * is running), a promise when either is async; throws ActorInitError when
   * one threw (nothing of the actor remains).
   */
  buildState(
    cell: Cell,
    args: unknown,
    parentCell: Cell | undefined,
    recovered: Error | undefined,
    fromCheckpoint = false,
  ): ActorRef | Promise<ActorRef> {
    const { slot, def } = cell;
    const dispatcher = this.engine.dispatcher;
    let state: unknown;
    const previous = dispatcher.current;
    dispatcher.current = cell;
    // Brought back after its thread died, or spawned from a snapshot (a cluster
    // entity activated again): from its checkpoint when it has one.
    const saved = (recovered !== undefined || fromCheckpoint) && def.restore !== undefined ? this.engine.checkpoints.data(slot) : undefined;
    // No state until init returns (or its promise settles): ctx.checkpoint() is refused meanwhile.
    cell.building = true;
    try {
      if (saved !== undefined && def.restore !== undefined) state = def.restore(saved.data, args, cell.ctx);
      else state = def.init(args, cell.ctx);
    } catch (err) {
      cell.building = false;
      throw this.initFailed(cell, err);
    } finally {
      dispatcher.current = previous;
    }
    cell.args = args;
    if (isThenable(state)) {
      return Promise.resolve(state).then(
        (resolved) => {
          cell.building = false;
          return this.preStart(cell, resolved, parentCell, recovered);
        },
        (err: unknown) => {
          cell.building = false;
          throw this.initFailed(cell, err);
        },
      );
    }
    cell.building = false;
    return this.preStart(cell, state, parentCell, recovered);
  }

  /**
   * Runs `preStart` (when defined) on a new instance, then lets it take
   * messages. An actor brought back after a crash gets `postRestart` instead, when it has one.
   */
  private preStart(cell: Cell, state: unknown, parentCell: Cell | undefined, recovered?: Error): ActorRef | Promise<ActorRef> {
    const def = cell.def;
    const hook =
      recovered !== undefined && def.postRestart !== undefined ? (s: unknown, ctx: ActorContext) => def.postRestart?.(s, recovered, ctx) : def.preStart;
    if (hook === undefined) return this.activate(cell, state, parentCell);
    // The state init built is the actor's from here: a ctx.checkpoint() in preStart snapshots it.
    cell.state = state;
    const dispatcher = this.engine.dispatcher;
    let result: unknown;
    const previous = dispatcher.current;
    dispatcher.current = cell;
    try {
      result = hook(state, cell.ctx);
    } catch (err) {
      throw this.initFailed(cell, err);
    } finally {
      dispatcher.current = previous;
    }
    if (!isThenable(result)) return this.activate(cell, state, parentCell);
    return Promise.resolve(result).then(
      () => this.activate(cell, state, parentCell),
      (err: unknown) => {
        throw this.initFailed(cell, err);
      },
    );
  }

  /** init failed: nothing half-registered remains. */
  initFailed(cell: Cell, thrown: unknown): ActorInitError {
    this.endUnstarted(cell, 'failed');
    return new ActorInitError(cell.moduleUrl, { cause: toError(thrown) });
  }

  /**
   * Ends an actor that has no state (its init failed, or a stop came before
   * its state was built): a stop without postStop. Messages sent to it
   * become dead letters, children it spawned stop, its timers are cancelled
   * and its signal aborted, what it allocated from the pool is given back,
   * its checkpoint (the snapshot it was spawned from, one taken during
   * init) is dropped, the slot is freed, stop waiters resolve, and watchers
   * (a ctx.spawnNow child can be watched before it has started) are told.
   * Stopped meanwhile (a shutdown's deadline): only what that stop has not
   * done yet.
   */
  endUnstarted(cell: Cell, reason: 'failed' | undefined): void {
    if (!cell.stopped) {
      if (reason !== undefined) cell.terminationReason = reason;
      this.beginStop(cell);
    }
    this.completeStop(cell);
  }

  private activate(cell: Cell, state: unknown, parentCell: Cell | undefined): ActorRef {
    // Stopped while its init ran (a shutdown's deadline): its slot may be released already.
    if (cell.stopped) return cell.ref;
    cell.state = state;
    cell.started = true;
    Atomics.store(this.engine.dir.state, cell.slot, kAlive);
    this.engine.envelopes.started(cell);
    if (parentCell !== undefined) {
      // The parent stopped while its child started: the child stops too.
      if (parentCell.stopped) cell.stopRequested = true;
      // Still here (the common case, kept to one check: skynet makes a million): a child of this cell.
      else if (this.engine.cells[parentCell.slot] === parentCell) parentCell.addChild(cell.ref);
      else if (!this.adopt(parentCell.ref, cell.ref)) cell.stopRequested = true;
    }
    if (cell.stopRequested) {
      // stop() arrived while init ran: the spawn still succeeds, then the actor stops.
      this.finishStop(cell);
      return cell.ref;
    }
    this.engine.dispatcher.activated(cell);
    // rt.checkpoint calls made while it started waited for its state (checkpoints.ts).
    if (cell.checkpointWaiters !== undefined) this.engine.checkpoints.runWaiters(cell);
    return cell.ref;
  }

  private releaseSlot(slot: number): void {
    const own = this.ownSlots;
    const cache = own !== undefined && own[slot] === 1;
    if (cache) own[slot] = 0;
    this.engine.dir.release(slot, kWhyStopped, cache);
    this.engine.transport.addLoad(this.engine.index, -1);
  }

  /** A slot on this thread for a child (ctx.spawn, ctx.spawnNow), its columns and counts set; throws AgentLimitError. */
  allocateChild(opts: ResolvedSpawnOptions): number {
    const engine = this.engine;
    const index = engine.index;
    const slot = engine.dir.allocate(index, opts.capacity, overflowPolicies.indexOf(opts.policy));
    if (slot < 0) throw new AgentLimitError(engine.dir.maxAgents);
    (this.ownSlots ??= new Uint8Array(engine.dir.slots))[slot] = 1;
    // Spawning is runtime progress too: a handler or init that builds a big
    // tree of children synchronously is busy, not stuck.
    if ((slot & 1023) === 0) engine.transport.beat();
    engine.transport.addLoad(index, 1);
    engine.pool.setQuota(slot, opts.memoryQuota);
    if (opts.agent !== undefined) engine.envelopes.override(slot, Atomics.load(engine.dir.gen, slot), opts.agent);
    return slot;
  }

  /** `ctx.lookup`. */
  lookup(name: string): Promise<ActorRef | undefined> {
    if (typeof name !== 'string') return Promise.reject(new InvalidArgumentError('name', 'a string', name));
    return this.engine.asks.request(0, 'lookup', { name }) as Promise<ActorRef | undefined>;
  }

  /** Runs `fn` as `cell` (ctx.self, spawn parent, memory owner), awaiting what it returns. */
  inTurn<T>(cell: Cell, fn: () => T | Promise<T>): Promise<T> {
    const dispatcher = this.engine.dispatcher;
    const previous = dispatcher.current;
    dispatcher.current = cell;
    try {
      return Promise.resolve(fn());
    } catch (err) {
      return Promise.reject(err);
    } finally {
      dispatcher.current = previous;
      cell.memory?.endTurn();
    }
  }

  // ---------------------------------------------------------------- stopping

  /** `ctx.stop()`: stops an actor of this thread after its running handler. */
  requestStop(cell: Cell): void {
    if (cell.stopped || cell.stopRequested) return;
    cell.stopRequested = true;
    // Moving to another thread (prepared) or arriving here: it stops once it has arrived.
    if (cell.move !== undefined || cell.arriving !== undefined) return;
    if (!cell.started) return; // finished when its start ends (activate, endUnstarted)
    // Restarting: finished by the restart once it is through (Supervisor.restart), so
    // that a stop during its preRestart or async init runs no second teardown on
    // the old state and postStop on the new one. Its signal fires now: an init
    // that honours it can end early.
    if (cell.restarting) {
      cell.abort?.abort();
      this.markStopping(cell);
      return;
    }
    if (this.engine.dispatcher.current === cell || cell.busy) {
      this.markStopping(cell); // finished by runCell / afterAsync
      return;
    }
    this.finishStop(cell);
  }

  /**
   * A stop that waits (for the running handler, or the restart) is in the
   * directory at once (kStopAsked): still live for everyone (messages, stop
   * and watch calls, the pool's collect), but if its thread dies meanwhile,
   * recovery does not bring it back (only actors in state alive are restarted).
   */
  private markStopping(cell: Cell): void {
    Atomics.store(this.engine.dir.state, cell.slot, kStopAsked);
  }

  /** Stops the actor `ref` names, wherever it lives; resolves when it has stopped. */
  stopRef(ref: ActorRef): Promise<void> {
    const engine = this.engine;
    if (!engine.dir.isLive(ref.slot, ref.gen)) return Promise.resolve();
    const thread = Atomics.load(engine.dir.thread, ref.slot);
    if (thread !== engine.index) return engine.asks.request(thread, 'stop', { ref }).then(() => undefined);
    const cell = engine.cells[ref.slot];
    if (cell === undefined || cell.gen !== ref.gen) return Promise.resolve();
    return new Promise((resolve) => {
      if (cell.stopped && engine.cells[ref.slot] !== cell) {
        resolve();
        return;
      }
      (cell.stopWaiters ??= []).push(resolve);
      if (!cell.started) cell.stopRequested = true;
      else this.requestStop(cell);
    });
  }

  stopChildren(cell: Cell): void {
    if (cell.children === undefined || cell.children.size === 0) return;
    for (const child of cell.children) void this.stopRef(child).catch(() => undefined);
    cell.children.clear();
  }

  finishStop(cell: Cell): void {
    if (cell.stopped) return;
    this.beginStop(cell);
    const postStop = cell.def.postStop;
    // stale: a restart already ran preRestart (or postStop) on this state.
    if (postStop === undefined || cell.stale) {
      this.completeStop(cell);
      return;
    }
    let result: unknown;
    try {
      result = postStop(cell.state, cell.ctx);
    } catch (err) {
      this.engine.system.failure({ actor: cell.ref, error: toError(err), phase: 'postStop' });
      this.completeStop(cell);
      return;
    }
    if (isThenable(result)) {
      result.then(
        () => this.completeStop(cell),
        (err: unknown) => {
          this.engine.system.failure({ actor: cell.ref, error: toError(err), phase: 'postStop' });
          this.completeStop(cell);
        },
      );
      return;
    }
    this.completeStop(cell);
  }

  /** The first half of every stop (before postStop, if it runs): its children, timers and signal. */
  private beginStop(cell: Cell): void {
    cell.stopped = true;
    this.engine.metering.stopped(cell);
    Atomics.store(this.engine.dir.state, cell.slot, kStopping);
    if (cell.restartTimer !== undefined) clearTimeout(cell.restartTimer);
    cell.restartTimer = undefined;
    this.stopChildren(cell);
    this.engine.timers.cancelAll(cell);
    cell.abort?.abort();
  }

  private completeStop(cell: Cell): void {
    if (cell.completed) return;
    cell.completed = true;
    const engine = this.engine;
    engine.dispatcher.drainToDeadLetters(cell, engine.shuttingDown ? 'shutdown' : 'stopped');
    // Emptied: the next actor's first message can use it.
    recycleMailbox(cell.mailbox);
    cell.mailbox = emptyMailbox;
    if (engine.cells[cell.slot] === cell) engine.cells[cell.slot] = undefined;
    // What it owned or borrowed goes back to the pool (loans it made live on).
    engine.pool.reclaim(cell); // a cell is a holder (slot, gen): no object per stop
    engine.checkpoints.drop(cell.slot);
    if (cell.checkpointWaiters !== undefined) engine.checkpoints.failWaiters(cell, new ActorStoppedError(cell.ref.toString()));
    this.releaseSlot(cell.slot);
    if (cell.stopWaiters !== undefined) for (const resolve of cell.stopWaiters) resolve();
    cell.stopWaiters = undefined;
    if (cell.watchers !== undefined) {
      const reason: TerminatedReason = engine.shuttingDown ? 'shutdown' : (cell.terminationReason ?? 'stopped');
      engine.deathWatch.terminated(cell, reason);
    }
    engine.deathWatch.watcherStopped(cell);
    if (cell.parent !== undefined) this.leaveParent(cell.ref, cell.parent);
  }

  /**
   * A stopped child leaves its parent's children: here, or through a
   * 'childStopped' notice to the parent's thread (after its slot was
   * released, which spawning.ts relies on). Not at shutdown: every parent
   * stops too.
   */
  private leaveParent(child: ActorRef, parent: ActorRef): void {
    const engine = this.engine;
    const thread = Atomics.load(engine.dir.thread, parent.slot);
    if (thread === engine.index) this.childStopped(parent, child);
    else if (thread > 0 && !engine.shuttingDown && engine.dir.isLive(parent.slot, parent.gen)) {
      engine.router.notify(thread, 'childStopped', { parent, child });
    }
  }

  /**
   * Actors lost with a thread that died (pairs of slot and generation) leave
   * the children of this thread's actors: no 'childStopped' comes for them.
   */
  childrenLost(lost: number[]): void {
    if (lost.length === 0) return;
    const gens = new Map<number, number>();
    for (let i = 0; i + 1 < lost.length; i += 2) gens.set(lost[i], lost[i + 1]);
    const cells = this.engine.cells;
    for (let slot = 0; slot < cells.length; slot++) {
      const children = cells[slot]?.children;
      if (children === undefined || children.size === 0) continue;
      for (const child of children) if (gens.get(child.slot) === child.gen) children.delete(child);
    }
  }

  /**
   * Adds `child`, which has just started, to `parent`'s children where the
   * parent is now: here, or on the thread the directory names, by a
   * 'childAdded' notice (the parent moved there with rt.migrate while its
   * child started: the cell it spawned from is what it left behind). Not a
   * child that has stopped already (in its init, say: its 'childStopped'
   * notice may have come before this). False when the parent has stopped or
   * is gone: the caller stops the child.
   */
  adopt(parent: ActorRef, child: ActorRef): boolean {
    const engine = this.engine;
    const dir = engine.dir;
    const cell = engine.cells[parent.slot];
    if (cell !== undefined && cell.gen === parent.gen) {
      if (cell.stopped) return false;
      if (dir.isLive(child.slot, child.gen)) cell.addChild(child);
      return true;
    }
    const thread = Atomics.load(dir.thread, parent.slot);
    if (!dir.isLive(parent.slot, parent.gen) || thread === engine.index || thread <= 0) return false;
    engine.router.notify(thread, 'childAdded', { parent, child });
    return true;
  }

  /** 'childAdded' from the thread `parent` left ({@link adopt}); the child stops if its parent is gone. */
  childAdded(parent: ActorRef, child: ActorRef): void {
    if (!this.adopt(parent, child)) void this.stopRef(child).catch(() => undefined);
  }

  /** A child of `parent`, an actor of this thread, stopped (here, or on another thread: its notice). */
  childStopped(parent: ActorRef, child: ActorRef): void {
    const cell = this.engine.cells[parent.slot];
    if (cell !== undefined && cell.gen === parent.gen) cell.children?.delete(child);
  }

  /**
   * Stops every actor on this thread (shutdown): postStop runs, queued
   * messages become dead letters with reason 'shutdown'. An actor whose
   * handler or postStop has not settled by `deadline` (Date.now() ms) is
   * stopped regardless: its signal has fired, and whatever it answers later
   * is dropped.
   */
  async stopAll(deadline: number): Promise<void> {
    const engine = this.engine;
    engine.shuttingDown = true;
    engine.dispatcher.pollNow(); // what is still in the rings joins the mailboxes first
    const cells = engine.cells;
    const waits: Array<Promise<void>> = [];
    for (let slot = 0; slot < cells.length; slot++) {
      const cell = cells[slot];
      if (cell !== undefined && !cell.stopped) waits.push(this.stopRef(cell.ref));
    }
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<void>((resolve) => (timer = setTimeout(resolve, Math.max(0, deadline - Date.now()))));
    await Promise.race([Promise.all(waits), late]);
    clearTimeout(timer);
    for (let slot = 0; slot < cells.length; slot++) {
      const cell = cells[slot];
      if (cell === undefined) continue;
      if (!cell.stopped) {
        cell.stopped = true;
        cell.abort?.abort();
        engine.timers.cancelAll(cell);
      }
      this.completeStop(cell);
    }
    engine.dispatcher.pollNow(); // late arrivals: dead letters with reason 'shutdown'
  }
}
