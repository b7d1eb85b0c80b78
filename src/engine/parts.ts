/**
 * The parts of one thread's engine and what each offers the others: the
 * contract between the files of this folder. Each part is a class in the
 * file named for it; `Endpoint` (endpoint.ts) makes them, hands each the
 * `Engine` below, and wires them once. A part sees the others only through
 * these interfaces, so no part imports another part, nor endpoint.ts (they
 * import only this file and the leaves: types.ts, link.ts, modules.ts).
 *
 *   endpoint.ts        Endpoint: makes and wires the parts; RefHost; the runtime's API
 *   router.ts          where a message goes: this thread, or another endpoint's Link
 *   link.ts            the way to another endpoint (today its ring)
 *   inbound.ts         frames that come in: journaled, decoded, delivered
 *   dispatcher.ts      mailboxes, the drain loop, turns and throughput
 *   asks.ts            pending asks, deadlines, replies, control requests
 *   lifecycle.ts       start, spawn, stop
 *   supervisor.ts      failures, directives, restarts
 *   watch.ts           death watch
 *   timers.ts          ctx.after / ctx.every
 *   checkpoints.ts     snapshots in the pool
 *   memory-access.ts   ctx.memory, region transfer
 *   recovery.ts        crash replay (rehost), threadCrashed, reading a dead thread's journal
 *   migration.ts       moving an actor between threads
 *   envelopes.ts       tasks, votes, relays, fenced messages, topics
 *   tracing.ts         OpenTelemetry spans, the trace context messages carry (trace-field.ts: its bytes)
 *   actor-services.ts  what ctx.* reaches (ContextHost)
 *   metering.ts        this thread's metric counters in shared memory, histogram sampling
 *   types.ts           what an endpoint reports (dead letters, failures, Terminated), its config
 *   modules.ts         loading actor modules; ref-codec.ts: refs and handles in the codec
 *   host.ts            the worker entry (Piscina control tasks)
 */
import type { Cell } from '../actors/cell.js';
import type { ContextHost, DeferredReply, Timer } from '../actors/context.js';
import type { Fenced, Proposal, Relay } from '../actors/envelope.js';
import type { MemoryContext } from '../actors/memory.js';
import type { ActorRef, RefHost, TellOptions } from '../actors/ref.js';
import type { AgentOverride, ResolvedSpawnOptions } from '../actors/spawn-options.js';
import type { ActorDefinition } from '../actors/define.js';
import type { Task } from '../actors/task.js';
import type { Directive } from '../actors/supervision.js';
import type { ActorInitError, ActorStoppedError } from '../base/errors.js';
import type { Directory } from '../transport/directory.js';
import type { Journal } from '../transport/journal.js';
import type { FrameHandler, Transport } from '../transport/transport.js';
import type { Pool } from '../memory/pool.js';
import type { TraceContext } from './trace-field.js';
import type { DeadLetterReason, EndpointConfig, SystemHandler, TerminatedReason } from './types.js';
import type { Metering } from './metering.js';

/**
 * @internal One thread's engine as its parts see it: what the thread shares
 * (set once), its state flags, and the parts. Refs made here talk through
 * it (it is the RefHost).
 */
export interface Engine extends RefHost {
  /** 0: the main thread (no actors, only asks and the control plane); 1..threads: pool workers. */
  readonly index: number;
  readonly dir: Directory;
  readonly pool: Pool;
  readonly transport: Transport;
  readonly config: EndpointConfig;
  /** The actors of this thread, by slot (empty on the main thread). */
  readonly cells: Array<Cell | undefined>;
  readonly system: SystemHandler;
  /** This thread's journal of taken cross-thread messages (workers, unless journalBytes is 0). */
  readonly journal: Journal | undefined;
  /** What actors' contexts talk through. */
  readonly services: ContextHost;
  /** This thread's metric counts and samples (metering.ts). */
  readonly metering: Metering;
  closed: boolean;
  /** False once shutdown began on this thread: new tells and asks are refused. */
  accepting: boolean;
  /** Set by stopAll: what is still queued is dead-lettered with reason 'shutdown'. */
  shuttingDown: boolean;
  readonly router: RouterPart;
  readonly asks: AsksPart;
  readonly dispatcher: DispatcherPart;
  readonly inbound: InboundPart;
  readonly lifecycle: LifecyclePart;
  readonly deathWatch: WatchPart;
  readonly timers: TimersPart;
  readonly checkpoints: CheckpointsPart;
  readonly memory: MemoryPart;
  readonly recovery: RecoveryPart;
  readonly supervisor: SupervisorPart;
  readonly envelopes: EnvelopesPart;
  readonly tracing: TracingPart;
  /** The main thread's cluster gateway, when this runtime is a cluster node (set by the runtime); undefined elsewhere. */
  remote: RemotePart | undefined;
  /** Starts the receive loop (and a worker's heartbeat). */
  start(): void;
}

/** @internal router.ts */
export interface RouterPart {
  /** The endpoint the last routed message went to through a link, -1 when it stayed on this thread. */
  readonly routedTo: number;
  /** The timeout of the ask being routed (ms, 0: none): set by Asks around `route`, for a cluster record. */
  askTimeoutMs: number;
  /** `trace`: the trace context the message carries (an ask's span, a relayed one); undefined: the sender's active one, if tracing is on. */
  route(ref: ActorRef, msg: unknown, sender: ActorRef | undefined, replyTag: number, forSend: boolean, trace?: TraceContext): number;
  multicast(targets: readonly ActorRef[], msg: unknown, sender: ActorRef | undefined): number;
  senderFor(options: TellOptions | undefined): ActorRef | undefined;
  stoppedError(ref: ActorRef): ActorStoppedError;
  sendControl(target: number, kind: number, id: number, value: unknown): void;
  notify(target: number, op: string, payload: Record<string, unknown>): void;
  forward(to: number, cell: Cell, msg: unknown, sender: ActorRef | undefined, replyTag: number, trace?: unknown): void;
  sendWatch(kind: number, target: ActorRef, watcher: ActorRef): void;
  sentTo(endpoint: number): number;
}

/**
 * @internal The way to other cluster nodes (src/cluster/gateway.ts implements
 * it on the main thread; the engine holds no NATS code).
 */
export interface RemotePart {
  /** Sends one cluster record (layout: ../transport/kinds.ts) to `node`; copies `bytes[start, end)` before it returns. */
  send(node: string, bytes: Uint8Array, start: number, end: number): void;
}

/** @internal asks.ts */
export interface AsksPart {
  /** True while an ask this thread sent to a pool thread within the last millisecond awaits its reply (the main thread polls for it). */
  awaiting(): boolean;
  reply(replyTag: number, value: unknown, failed: boolean): void;
  answer(askId: number, ok: boolean, value: unknown): void;
  askFrom(ref: ActorRef, msg: unknown, sender: ActorRef | undefined, timeoutMs: number, trace?: TraceContext): Promise<unknown>;
  request(target: number, op: string, payload: Record<string, unknown>): Promise<unknown>;
  replyLater(cell: Cell): DeferredReply;
  failInDoubt(endpoint: number, consumed: number[], replayed: number[]): void;
}

/** @internal dispatcher.ts */
export interface DispatcherPart {
  /** The actor whose handler (or init, or hook) runs now. */
  current: Cell | undefined;
  enqueue(cell: Cell, msg: unknown, sender: ActorRef | undefined, replyTag: number, entry?: number, trace?: unknown): void;
  dropMessage(
    recipient: ActorRef,
    cell: Cell | undefined,
    msg: unknown,
    sender: ActorRef | undefined,
    replyTag: number,
    reason: DeadLetterReason,
    detail?: string,
  ): void;
  drainToDeadLetters(cell: Cell, reason: DeadLetterReason): void;
  activated(cell: Cell): void;
  reschedule(cell: Cell): void;
  pollNow(): void;
}

/** @internal inbound.ts */
export interface InboundPart {
  replaying: boolean;
  readonly onFrame: FrameHandler;
  finishEntry(entry: number): void;
}

/** @internal lifecycle.ts */
export interface LifecyclePart {
  startActor(
    slot: number,
    gen: number,
    moduleUrl: string,
    args: unknown,
    name: string | undefined,
    parent: ActorRef | undefined,
    parentCell?: Cell,
    recovered?: Error,
    delayMs?: number,
  ): Promise<ActorRef>;
  /** A slot on this thread for a child, its columns set; throws AgentLimitError. */
  allocateChild(opts: ResolvedSpawnOptions): number;
  createCell(
    slot: number,
    gen: number,
    def: ActorDefinition,
    moduleUrl: string,
    name: string | undefined,
    parent: ActorRef | undefined,
    fresh: boolean,
  ): Cell;
  buildState(
    cell: Cell,
    args: unknown,
    parentCell: Cell | undefined,
    recovered: Error | undefined,
    fromCheckpoint?: boolean,
  ): ActorRef | Promise<ActorRef>;
  initFailed(cell: Cell, thrown: unknown): ActorInitError;
  /** Ends an actor that has no state yet (a stop before its init): as a stop, without postStop. */
  endUnstarted(cell: Cell, reason: 'failed' | undefined): void;
  adopt(parent: ActorRef, child: ActorRef): boolean;
  lookup(name: string): Promise<ActorRef | undefined>;
  requestStop(cell: Cell): void;
  stopRef(ref: ActorRef): Promise<void>;
  stopChildren(cell: Cell): void;
  childrenLost(lost: number[]): void;
  finishStop(cell: Cell): void;
  inTurn<T>(cell: Cell, fn: () => T | Promise<T>): Promise<T>;
}

/** @internal watch.ts */
export interface WatchPart {
  watch(cell: Cell, target: ActorRef): void;
  unwatch(cell: Cell, target: ActorRef): void;
  terminated(cell: Cell, reason: TerminatedReason): void;
  isUnexpected(cell: Cell, msg: unknown): boolean;
  threadCrashed(endpoint: number, lost: number[]): void;
  watcherStopped(cell: Cell): void;
}

/** @internal timers.ts */
export interface TimersPart {
  start(cell: Cell, ms: number, msg: unknown, repeat: boolean): Timer;
  cancelAll(cell: Cell): void;
}

/** @internal checkpoints.ts */
export interface CheckpointsPart {
  data(slot: number): { data: unknown } | undefined;
  drop(slot: number): void;
  now(cell: Cell): number;
  due(cell: Cell): void;
  runWaiters(cell: Cell): void;
  failWaiters(cell: Cell, error: Error): void;
  failClosing(cell: Cell): void;
}

/** @internal memory-access.ts */
export interface MemoryPart {
  memoryFor(cell: Cell): MemoryContext;
  withTransfer(ref: ActorRef, transfer: unknown, sender: ActorRef | undefined, msg: unknown, replyTag: number, trace?: TraceContext): number;
}

/** @internal recovery.ts */
export interface RecoveryPart {
  replayed(cell: Cell, msg: unknown, sender: ActorRef | undefined, replyTag: number, entry: number): boolean;
}

/** @internal supervisor.ts */
export interface SupervisorPart {
  report(cell: Cell, error: Error): void;
  restart(cell: Cell, error: Error): Promise<void>;
  /** Carries out a supervisor's directive on an actor of this thread. */
  supervise(ref: ActorRef, directive: Directive, error: Error, delayMs: number): void;
}

/**
 * @internal tracing.ts. Spans are opaque here (`unknown`): the engine's other
 * parts never load OpenTelemetry; only tracing.ts does, and only when a
 * tracer provider is registered on the thread.
 */
export interface TracingPart {
  /** A tracer provider is registered on this thread: messages are traced. */
  readonly on: boolean;
  /** Re-reads whether a tracer provider is registered (cheap: no API call). */
  refresh(): void;
  /** The context a message sent now carries (only when `on`). */
  outgoing(): TraceContext | undefined;
  /** Starts an ask's CLIENT span (only when `on`). */
  startAsk(ref: ActorRef): unknown;
  /** Ends an ask's span; `error`: it rejected. */
  endAsk(span: unknown, error: unknown): void;
  /** Starts the CONSUMER span of a message sent in `sentIn` (its mailbox entry's trace), the running handler's from now. */
  beginProcess(cell: Cell, sentIn: unknown): unknown;
  /** Calls `fn` with the span active (for a context manager the user registered). */
  call<A, B, C>(span: unknown, fn: (a: A, b: B, c: C) => unknown, self: unknown, a: A, b: B, c: C): unknown;
  /** The handler's synchronous part is over: ends the span now, or when its promise settles. */
  exitProcess(span: unknown, result: unknown, threw: boolean, error: unknown): void;
}

/** @internal envelopes.ts */
export interface EnvelopesPart {
  override(slot: number, gen: number, agent: AgentOverride): void;
  started(cell: Cell): void;
  start(cell: Cell, task: Task | Proposal): unknown;
  done(task: Task | Proposal): void;
  failed(cell: Cell, task: Task | Proposal, thrown: unknown, replyTag: number): void;
  staleAgainst(fenced: Fenced): number | undefined;
  passOn(cell: Cell, relay: Relay): void;
  topicOp(cell: Cell, op: 'subscribe' | 'unsubscribe' | 'publish', topic: string, msg?: unknown): void;
  leaderOf(swarm: string): { leader: ActorRef | undefined; term: number } | undefined;
}
