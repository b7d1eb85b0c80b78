/**
 * `rt.metrics()`: the runtime's metrics on a prom-client Registry, computed
 * at scrape time. Loaded only by a dynamic import from `rt.metrics()`, so a
 * runtime that never asks for metrics never loads prom-client.
 *
 * Each family (families.ts) is registered as a collector object (name, help,
 * type, `get()`), the shape prom-client's Registry reads from its own
 * metrics: a scrape calls every `get()` at once; the first builds one
 * snapshot (the counter words folded, the deepest mailboxes asked of each
 * thread, the stats read) and the others share it. Histograms are kept as
 * log2 buckets in shared memory (transport/meters.ts) and written out as
 * Prometheus histograms; prom-client's own Histogram cannot take buckets
 * counted elsewhere.
 *
 * While any registry holds the metrics, the counter words are also folded on
 * a slow timer (kFoldEveryMs), so a 32-bit word cannot move by 2^32 between
 * two folds however rarely Prometheus scrapes.
 */
import { Registry as PromRegistry, type Registry } from 'prom-client';
import { integer, checkKeys, isPlainObject } from '../base/check.js';
import { InvalidArgumentError, InvalidOptionError } from '../base/errors.js';
import { families, type Family, type Sample, type Snapshot } from './families.js';
import type { MetricsSource } from './metrics-source.js';

/** Options of `rt.metrics()`. */
export interface MetricsOptions {
  /**
   * Histograms (handler time, time in mailbox, ask latency, mailbox length)
   * time one message in this many on each thread. Default 128; 1 times every
   * message. The last call's value holds for the runtime.
   */
  sampleEvery?: number;
  /** Actors shown in `microswarm_mailbox_depth`, the deepest mailboxes first. Default 10; 0 leaves the gauge empty. */
  topMailboxes?: number;
}

const kFoldEveryMs = 5000;
const kDefaultSampleEvery = 128;
const kDefaultTop = 10;

/** A family as prom-client's Registry reads it. */
class Collector {
  readonly name: string;
  readonly help: string;
  readonly type: Family['type'];
  readonly aggregator = 'sum';
  private readonly family: Family;
  private readonly exporter: Exporter;

  constructor(family: Family, exporter: Exporter) {
    this.name = family.name;
    this.help = family.help;
    this.type = family.type;
    this.family = family;
    this.exporter = exporter;
  }

  async get(): Promise<{ name: string; help: string; type: string; aggregator: string; values: Sample[] }> {
    const snap = await this.exporter.snapshot();
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values: this.family.values(snap) };
  }

  /** Registry.resetMetrics(): the counts are the runtime's, not the registry's, so there is nothing to reset. */
  reset(): void {}
}

/** The metrics of one runtime, and the registries holding them. */
class Exporter {
  private readonly source: MetricsSource;
  readonly registries = new Map<Registry, Collector[]>();
  top = kDefaultTop;
  private pending: Promise<Snapshot> | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(source: MetricsSource) {
    this.source = source;
    source.onClose(() => this.close());
  }

  /**
   * One snapshot per scrape: the `get()` calls of one `registry.metrics()`
   * are made together, before any of them resolves, and share it. It is
   * forgotten the moment it is read (that handler is registered first, so it
   * runs before theirs): a later scrape never sees an older one.
   */
  snapshot(): Promise<Snapshot> {
    if (this.pending === undefined) {
      const pending = this.read();
      this.pending = pending;
      const forget = () => {
        if (this.pending === pending) this.pending = undefined;
      };
      pending.then(forget, forget);
    }
    return this.pending;
  }

  private async read(): Promise<Snapshot> {
    const s = this.source;
    s.meters.fold();
    const deepest = this.top > 0 ? await s.deepest(this.top) : [];
    return {
      meters: s.meters,
      modules: s.meters.modules(),
      live: s.liveByModule(),
      deepest,
      elu: s.eventLoopUtilization(),
      rings: s.rings(),
      tallies: s.tallies,
      memory: s.memory(),
      scheduler: s.scheduler(),
      swarms: s.swarms(),
      cluster: s.cluster(),
    };
  }

  add(registry: Registry): void {
    const collectors = families.map((family) => new Collector(family, this));
    const taken = collectors.find((c) => registry.getSingleMetric(c.name) !== undefined);
    if (taken !== undefined) {
      throw new InvalidArgumentError('registry', `a Registry without a metric named ${taken.name} (another runtime's metrics are on it)`, registry);
    }
    // prom-client types registerMetric for its own classes; it reads only name, type, get() and reset().
    for (const c of collectors) registry.registerMetric(c as unknown as Parameters<Registry['registerMetric']>[0]);
    this.registries.set(registry, collectors);
    this.timer ??= setInterval(() => this.source.meters.fold(), kFoldEveryMs).unref();
  }

  /** Takes the metrics off every registry (the runtime shut down). */
  close(): void {
    for (const [registry, collectors] of this.registries) {
      for (const c of collectors) if (registry.getSingleMetric(c.name) === (c as unknown)) registry.removeSingleMetric(c.name);
    }
    this.registries.clear();
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    this.source.meters.setSampleEvery(0);
  }
}

const exporters = new WeakMap<MetricsSource, Exporter>();

/** The registry `value`, checked: prom-client's Registry, or one that works like it (another copy of prom-client). */
function checkRegistry(value: unknown): Registry {
  const r = value as Partial<Record<keyof Registry, unknown>> | null;
  const quacks =
    r !== null &&
    typeof r === 'object' &&
    typeof r.registerMetric === 'function' &&
    typeof r.getSingleMetric === 'function' &&
    typeof r.removeSingleMetric === 'function' &&
    typeof r.metrics === 'function';
  if (!quacks) throw new InvalidArgumentError('registry', 'a prom-client Registry', value);
  return value as Registry;
}

/** @internal `rt.metrics(registry, options)`: registers (once per registry) and returns the registry. */
export function registerMetrics(source: MetricsSource, registry: unknown, options: unknown): Registry {
  if (options !== undefined && !isPlainObject(options)) throw new InvalidOptionError('options', 'an object { sampleEvery?, topMailboxes? }', options);
  const o = (options ?? {}) as Record<string, unknown>;
  checkKeys('options', o, ['sampleEvery', 'topMailboxes']);
  const sampleEvery = integer('sampleEvery', o.sampleEvery, 1, 2 ** 30, kDefaultSampleEvery);
  const top = integer('topMailboxes', o.topMailboxes, 0, 1000, kDefaultTop);
  const target = registry === undefined ? new PromRegistry() : checkRegistry(registry);
  let exporter = exporters.get(source);
  const first = exporter === undefined;
  if (exporter === undefined) exporters.set(source, (exporter = new Exporter(source)));
  // Idempotent: a registry that has them already keeps them. The options
  // given apply; one left out keeps its value (its default the first time),
  // so `rt.serve()` registering for its own /metrics changes nothing.
  if (!exporter.registries.has(target)) exporter.add(target);
  if (first || o.topMailboxes !== undefined) exporter.top = top;
  if (first || o.sampleEvery !== undefined) source.meters.setSampleEvery(sampleEvery);
  return target;
}
