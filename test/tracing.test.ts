/**
 * Tracing (src/engine/tracing.ts): OpenTelemetry spans for asks and handled
 * messages, the W3C trace context carried across threads, and nothing on the
 * wire when no SDK is registered. The main thread registers an SDK with an
 * in-memory exporter here; each pool thread registers its own through
 * `threadSetup` (fixtures/tracing-setup.ts), and the tracing actor reads
 * back the spans its thread finished.
 */
import { threadId } from 'node:worker_threads';
import { type Context, type ContextManager, context, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { AlwaysOffSampler, BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { afterEach, describe, expect, it } from 'vitest';
import { DecodeError, Runtime, type ActorRef } from '../src/index.js';
import { isWritable, readTraceField, writeTraceField } from '../src/engine/trace-field.js';
import { Reader, Writer } from '../src/transport/codec/index.js';
import { kMulticast, kTraced } from '../src/transport/kinds.js';
import { eventually, useRuntime } from './fixtures/helpers.js';
import { type SpanInfo, type TracingMsg, spanInfos } from './fixtures/tracing-actor.js';

const actorUrl = new URL('./fixtures/tracing-actor.ts', import.meta.url);
const setupUrl = new URL('./fixtures/tracing-setup.ts', import.meta.url);
type Traced = ActorRef<TracingMsg, unknown>;

const start = useRuntime({ threads: 2 });

let exporter: InMemorySpanExporter | undefined;

/** Registers an SDK on the main thread (before the runtime starts, as a service would). */
function registerMainSdk(): InMemorySpanExporter {
  exporter = new InMemorySpanExporter();
  trace.setGlobalTracerProvider(new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }));
  return exporter;
}

afterEach(() => {
  trace.disable();
  context.disable();
  exporter = undefined;
});

/**
 * A context manager for one synchronous call at a time (an SDK's `register()`
 * installs an async-hooks one; this test needs only `context.with`).
 */
class StackContextManager implements ContextManager {
  private readonly stack: Context[] = [];
  active(): Context {
    return this.stack.at(-1) ?? ROOT_CONTEXT;
  }
  with<A extends unknown[], F extends (...args: A) => ReturnType<F>>(ctx: Context, fn: F, thisArg?: ThisParameterType<F>, ...args: A): ReturnType<F> {
    this.stack.push(ctx);
    try {
      return fn.call(thisArg, ...args);
    } finally {
      this.stack.pop();
    }
  }
  bind<T>(_ctx: Context, target: T): T {
    return target;
  }
  enable(): this {
    return this;
  }
  disable(): this {
    this.stack.length = 0;
    return this;
  }
}

/** What the broadcast test reaches of the main thread's endpoint. */
interface Endpointish {
  transport: { send(to: number, scratch: Uint8Array, length: number): void };
  countedTargetsOf(body: Uint8Array): Array<{ slot: number; gen: number }>;
}

/** The spans a pool thread finished in `traceId`, once `done` holds for them. */
function threadSpans(probe: Traced, traceId: string, done: (spans: SpanInfo[]) => boolean): Promise<SpanInfo[]> {
  return eventually(async () => ((await probe.ask({ type: 'spans' })) as SpanInfo[]).filter((s) => s.traceId === traceId), done);
}

function one(spans: SpanInfo[], name: string): SpanInfo {
  const found = spans.filter((s) => s.name === name);
  expect(found, `one span named ${name} in ${JSON.stringify(spans.map((s) => s.name))}`).toHaveLength(1);
  return found[0];
}

describe('tracing with an SDK registered in every thread', () => {
  it('one trace spans main thread -> actor on thread 1 -> actor on thread 2 -> reply', async () => {
    const main = registerMainSdk();
    const rt = await start({ threadSetup: setupUrl });
    const first = await rt.spawn<TracingMsg, unknown>(actorUrl, undefined, { thread: 0, name: 'first' });
    const second = await rt.spawn<TracingMsg, unknown>(actorUrl, undefined, { thread: 1, name: 'second' });

    expect(await first.ask({ type: 'chain', next: second as ActorRef<TracingMsg, string> })).toBe('leaf');

    // The ask's CLIENT span on the main thread: ended when the answer came, a root here.
    const client = one(spanInfos(main.getFinishedSpans()), 'send first');
    expect(client.kind).toBe(SpanKind.CLIENT);
    expect(client.parentSpanId).toBeUndefined();
    expect(client.thread).toBe(threadId);
    expect(client.attributes).toMatchObject({
      'messaging.system': 'microswarm',
      'messaging.operation.type': 'send',
      'messaging.operation.name': 'send',
      'messaging.destination.name': 'first',
      'microswarm.actor.id': first.id,
    });
    const { traceId } = client;

    // Thread 1: the handling of the ask, child of the CLIENT span; its own ask to `second`.
    const onFirst = await threadSpans(first, traceId, (spans) => spans.length >= 2);
    const processFirst = one(onFirst, 'process first');
    expect(processFirst.kind).toBe(SpanKind.CONSUMER);
    expect(processFirst.parentSpanId).toBe(client.spanId);
    expect(processFirst.links).toEqual([]); // child, not linked (tracing.ts)
    expect(processFirst.attributes).toMatchObject({
      'messaging.system': 'microswarm',
      'messaging.operation.type': 'process',
      'messaging.destination.name': 'first',
      'microswarm.actor.module': 'tracing-actor',
      'microswarm.actor.id': first.id,
    });
    const sendSecond = one(onFirst, 'send second');
    expect(sendSecond.kind).toBe(SpanKind.CLIENT);
    expect(sendSecond.parentSpanId).toBe(processFirst.spanId);

    // Thread 2: the handling of the inner ask, child of thread 1's CLIENT span.
    const onSecond = await threadSpans(second, traceId, (spans) => spans.length >= 1);
    const processSecond = one(onSecond, 'process second');
    expect(processSecond.kind).toBe(SpanKind.CONSUMER);
    expect(processSecond.parentSpanId).toBe(sendSecond.spanId);

    // Three threads, one trace.
    expect(new Set([client.thread, processFirst.thread, processSecond.thread]).size).toBe(3);
    for (const span of [processFirst, sendSecond, processSecond]) expect(span.status).toBe(SpanStatusCode.UNSET);
  });

  it("a tell made inside a handler carries that handler's context; an unnamed actor's spans name its module", async () => {
    const main = registerMainSdk();
    const rt = await start({ threadSetup: setupUrl });
    const first = await rt.spawn<TracingMsg, unknown>(actorUrl, undefined, { thread: 0 });
    const other = await rt.spawn<TracingMsg, unknown>(actorUrl, undefined, { thread: 1 });

    expect(await first.ask({ type: 'tellTo', to: other, msg: { type: 'note' } })).toBe('told');

    const client = one(spanInfos(main.getFinishedSpans()), 'send');
    expect(client.attributes).toMatchObject({ 'messaging.destination.anonymous': true });
    expect(client.attributes['messaging.destination.name']).toBeUndefined();
    const processFirst = one(await threadSpans(first, client.traceId, (spans) => spans.length >= 1), 'process tracing-actor');
    // The tell has no span of its own: its handling is a child of the handler that told.
    const processOther = one(await threadSpans(other, client.traceId, (spans) => spans.length >= 1), 'process tracing-actor');
    expect(processOther.parentSpanId).toBe(processFirst.spanId);
    expect(processOther.attributes).toMatchObject({ 'messaging.destination.name': 'tracing-actor', 'microswarm.actor.id': other.id });
  });

  it('a handler that throws fails its process span and the CLIENT span of the ask', async () => {
    const main = registerMainSdk();
    const rt = await start({ threadSetup: setupUrl });
    const first = await rt.spawn<TracingMsg, unknown>(actorUrl, undefined, { thread: 0, name: 'first' });

    await expect(first.ask({ type: 'fail' })).rejects.toThrow(RangeError);

    const client = one(spanInfos(main.getFinishedSpans()), 'send first');
    expect(client.status).toBe(SpanStatusCode.ERROR);
    expect(client.attributes['error.type']).toBe('RangeError');
    const processFirst = one(await threadSpans(first, client.traceId, (spans) => spans.length >= 1), 'process first');
    expect(processFirst.status).toBe(SpanStatusCode.ERROR);
    expect(processFirst.attributes['error.type']).toBe('RangeError');
  });

  it('a message sent in an unsampled trace gets no process span, and its handler sends in that trace', async () => {
    trace.setGlobalTracerProvider(new BasicTracerProvider({ sampler: new AlwaysOffSampler() }));
    // Pool threads whose sampler would record anything, parent or not: only a process span asked of it would show.
    process.env.MICROSWARM_TEST_SAMPLER = 'always-on';
    let rt: Runtime;
    try {
      rt = await start({ threadSetup: setupUrl });
    } finally {
      delete process.env.MICROSWARM_TEST_SAMPLER;
    }
    const first = await rt.spawn<TracingMsg, unknown>(actorUrl, undefined, { thread: 0, name: 'first' });
    const second = await rt.spawn<TracingMsg, unknown>(actorUrl, undefined, { thread: 1, name: 'second' });

    expect(await first.ask({ type: 'chain', next: second as ActorRef<TracingMsg, string> })).toBe('leaf');

    const all = (probe: Traced) =>
      eventually(
        async () => (await probe.ask({ type: 'spans' })) as SpanInfo[],
        (s) => s.length > 0,
      );
    // On first's thread: its ask to second (the AlwaysOn sampler records it), no span for first's own message.
    const onFirst = await all(first);
    expect(onFirst.map((s) => s.name)).toEqual(['send second']);
    const client = onFirst[0];
    // That ask was made in the unsampled trace the main thread's ask began: same trace, a parent from the main thread.
    expect(client.parentSpanId).toMatch(/^[0-9a-f]{16}$/);
    const processSecond = one(await threadSpans(second, client.traceId, (s) => s.length >= 1), 'process second');
    expect(processSecond.parentSpanId).toBe(client.spanId);
  });

  it("a swarm broadcast carries the broadcaster's context to every member: directly (mesh), and through a relaying hub (star)", async () => {
    registerMainSdk();
    context.setGlobalContextManager(new StackContextManager());
    const rt = await start({ threadSetup: setupUrl });
    const members: Traced[] = [];
    for (let i = 0; i < 5; i++) members.push(await rt.spawn<TracingMsg, unknown>(actorUrl, undefined, { thread: i % 2, name: `m${i}` }));
    const root = trace.getTracer('test').startSpan('broadcaster');
    const { traceId, spanId } = root.spanContext();
    const sent = (topology: 'mesh' | 'star') =>
      context.with(trace.setSpan(context.active(), root), () => rt.swarm({ name: topology, members, topology }).broadcast({ type: 'note' }));

    // The frames the main thread sends, kept to check the traced multicasts below.
    const endpoint = (rt as unknown as { endpoint: Endpointish }).endpoint;
    const bodies: Uint8Array[] = [];
    const send = endpoint.transport.send.bind(endpoint.transport);
    endpoint.transport.send = (to, scratch, length) => {
      bodies.push(scratch.slice(4, 4 + length));
      send(to, scratch, length);
    };
    expect(sent('mesh')).toBe(5);
    // One traced MULTICAST per thread; crash recovery counts each against its targets (it recounts bounded mailboxes from them).
    const multicasts = bodies.filter((b) => b[0] === (kMulticast | kTraced));
    expect(multicasts).toHaveLength(2);
    expect(multicasts.flatMap((b) => endpoint.countedTargetsOf(b).map((t) => t.slot)).sort()).toEqual(members.map((m) => m.slot).sort());
    // A multicast frame per thread (and same-thread enqueues): every member's process span is a child of the broadcaster's span.
    for (const member of members) {
      const spans = await threadSpans(member, traceId, (s) => s.filter((x) => x.name === `process ${member.name}`).length === 1);
      expect(one(spans, `process ${member.name}`).parentSpanId).toBe(spanId);
    }

    expect(sent('star')).toBe(5);
    // The hub (m0) got a relay in the broadcaster's context and passed it on to the leaves inside its own process span.
    const processes = (spans: SpanInfo[], name: string) => spans.filter((s) => s.name === `process ${name}`);
    const hubSpans = await threadSpans(members[0], traceId, (s) => processes(s, 'm0').length === 2);
    // Finished in order: the mesh broadcast's span, then the star's.
    const [, hub] = processes(hubSpans, 'm0');
    expect(hub.parentSpanId).toBe(spanId);
    for (const leaf of members.slice(1)) {
      const spans = await threadSpans(leaf, traceId, (s) => processes(s, leaf.name as string).length === 2);
      expect(processes(spans, leaf.name as string).map((s) => s.parentSpanId)).toEqual([spanId, hub.spanId]);
    }
  });
});

describe('tracing costs nothing without an SDK', () => {
  /** Records the kind byte and body length of every frame the main thread sends (after its own send). */
  function recordFrames(rt: Runtime): Array<{ kind: number; length: number }> {
    const frames: Array<{ kind: number; length: number }> = [];
    const transport = (rt as unknown as { endpoint: { transport: { send(to: number, scratch: Uint8Array, length: number): void } } }).endpoint.transport;
    const send = transport.send.bind(transport);
    transport.send = (to, scratch, length) => {
      frames.push({ kind: scratch[4], length });
      send(to, scratch, length);
    };
    return frames;
  }

  it('with no SDK registered an ask is an untraced frame; with one, the same ask is 29 bytes longer and flagged', async () => {
    const plain = await Runtime.start({ threads: 1 });
    let untraced: { kind: number; length: number } | undefined;
    try {
      const actor = await plain.spawn<TracingMsg, unknown>(actorUrl);
      const frames = recordFrames(plain);
      expect(await actor.ask({ type: 'note' })).toBe(1);
      untraced = frames.find((f) => (f.kind & 0x7f) === 2);
    } finally {
      await plain.shutdown();
    }
    expect(untraced?.kind).toBe(2); // ASK, no trace flag

    // The main thread traces; its pool thread has no SDK: it skips the trace field and handles the ask untraced.
    registerMainSdk();
    const rt = await start({ threads: 1 });
    const actor = await rt.spawn<TracingMsg, unknown>(actorUrl);
    const frames = recordFrames(rt);
    expect(await actor.ask({ type: 'note' })).toBe(1);
    const traced = frames.find((f) => (f.kind & 0x7f) === 2);
    expect(traced?.kind).toBe(0x82);
    expect(traced?.length).toBe((untraced?.length ?? 0) + 29);
  });
});

describe('the trace field', () => {
  it('reads back what it wrote, tracestate included, and refuses a cut-off or over-long one', () => {
    const w = new Writer(64);
    const ctx = { traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331', traceFlags: 1, traceState: 'congo=t61rcWkgMzE' };
    expect(isWritable(ctx)).toBe(true);
    writeTraceField(w, ctx);
    expect(w.pos).toBe(29 + ctx.traceState.length);
    const r = new Reader();
    r.reset(w.bytes, 0, w.pos);
    expect({ ...readTraceField(r) }).toEqual(ctx);
    expect(r.pos).toBe(w.pos);

    r.reset(w.bytes, 0, 20);
    expect(() => readTraceField(r)).toThrow(DecodeError);
    // A hand-made context with bad ids is never written.
    expect(isWritable({ ...ctx, traceId: '0'.repeat(32) })).toBe(false);
    expect(isWritable({ ...ctx, spanId: 'B7AD6B7169203331' })).toBe(false);

    const long = new Writer(2048);
    long.u8(1);
    long.ensure(24);
    long.pos += 24;
    long.str('k=v,'.repeat(200));
    r.reset(long.bytes, 0, long.pos);
    expect(() => readTraceField(r)).toThrow(/tracestate of 800 characters/);
  });
});
