/**
 * Migration: moving a live actor, with its state, between pool threads
 * (`rt.migrate`), without losing or reordering a message. This is the
 * thread-side half; `Runtime.migrate` drives it from the main thread:
 *
 *
 *   1. prepare, on the old thread: the actor is held between two
 *      messages (after its running async handler) and what moves is encoded
 *      (state, or its snapshot; args; watchers; children). Nothing has
 *      changed yet if this fails.
 *   2. incoming, on the new thread: a cell that takes messages but does
 *      not run them.
 *   3. the directory's thread column switches: new sends go to the new thread.
 *   4. out, on the old thread, and a fence from every other endpoint
 *      through its ring to the old thread: once all fences are in, every
 *      message sent before the switch has reached the old thread.
 *   5. the old thread forwards its mailbox, in order, then the encoded move,
 *      through its ring to the new thread, and forgets the actor.
 *   6. the new thread puts the forwarded messages before those sent to it
 *      directly, rebuilds the state, and runs the actor.
 * Per sender, every message sent before the switch precedes every message
 * sent after it: nothing is lost or reordered, and refs never change.
 */
import { ActorContext } from '../actors/context.js';
import { Cell } from '../actors/cell.js';
import { Mailbox } from '../actors/mailbox.js';
import { ActorRef } from '../actors/ref.js';
import { decode, encode } from '../transport/codec/index.js';
import { kAlive } from '../transport/directory.js';
import type { Engine } from './parts.js';
import { isThenable } from './types.js';
import { ActorInitError, ActorStoppedError, MigrationError, toError } from '../base/errors.js';
import { loadModule, loadedModule } from './modules.js';
import type { Delivery } from '../actors/spawn-options.js';

/** What moves with an actor besides its state (encodeMove). */
type Moved = {
  args: unknown;
  watchers: ActorRef[];
  watching: ActorRef[];
  children: ActorRef[];
  suspended: boolean;
  delivery: Delivery;
  stopRequested?: boolean;
  /** A supervisor's restart that reached it on its way (Supervisor.supervise): it runs on arrival. */
  restart?: Cell['pendingRestart'];
};

/** @internal */
export class Migration {
  constructor(private readonly ep: Engine) {}

  /** Step 1, old thread. Resolves with what the new thread needs to make its cell. */
  async prepare(ref: ActorRef): Promise<{ module: string; name: string | undefined; parent: { slot: number; gen: number } | undefined }> {
    const cell = this.ep.cells[ref.slot];
    if (cell === undefined || cell.gen !== ref.gen || cell.stopped) throw this.ep.router.stoppedError(ref);
    if (cell.migrating) throw new MigrationError(ref.toString(), 'it is already migrating');
    if (!cell.started) throw new MigrationError(ref.toString(), 'it has not finished starting');
    if (cell.failed || cell.restartDue) throw new MigrationError(ref.toString(), 'it failed and waits for its supervisor, or is restarting');
    if (cell.stopRequested) throw this.ep.router.stoppedError(ref);
    cell.setMigrating(true);
    while (cell.busy) await new Promise<void>((resolve) => (cell.idleWaiters ??= []).push(resolve));
    try {
      if (cell.stopped || cell.stopRequested) throw this.ep.router.stoppedError(ref);
      // The handler it was waiting for failed: its supervisor decides here
      // (a restart moved along would be lost, and the state that crashed go on there).
      if (cell.failed || cell.restartDue)
        throw new MigrationError(ref.toString(), 'its handler failed while the move waited for it; its supervisor decides first');
      const bytes = this.encodeMove(cell);
      cell.move = { bytes, to: -1, fences: 0, done: undefined };
      const parent = cell.parent === undefined ? undefined : { slot: cell.parent.slot, gen: cell.parent.gen };
      return { module: cell.moduleUrl, name: cell.ref.name, parent };
    } catch (err) {
      cell.setMigrating(false);
      this.ep.dispatcher.reschedule(cell);
      if (err instanceof ActorStoppedError || err instanceof MigrationError) throw err;
      throw new MigrationError(ref.toString(), `what moves cannot cross threads (${(err as Error).message})`, { cause: err });
    }
  }

  /** What moves with an actor, encoded. Throws when it cannot cross threads. */
  private encodeMove(cell: Cell): Uint8Array {
    const def = cell.def;
    return encode(
      {
        state: def.snapshot !== undefined ? def.snapshot(cell.state) : cell.state,
        args: cell.args,
        watchers: [...(cell.watchers ?? [])],
        watching: [...(cell.watching ?? [])],
        children: [...(cell.children ?? [])],
        suspended: cell.suspended,
        delivery: cell.delivery,
        stopRequested: cell.stopRequested,
        restart: cell.pendingRestart,
      },
      'state',
    );
  }

  /** Undoes step 1 when a later step could not start. */
  cancel(ref: ActorRef): void {
    const cell = this.ep.cells[ref.slot];
    if (cell === undefined || cell.gen !== ref.gen || cell.move === undefined) return;
    cell.move = undefined;
    cell.setMigrating(false);
    this.goOn(cell, cell.stopRequested, undefined);
  }

  /**
   * A move ended (arrived, or cancelled): a stop asked meanwhile (which
   * Lifecycle.requestStop left to the move) happens now and wins over a
   * restart that reached it too; else that restart runs now; else it takes
   * its messages again.
   */
  private goOn(cell: Cell, stopAsked: boolean, restart: Moved['restart']): void {
    const pending = restart ?? cell.pendingRestart;
    cell.pendingRestart = undefined;
    if (stopAsked) {
      cell.stopRequested = false;
      this.ep.lifecycle.requestStop(cell);
    } else if (pending !== undefined) this.ep.supervisor.supervise(cell.ref, 'restart', pending.error, pending.delayMs ?? 0);
    else this.ep.dispatcher.reschedule(cell);
  }

  /** Step 2, new thread: a cell that queues what arrives. Resolves once it is registered. */
  async incoming(slot: number, gen: number, moduleUrl: string, name: string | undefined, parent: ActorRef | undefined): Promise<void> {
    const def = loadedModule(moduleUrl) ?? (await loadModule(moduleUrl));
    const ref = new ActorRef(slot, gen, name, this.ep);
    const cell = new Cell(slot, gen, def, ref, moduleUrl, parent, this.ep.dir.capacity[slot], this.ep.dir.policy[slot]);
    cell.ctx = new ActorContext(cell, this.ep.services);
    cell.setMigrating(true);
    cell.arriving = { forwarded: new Mailbox(), done: [] };
    this.ep.cells[slot] = cell;
    this.ep.metering.cellCreated(cell, false);
    this.ep.transport.addLoad(this.ep.index, 1);
  }

  /**
   * Undoes step 2 (new thread) when the old thread died before the
   * directory named this one: the cell made for the arrival goes, and what
   * waits for the arrival is let go. No other thread sent it anything yet,
   * but actors of this one may have (a send on the same thread goes to the
   * cell it finds here): that goes on to where the directory says the actor
   * is (the replacement thread), or becomes a dead letter.
   */
  abandon(slot: number, gen: number): void {
    const cell = this.ep.cells[slot];
    if (cell === undefined || cell.gen !== gen || cell.arriving === undefined) return;
    const arriving = cell.arriving;
    cell.arriving = undefined;
    cell.completed = true;
    this.ep.cells[slot] = undefined;
    this.ep.metering.forget(cell);
    this.ep.transport.addLoad(this.ep.index, -1);
    this.mergeArrived(cell, arriving.forwarded);
    const dir = this.ep.dir;
    const thread = Atomics.load(dir.thread, slot);
    this.forwardMailbox(cell, thread !== this.ep.index && dir.isLive(slot, gen) ? thread : -1);
    for (const resolve of arriving.done) resolve();
  }

  /**
   * Empties `cell`'s mailbox, in order, into FORWARD frames to thread `to`,
   * or into dead letters when `to` is -1 (the actor is gone). A same-thread
   * message that cannot be encoded cannot move: a dead letter too.
   */
  private forwardMailbox(cell: Cell, to: number): void {
    cell.mailbox.takeEach((msg, sender, replyTag, entry, trace) => {
      let sent = to >= 0;
      if (sent) {
        try {
          this.ep.router.forward(to, cell, msg, sender, replyTag, trace);
        } catch (err) {
          sent = false;
          this.ep.system.failure({ actor: cell.ref, error: toError(err), phase: 'receive' });
        }
      }
      if (!sent) this.ep.dispatcher.dropMessage(cell.ref, cell, msg, sender, replyTag, 'stopped');
      this.ep.inbound.finishEntry(entry);
    });
  }

  /** Step 6's waiter: resolves when the actor runs here. */
  arrived(ref: ActorRef): Promise<void> {
    const cell = this.ep.cells[ref.slot];
    if (cell === undefined || cell.gen !== ref.gen || cell.arriving === undefined) return Promise.resolve();
    return new Promise((resolve) => cell.arriving?.done.push(resolve));
  }

  /** Step 4, old thread: the destination is known; forwards once every fence is in. Resolves when forwarded. */
  out(ref: ActorRef, to: number, fences: number): Promise<void> {
    const cell = this.ep.cells[ref.slot];
    if (cell === undefined || cell.gen !== ref.gen || cell.move === undefined) {
      return Promise.reject(new MigrationError(ref.toString(), 'it is not prepared to migrate'));
    }
    const move = cell.move;
    move.to = to;
    move.fences += fences; // fences that arrived early counted down from 0
    return new Promise((resolve) => {
      move.done = resolve;
      this.maybeForward(cell);
    });
  }

  /** A fence from another endpoint reached this (old) thread. */
  fence(slot: number, gen: number): void {
    const cell = this.ep.cells[slot];
    if (cell === undefined || cell.gen !== gen || cell.move === undefined) return;
    cell.move.fences--;
    this.maybeForward(cell);
  }

  /** Asks this endpoint to send a fence for (slot, gen) through its ring to `old`. */
  sendFence(old: number, slot: number, gen: number): void {
    this.ep.router.notify(old, 'migrateFence', { slot, gen });
  }

  /** Step 5, old thread. */
  private maybeForward(cell: Cell): void {
    const move = cell.move;
    if (move === undefined || move.to < 0 || move.fences > 0 || move.done === undefined) return;
    const to = move.to;
    this.forwardMailbox(cell, to);
    // Encoded again now: watches or children added since the prepare come along
    // (the state cannot have changed: the actor was held).
    let bytes = move.bytes;
    try {
      bytes = this.encodeMove(cell);
    } catch {
      // Checked at the prepare; keep what was encoded then. (A restart's
      // error that reached it meanwhile does not fail this: the codec
      // sends an error's name, message and stack, and drops what it cannot carry.)
    }
    this.ep.router.notify(to, 'migrateDone', { slot: cell.slot, gen: cell.gen, move: bytes });
    // rt.checkpoint calls waiting here would wait forever once it is gone:
    // those that waited for a restart that reached it during the move (it
    // runs there, after the arrival) are told to ask again.
    this.ep.checkpoints.failWaiters(cell, new MigrationError(cell.ref.toString(), 'it moved to another thread while the checkpoint waited; ask again'));
    // rt.stop calls that waited here: the stop happens there, after the arrival.
    if (cell.stopWaiters !== undefined) {
      for (const resolve of cell.stopWaiters) {
        this.ep.asks.request(to, 'stop', { ref: cell.ref }).then(
          () => resolve(),
          () => resolve(),
        );
      }
      cell.stopWaiters = undefined;
    }
    // Forget it here: timers do not move (they are cancelled), the slot and
    // what it owns in the pool stay as they are.
    this.ep.timers.cancelAll(cell);
    if (cell.restartTimer !== undefined) clearTimeout(cell.restartTimer);
    cell.move = undefined;
    cell.completed = true;
    if (this.ep.cells[cell.slot] === cell) this.ep.cells[cell.slot] = undefined;
    this.ep.transport.addLoad(this.ep.index, -1);
    move.done();
  }

  /** Step 6, new thread: the move arrived after every forwarded message. */
  done(slot: number, gen: number, bytes: Uint8Array): void {
    const cell = this.ep.cells[slot];
    if (cell === undefined || cell.gen !== gen || cell.arriving === undefined) return;
    const moved = decode(bytes) as Moved & { state: unknown };
    const def = cell.def;
    let state: unknown = moved.state;
    if (def.restore !== undefined) {
      // No state here until restore returns: ctx.checkpoint() is refused meanwhile.
      cell.building = true;
      try {
        state = this.inTurnSync(cell, () => def.restore?.(moved.state, moved.args, cell.ctx));
      } catch (err) {
        cell.building = false;
        this.restoreFailed(cell, err, moved);
        return;
      }
    }
    if (isThenable(state)) {
      state.then(
        (resolved) => {
          cell.building = false;
          this.arrive(cell, moved, resolved);
        },
        (err: unknown) => {
          cell.building = false;
          this.restoreFailed(cell, err, moved);
        },
      );
      return;
    }
    cell.building = false;
    this.arrive(cell, moved, state);
  }

  /**
   * restore failed on arrival: the actor's supervisor decides, as for a
   * failed restart; asked to stop on its way, it stops, with no state for
   * postStop. What moved with it (args, watchers, children...) is its either way.
   */
  private restoreFailed(cell: Cell, err: unknown, moved: Moved): void {
    const failure = new ActorInitError(cell.moduleUrl, { cause: toError(err) });
    this.ep.system.failure({ actor: cell.ref, error: failure, phase: 'restart' });
    if (cell.arriving === undefined) return;
    const waiters = this.settle(cell, moved);
    // No state here: a restart tears nothing down, a stop runs no postStop.
    cell.stale = true;
    // Its supervisor decides anew on this failure: a restart that reached it on its way is dropped.
    cell.pendingRestart = undefined;
    if (moved.stopRequested === true || cell.stopRequested) this.ep.lifecycle.endUnstarted(cell, undefined);
    else this.ep.supervisor.report(cell, failure);
    for (const resolve of waiters) resolve();
  }

  private arrive(cell: Cell, moved: Moved, state: unknown): void {
    if (cell.arriving === undefined) return;
    cell.state = state;
    const waiters = this.settle(cell, moved);
    this.goOn(cell, moved.stopRequested === true || cell.stopRequested, moved.restart);
    for (const resolve of waiters) resolve();
    // rt.checkpoint calls that reached it on its way (checkpoints.ts).
    if (cell.checkpointWaiters !== undefined) this.ep.checkpoints.runWaiters(cell);
  }

  /**
   * What moved with the actor becomes the arrived cell's, its forwarded
   * messages join its mailbox, and it is alive here; returns the waiters of
   * its arrival.
   */
  private settle(cell: Cell, moved: Moved): Array<() => void> {
    const arriving = cell.arriving as NonNullable<Cell['arriving']>;
    cell.args = moved.args;
    // Union with what was registered here while it was on its way.
    for (const w of moved.watchers) (cell.watchers ??= new Set()).add(w);
    for (const w of moved.watching) (cell.watching ??= new Set()).add(w);
    // Not a child that stopped on the way: its 'childStopped' notice went to
    // the thread the directory named then (the old one, which forgot this
    // actor, or this one before it arrived). Its slot was released first, so
    // it shows here as not live.
    const dir = this.ep.dir;
    for (const c of moved.children) if (dir.isLive(c.slot, c.gen)) cell.addChild(c);
    cell.delivery = moved.delivery;
    this.mergeArrived(cell, arriving.forwarded);
    cell.arriving = undefined;
    cell.started = true;
    Atomics.store(dir.state, cell.slot, kAlive);
    cell.setSuspended(moved.suspended);
    cell.setMigrating(false);
    return arriving.done;
  }

  /** Forwarded messages (sent before the switch) go first, then what came here directly. */
  private mergeArrived(cell: Cell, forwarded: Mailbox): void {
    cell.mailbox.takeEach((msg, sender, replyTag, entry, trace) => forwarded.push(msg, sender, replyTag, entry, trace));
    cell.mailbox = forwarded;
  }

  private inTurnSync<T>(cell: Cell, fn: () => T): T {
    const previous = this.ep.dispatcher.current;
    this.ep.dispatcher.current = cell;
    try {
      return fn();
    } finally {
      this.ep.dispatcher.current = previous;
    }
  }
}
