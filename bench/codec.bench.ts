/**
 * Codec round trips: microswarm's `encodeValue` + `decodeValue` against
 * `v8.serialize` + `v8.deserialize` and `JSON.stringify` + `encodeInto` +
 * `TextDecoder` + `JSON.parse`, on the three message sizes the runtime cares
 * about. Each op is one full round trip (value -> bytes -> value), since a
 * message crossing a ring pays both halves.
 *
 * - microswarm encodes into one reused Writer and decodes from its bytes, as
 *   the runtime does with a ring slot.
 * - json encodes into one reused byte buffer too. JSON cannot carry a
 *   Uint8Array, so for `codec-64k` it sends the payload as base64 (the usual
 *   workaround), with a replacer and a reviver.
 *
 * A timed sample runs a batch of round trips (kBatch), so a ~100 ns op is not
 * drowned by the timer's own cost; every figure is per round trip: the
 * percentiles are of per-batch means.
 *
 * Run: `npx tsx bench/codec.bench.ts` (add `--quick` for a short run).
 */

import { isDeepStrictEqual } from 'node:util';
import { pathToFileURL } from 'node:url';
import v8 from 'node:v8';
import { Bench } from 'tinybench';
import { Reader, Writer, decodeValue, encodeValue } from '../src/transport/codec/index.js';

import type { BenchRecord } from './harness.js';

/** One measured (case, implementation) pair; times in microseconds per round trip. */
export type CodecBenchRow = BenchRecord;

interface BenchCase {
  name: 'codec-small' | 'codec-medium' | 'codec-64k';
  value: unknown;
  /** Round trips per timed sample. */
  batch: number;
}

function mediumMessage(): unknown {
  return {
    type: 'telemetry.report',
    id: 918_273,
    actor: 'sensor-hub#42',
    seq: 7_301,
    at: 1_732_350_000_123,
    ok: true,
    retries: 0,
    ratio: 0.8125,
    temperature: -3.25,
    unit: 'celsius',
    region: 'eu-west',
    tags: ['alpha', 'beta', 'gamma'],
    readings: Array.from({ length: 50 }, (_, i) => (i % 7 === 0 ? i * 1.5 : i * 3)),
    source: { host: 'node-7', pid: 4_242, thread: 3 },
    priority: 2,
    ttlMs: 30_000,
    checksum: 2_868_131_022,
    note: 'steady',
    replyTo: null,
    lastError: null,
  };
}

function payload64k(): unknown {
  const payload = new Uint8Array(64 * 1024);
  let x = 0x2545f491;
  for (let i = 0; i < payload.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    payload[i] = x & 0xff;
  }
  return { type: 'blob', seq: 1, payload };
}

const cases: BenchCase[] = [
  { name: 'codec-small', value: { type: 'inc', by: 1 }, batch: 256 },
  { name: 'codec-medium', value: mediumMessage(), batch: 16 },
  { name: 'codec-64k', value: payload64k(), batch: 1 },
];

type RoundTrip = (value: unknown) => unknown;

function microswarmRoundTrip(): RoundTrip {
  const w = new Writer();
  const r = new Reader();
  return (value) => {
    w.reset();
    encodeValue(w, value);
    r.reset(w.bytes, 0, w.pos);
    return decodeValue(r);
  };
}

function v8RoundTrip(): RoundTrip {
  return (value) => v8.deserialize(v8.serialize(value));
}

function jsonRoundTrip(): RoundTrip {
  const encoder = new TextEncoder();
  const decoder = new TextDecoder();
  let scratch = new Uint8Array(256 * 1024);
  const replacer = (_key: string, v: unknown): unknown =>
    v instanceof Uint8Array ? { $u8: Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64') } : v;
  const reviver = (_key: string, v: unknown): unknown =>
    v !== null && typeof v === 'object' && typeof (v as { $u8?: unknown }).$u8 === 'string'
      ? new Uint8Array(Buffer.from((v as { $u8: string }).$u8, 'base64'))
      : v;
  return (value) => {
    const hasBinary = value !== null && typeof value === 'object' && (value as { payload?: unknown }).payload instanceof Uint8Array;
    const text = hasBinary ? JSON.stringify(value, replacer) : JSON.stringify(value);
    if (text.length * 3 > scratch.length) scratch = new Uint8Array(text.length * 3);
    const { written } = encoder.encodeInto(text, scratch);
    const back = decoder.decode(scratch.subarray(0, written));
    return hasBinary ? JSON.parse(back, reviver) : JSON.parse(back);
  };
}

const impls: Array<{ name: string; make: () => RoundTrip }> = [
  { name: 'microswarm', make: microswarmRoundTrip },
  { name: 'v8.serialize', make: v8RoundTrip },
  { name: 'json', make: jsonRoundTrip },
];

/** Keeps results alive so the round trips cannot be optimized away. */
let sink: unknown;

/**
 * Measures every case against every implementation.
 * @param quick a short run (for CI smoke checks); timings are noisier.
 */
export async function runCodecBench(quick: boolean): Promise<CodecBenchRow[]> {
  const bench = new Bench({
    name: 'codec',
    time: quick ? 150 : 1_000,
    warmupTime: quick ? 50 : 250,
    throws: true,
  });
  const batches = new Map<string, number>();
  for (const benchCase of cases) {
    for (const impl of impls) {
      const roundTrip = impl.make();
      // A benchmark of a wrong answer is no benchmark.
      if (!isDeepStrictEqual(roundTrip(benchCase.value), benchCase.value)) {
        throw new Error(`${impl.name} does not round-trip ${benchCase.name}`);
      }
      const { value, batch } = benchCase;
      const taskName = `${benchCase.name} ${impl.name}`;
      batches.set(taskName, batch);
      bench.add(
        taskName,
        () => {
          for (let i = 0; i < batch; i++) sink = roundTrip(value);
        },
        { async: false },
      );
    }
  }
  await bench.run();

  const rows: CodecBenchRow[] = [];
  for (const task of bench.tasks) {
    const result = task.result;
    if (result.state !== 'completed') throw new Error(`benchmark ${task.name} did not complete: ${result.state}`);
    const batch = batches.get(task.name)!;
    const [caseName, impl] = task.name.split(' ');
    const perOpUs = (ms: number): number => (ms * 1_000) / batch;
    rows.push({
      case: caseName,
      impl,
      opsPerSec: (batch * 1_000) / result.latency.mean,
      meanUs: perOpUs(result.latency.mean),
      p50Us: perOpUs(result.latency.p50),
      p99Us: perOpUs(result.latency.p99),
      samples: result.latency.samplesCount,
    });
  }
  return rows;
}

/**
 * microswarm's two halves apart, per case (printed by a direct run only; the
 * rows above are what other tools consume).
 */
async function runSplitBench(quick: boolean): Promise<Array<Record<string, string | number>>> {
  const bench = new Bench({ name: 'codec halves', time: quick ? 150 : 1_000, warmupTime: quick ? 50 : 250, throws: true });
  for (const { name, value, batch } of cases) {
    const w = new Writer();
    const r = new Reader();
    w.reset();
    encodeValue(w, value);
    const encoded = w.bytes.slice(0, w.pos);
    bench.add(
      `${name} encode`,
      () => {
        for (let i = 0; i < batch; i++) {
          w.reset();
          encodeValue(w, value);
        }
      },
      { async: false },
    );
    bench.add(
      `${name} decode`,
      () => {
        for (let i = 0; i < batch; i++) {
          r.reset(encoded, 0, encoded.length);
          sink = decodeValue(r);
        }
      },
      { async: false },
    );
  }
  await bench.run();
  return bench.tasks.map((task) => {
    const result = task.result;
    if (result.state !== 'completed') throw new Error(`benchmark ${task.name} did not complete: ${result.state}`);
    const batch = cases.find((c) => task.name.startsWith(`${c.name} `))!.batch;
    return {
      task: `microswarm ${task.name}`,
      'mean ns': Math.round((result.latency.mean * 1e6) / batch),
      'p50 ns': Math.round((result.latency.p50 * 1e6) / batch),
      'p99 ns': Math.round((result.latency.p99 * 1e6) / batch),
    };
  });
}

function formatRows(rows: CodecBenchRow[]): Array<Record<string, string | number>> {
  return rows.map((row) => {
    const ours = rows.find((r) => r.case === row.case && r.impl === 'microswarm')!;
    return {
      case: row.case,
      impl: row.impl,
      'ops/s': Math.round(row.opsPerSec),
      'mean us': Number(row.meanUs.toFixed(3)),
      'p50 us': Number(row.p50Us.toFixed(3)),
      'p99 us': Number(row.p99Us.toFixed(3)),
      samples: row.samples,
      'x microswarm': Number((row.meanUs / ours.meanUs).toFixed(2)),
    };
  });
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const quick = process.argv.includes('--quick');
  const rows = await runCodecBench(quick);
  console.table(formatRows(rows));
  console.log("x microswarm: how many times longer a round trip takes than microswarm's (mean).");
  console.table(await runSplitBench(quick));
  void sink;
}
