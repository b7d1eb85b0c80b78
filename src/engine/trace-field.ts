/**
 * The trace field of TELL, ASK, FORWARD and MULTICAST frames and of TELL and ASK
 * cluster records (layouts: ../transport/kinds.ts): the W3C trace context a
 * message was sent in, written only when the kind byte has kTraced. A leaf
 * that the router (writing), inbound, recovery and the cluster gateway
 * (reading) share; it knows nothing of OpenTelemetry, so reading and
 * relaying a trace field loads no OpenTelemetry code (engine/tracing.ts
 * turns one into a span parent).
 *
 * Binary, not the 55-character `traceparent` text: the same fields (version
 * 00: trace id, parent span id, trace flags), 25 bytes instead of 55, and no
 * hex parsing of a string on the receiving side beyond a table lookup per
 * byte. The `tracestate` header goes as a string ('' when there is none).
 */
import { DecodeError } from '../base/errors.js';
import type { Reader, Writer } from '../transport/codec/index.js';

/** The W3C limit of a tracestate header (512 characters); a longer one is not sent (W3C lets a hop drop it). */
const kMaxTraceState = 512;
const kTraceIdBytes = 16;
const kSpanIdBytes = 8;

/**
 * @internal What a trace field carries, in the shape of OpenTelemetry's
 * SpanContext (what the writer takes: a SpanContext is one).
 */
export interface TraceContext {
  readonly traceId: string;
  readonly spanId: string;
  readonly traceFlags: number;
  readonly traceState?: { serialize(): string } | string | undefined;
}

/**
 * @internal A trace context read from a frame or record: what it says, as
 * strings, until a span is made with it as parent (tracing.ts) or it is
 * written again (a forwarded message, a record a node relays to a thread).
 */
export class WireTrace implements TraceContext {
  constructor(
    readonly traceId: string,
    readonly spanId: string,
    readonly traceFlags: number,
    /** The tracestate header, '' when there was none. */
    readonly traceState: string,
  ) {}
}

const kHex = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));
/** Hex digit value by char code, -1 for anything else (upper case too: W3C ids are lower case, refused otherwise). */
const kHexValue = new Int8Array(128).fill(-1);
for (let i = 0; i < 16; i++) kHexValue['0123456789abcdef'.charCodeAt(i)] = i;

/** True when `id` is `bytes * 2` lower-case hex digits, not all zero (W3C: an all-zero id is invalid). */
function validId(id: unknown, bytes: number): id is string {
  if (typeof id !== 'string' || id.length !== bytes * 2) return false;
  let nonZero = false;
  for (let i = 0; i < id.length; i++) {
    const c = id.charCodeAt(i);
    if (c >= 128 || kHexValue[c] < 0) return false;
    if (c !== 0x30) nonZero = true;
  }
  return nonZero;
}

/** @internal True when `ctx` can be written: valid W3C ids and flags (a user's hand-made context may not be). */
export function isWritable(ctx: TraceContext): boolean {
  return validId(ctx.traceId, kTraceIdBytes) && validId(ctx.spanId, kSpanIdBytes) && (ctx.traceFlags & ~0xff) === 0;
}

function writeHex(w: Writer, id: string): void {
  const bytes = w.bytes;
  let at = w.pos;
  for (let i = 0; i < id.length; i += 2) bytes[at++] = (kHexValue[id.charCodeAt(i)] << 4) | kHexValue[id.charCodeAt(i + 1)];
  w.pos = at;
}

function readHex(r: Reader, n: number): string {
  r.need(n);
  const bytes = r.bytes;
  let s = '';
  for (let i = r.pos, end = r.pos + n; i < end; i++) s += kHex[bytes[i]];
  r.pos += n;
  return s;
}

/** @internal Writes the trace field of `ctx` (checked with {@link isWritable} by the caller). */
export function writeTraceField(w: Writer, ctx: TraceContext): void {
  const state = ctx.traceState;
  const header = state === undefined ? '' : typeof state === 'string' ? state : state.serialize();
  w.ensure(1 + kTraceIdBytes + kSpanIdBytes);
  w.u8(ctx.traceFlags);
  writeHex(w, ctx.traceId);
  writeHex(w, ctx.spanId);
  w.str(header.length <= kMaxTraceState ? header : '');
}

/** @internal Reads a trace field. Throws a DecodeError for one that is cut short or carries an over-long tracestate. */
export function readTraceField(r: Reader): WireTrace {
  const flags = r.u8();
  const traceId = readHex(r, kTraceIdBytes);
  const spanId = readHex(r, kSpanIdBytes);
  const at = r.pos;
  const state = r.str();
  if (state.length > kMaxTraceState) throw new DecodeError(`a tracestate of ${state.length} characters (at most ${kMaxTraceState})`, at);
  return new WireTrace(traceId, spanId, flags, state);
}

/** @internal Steps over a trace field (a thread with no tracer: the message is handled untraced). */
export function skipTraceField(r: Reader): void {
  r.need(1 + kTraceIdBytes + kSpanIdBytes);
  r.pos += 1 + kTraceIdBytes + kSpanIdBytes;
  const length = r.u32();
  r.need(length);
  r.pos += length;
}
