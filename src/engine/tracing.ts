/**
 * Tracing: OpenTelemetry spans for asks and handled messages, and the W3C
 * trace context a message carries between threads and nodes (its bytes:
 * trace-field.ts; where they sit in a frame: ../transport/kinds.ts).
 *
 * Spans, after the OpenTelemetry messaging conventions:
 *   - an ask is a CLIENT span `send <name>` (`send` for an actor spawned with
 *     no name), from the call until the ask settles (an error status when it
 *     rejects), child of the asker's active context;
 *   - a handled message that was sent in a trace is a CONSUMER span
 *     `process <name or module>` around its handler (until its promise
 *     settles), a child of the context it was sent in (the ask's CLIENT span,
 *     or the span active where a tell was made). Child, not a new trace
 *     linked to it: an ask chain across threads and nodes is then one trace.
 *     The conventions ask a process span to link its creation context; the
 *     parent is that context already, and a link costs about as much again
 *     as the span itself in the SDK (measured: sdk-trace-base 2.0), so
 *     there is none;
 *   - a tell makes no span of its own: it carries the sender's active
 *     context (a handler's is its `process` span), so its handling is
 *     traced when the tell was made in a trace, and not otherwise;
 *   - a message sent in a trace that is not sampled (trace flags without
 *     the sampled bit) gets no process span: the SDK is not asked (its
 *     default parent-based sampler would make a non-recording span, with a
 *     new random id, for nothing), and the handler runs in the context it
 *     was sent in, which its own sends carry on. A sampler that records
 *     children of unsampled parents is not asked here.
 * Attributes: messaging.system 'microswarm', messaging.operation.type and
 * .name ('send' / 'process'), messaging.destination.name (or
 * messaging.destination.anonymous), microswarm.actor.id, and for a process
 * span microswarm.actor.module; error.type on a failure.
 *
 * Zero cost without an SDK: whether a tracer provider is registered is read
 * from the OpenTelemetry API's global (`Symbol.for('opentelemetry.js.api.1')`,
 * where every copy of @opentelemetry/api 1.x registers it), once per drain
 * round and at start, without loading the API. With none registered, `on`
 * is false: the router writes no trace field, the dispatcher makes no span,
 * nothing is allocated, and @opentelemetry/api is never loaded. Once a
 * provider is seen, the API is loaded with a dynamic import (it is already
 * loaded: the code that registered the provider used it).
 *
 * The API's global lives per thread: each pool thread needs its own SDK,
 * registered by the runtime's `threadSetup` module (README, Observability).
 */
import type { Attributes, Context, Span, SpanContext, Tracer } from '@opentelemetry/api';
import type { Cell } from '../actors/cell.js';
import type { ActorRef } from '../actors/ref.js';
import type { TracingPart } from './parts.js';
import { type TraceContext, WireTrace } from './trace-field.js';
import { isThenable } from './types.js';

type Api = typeof import('@opentelemetry/api');

/** Where @opentelemetry/api 1.x keeps its globals (api/src/internal/global-utils.ts). */
const kApiGlobal = Symbol.for('opentelemetry.js.api.1');
/** OpenTelemetry's SpanKind and SpanStatusCode values (numbers in the API; constants here so nothing loads the API to name them). */
const kSpanKindClient = 2;
const kSpanKindConsumer = 4;
const kStatusError = 2;
/** W3C trace flags: the sampled bit. */
const kSampled = 1;

/** This thread's copy of @opentelemetry/api, once a tracer provider was seen and the API loaded. */
let api: Api | undefined;
let loading: Promise<void> | undefined;

/** The API's registry of globals on this thread: a tracer provider (`trace`), a context manager (`context`), if registered. */
function registry(): { trace?: unknown; context?: unknown } | undefined {
  return (globalThis as Record<symbol, { trace?: unknown; context?: unknown } | undefined>)[kApiGlobal];
}

/** True when code in this thread registered a global tracer provider (read without loading the API). */
function providerRegistered(): boolean {
  return registry()?.trace !== undefined;
}

/**
 * @internal Loads @opentelemetry/api when a tracer provider is registered on
 * this thread (the runtime awaits it at start, after `threadSetup`). One that
 * cannot be loaded is reported once as a process warning; tracing stays off.
 */
export function loadTracingApi(): Promise<void> {
  if (api !== undefined || !providerRegistered()) return Promise.resolve();
  loading ??= import('@opentelemetry/api').then(
    (module) => {
      api = module;
    },
    (err: unknown) => {
      process.emitWarning(`microswarm: a tracer provider is registered but @opentelemetry/api cannot be loaded, so nothing is traced: ${String(err)}`);
    },
  );
  return loading;
}

/** `file:///x/y/counter.ts` -> `counter`: a process span's low-cardinality destination for an actor with no name. */
function moduleName(url: string): string {
  const base = url.slice(url.lastIndexOf('/') + 1);
  const dot = base.indexOf('.');
  return dot > 0 ? base.slice(0, dot) : base;
}

/** @internal One thread's tracing (see the top of this file). */
export class Tracing implements TracingPart {
  /** A tracer provider is registered and the API loaded: messages are traced. Read per message; set by `refresh`. */
  on = false;
  private tracer: Tracer | undefined;
  /** The process span of the message whose handler runs now (its synchronous part): what its sends carry. */
  private current: Span | undefined = undefined;
  /** The name and attributes of a CLIENT span to the actor asked last (an ask loop asks one actor): made once, not per ask. */
  private askTo: { ref: ActorRef; name: string; attributes: Attributes } | undefined;

  /**
   * A context manager is registered (an SDK's `register()` does it): the
   * active context is asked for per message. Without one the active context
   * is always the root, so only the running handler's span counts, and
   * nothing is asked per message.
   */
  private contexts = false;

  /** Re-reads whether a tracer provider is registered (per drain round, and at start). */
  refresh(): void {
    const globals = registry();
    if (globals?.trace === undefined) {
      this.on = false;
      return;
    }
    this.contexts = globals.context !== undefined;
    if (this.on) return;
    if (api === undefined) {
      void loadTracingApi(); // on from a later round
      return;
    }
    this.tracer ??= api.trace.getTracer('microswarm');
    this.on = true;
  }

  /** The context a message sent now carries: the active span's, else the process span of the running handler. */
  outgoing(): TraceContext | undefined {
    try {
      if (this.contexts) {
        const active = (api as Api).trace.getSpanContext((api as Api).context.active());
        if (active !== undefined) return active;
      }
      return this.current?.spanContext();
    } catch (err) {
      return faulted(err);
    }
  }

  /** The parent of a span started now: the active context, with the running handler's span when none is active. */
  private parentContext(): Context {
    const a = api as Api;
    const active = this.contexts ? a.context.active() : a.ROOT_CONTEXT;
    return this.current !== undefined && a.trace.getSpan(active) === undefined ? a.trace.setSpan(active, this.current) : active;
  }

  startAsk(ref: ActorRef): Span | undefined {
    try {
      let to = this.askTo;
      if (to === undefined || (to.ref !== ref && !(to.ref.equals(ref) && to.ref.name === ref.name))) this.askTo = to = askSpanOf(ref);
      return (this.tracer as Tracer).startSpan(to.name, { kind: kSpanKindClient, attributes: to.attributes }, this.parentContext());
    } catch (err) {
      return faulted(err);
    }
  }

  endAsk(span: unknown, error: unknown): void {
    try {
      if (error !== undefined) failed(span as Span, error);
      (span as Span).end();
    } catch (err) {
      faulted(err);
    }
  }

  beginProcess(cell: Cell, sentIn: unknown): Span | undefined {
    try {
      return this.startProcess(cell, sentIn);
    } catch (err) {
      return faulted(err);
    }
  }

  private startProcess(cell: Cell, sentIn: unknown): Span {
    const a = api as Api;
    const parent: SpanContext =
      sentIn instanceof WireTrace
        ? {
            traceId: sentIn.traceId,
            spanId: sentIn.spanId,
            traceFlags: sentIn.traceFlags,
            isRemote: true,
            traceState: sentIn.traceState === '' ? undefined : a.createTraceState(sentIn.traceState),
          }
        : (sentIn as SpanContext);
    if ((parent.traceFlags & kSampled) === 0) {
      // Sent in a trace that is not sampled: no span is asked of the SDK (a
      // parent-based sampler, the SDK's default, would make a non-recording
      // one). The handler runs in the sender's context, so what it sends
      // carries the same decision on.
      const same = a.trace.wrapSpanContext(parent);
      this.current = same;
      return same;
    }
    const process = (cell.traceSpan ??= this.processSpanOf(cell));
    const span = (this.tracer as Tracer).startSpan(
      process.name,
      { kind: kSpanKindConsumer, attributes: process.attributes },
      a.trace.setSpanContext(a.ROOT_CONTEXT, parent),
    );
    this.current = span;
    return span;
  }

  /** The name and attributes of `cell`'s process spans: the same for each of its messages, so made once and kept on the cell. */
  private processSpanOf(cell: Cell): NonNullable<Cell['traceSpan']> {
    const module = moduleName(cell.moduleUrl);
    const destination = cell.ref.name ?? module;
    return {
      name: `process ${destination}`,
      attributes: Object.freeze({
        'messaging.system': 'microswarm',
        'messaging.operation.type': 'process',
        'messaging.operation.name': 'process',
        'messaging.destination.name': destination,
        'microswarm.actor.id': cell.ref.id,
        'microswarm.actor.module': module,
      }),
    };
  }

  call<A, B, C>(span: unknown, fn: (a: A, b: B, c: C) => unknown, self: unknown, a: A, b: B, c: C): unknown {
    const otel = api as Api;
    if (!this.contexts) return fn.call(self, a, b, c);
    return otel.context.with(otel.trace.setSpan(otel.context.active(), span as Span), fn, self, a, b, c);
  }

  exitProcess(span: unknown, result: unknown, threw: boolean, error: unknown): void {
    this.current = undefined;
    if (!threw && isThenable(result)) {
      result.then(
        () => end(span as Span, false, undefined),
        (err: unknown) => end(span as Span, true, err),
      );
      return;
    }
    end(span as Span, threw, error);
  }
}

/**
 * The name and attributes of a CLIENT span asking `ref`. Frozen: the same
 * object goes to every span of an ask loop (an SDK copies attributes into
 * its span; one that wrote to them would throw, and the ask go untraced).
 */
function askSpanOf(ref: ActorRef): { ref: ActorRef; name: string; attributes: Attributes } {
  const name = ref.name;
  return {
    ref,
    name: name === undefined ? 'send' : `send ${name}`,
    attributes: Object.freeze({
      'messaging.system': 'microswarm',
      'messaging.operation.type': 'send',
      'messaging.operation.name': 'send',
      [name === undefined ? 'messaging.destination.anonymous' : 'messaging.destination.name']: name ?? true,
      'microswarm.actor.id': ref.id,
    }),
  };
}

/** Ends a process span; `threw`: its handler failed with `error`. */
function end(span: Span, threw: boolean, error: unknown): void {
  try {
    if (threw) failed(span, error);
    span.end();
  } catch (err) {
    faulted(err);
  }
}

let faultReported = false;

/**
 * The registered tracer (user code: an SDK, its processors) threw: the
 * message goes on untraced, and the first such error is a process warning.
 */
function faulted(err: unknown): undefined {
  if (!faultReported) {
    faultReported = true;
    process.emitWarning(`microswarm: the registered OpenTelemetry tracer threw; the message goes on untraced: ${String(err)}`);
  }
  return undefined;
}

/** Marks a span failed with `thrown` (an exception event, an error status, error.type). */
function failed(span: Span, thrown: unknown): void {
  const error = thrown instanceof Error ? thrown : new Error(String(thrown));
  span.recordException(error);
  span.setStatus({ code: kStatusError, message: error.message });
  span.setAttribute('error.type', error.name);
}
