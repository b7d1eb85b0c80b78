/**
 * The main thread's watch over the pool threads: reports a handler that
 * holds its thread, and terminates a thread only when it stays silent far
 * longer.
 *
 * A pool thread shows it is alive through two words of shared memory the
 * main thread reads without the thread's help: its heartbeat (bumped from
 * its event loop every `heartbeatMs`, per drain round, and per thousand
 * messages of a ring batch) and its turn sequence (bumped at every handler
 * start, see turns.ts). While either moves, the thread is alive and making
 * progress, however long its event loop takes to turn: a backlog of short
 * handlers is never a hang.
 *
 * When neither has moved for `blockingHandlerMs` (default 1 s), one handler
 * (or other code of the thread) has run that long without yielding: it is
 * reported once on `rt.failures`, phase 'timeout', naming the actor (the
 * turn words say which) and its message (read from the thread's journal
 * entry when it crossed threads). Nothing is cut off. Only when the silence
 * lasts `stuckThreadMs` (default 10 s) is the thread terminated and
 * recovered (`rt.crashes`, reason 'stuck'): the last resort, since every
 * actor on it restarts. Erlang never has to kill a busy scheduler (it
 * preempts); JavaScript cannot preempt a handler, so a handler in an endless
 * loop would otherwise hold its thread's actors forever.
 */
import type { ActorRef } from '../actors/ref.js';
import { Envelope, Fenced, Proposal, Relay } from '../actors/envelope.js';
import { Task } from '../actors/task.js';
import type { ActorFailure } from '../engine/endpoint.js';
import { HandlerTimeoutError, typeName } from '../base/errors.js';
import type { Journal } from '../transport/journal.js';
import type { TurnReader } from '../transport/turns.js';

/** @internal What the watchdog reads and acts on (the runtime provides it). */
export interface WatchdogHost {
  /** Endpoints with a running pool thread, and that thread's Piscina worker id. */
  watched(): Iterable<[endpoint: number, workerId: number]>;
  /** The thread runs something that holds it by design (a function task): never reported nor stuck. */
  busyByDesign(endpoint: number, workerId: number): boolean;
  beats(endpoint: number): number;
  readonly turns: TurnReader;
  /** The thread's journal, to read the message being handled; undefined when journals are off. */
  journal(endpoint: number): Journal | undefined;
  /** Decodes a journaled message body (see Endpoint.messageOfJournaled). */
  messageOf(body: Uint8Array): unknown;
  /** The current ref of the actor in `slot`. */
  actorIn(slot: number): ActorRef;
  /** The ref that stands for the runtime itself in failures. */
  readonly systemRef: ActorRef;
  report(failure: ActorFailure): void;
  /** Terminates the thread (its recovery reports reason 'stuck'). */
  terminate(endpoint: number, workerId: number): void;
}

interface Seen {
  beats: number;
  turns: number;
  /** When `beats` and `turns` were last seen moving. */
  since: number;
  reported: boolean;
}

/** @internal */
export class Watchdog {
  private readonly seen = new Map<number, Seen>();
  private lastTick = performance.now();

  constructor(
    private readonly limits: { heartbeatMs: number; blockingHandlerMs: number; stuckThreadMs: number },
    private readonly host: WatchdogHost,
  ) {}

  /** One check of every watched thread; runs every `heartbeatMs`. */
  tick(now = performance.now()): void {
    const { heartbeatMs, blockingHandlerMs, stuckThreadMs } = this.limits;
    const host = this.host;
    // This tick itself came late: the process was starved or the main
    // thread busy, so a silence proves nothing. Start the windows over.
    const late = now - this.lastTick > 3 * heartbeatMs;
    this.lastTick = now;
    if (late) {
      for (const seen of this.seen.values()) seen.since = now;
      return;
    }
    for (const [endpoint, workerId] of host.watched()) {
      const beats = host.beats(endpoint);
      const turns = host.turns.seq(endpoint);
      const seen = this.seen.get(endpoint);
      if (seen === undefined || seen.beats !== beats || seen.turns !== turns || host.busyByDesign(endpoint, workerId)) {
        this.seen.set(endpoint, { beats, turns, since: now, reported: false });
        continue;
      }
      const silent = now - seen.since;
      if (blockingHandlerMs > 0 && !seen.reported && silent >= blockingHandlerMs) {
        seen.reported = true;
        this.reportBlocking(endpoint, turns, silent);
      }
      if (stuckThreadMs > 0 && silent >= stuckThreadMs) {
        this.seen.delete(endpoint);
        host.terminate(endpoint, workerId);
      }
    }
  }

  /** Forgets a thread (it died, or is being replaced). */
  forget(endpoint: number): void {
    this.seen.delete(endpoint);
  }

  private reportBlocking(endpoint: number, turns: number, silent: number): void {
    const host = this.host;
    const slot = host.turns.slot(endpoint);
    let messageKind: string | undefined;
    if (slot >= 0) {
      try {
        const body = host.journal(endpoint)?.runningBody(host.turns.entry(endpoint));
        if (body !== undefined) messageKind = describeMessage(host.messageOf(body));
      } catch {
        // Read while the handler ended and its entry was reused: no name.
      }
    }
    // The handler ended while we read: the actor and message may not match.
    if (host.turns.seq(endpoint) !== turns || host.turns.slot(endpoint) !== slot) return;
    const { blockingHandlerMs, stuckThreadMs } = this.limits;
    const actor = slot >= 0 ? host.actorIn(slot) : host.systemRef;
    const name = slot >= 0 ? actor.toString() : `pool thread ${endpoint - 1}`;
    const error = new HandlerTimeoutError(name, blockingHandlerMs, silent, {
      thread: endpoint - 1,
      messageKind,
      stuckThreadMs,
      outsideHandler: slot < 0,
    });
    host.report({ actor, error, phase: 'timeout' });
  }
}

/** A message as a report names it: its `type` when it has a string one, else what it is. */
function describeMessage(msg: unknown): string {
  if (msg instanceof Envelope) {
    if (msg instanceof Task) return `task ${JSON.stringify(msg.kind)}`;
    if (msg instanceof Proposal) return `proposal ${JSON.stringify(msg.id)}`;
    if (msg instanceof Relay || msg instanceof Fenced) return describeMessage(msg.msg);
  }
  if (msg !== null && typeof msg === 'object' && typeof (msg as { type?: unknown }).type === 'string') {
    return JSON.stringify((msg as { type: string }).type);
  }
  return typeName(msg);
}
