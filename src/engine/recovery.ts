/**
 * Recovery after a thread died. Three sides:
 *   - the replacement thread (`rehost`): brings the dead thread's actors back
 *     in their slots and replays, in order, what the dead thread had taken
 *     out of its rings and not finished (its journal, see
 *     ../transport/journal.ts), each message handled as its entry says
 *     (`replayed`: in doubt, or poison);
 *   - every surviving endpoint (`threadCrashed`): asks that the dead thread
 *     had taken are settled (asks.ts), death watch on its actors is settled
 *     (watch.ts);
 *   - the main thread, reading the dead thread's journal: which asks replay
 *     will answer, what a journaled message was, whom it counts against
 *     (`askOfJournaled`, `messageOfJournaled`, `countedTargetsOf`).
 * Journaling itself, as frames are taken, is inbound.ts's.
 */
import type { Cell } from '../actors/cell.js';
import { Poisoned } from '../actors/envelope.js';
import { ActorRef, setDecodingHost } from '../actors/ref.js';
import type { Delivery } from '../actors/spawn-options.js';
import { toError } from '../base/errors.js';
import { Reader, decode, decodeValue } from '../transport/codec/index.js';
import type { JournalEntry } from '../transport/journal.js';
import {
  kAsk,
  kAskIdAt,
  kCarried,
  kCarriedGenAt,
  kCarriedLengthAt,
  kCarriedRegionAt,
  kForward,
  kGenAt,
  kKindMask,
  kMulticast,
  kRemoteSender,
  kMulticastCountAt,
  kMulticastTargetsAt,
  kSlotAt,
  kTell,
  kTraced,
} from '../transport/kinds.js';
import { RegionHandle } from '../memory/handle.js';
import { loadModule } from './modules.js';
import type { Engine, RecoveryPart } from './parts.js';
import { skipTraceField } from './trace-field.js';
import { kPoisonAfterCrashes } from './types.js';

/** @internal What starting an actor in a slot the main thread allocated takes: its module, encoded args, name and parent. */
export interface ActorStart {
  slot: number;
  gen: number;
  module: string;
  args: Uint8Array;
  name: string | undefined;
  parent: { slot: number; gen: number } | undefined;
}

/** @internal An actor to bring back on a replacement thread. */
export interface RehostedActor extends ActorStart {
  delivery: Delivery;
  /** Restart backoff its supervisor asked for: the actor starts after this many ms (messages wait for it). */
  delayMs: number;
}

/** @internal */
export class Recovery implements RecoveryPart {
  /** Set while replaying a journal entry whose handler was running when the thread died. */
  private replayingRunning = false;
  /** Set while replaying a journal entry: the thread deaths it was blamed for (see kPoisonAfterCrashes). */
  private replayCrashes = 0;

  constructor(private readonly engine: Engine) {}

  /**
   * On a replacement thread: brings back the actors of the thread that died,
   * in the same slots and generations (every ref to them keeps working),
   * before this endpoint reads its rings, so what waits there for them is
   * delivered to them, in order. Each state comes from its last checkpoint,
   * else from `init`.
   */
  async rehost(actors: RehostedActor[], error: Error, replay: JournalEntry[]): Promise<void> {
    const engine = this.engine;
    // Modules first: then every cell is registered in one synchronous pass,
    // before the loop starts and reads a frame addressed to one of them.
    for (const module of new Set(actors.map((a) => a.module))) {
      try {
        await loadModule(module);
      } catch {
        // Reported per actor below, by startActor's own failure.
      }
    }
    const started: Array<Promise<unknown>> = [];
    for (const a of actors) {
      engine.pool.reclaim({ slot: a.slot, gen: a.gen }); // its old state's regions have no owner left
      const parent = a.parent === undefined ? undefined : new ActorRef(a.parent.slot, a.parent.gen, undefined, engine);
      let args: unknown;
      try {
        args = decode(a.args);
      } catch (err) {
        started.push(Promise.reject(err));
        continue;
      }
      started.push(engine.lifecycle.startActor(a.slot, a.gen, a.module, args, a.name, parent, undefined, error, a.delayMs));
      // Brought back with a new state: a restart, for rt.inspect().
      engine.dir.actorCounts.restarted(a.slot);
      const cell = engine.cells[a.slot];
      if (cell !== undefined && cell.gen === a.gen) cell.delivery = a.delivery;
    }
    // What the dead thread had taken and not finished, oldest first, before
    // anything still in the rings: per-sender order holds. Each keeps its
    // journal entry (this thread took the journal over as it was), done when
    // the message is.
    const inbound = engine.inbound;
    for (const entry of replay) {
      this.replayingRunning = entry.running;
      this.replayCrashes = entry.crashes;
      inbound.replaying = true;
      try {
        inbound.onFrame(entry.from, entry.body, 0, entry.body.length, entry.at);
      } finally {
        inbound.replaying = false;
        this.replayingRunning = false;
        this.replayCrashes = 0;
      }
    }
    engine.start();
    // Taken over: the recovery task answers now, not once every actor's state
    // is built (an async init, a restart backoff). Waiting for those let the
    // loop run a replayed handler first, and one that blocks then held the
    // answer back: the main thread gave the thread up as never started and
    // left it blocked, unwatched. Messages wait in the mailboxes for the
    // state meanwhile; failures are reported when they come.
    void Promise.allSettled(started).then((results) => {
      results.forEach((r, i) => {
        if (r.status === 'rejected') {
          engine.system.failure({
            actor: new ActorRef(actors[i].slot, actors[i].gen, actors[i].name, engine),
            error: toError(r.reason),
            phase: 'crashed',
          });
        }
      });
    });
  }

  /**
   * A replayed message for `cell` (Inbound.onFrame, while `rehost` replays):
   * true when it was dealt with here, as its journal entry says; false to
   * deliver it as any other.
   */
  replayed(cell: Cell, msg: unknown, sender: ActorRef | undefined, replyTag: number, entry: number): boolean {
    if (this.replayingRunning && cell.capacity > 0) {
      // Its handler had taken it off the bounded count before the crash.
      Atomics.add(this.engine.dir.depth, cell.slot, 1);
    }
    if (this.replayingRunning && cell.delivery === 'at-most-once') {
      // It was being handled when its thread died: not handled twice.
      this.engine.dispatcher.dropMessage(cell.ref, cell, msg, sender, replyTag, 'crashed');
      this.engine.inbound.finishEntry(entry);
      return true;
    }
    if (this.replayCrashes >= kPoisonAfterCrashes) {
      // It took its thread down every time it was handled: its turn, in
      // order, dead-letters it and asks the supervisor (see Dispatcher.runCell).
      this.engine.dispatcher.enqueue(cell, new Poisoned(msg, this.replayCrashes), sender, replyTag, entry);
      return true;
    }
    return false;
  }

  /**
   * The thread of `endpoint` died; `consumed` says how many messages it had
   * taken from each endpoint's ring. Asks (and control requests) this
   * endpoint sent there and that it had taken are in doubt: rejected with
   * ActorCrashedError. Those still in the ring wait for its replacement.
   * Then death watch is settled: actors here that watched an actor of that
   * thread watch it again when it was brought back, and get Terminated
   * ('crashed') when it was not; and the lost ones leave their parents' children.
   */
  threadCrashed(endpoint: number, consumed: number[], lost: number[], replayed: number[] = []): void {
    this.engine.asks.failInDoubt(endpoint, consumed, replayed);
    this.engine.deathWatch.threadCrashed(endpoint, lost);
    this.engine.lifecycle.childrenLost(lost);
  }

  /** The body a journaled frame carries: itself, or (a CARRIED frame) the one in its pool allocation. */
  private carriedBody(body: Uint8Array): Uint8Array {
    if (body[0] !== kCarried) return body;
    const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
    const handle = new RegionHandle(
      view.getUint32(kCarriedRegionAt, true),
      view.getUint32(kCarriedGenAt, true),
      view.getUint32(kCarriedLengthAt, true),
      0,
      0,
    );
    return this.engine.pool.carrierView(handle);
  }

  /**
   * The (asking endpoint, ask id) of a journaled message when it is an ASK
   * (looking inside a carried one), [] otherwise: the main thread reads a dead
   * thread's journal with it, to leave the asks that replay answers alone.
   */
  askOfJournaled(entry: { from: number; body: Uint8Array }): number[] {
    const body = this.carriedBody(entry.body);
    if ((body[0] & kKindMask) !== kAsk) return [];
    return [entry.from, new DataView(body.buffer, body.byteOffset, body.byteLength).getUint32(kAskIdAt, true)];
  }

  /**
   * The message inside a journaled TELL, ASK or FORWARD body (looking inside
   * a carried one), decoded; undefined for anything else. For the main
   * thread's watchdog, naming what a handler that holds its thread handles.
   */
  messageOfJournaled(journaled: Uint8Array): unknown {
    const body = this.carriedBody(journaled);
    const r = new Reader();
    r.reset(body, 0, body.length);
    const head = r.u8();
    const kind = head & kKindMask;
    if (kind !== kTell && kind !== kAsk && kind !== kForward) return undefined;
    r.u32(); // slot
    r.u32(); // gen
    const senderSlot = r.i32();
    r.u32(); // sender gen
    if (kind === kAsk) r.u32(); // ask id
    if (kind === kForward) {
      r.i32(); // asker
      r.u32(); // ask id
    }
    setDecodingHost(this.engine);
    if (senderSlot === kRemoteSender) decodeValue(r); // another node's sender
    if ((head & kTraced) !== 0) skipTraceField(r);
    return decodeValue(r);
  }

  /**
   * The actors (slot and generation) a message counts against: one for a
   * TELL, ASK or FORWARD (looking inside a carried one), each listed one for
   * a MULTICAST, none for anything else; traced or not (kTraced). The main thread counts, with it,
   * what still waits for the actors of a thread that died.
   */
  countedTargetsOf(journaled: Uint8Array): Array<{ slot: number; gen: number }> {
    if (journaled.length < 9) return [];
    const body = this.carriedBody(journaled);
    const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
    const kind = body[0] & kKindMask;
    if (kind === kMulticast) {
      const count = view.getUint32(kMulticastCountAt, true);
      const out: Array<{ slot: number; gen: number }> = [];
      for (let i = 0, at = kMulticastTargetsAt; i < count && at + 8 <= body.length; i++, at += 8) {
        out.push({ slot: view.getUint32(at, true), gen: view.getUint32(at + 4, true) });
      }
      return out;
    }
    if (body.length < 9 || (kind !== kTell && kind !== kAsk && kind !== kForward)) return [];
    return [{ slot: view.getUint32(kSlotAt, true), gen: view.getUint32(kGenAt, true) }];
  }
}
