/**
 * Asks: the table of answers this thread waits for (asks to actors, and
 * control requests to other endpoints), keyed by integer ids; their
 * deadlines and abort signals; and the other side, answering an ask by its
 * reply tag (`askId * kReplyStride + asking endpoint`), now or later
 * (`ctx.replyLater`). One table per thread, one entry per ask: no listener
 * per call.
 *
 * An ask settles once: by its answer, its timeout, its signal, the crash of
 * the thread that had taken it (`failInDoubt`), or the endpoint closing.
 */
import type { Cell } from '../actors/cell.js';
import type { DeferredReply } from '../actors/context.js';
import { kNoReply, kReplyStride } from '../actors/mailbox.js';
import { checkAskOptions, type ActorRef, type AskOptions } from '../actors/ref.js';
import { ActorCrashedError, AskAbortedError, AskTimeoutError, MailboxFullError, RuntimeClosedError, toError } from '../base/errors.js';
import { kReplyError, kReplyOk, kSystem } from '../transport/kinds.js';
import type { AsksPart, DispatcherPart, Engine, MemoryPart, RouterPart, TracingPart } from './parts.js';
import type { TraceContext } from './trace-field.js';
import { kRouteDead, kRouteOk, kUntimedAsk, type EndpointConfig } from './types.js';
import type { Metering } from './metering.js';
import { kAskAborted, kAskTimedOut } from '../transport/meters.js';
import { type DeadlineBucket, Deadlines } from './deadlines.js';
import { PendingTable } from './pending-table.js';

/**
 * How long after sending an ask through a ring the main thread polls for its
 * answer before parking (ms): an ask between threads is answered in
 * microseconds unless its handler is slow, and then parking costs nothing.
 */
const kAwaitingMs = 1;

interface PendingAsk {
  resolve(value: unknown): void;
  reject(error: unknown): void;
  /** Its deadline's bucket (deadlines.ts); undefined: no timeout, or it fired. */
  deadline: DeadlineBucket | undefined;
  /** The timeout's error, made at the call (askStackTraces); else made when it fires, from `actor`, `asker` and `timeoutMs`. */
  timeoutError: Error | undefined;
  asker: ActorRef | undefined;
  timeoutMs: number;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
  /** The endpoint the request went to through a link (-1: none), and its sequence number on that link. */
  target: number;
  seq: number;
  /** Whom it asked (an ask's ref, a control request's op), named in its timeout error or when that thread dies. */
  actor: ActorRef | string;
  /** performance.now() when a timed ask (metrics' ask latency, one in `sampleEvery`) started; 0 when not timed. */
  began: number;
}

/** A settle function's stand-in until the promise's executor has run (it runs at once). */
const noop = (): void => undefined;

/** @internal */
export class Asks implements AsksPart {
  private readonly engine: Engine;
  private readonly index: number;
  private readonly config: EndpointConfig;
  private readonly pending = new PendingTable<PendingAsk>();
  /** Asks started, timed out, aborted, and sampled latency, for metrics. */
  private readonly metering: Metering;
  private nextAskId = 0;
  /** performance.now() when this thread last sent an ask through a ring (see `awaiting`). */
  private lastRingAskAt = -Infinity;
  private router!: RouterPart;
  private memory!: MemoryPart;
  private dispatcher!: DispatcherPart;
  private tracing!: TracingPart;
  /** The deadlines of timed asks: one timer per thread (keeping the process alive only on the main thread). */
  private readonly deadlines: Deadlines;
  /** Whether asks made here create their timeout error at the call (askStackTraces). */
  private readonly errorAtCall: boolean;

  constructor(engine: Engine) {
    this.engine = engine;
    this.index = engine.index;
    this.config = engine.config;
    this.metering = engine.metering;
    this.deadlines = new Deadlines(this.expire, (askId, bucket) => this.pending.get(askId)?.deadline === bucket, engine.index === 0);
    const mode = engine.config.askStackTraces;
    this.errorAtCall = mode === 'always' || (mode === 'main-thread' && engine.index === 0);
  }

  /** Takes the parts it calls once they all exist. */
  wire(): void {
    this.router = this.engine.router;
    this.memory = this.engine.memory;
    this.dispatcher = this.engine.dispatcher;
    this.tracing = this.engine.tracing;
  }

  /**
   * True while an ask this thread sent through a ring (to another thread)
   * less than kAwaitingMs ago may still await its answer: what makes the
   * main thread, or a pool thread whose async handler awaits it, poll its
   * rings before parking (spin.ts). Not
   * an ask of another node (its answer comes over NATS, not a ring), nor
   * one long outstanding (a slow handler, an untimed task).
   */
  awaiting(): boolean {
    return this.pending.size > 0 && performance.now() - this.lastRingAskAt < kAwaitingMs;
  }

  /**
   * The error a timeout of this ask rejects with, made at the call so that
   * it carries the caller's stack, when askStackTraces says so; else
   * undefined, and the error is made when the timeout fires.
   */
  makeTimeoutError(ref: ActorRef, options: AskOptions | undefined): Error | undefined {
    if (!this.errorAtCall) return undefined;
    const ms = options?.timeoutMs;
    return new AskTimeoutError(ref.toString(), typeof ms === 'number' ? ms : this.config.askTimeoutMs, this.router.senderFor(undefined)?.toString());
  }

  ask(ref: ActorRef, msg: unknown, options: AskOptions | undefined, timeoutError: Error | undefined): Promise<unknown> {
    if (!this.engine.accepting || this.engine.closed) return Promise.reject(new RuntimeClosedError('ask'));
    let timeoutMs: number;
    try {
      timeoutMs = options === kUntimedAsk ? Infinity : checkAskOptions(options, this.config.askTimeoutMs);
    } catch (err) {
      return Promise.reject(err);
    }
    const signal = options?.signal;
    if (signal?.aborted) return Promise.reject(new AskAbortedError(ref.toString(), { cause: signal.reason }));
    // The main thread's drain runs only when frames arrive: a tracer provider registered since is seen here.
    if (this.index === 0) this.tracing.refresh();
    const askId = this.newAskId();
    const entry: PendingAsk = {
      resolve: noop,
      reject: noop,
      deadline: undefined,
      timeoutError,
      asker: undefined,
      timeoutMs,
      signal,
      onAbort: undefined,
      target: -1,
      seq: 0,
      actor: ref, // not stringified per ask: only a timeout or a crash names it
      began: 0,
    };
    // The executor only takes the settle functions: the rest of the ask runs
    // here, so that the closure an ask allocates captures one variable.
    const promise = new Promise<unknown>((ok, fail) => {
      entry.resolve = ok;
      entry.reject = fail;
    });
    try {
      this.send(askId, entry, ref, msg, options);
    } catch (err) {
      // Whatever throws here (a tracer's span, say) fails this ask, not the caller: as inside an executor.
      this.take(askId);
      entry.reject(err);
    }
    return promise;
  }

  /** Routes an ask whose entry is made, and arms its deadline and signal; settles `entry` itself when it cannot go. */
  private send(askId: number, entry: PendingAsk, ref: ActorRef, msg: unknown, options: AskOptions | undefined): void {
    const { timeoutError, timeoutMs, signal } = entry;
    // tracing (tracing.ts): an ask is a CLIENT span until it settles; a relayed one (askFrom) carries the asking node's context instead.
    let trace: TraceContext | undefined = this.onBehalf ? this.onBehalfTrace : undefined;
    if (!this.onBehalf && this.tracing.on) {
      const span = this.tracing.startAsk(ref);
      if (span !== undefined) {
        trace = (span as { spanContext(): TraceContext }).spanContext();
        const settleOk = entry.resolve;
        const settleError = entry.reject;
        entry.resolve = (value) => {
          this.tracing.endAsk(span, undefined);
          settleOk(value);
        };
        entry.reject = (error: unknown) => {
          this.tracing.endAsk(span, error);
          settleError(error);
        };
      }
    }
    entry.began = this.metering.askStarted();
    this.pending.set(askId, entry);
    const router = this.router;
    let code: number;
    try {
      const sender = this.onBehalf ? this.onBehalfOf : router.senderFor(undefined);
      if (timeoutError === undefined) entry.asker = sender;
      const replyTag = askId * kReplyStride + this.index;
      router.askTimeoutMs = timeoutMs === Infinity ? 0 : timeoutMs;
      code =
        options?.transfer !== undefined
          ? this.memory.withTransfer(ref, options.transfer, sender, msg, replyTag, trace)
          : router.route(ref, msg, sender, replyTag, false, trace);
    } catch (err) {
      this.pending.delete(askId);
      entry.reject(err);
      return;
    }
    if (code !== kRouteOk) {
      this.pending.delete(askId);
      entry.reject(
        code === kRouteDead ? router.stoppedError(ref) : new MailboxFullError(ref.toString(), Atomics.load(this.engine.dir.capacity, ref.slot)),
      );
      return;
    }
    if (!this.pending.has(askId)) return; // answered synchronously (cannot happen today, kept safe)
    if (router.routedTo >= 0) {
      this.lastRingAskAt = performance.now(); // see `awaiting`
      entry.target = router.routedTo;
      entry.seq = router.sentTo(router.routedTo);
    }
    if (timeoutMs !== Infinity) entry.deadline = this.deadlines.add(askId, timeoutMs);
    if (signal !== undefined) {
      entry.onAbort = () => {
        if (this.take(askId) === undefined) return;
        this.metering.ask(kAskAborted);
        entry.reject(new AskAbortedError(ref.toString(), { cause: signal.reason }));
      };
      signal.addEventListener('abort', entry.onAbort, { once: true });
    }
  }

  /** Set by askFrom around `ask`: the sender is given, not the running actor. */
  private onBehalf = false;
  private onBehalfOf: ActorRef | undefined;
  /** Set by askFrom around `ask`: the trace context the asking node sent, carried on (no span of this node's). */
  private onBehalfTrace: TraceContext | undefined;

  /**
   * An ask on behalf of `sender`, an actor of another cluster node (the
   * cluster gateway on the main thread): its handler sees that sender.
   * `timeoutMs` 0: no timeout (the asking node keeps its own). `trace`:
   * the context the asking node sent it in, which it goes on carrying.
   */
  askFrom(ref: ActorRef, msg: unknown, sender: ActorRef | undefined, timeoutMs: number, trace?: TraceContext): Promise<unknown> {
    this.onBehalf = true;
    this.onBehalfOf = sender;
    this.onBehalfTrace = trace;
    try {
      return this.ask(ref, msg, timeoutMs > 0 ? { timeoutMs } : kUntimedAsk, undefined);
    } finally {
      this.onBehalf = false;
      this.onBehalfOf = undefined;
      this.onBehalfTrace = undefined;
    }
  }

  private newAskId(): number {
    this.nextAskId = this.nextAskId >= 0xffff_fffe ? 1 : this.nextAskId + 1;
    return this.nextAskId;
  }

  /** An ask's deadline passed (deadlines.ts removed it already). */
  private readonly expire = (askId: number): void => {
    const entry = this.pending.get(askId);
    if (entry === undefined) return;
    entry.deadline = undefined;
    this.take(askId);
    this.metering.ask(kAskTimedOut);
    entry.reject(entry.timeoutError ?? new AskTimeoutError(String(entry.actor), entry.timeoutMs, entry.asker?.toString()));
  };

  /** Removes a pending ask, its deadline and its abort listener; the entry, or undefined when it was no longer pending. */
  private take(askId: number): PendingAsk | undefined {
    const entry = this.pending.get(askId);
    if (entry === undefined) return undefined;
    this.pending.delete(askId);
    if (entry.deadline !== undefined) this.deadlines.remove(entry.deadline);
    if (entry.onAbort !== undefined) entry.signal?.removeEventListener('abort', entry.onAbort);
    return entry;
  }

  /** A REPLY frame arrived for `askId`: `ok` resolves the ask, else rejects it. */
  answer(askId: number, ok: boolean, value: unknown): void {
    const waiting = this.take(askId);
    if (waiting === undefined) return;
    if (waiting.began) this.metering.askAnswered(waiting.began);
    (ok ? waiting.resolve : waiting.reject)(value);
  }

  /** Answers an ask identified by its reply tag. */
  reply(replyTag: number, value: unknown, failed: boolean): void {
    const target = replyTag % kReplyStride;
    const askId = Math.floor(replyTag / kReplyStride);
    if (target === this.index) {
      const entry = this.take(askId);
      if (entry === undefined) return;
      if (entry.began) this.metering.askAnswered(entry.began);
      (failed ? entry.reject : entry.resolve)(value);
      return;
    }
    if (this.engine.closed) return;
    this.router.sendControl(target, failed ? kReplyError : kReplyOk, askId, value);
  }

  /** `ctx.replyLater`: takes the answer to the ask being handled over from the handler's return value. */
  replyLater(cell: Cell): DeferredReply {
    const tag = cell.replyTag;
    if (this.dispatcher.current !== cell || tag === kNoReply) {
      return { expected: false, resolve() {}, reject() {} };
    }
    cell.replyTag = kNoReply;
    let answered = false;
    return {
      expected: true,
      resolve: (value: unknown) => {
        if (answered) return;
        answered = true;
        this.reply(tag, value, false);
      },
      reject: (error: unknown) => {
        if (answered) return;
        answered = true;
        this.reply(tag, toError(error), true);
      },
    };
  }

  /**
   * Sends a control request to another endpoint and resolves with its answer.
   * On the main thread (target 0 from 0) the system handler is called directly.
   */
  request(target: number, op: string, payload: Record<string, unknown>): Promise<unknown> {
    if (target === this.index) {
      try {
        return Promise.resolve(this.engine.system.handle(op, payload, this.index));
      } catch (err) {
        return Promise.reject(err);
      }
    }
    const askId = this.newAskId();
    return new Promise((resolve, reject) => {
      const entry: PendingAsk = {
        resolve,
        reject,
        deadline: undefined,
        timeoutError: undefined,
        asker: undefined,
        timeoutMs: 0,
        signal: undefined,
        onAbort: undefined,
        target: -1,
        seq: 0,
        actor: op,
        began: 0,
      };
      this.pending.set(askId, entry);
      try {
        this.router.sendControl(target, kSystem, askId, { ...payload, op });
        entry.target = target;
        entry.seq = this.router.sentTo(target);
      } catch (err) {
        this.take(askId);
        reject(err);
      }
    });
  }

  /**
   * The thread of `endpoint` died; `consumed` says how many messages it had
   * taken from each endpoint's ring. Asks (and control requests) this
   * endpoint sent there and that it had taken are in doubt: rejected with
   * ActorCrashedError, unless `replayed` (pairs of asking endpoint and ask
   * id) says the replacement replays them from the journal, which answers
   * them. Those still in the ring wait for the replacement.
   */
  failInDoubt(endpoint: number, consumed: number[], replayed: number[]): void {
    const taken = consumed[this.index] ?? 0;
    const answeredLater = new Set<number>();
    for (let i = 0; i + 1 < replayed.length; i += 2) if (replayed[i] === this.index) answeredLater.add(replayed[i + 1]);
    for (const askId of this.pending.waitingIds()) {
      const entry = this.pending.get(askId);
      if (entry === undefined) continue;
      // Sequence numbers wrap with the int32 counters: compare by difference.
      if (entry.target !== endpoint || ((entry.seq - taken) | 0) > 0) continue; // target -1: not sent through a ring
      if (answeredLater.has(askId)) continue; // journaled: its replay answers it
      this.take(askId);
      const actor = entry.actor;
      const name = typeof actor === 'string' ? inDoubtName(endpoint, actor) : (actor?.toString() ?? `on endpoint ${endpoint}`);
      entry.reject(new ActorCrashedError(name));
    }
  }

  /** The endpoint closed: everything still waiting is rejected with `reason`. */
  rejectAll(reason: Error): void {
    for (const askId of this.pending.waitingIds()) this.take(askId)?.reject(reason);
    this.deadlines.close();
  }
}

/** What the ActorCrashedError of a control request `op` in doubt after the thread of `endpoint` died names (Asks.failInDoubt). */
export function inDoubtName(endpoint: number, op: string): string {
  return `the thread of endpoint ${endpoint} (${op})`;
}
