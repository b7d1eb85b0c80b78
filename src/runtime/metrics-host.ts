/**
 * What `rt.metrics()` reads from this runtime (the `MetricsSource` that
 * src/observe/metrics.ts turns into Prometheus metrics at scrape time): the
 * shared counter words, the directory (live actors by module), the pool
 * threads (deepest mailboxes, event-loop utilisation), the rings, the event
 * tallies, and the memory pool, scheduler, swarms and cluster stats.
 */
import { performance, type EventLoopUtilization } from 'node:perf_hooks';
import type { Endpoint } from '../engine/endpoint.js';
import type { MemoryStats } from '../memory/pool.js';
import type { DeepMailbox, MetricsSource, SwarmFigures } from '../observe/metrics-source.js';
import type { SchedulerStats } from '../scheduler/types.js';
import type { ClusterStats } from '../cluster/node.js';
import { kAlive, kStopAsked, kStopping, type Directory } from '../transport/directory.js';
import { MeterReader } from '../transport/meters.js';
import { RingGauges } from '../transport/ring-gauges.js';
import type { TransportShared } from '../transport/transport.js';
import { withTimeout, type ControlPlane } from './control.js';
import type { Tallies } from './tallies.js';

/** How long a scrape waits for a pool thread's deepest mailboxes. */
const kDeepestTimeoutMs = 1000;

/** @internal The runtime's parts metrics read. */
export interface MetricsParts {
  endpoint: Endpoint;
  transport: TransportShared;
  directory: Directory;
  control: ControlPlane;
  tallies: Tallies;
  memory(): MemoryStats;
  scheduler(): SchedulerStats;
  swarms(): Array<{ name: string; counts(): Omit<SwarmFigures, 'name'> }>;
  cluster(): { stats(): ClusterStats; members(): unknown[] } | undefined;
}

/** @internal The source, and what the runtime calls when it shuts down. */
export function metricsSource(parts: MetricsParts): { source: MetricsSource; close(): void } {
  const { endpoint, directory, control } = parts;
  const meters = new MeterReader(parts.transport.meters);
  const rings = new RingGauges(parts.transport);
  const closeListeners: Array<() => void> = [];
  let mainElu: EventLoopUtilization = performance.eventLoopUtilization();
  const source: MetricsSource = {
    meters,
    tallies: parts.tallies,
    liveByModule() {
      const live = new Map<number, number>();
      for (let slot = 0; slot < directory.slots; slot++) {
        const state = Atomics.load(directory.state, slot);
        // Starting actors are left out: their module byte may still be their slot's previous occupant's.
        if (state !== kAlive && state !== kStopping && state !== kStopAsked) continue;
        const module = meters.slotModule(slot);
        live.set(module, (live.get(module) ?? 0) + 1);
      }
      return live;
    },
    async deepest(n) {
      const asked = control.runningEndpoints().map(async (e) => {
        try {
          const top = (await withTimeout(endpoint.request(e, 'mailboxes', { n }), kDeepestTimeoutMs, 'mailboxes')) as Array<{
            actor: string;
            module: number;
            depth: number;
          }>;
          return top.map((m) => ({ ...m, thread: e - 1 }));
        } catch {
          return []; // a busy or dying thread: left out of this scrape
        }
      });
      const labels = meters.modules();
      const all = (await Promise.all(asked)).flat();
      all.sort((a, b) => b.depth - a.depth);
      return all.slice(0, n).map((m): DeepMailbox => ({ actor: m.actor, module: labels.get(m.module) ?? 'other', thread: m.thread, depth: m.depth }));
    },
    eventLoopUtilization() {
      const now = performance.eventLoopUtilization();
      const values = [{ thread: 'main', value: performance.eventLoopUtilization(now, mainElu).utilization }];
      mainElu = now;
      for (const e of control.runningEndpoints()) values.push({ thread: String(e - 1), value: control.eluOf(e) });
      return values;
    },
    rings: () => rings.read(),
    memory: parts.memory,
    scheduler: parts.scheduler,
    swarms: () => parts.swarms().map((s) => ({ name: s.name, ...s.counts() })),
    cluster() {
      const node = parts.cluster();
      return node === undefined ? undefined : { stats: node.stats(), members: node.members().length };
    },
    onClose: (listener) => closeListeners.push(listener),
  };
  return { source, close: () => closeListeners.splice(0).forEach((listener) => listener()) };
}
