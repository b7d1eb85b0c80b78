/**
 * One thread's engine: the same class runs on the main thread (endpoint 0,
 * which hosts no actors, only asks and the control plane) and on every pool
 * worker (endpoints 1..threads, which host actors).
 *
 * Endpoint is the small class that wires the parts (as Akka's actor cell is
 * wired from dungeon/Dispatch, Children, DeathWatch, FaultHandling, ...):
 * each concern is a class in the file named for it, listed in parts.ts,
 * which also says what each offers the others. The parts are made here,
 * handed this object as their `Engine`, and the hot ones (router,
 * dispatcher, inbound, asks) take direct references to the others once
 * (`wire`), so nothing on the message path looks a part up.
 *
 * A message's path: `ref.tell` -> Endpoint.tell -> Router.route -> this
 * thread: Dispatcher.enqueue -> the drain loop -> Dispatcher.runCell -> the
 * handler; another thread: Link.sendMessage (the ring) -> that thread's
 * drain loop -> Transport.poll -> Inbound.onFrame -> Dispatcher.enqueue.
 * An ask's answer: Asks.reply -> Router.sendControl (REPLY) -> the asking
 * thread's Inbound.onFrame -> Asks.answer.
 */
import { type ActorRef, setDecodingHost, type AskOptions, type TellOptions, systemRef } from '../actors/ref.js';
import type { Cell } from '../actors/cell.js';
import { Directory, type DirectoryShared } from '../transport/directory.js';
import { Journal, type JournalEntry } from '../transport/journal.js';
import { Transport, type TransportShared } from '../transport/transport.js';
import { TurnWriter } from '../transport/turns.js';
import type { PoolShared } from '../memory/layout.js';
import { Pool } from '../memory/pool.js';
import { ActorServices } from './actor-services.js';
import { Asks } from './asks.js';
import { Checkpoints } from './checkpoints.js';
import { Dispatcher } from './dispatcher.js';
import { Envelopes } from './envelopes.js';
import { Inbound } from './inbound.js';
import { Lifecycle } from './lifecycle.js';
import { RingLink, type Link } from './link.js';
import { MemoryAccess } from './memory-access.js';
import { Metering } from './metering.js';
import { Migration } from './migration.js';
import type { Engine, RemotePart } from './parts.js';
import { setLocalNode } from './ref-codec.js';
import { Recovery, type RehostedActor } from './recovery.js';
import { Router } from './router.js';
import { Supervisor } from './supervisor.js';
import { Timers } from './timers.js';
import { Tracing } from './tracing.js';
import type { EndpointConfig, SystemHandler } from './types.js';
import { DeathWatch } from './watch.js';

export { kUntimedAsk } from './types.js';
export type { ActorFailure, DeadLetter, DeadLetterReason, EndpointConfig, SystemHandler, Terminated, TerminatedReason } from './types.js';

/** @internal */
export class Endpoint implements Engine {
  readonly index: number;
  readonly dir: Directory;
  readonly transport: Transport;
  readonly config: EndpointConfig;
  /** The shared region pool, mapped on this thread. */
  readonly pool: Pool;
  readonly system: SystemHandler;
  readonly cells: Array<Cell | undefined>;
  readonly journal: Journal | undefined;
  closed = false;
  /** False once shutdown began on this thread: new tells and asks are refused. */
  accepting = true;
  /** Set by stopAll: what is still queued is dead-lettered with reason 'shutdown'. */
  shuttingDown = false;

  readonly dispatcher: Dispatcher;
  readonly router: Router;
  readonly inbound: Inbound;
  readonly asks: Asks;
  readonly lifecycle: Lifecycle;
  /** Failures, directives and restarts of the actors here. */
  readonly supervisor: Supervisor;
  readonly deathWatch: DeathWatch;
  readonly timers: Timers;
  readonly checkpoints: Checkpoints;
  readonly memory: MemoryAccess;
  readonly recovery: Recovery;
  /** Moving actors between threads (rt.migrate). */
  readonly migration: Migration;
  /** Tasks, proposals, relays, fenced messages, topics and swarm terms on this thread. */
  readonly envelopes: Envelopes;
  /** OpenTelemetry spans and trace context, on while a tracer provider is registered on this thread. */
  readonly tracing = new Tracing();
  remote: RemotePart | undefined = undefined;
  readonly services: ActorServices;
  readonly metering: Metering;
  private heartbeat: NodeJS.Timeout | undefined;

  constructor(index: number, transport: TransportShared, directory: DirectoryShared, pool: PoolShared, config: EndpointConfig, system: SystemHandler) {
    this.index = index;
    this.pool = new Pool(pool);
    this.config = config;
    this.system = system;
    this.dir = new Directory(directory, index === 0 ? -1 : index);
    this.cells = index === 0 ? [] : new Array<Cell | undefined>(this.dir.slots).fill(undefined);
    const journal = transport.journals[index];
    this.journal = index !== 0 && journal !== null && journal !== undefined ? new Journal(journal) : undefined;
    this.metering = new Metering(transport.meters, index);
    this.dispatcher = new Dispatcher(this, new TurnWriter(transport.turns, index), this.metering);
    this.transport = new Transport(transport, index, this.dispatcher.drain, config.maxMessageBytes);
    this.transport.onMalformed = (_from, error) => this.system.failure({ actor: systemRef(this), error, phase: 'receive' });
    // Every other endpoint is a pool thread of this process today: its ring.
    const ring = new RingLink(this.transport, this.pool, config.inlineLimit);
    const links: Link[] = Array.from({ length: transport.endpoints }, () => ring);
    this.router = new Router(this, links);
    this.inbound = new Inbound(this);
    this.asks = new Asks(this);
    this.lifecycle = new Lifecycle(this);
    this.supervisor = new Supervisor(this);
    this.deathWatch = new DeathWatch(this);
    this.timers = new Timers(this);
    this.checkpoints = new Checkpoints(this);
    this.memory = new MemoryAccess(this);
    this.recovery = new Recovery(this);
    this.migration = new Migration(this);
    this.envelopes = new Envelopes(this);
    this.services = new ActorServices(this);
    this.router.wire();
    this.inbound.wire();
    this.asks.wire();
    this.dispatcher.wire();
    if (this.journal !== undefined) {
      this.transport.journal = this.inbound.journalFrame;
      this.transport.batchJournal = this.journal;
    }
    setDecodingHost(this);
    // Only a cluster node's endpoint names this process's node (a plain runtime started beside it leaves it).
    if (config.node !== undefined) setLocalNode(config.node);
  }

  /** Starts the receive loop: parks until a frame arrives. A worker also starts beating its heartbeat. */
  start(): void {
    this.tracing.refresh();
    if (this.index !== 0 && this.heartbeat === undefined) {
      this.transport.beat();
      // From the event loop: a handler that never returns stops the beats,
      // which is how the main thread tells a stuck thread from a busy one.
      this.heartbeat = setInterval(() => this.transport.beat(), this.config.heartbeatMs);
      this.heartbeat.unref();
    }
    this.dispatcher.requestDrain();
  }

  /** Stops the loop and rejects what still waits for an answer. */
  close(reason: Error): void {
    if (this.closed) return;
    this.closed = true;
    if (this.heartbeat !== undefined) clearInterval(this.heartbeat);
    this.transport.close();
    this.asks.rejectAll(reason);
  }

  // ------------------------------------------------ RefHost: what refs call

  tell(ref: ActorRef, msg: unknown, options: TellOptions | undefined): boolean {
    return this.router.tell(ref, msg, options);
  }

  ask(ref: ActorRef, msg: unknown, options: AskOptions | undefined, timeoutError: Error | undefined): Promise<unknown> {
    return this.asks.ask(ref, msg, options, timeoutError);
  }

  send(ref: ActorRef, msg: unknown, options: TellOptions | undefined): Promise<void> {
    return this.router.send(ref, msg, options);
  }

  makeTimeoutError(ref: ActorRef, options: AskOptions | undefined): Error | undefined {
    return this.asks.makeTimeoutError(ref, options);
  }

  // ------------------------------------------- what the main thread calls

  /** Sends one message to many actors, encoded once (see Router.multicast). */
  multicast(targets: readonly ActorRef[], msg: unknown, sender: ActorRef | undefined): number {
    return this.router.multicast(targets, msg, sender);
  }

  /** Sends a control request to another endpoint and resolves with its answer. */
  request(target: number, op: string, payload: Record<string, unknown>): Promise<unknown> {
    return this.asks.request(target, op, payload);
  }

  /** Sends a one-way control message (no answer). */
  notify(target: number, op: string, payload: Record<string, unknown>): void {
    this.router.notify(target, op, payload);
  }

  /** Reads whatever the rings hold now (shutdown's last look for dead letters). */
  pollNow(): void {
    this.dispatcher.pollNow();
  }

  /** Drops the slot's checkpoint (the actor stopped for good, or was lost with its thread). */
  dropCheckpoint(slot: number): void {
    this.checkpoints.drop(slot);
  }

  /** On a replacement thread: brings back the dead thread's actors and replays its journal (see Recovery.rehost). */
  rehost(actors: RehostedActor[], error: Error, replay: JournalEntry[]): Promise<void> {
    return this.recovery.rehost(actors, error, replay);
  }

  /** The thread of `endpoint` died: its asks in doubt and death watch on its actors are settled (see Recovery.threadCrashed). */
  threadCrashed(endpoint: number, consumed: number[], lost: number[], replayed: number[] = []): void {
    this.recovery.threadCrashed(endpoint, consumed, lost, replayed);
  }

  /** The (asking endpoint, ask id) of a journaled ASK, [] otherwise (see Recovery.askOfJournaled). */
  askOfJournaled(entry: { from: number; body: Uint8Array }): number[] {
    return this.recovery.askOfJournaled(entry);
  }

  /** The message inside a journaled body, decoded (see Recovery.messageOfJournaled). */
  messageOfJournaled(body: Uint8Array): unknown {
    return this.recovery.messageOfJournaled(body);
  }

  /** The actors a journaled or ring message counts against (see Recovery.countedTargetsOf). */
  countedTargetsOf(body: Uint8Array): Array<{ slot: number; gen: number }> {
    return this.recovery.countedTargetsOf(body);
  }
}
