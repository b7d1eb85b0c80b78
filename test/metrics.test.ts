/**
 * rt.metrics(): Prometheus metrics read from shared-memory counters at scrape
 * time. The tests parse the text a registry serves and check that the counts
 * move with real work on real threads.
 */
import fc from 'fast-check';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { InvalidArgumentError, InvalidOptionError } from '../src/base/errors.js';
import { Runtime } from '../src/index.js';
import { MeterReader, MeterWriter, allocateMeters, bucketOf, foldDelta, kBuckets, kHandled, kSent } from '../src/transport/meters.js';
import { Gate, eventually, useRuntime } from './fixtures/helpers.js';

const counterUrl = new URL('./fixtures/counter.ts', import.meta.url);
const leafUrl = new URL('./fixtures/leaf.ts', import.meta.url);
const probeUrl = new URL('./fixtures/probe.ts', import.meta.url);
const crashyUrl = new URL('./fixtures/crashy.ts', import.meta.url);

interface Series {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Parses the Prometheus text format (the lines that are not comments). */
function parse(text: string): Series[] {
  const series: Series[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (match === null) throw new Error(`not a Prometheus line: ${line}`);
    const labels: Record<string, string> = {};
    for (const pair of (match[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[pair[1]] = pair[2];
    series.push({ name: match[1], labels, value: Number(match[3]) });
  }
  return series;
}

/** The value of the one series named `name` whose labels include `labels` (0 when there is none). */
function value(all: Series[], name: string, labels: Record<string, string> = {}): number {
  const found = all.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  if (found.length > 1) throw new Error(`${found.length} series ${name} ${JSON.stringify(labels)}`);
  return found[0]?.value ?? 0;
}

async function scrape(registry: Registry): Promise<Series[]> {
  return parse(await registry.metrics());
}

const start = useRuntime({ threads: 2 });

describe('rt.metrics()', () => {
  it('counts N tells handled by module, messages sent by path, and times every handler when sampleEvery is 1', async () => {
    const rt = await start();
    const registry = await rt.metrics(new Registry(), { sampleEvery: 1 });
    await rt.metrics(); // a registration without options (as rt.serve() makes one) keeps sampleEvery 1
    const counter = await rt.spawn(counterUrl, { start: 0 }, { thread: 0 });
    const module = 'test/fixtures/counter.ts';
    const before = await scrape(registry);
    const n = 50;
    for (let i = 0; i < n; i++) counter.tell({ type: 'inc', by: 1 });
    expect(await counter.ask({ type: 'get' })).toBe(n);
    const after = await eventually(
      () => scrape(registry),
      (all) => value(all, 'microswarm_handler_duration_seconds_count', { module }) >= n + 1,
    );
    const handled = value(after, 'microswarm_messages_handled_total', { module }) - value(before, 'microswarm_messages_handled_total', { module });
    expect(handled).toBe(n + 1);
    const sent =
      value(after, 'microswarm_messages_sent_total', { path: 'cross-thread' }) -
      value(before, 'microswarm_messages_sent_total', { path: 'cross-thread' });
    expect(sent).toBe(n + 1);
    // Every handler timed (sampleEvery 1): the histogram counts what was handled.
    expect(value(after, 'microswarm_handler_duration_seconds_count', { module })).toBe(value(after, 'microswarm_messages_handled_total', { module }));
    expect(value(after, 'microswarm_handler_duration_seconds_bucket', { module, le: '+Inf' })).toBe(n + 1);
    expect(value(after, 'microswarm_mailbox_time_seconds_count')).toBeGreaterThan(0);
    expect(value(after, 'microswarm_mailbox_length_count')).toBe(value(after, 'microswarm_messages_handled_total', { module }));
    expect(value(after, 'microswarm_asks_started_total')).toBe(1);
    expect(value(after, 'microswarm_ask_duration_seconds_count')).toBe(1);
    expect(value(after, 'microswarm_ask_duration_seconds_sum')).toBeGreaterThan(0);
    expect(value(after, 'microswarm_actors_spawned_total', { module })).toBe(1);
    expect(value(after, 'microswarm_actors_live', { module })).toBe(1);
    // A synchronous handler (leaf.ts) is counted and timed the same way.
    const leaf = await rt.spawn(leafUrl, { value: 7 }, { thread: 1 });
    for (let i = 0; i < n; i++) leaf.tell({ type: 'value' });
    expect(await leaf.ask({ type: 'value' })).toBe(7);
    const leaves = await eventually(
      () => scrape(registry),
      (all) => value(all, 'microswarm_messages_handled_total', { module: 'test/fixtures/leaf.ts' }) >= n + 1,
    );
    expect(value(leaves, 'microswarm_messages_handled_total', { module: 'test/fixtures/leaf.ts' })).toBe(n + 1);
    expect(value(leaves, 'microswarm_handler_duration_seconds_count', { module: 'test/fixtures/leaf.ts' })).toBe(n + 1);
  });

  it('counts an ask timeout and an aborted ask', async () => {
    const rt = await start();
    const registry = await rt.metrics();
    const counter = await rt.spawn(counterUrl, {});
    await expect(counter.ask({ type: 'slow', ms: 300 }, { timeoutMs: 20 })).rejects.toThrow(/timed out|within/);
    const controller = new AbortController();
    const aborted = counter.ask({ type: 'get' }, { signal: controller.signal });
    controller.abort();
    await expect(aborted).rejects.toThrow();
    const all = await scrape(registry);
    expect(value(all, 'microswarm_asks_timed_out_total')).toBe(1);
    expect(value(all, 'microswarm_asks_aborted_total')).toBe(1);
    expect(value(all, 'microswarm_asks_started_total')).toBe(2);
  });

  it('counts dead letters by reason and failures by phase', async () => {
    const rt = await start();
    const registry = await rt.metrics();
    const counter = await rt.spawn(counterUrl, {});
    await expect(counter.ask({ type: 'throw', message: 'boom' })).rejects.toThrow('boom');
    // Its supervisor (the root) restarts it: decided on the main thread, done on its own.
    await eventually(
      () => scrape(registry),
      (s) => value(s, 'microswarm_actors_restarted_total', { module: 'test/fixtures/counter.ts' }) === 1,
    );
    await rt.stop(counter);
    counter.tell({ type: 'inc', by: 1 });
    counter.tell({ type: 'inc', by: 1 });
    const all = await eventually(
      () => scrape(registry),
      (s) => value(s, 'microswarm_dead_letters_total', { reason: 'stopped' }) >= 2,
    );
    expect(value(all, 'microswarm_dead_letters_total', { reason: 'stopped' })).toBe(2);
    expect(value(all, 'microswarm_failures_total', { phase: 'receive' })).toBe(1);
    expect(value(all, 'microswarm_actors_restarted_total', { module: 'test/fixtures/counter.ts' })).toBe(1);
    expect(value(all, 'microswarm_actors_stopped_total', { module: 'test/fixtures/counter.ts' })).toBe(1);
    expect(value(all, 'microswarm_actors_live', { module: 'test/fixtures/counter.ts' })).toBe(0);
  });

  it('counts a thread crash and its recovery time', async () => {
    const rt = await start();
    const registry = await rt.metrics();
    await rt.spawn(crashyUrl, undefined, { thread: 1 });
    const crash = await rt.killThread(1);
    const all = await scrape(registry);
    expect(value(all, 'microswarm_thread_crashes_total', { thread: '1', reason: crash.reason })).toBe(1);
    expect(value(all, 'microswarm_thread_recoveries_total', { thread: '1', outcome: 'replaced' })).toBe(1);
    expect(value(all, 'microswarm_thread_recovery_seconds_count')).toBe(1);
    expect(value(all, 'microswarm_thread_recovery_seconds_sum')).toBeCloseTo(crash.recoveryMs / 1000, 3);
  });

  it('shows the deepest mailboxes with an actor label, and no other series per actor (500 actors of one module)', async () => {
    const rt = await start({ maxAgents: 1024 });
    const registry = await rt.metrics(undefined, { topMailboxes: 3 });
    await Promise.all(Array.from({ length: 500 }, (_, i) => rt.spawn(leafUrl, { value: i })));
    const held = await rt.spawn(probeUrl, undefined, { name: 'held' });
    const gate = new Gate();
    try {
      held.tell({ type: 'hold', channel: gate.channel });
      await gate.entered;
      for (let i = 0; i < 20; i++) held.tell({ type: 'log', value: i });
      const all = await eventually(
        () => scrape(registry),
        (s) => value(s, 'microswarm_mailbox_depth', { actor: held.toString() }) === 20,
      );
      expect(value(all, 'microswarm_actors_live', { module: 'test/fixtures/leaf.ts' })).toBe(500);
      const perActor = all.filter((s) => 'actor' in s.labels);
      expect(perActor.length).toBeGreaterThan(0);
      expect(perActor.length).toBeLessThanOrEqual(3);
      expect(new Set(perActor.map((s) => s.name))).toEqual(new Set(['microswarm_mailbox_depth']));
      // Bounded: nothing grows with the actor count.
      expect(all.length).toBeLessThan(600);
    } finally {
      gate.release();
      gate.close();
    }
  });

  it('is idempotent per registry, refuses a registry of another runtime, and leaves the registry at shutdown', async () => {
    const rt = await start();
    const registry = new Registry();
    expect(await rt.metrics(registry)).toBe(registry);
    expect(await rt.metrics(registry)).toBe(registry);
    const counter = await rt.spawn(counterUrl, {});
    await counter.ask({ type: 'get' });
    expect(value(await scrape(registry), 'microswarm_asks_started_total')).toBe(1);
    const other = await Runtime.start({ threads: 1 });
    try {
      await expect(other.metrics(registry)).rejects.toThrow(InvalidArgumentError);
    } finally {
      await other.shutdown();
    }
    await rt.shutdown();
    expect(registry.getSingleMetric('microswarm_asks_started_total')).toBeUndefined();
    expect(await registry.metrics()).not.toContain('microswarm_');
  });

  it('refuses what is not a Registry, and bad options, with typed errors', async () => {
    const rt = await start();
    await expect(rt.metrics({} as unknown as Registry)).rejects.toThrow(InvalidArgumentError);
    const almost = { registerMetric() {}, getSingleMetric() {}, removeSingleMetric() {} };
    await expect(rt.metrics(almost as unknown as Registry)).rejects.toThrow(InvalidArgumentError);
    await expect(rt.metrics('registry' as unknown as Registry)).rejects.toThrow(/Expected `registry` to be a prom-client Registry, got/);
    await expect(rt.metrics(undefined, { sampleEvery: 0 })).rejects.toThrow(InvalidOptionError);
    await expect(rt.metrics(undefined, { topMailboxes: -1 })).rejects.toThrow(/topMailboxes/);
    await expect(rt.metrics(undefined, { sampleEvry: 2 } as never)).rejects.toThrow(/sampleEvry/);
  });

  it('reports the memory pool, rings and event-loop utilisation of every thread', async () => {
    const rt = await start();
    const registry = await rt.metrics();
    const all = await scrape(registry);
    const stats = rt.memory.stats();
    expect(value(all, 'microswarm_memory_pool_bytes', { state: 'used' }) + value(all, 'microswarm_memory_pool_bytes', { state: 'free' })).toBe(
      stats.size,
    );
    expect(all.filter((s) => s.name === 'microswarm_ring_capacity_bytes')).toHaveLength(6); // 3 endpoints, every ordered pair
    expect(new Set(all.filter((s) => s.name === 'microswarm_thread_event_loop_utilization').map((s) => s.labels.thread))).toEqual(
      new Set(['main', '0', '1']),
    );
    expect(all.filter((s) => s.name === 'microswarm_memory_evictions_total')).toEqual([
      expect.objectContaining({ labels: { policy: 'lru' }, value: stats.evictions }),
    ]);
  });
});

describe('meters (shared counter words)', () => {
  it('folds wrapping 32-bit words into totals (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
        fc.array(fc.integer({ min: 0, max: 2 ** 32 - 1 }), { maxLength: 50 }),
        (first, steps) => {
          let raw = first;
          let last = first;
          let total = 0;
          for (const step of steps) {
            raw = (raw + step) | 0; // what an Int32Array word holds after `step` more counts
            total += foldDelta(last, raw);
            last = raw;
          }
          expect(total).toBe(steps.reduce((a, b) => a + b, 0));
        },
      ),
    );
  });

  it('counts past 2^32 through the writer and reader, and buckets by log2', () => {
    const sab = allocateMeters(2, 8);
    const writer = new MeterWriter(sab, 1);
    const reader = new MeterReader(sab);
    const steps = [2 ** 31 - 5, 2 ** 31 + 7, 2 ** 31, 123];
    for (const step of steps) {
      writer.add(kSent, step);
      writer.add(kHandled + 3, 1);
      reader.fold();
    }
    expect(reader.total(1, kSent)).toBe(steps.reduce((a, b) => a + b, 0));
    expect(reader.total(1, kHandled + 3)).toBe(4);
    expect(reader.total(0, kSent)).toBe(0);
    expect([0, 1, 2, 3, 4, 1023, 1024].map(bucketOf)).toEqual([0, 1, 2, 2, 3, 10, 11]);
    expect(bucketOf(2 ** 40)).toBe(kBuckets - 1);
  });

  it('shares module indexes between threads by label; past the table they count as other', () => {
    const sab = allocateMeters(2, 8);
    const a = new MeterWriter(sab, 0);
    const b = new MeterWriter(sab, 1);
    expect(a.moduleIndex('x.ts')).toBe(0);
    expect(b.moduleIndex('y.ts')).toBe(1);
    expect(b.moduleIndex('x.ts')).toBe(0);
    for (let i = 0; i < 70; i++) a.moduleIndex(`m${i}.ts`);
    expect(a.moduleIndex('late.ts')).toBe(63);
    const labels = new MeterReader(sab).modules();
    expect(labels.get(0)).toBe('x.ts');
    expect(labels.get(63)).toBe('other');
    expect(labels.size).toBe(64);
  });
});
