/**
 * The thread side of supervision: a failed actor is held and reported to
 * its supervisor (its parent, on whichever thread, or the root supervisor on
 * the main thread); the supervisor's thread decides (policy in
 * ../actors/supervision.ts) and sends the directive to the actor's thread,
 * which carries it out: resume, stop, or restart in place. Also the
 * supervisor's answer when a child's thread died (crashDecision).
 */
import { kStrategy } from '../actors/define.js';
import type { Cell } from '../actors/cell.js';
import type { ActorRef } from '../actors/ref.js';
import { SupervisorState, defaultStrategy, type CrashDecision, type Decision, type Directive, type StrategyKind } from '../actors/supervision.js';
import type { Engine, SupervisorPart } from './parts.js';
import { ActorInitError, EscalatedError, toError } from '../base/errors.js';

/** @internal */
export class Supervisor implements SupervisorPart {
  constructor(private readonly ep: Engine) {}

  /**
   * A handler of `cell` failed: it handles nothing more (its mailbox keeps
   * filling, up to its bound) until its supervisor's directive arrives. The
   * supervisor is its parent, on whichever thread, or the root supervisor on
   * the main thread.
   */
  report(cell: Cell, error: Error): void {
    if (cell.stopped || cell.stopRequested || this.ep.closed) return;
    cell.setFailed(true);
    const parent = cell.parent;
    if (parent === undefined) {
      // Checkpoints asked while the runtime closes get no directive to wait for.
      if (cell.checkpointWaiters !== undefined) this.ep.checkpoints.failClosing(cell);
      this.sendFailure(0, undefined, cell.ref, error);
      return;
    }
    if (!this.ep.dir.isLive(parent.slot, parent.gen)) {
      // Its supervisor is gone (it is stopping too): nothing can restart it.
      this.stopForFailure(cell);
      return;
    }
    const thread = Atomics.load(this.ep.dir.thread, parent.slot);
    if (thread === this.ep.index) queueMicrotask(() => this.childFailed(parent, cell.ref, error));
    else this.sendFailure(thread, parent, cell.ref, error);
  }

  private sendFailure(thread: number, supervisor: ActorRef | undefined, child: ActorRef, error: Error): void {
    try {
      this.ep.router.notify(thread, 'childFailed', { supervisor, child, error });
    } catch {
      // The error does not cross threads as it is (a property the codec
      // cannot carry): its supervisor gets its name and message.
      const plain = new Error(`${error.name}: ${error.message}`);
      this.ep.router.notify(thread, 'childFailed', { supervisor, child, error: plain });
    }
  }

  /** Supervisor side, on the parent's thread: decides, and sends the directive. */
  childFailed(supervisor: ActorRef, child: ActorRef, error: Error): void {
    const cell = this.ep.cells[supervisor.slot];
    if ((cell === undefined || cell.gen !== supervisor.gen) && this.ep.dir.isLive(supervisor.slot, supervisor.gen)) {
      const thread = Atomics.load(this.ep.dir.thread, supervisor.slot);
      // The supervisor moved (rt.migrate): follow it.
      if (thread !== this.ep.index) {
        this.sendFailure(thread, supervisor, child, error);
        return;
      }
    }
    if (cell === undefined || cell.gen !== supervisor.gen || cell.stopped) {
      void this.superviseRef(child, 'stop', error, 0);
      return;
    }
    const state = (cell.supervision ??= new SupervisorState(cell.def[kStrategy] ?? defaultStrategy));
    const decision = state.decide(child.toString(), error, child);
    const siblings = cell.children === undefined ? [child] : [...cell.children];
    this.applyDecision(decision, (cell.def[kStrategy] ?? defaultStrategy).strategy, child, siblings, error, (escalated) => {
      (cell.escalated ??= new Set()).add(child);
      this.report(cell, escalated);
    });
  }

  /**
   * Carries out a supervisor's decision on `failed` and, per the strategy,
   * its siblings (`children`, in start order). Used by parents here and by
   * the root supervisor on the main thread.
   */
  applyDecision(
    decision: Decision,
    strategy: StrategyKind,
    failed: ActorRef,
    children: ActorRef[],
    error: Error,
    escalate: (error: Error) => void,
  ): void {
    const { directive } = decision;
    if (directive === 'resume') {
      void this.superviseRef(failed, 'resume', error, 0);
      return;
    }
    if (directive === 'escalate') {
      escalate(decision.reason === undefined ? error : new EscalatedError(failed.toString(), decision.reason, { cause: error }));
      return;
    }
    let targets = [failed];
    if (strategy === 'one-for-all') targets = children.some((c) => c.equals(failed)) ? children : [...children, failed];
    else if (strategy === 'rest-for-one') {
      const at = children.findIndex((c) => c.equals(failed));
      targets = at < 0 ? [failed] : children.slice(at);
    }
    for (const target of targets) void this.superviseRef(target, directive, error, directive === 'restart' ? decision.delayMs : 0);
  }

  /** Sends a directive to the actor `ref` names, on its thread. */
  superviseRef(ref: ActorRef, directive: Directive, error: Error, delayMs: number): Promise<void> {
    if (!this.ep.dir.isLive(ref.slot, ref.gen)) return Promise.resolve();
    const thread = Atomics.load(this.ep.dir.thread, ref.slot);
    if (thread !== this.ep.index) {
      try {
        this.ep.router.notify(thread, 'supervise', { ref, directive, error, delayMs });
      } catch {
        // The error does not cross threads as it is: the child gets its name and message.
        this.ep.router.notify(thread, 'supervise', { ref, directive, error: new Error(`${error.name}: ${error.message}`), delayMs });
      }
      return Promise.resolve();
    }
    this.supervise(ref, directive, error, delayMs);
    return Promise.resolve();
  }

  /** Child side: carries out a directive on an actor of this thread. */
  supervise(ref: ActorRef, directive: Directive, error: Error, delayMs: number): void {
    const cell = this.ep.cells[ref.slot];
    if (
      (cell === undefined || cell.gen !== ref.gen) &&
      this.ep.dir.isLive(ref.slot, ref.gen) &&
      Atomics.load(this.ep.dir.thread, ref.slot) !== this.ep.index
    ) {
      void this.superviseRef(ref, directive, error, delayMs); // it moved (rt.migrate): follow it
      return;
    }
    if (cell === undefined || cell.gen !== ref.gen || cell.stopped) return;
    switch (directive) {
      case 'resume':
        cell.setFailed(false);
        // Resumed after a failed rebuild: it goes on with the state it has, so
        // a stop runs postStop on it again. Not while a restart runs (it
        // rebuilds anyway), nor with no state at all (its restore failed on
        // arrival from another thread).
        if (!cell.restarting && cell.state !== undefined) cell.stale = false;
        if (cell.checkpointWaiters !== undefined) this.ep.checkpoints.runWaiters(cell);
        if (cell.escalated !== undefined) {
          for (const child of cell.escalated) void this.superviseRef(child, 'resume', error, 0);
          cell.escalated = undefined;
        }
        this.ep.dispatcher.reschedule(cell);
        return;
      case 'stop':
        this.stopForFailure(cell);
        return;
      case 'restart':
        // Being moved (rt.migrate), on either thread: its state is on its way.
        // The restart runs where it arrives, once it has (Migration.arrive),
        // or here if the move is cancelled. Run now, it would tear down and
        // rebuild a state that the move then overwrites (or that it never had).
        if (cell.move !== undefined || cell.arriving !== undefined) {
          cell.pendingRestart ??= { error, delayMs };
          return;
        }
        // Not started yet (a sibling's one-for-all or rest-for-one restart
        // reached a ctx.spawnNow child still in init, or an actor waiting out
        // its restart backoff): it has no state to restart, and its own start
        // builds a fresh one. Restarting it would run init a second time.
        if (!cell.started) return;
        cell.setFailed(true);
        if (cell.restartTimer !== undefined || cell.restartSoon) return; // one restart is already on its way
        if (delayMs <= 0) {
          // setTimeout(0) waits at least a millisecond; a restart without backoff should not.
          cell.restartSoon = true;
          setImmediate(() => {
            cell.restartSoon = false;
            void this.restart(cell, error);
          });
          return;
        }
        cell.restartTimer = setTimeout(() => {
          cell.restartTimer = undefined;
          void this.restart(cell, error);
        }, delayMs);
        return;
      default:
        // 'escalate' is the supervisor's own business; it never reaches a child.
        return;
    }
  }

  private stopForFailure(cell: Cell): void {
    cell.terminationReason ??= 'failed';
    this.ep.lifecycle.requestStop(cell);
  }

  /**
   * Restarts an actor in place: same ref, same mailbox (the message that
   * failed is not retried). Its children are stopped, its timers cancelled,
   * its signal aborted, what it owned in the pool freed; `preRestart` (or
   * `postStop`) runs on the old state, then the state is rebuilt by
   * `restore` from the last checkpoint, or by `init`; then `postRestart` (or
   * `preStart`). A failure while rebuilding goes to the supervisor again.
   */
  async restart(cell: Cell, error: Error): Promise<void> {
    if (cell.stopped || cell.stopRequested || cell.completed || cell.restarting) return;
    if (cell.busy) {
      cell.pendingRestart = { error };
      return;
    }
    cell.restarting = true;
    try {
      await this.restartNow(cell, error);
    } finally {
      cell.restarting = false;
      // A stop asked while it restarted waited for this (Lifecycle.requestStop):
      // it stops now. Left failed, it would never stop, and what waits on it
      // would wait forever.
      if (cell.stopRequested && !cell.stopped) this.ep.lifecycle.finishStop(cell);
      // Its rebuild failed (reported while the restart still ran): as in report.
      else if (cell.failed && cell.parent === undefined && cell.checkpointWaiters !== undefined) this.ep.checkpoints.failClosing(cell);
    }
  }

  private async restartNow(cell: Cell, error: Error): Promise<void> {
    this.ep.metering.restarted(cell);
    cell.setFailed(true);
    this.ep.lifecycle.stopChildren(cell);
    cell.escalated = undefined;
    this.ep.timers.cancelAll(cell);
    cell.abort?.abort();
    cell.abort = undefined;
    const def = cell.def;
    // Torn down once: a restart after a failed rebuild finds it stale already.
    if (!cell.stale) {
      try {
        if (def.preRestart !== undefined) await def.preRestart(cell.state, error, cell.ctx);
        else if (def.postStop !== undefined) await def.postStop(cell.state, cell.ctx);
      } catch (err) {
        this.ep.system.failure({ actor: cell.ref, error: toError(err), phase: 'preRestart' });
      }
    }
    // The crashed instance is torn down: a stop asked during the restart
    // (it waits for it: Lifecycle.requestStop) runs no postStop on it again.
    cell.stale = true;
    if (cell.stopped || cell.stopRequested) return;
    this.ep.pool.reclaim(cell);
    cell.memory = undefined;
    try {
      const state = await this.rebuild(cell);
      if (cell.stopped) return;
      // The new instance's state from here, before its hook: a ctx.checkpoint()
      // in postRestart or preStart snapshots it, not the state that crashed
      // (and a ctx.stop() in its init stops it with this state: see restart).
      cell.state = state;
      cell.stale = false;
      cell.sinceCheckpoint = 0;
      if (cell.stopRequested) return;
      if (def.postRestart !== undefined) await this.ep.lifecycle.inTurn(cell, () => def.postRestart?.(state, error, cell.ctx));
      else if (def.preStart !== undefined) await this.ep.lifecycle.inTurn(cell, () => def.preStart?.(state, cell.ctx));
    } catch (err) {
      const failure = new ActorInitError(cell.moduleUrl, { cause: toError(err) });
      this.ep.system.failure({ actor: cell.ref, error: failure, phase: 'restart' });
      this.report(cell, failure);
      return;
    }
    this.ep.dir.actorCounts.restarted(cell.slot);
    cell.setFailed(false);
    if (cell.checkpointWaiters !== undefined) this.ep.checkpoints.runWaiters(cell);
    this.ep.dispatcher.reschedule(cell);
  }

  /** A new state for `cell`: restored from its last checkpoint, else made by `init`. */
  private async rebuild(cell: Cell): Promise<unknown> {
    const def = cell.def;
    const saved = def.restore === undefined ? undefined : this.ep.checkpoints.data(cell.slot);
    // Until the new state exists, ctx.checkpoint() is refused (the cell still holds the one that crashed).
    cell.building = true;
    try {
      if (saved === undefined || def.restore === undefined) return await this.ep.lifecycle.inTurn(cell, () => def.init(cell.args, cell.ctx));
      return await this.ep.lifecycle.inTurn(cell, () => def.restore?.(saved.data, cell.args, cell.ctx));
    } finally {
      cell.building = false;
    }
  }

  /**
   * Supervisor side of a crash: the child (on a thread that died) is to be
   * brought back or not. Returns the directive for it: resume means restart
   * (its heap state is gone); escalate fails this supervisor and stops the child.
   */
  crashDecision(supervisor: ActorRef, child: ActorRef, error: Error): CrashDecision {
    const cell = this.ep.cells[supervisor.slot];
    if (cell === undefined || cell.gen !== supervisor.gen || cell.stopped) return { directive: 'stop', delayMs: 0 };
    const state = (cell.supervision ??= new SupervisorState(cell.def[kStrategy] ?? defaultStrategy));
    const decision = state.decide(child.toString(), error, child);
    if (decision.directive === 'escalate') {
      this.report(cell, decision.reason === undefined ? error : new EscalatedError(child.toString(), decision.reason, { cause: error }));
      return { directive: 'stop', delayMs: 0 };
    }
    const directive = decision.directive === 'resume' ? 'restart' : decision.directive;
    // one-for-all / rest-for-one: the crashed child's siblings get the same
    // directive (the crashed one itself is brought back, or not, by the caller).
    const strategy = (cell.def[kStrategy] ?? defaultStrategy).strategy;
    if (strategy !== 'one-for-one' && cell.children !== undefined) {
      const children = [...cell.children];
      const at = children.findIndex((c) => c.equals(child));
      const siblings = strategy === 'one-for-all' ? children : at < 0 ? [] : children.slice(at + 1);
      for (const sibling of siblings) if (!sibling.equals(child)) void this.superviseRef(sibling, directive, error, 0);
    }
    return { directive, delayMs: directive === 'restart' ? decision.delayMs : 0 };
  }
}
