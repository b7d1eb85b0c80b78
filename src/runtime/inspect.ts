/**
 * `rt.inspect()`: one plain snapshot of the runtime, joined from what each
 * part already knows:
 *
 * - each pool thread answers an `inspect` control request with its actors as
 *   its heap knows them (module, name, mailbox, status: engine/inspection.ts);
 *   a thread that does not answer within `timeoutMs` is listed as
 *   unresponsive and its actors from the shared directory alone;
 * - the shared directory (thread, state), the per-actor counts (handled,
 *   restarts: transport/actor-counts.ts), the rings' fill, the event-loop
 *   utilisation Node measures per worker;
 * - the swarms, the memory pool, the scheduler.
 *
 * Rates are differences of the handled counts against a baseline taken at
 * least a second before (renewed each second), so two callers polling at
 * once (a dashboard and a terminal) do not shorten each other's window.
 */
import { ActorRef } from '../actors/ref.js';
import type { Endpoint } from '../engine/endpoint.js';
import type { CellReport } from '../engine/inspection.js';
import { InvalidOptionError } from '../base/errors.js';
import { neighbors } from '../swarm/topology.js';
import type { Swarm } from '../swarm/swarm.js';
import { kAlive, kStarting, kStopAsked, kStopping, type Directory } from '../transport/directory.js';
import { Ring } from '../transport/ring.js';
import type { TransportShared } from '../transport/transport.js';
import type { TaskScheduler } from '../scheduler/scheduler.js';
import { withTimeout, type ControlPlane } from './control.js';
import type { ActorInspection, ActorStatus, InspectOptions, InspectSnapshot, SwarmInspection, ThreadInspection, ThreadStatus } from './inspect-types.js';
import type { Registry } from './registry.js';

/** @internal What the inspector reads: the runtime's parts, set once. */
export interface InspectParts {
  control: ControlPlane;
  endpoint: Endpoint;
  directory: Directory;
  registry: Registry;
  transport: TransportShared;
  tasks: TaskScheduler;
  swarms: () => Swarm[];
  /** The totals `rt.stats()` keeps: dead letters, failures, crashes. */
  counts: () => { deadLetters: number; failures: number; crashes: number };
  node: () => string | undefined;
}

/** A thread's answer: its cells, how many it hosts, how long it took. */
type ThreadAnswer = { cells: CellReport[]; total: number; ms: number } | undefined;

const kRateWindowMs = 1000;

/** Checks `rt.inspect` options. */
function resolveInspectOptions(options: unknown): Required<InspectOptions> {
  if (options === undefined) return { actorsPerThread: 500, timeoutMs: 1000 };
  if (options === null || typeof options !== 'object' || Array.isArray(options))
    throw new InvalidOptionError('options', 'an object { actorsPerThread?, timeoutMs? }', options);
  const o = options as Record<string, unknown>;
  for (const key of Object.keys(o)) {
    if (key !== 'actorsPerThread' && key !== 'timeoutMs') throw new InvalidOptionError(key, 'one of actorsPerThread, timeoutMs', o[key]);
  }
  const limit = o.actorsPerThread ?? 500;
  if (typeof limit !== 'number' || !Number.isInteger(limit) || limit < 0 || limit > 1_000_000)
    throw new InvalidOptionError('actorsPerThread', 'an integer from 0 to 1000000', limit);
  const timeoutMs = o.timeoutMs ?? 1000;
  if (typeof timeoutMs !== 'number' || !Number.isFinite(timeoutMs) || timeoutMs < 1 || timeoutMs > 60_000)
    throw new InvalidOptionError('timeoutMs', 'a number from 1 to 60000', timeoutMs);
  return { actorsPerThread: limit, timeoutMs };
}

/** @internal Builds `rt.inspect()` snapshots. */
export class Inspector {
  private readonly parts: InspectParts;
  private readonly startedAt = Date.now();
  /** Handled counts per slot (with the generation they were read for) at the baseline. */
  private baseline = { at: 0, gen: new Int32Array(0), handled: new Float64Array(0) };
  /** Each thread's inbound rings, made on first use. */
  private inbound: Ring[][] | undefined;

  constructor(parts: InspectParts) {
    this.parts = parts;
  }

  /** One snapshot (see the top of this file). */
  async inspect(options?: InspectOptions): Promise<InspectSnapshot> {
    const { actorsPerThread, timeoutMs } = resolveInspectOptions(options);
    const { control, directory } = this.parts;
    const threads = this.parts.transport.endpoints - 1;
    const running = new Set(control.runningEndpoints());
    const answers = await Promise.all(Array.from({ length: threads }, (_, i) => this.ask(i + 1, actorsPerThread, timeoutMs, running.has(i + 1))));
    const at = Date.now();
    const rates = this.rates(at);
    // One pass over the slots: handled and rate per thread.
    const handled = new Float64Array(threads + 1);
    const rate = new Float64Array(threads + 1);
    for (let slot = 0; slot < directory.highWater(); slot++) {
      if (!this.occupied(slot)) continue;
      const endpoint = Atomics.load(directory.thread, slot);
      if (endpoint < 1 || endpoint > threads) continue;
      handled[endpoint] += directory.actorCounts.handledBy(slot);
      rate[endpoint] += rates(slot);
    }
    const actors: ActorInspection[] = [];
    const threadRows: ThreadInspection[] = [];
    let notListed = 0;
    for (let i = 0; i < threads; i++) {
      const endpoint = i + 1;
      const answer = answers[i];
      const rows = answer === undefined ? this.fromDirectory(endpoint, actorsPerThread) : answer.cells.map((c) => this.actorRow(c, endpoint, rates));
      notListed += (answer === undefined ? this.hostedBy(endpoint) : answer.total) - rows.length;
      for (const row of rows) actors.push(row);
      const status = this.threadStatus(endpoint, answer);
      threadRows.push({
        thread: i,
        status,
        actors: this.parts.endpoint.transport.load(endpoint),
        elu: status === 'down' || status === 'recovering' ? null : round(control.eluOf(endpoint), 3),
        ringFill: round(this.ringFill(endpoint), 3),
        handled: handled[endpoint],
        rate: round(rate[endpoint], 1),
        responseMs: answer === undefined ? null : round(answer.ms, 2),
      });
    }
    const { perAgent: _perAgent, ...memory } = this.parts.endpoint.pool.stats();
    const counts = this.parts.counts();
    return {
      at,
      uptimeMs: at - this.startedAt,
      node: this.parts.node() ?? null,
      totals: {
        liveActors: directory.liveCount(),
        maxAgents: directory.maxAgents,
        handled: handled.reduce((a, b) => a + b, 0),
        rate: round(
          rate.reduce((a, b) => a + b, 0),
          1,
        ),
        ...counts,
      },
      threads: threadRows,
      actors,
      actorsNotListed: notListed,
      swarms: this.parts.swarms().map(swarmRow),
      memory: { ...memory, map: this.parts.endpoint.pool.allocationsSnapshot() },
      scheduler: this.parts.tasks.stats(),
    };
  }

  /** Asks a running thread for its actors; undefined when it is not running or does not answer in time. */
  private async ask(endpoint: number, limit: number, timeoutMs: number, running: boolean): Promise<ThreadAnswer> {
    if (!running) return undefined;
    const began = performance.now();
    try {
      const answer = (await withTimeout(this.parts.endpoint.request(endpoint, 'inspect', { limit }), timeoutMs, 'inspect')) as {
        cells: CellReport[];
        total: number;
      };
      return { ...answer, ms: performance.now() - began };
    } catch {
      return undefined;
    }
  }

  private threadStatus(endpoint: number, answer: ThreadAnswer): ThreadStatus {
    const { control } = this.parts;
    if (control.down.has(endpoint)) return 'down';
    if (control.recovering.has(endpoint)) return 'recovering';
    return answer === undefined ? 'unresponsive' : 'running';
  }

  /** True when the slot holds an actor (starting, alive or stopping). */
  private occupied(slot: number): boolean {
    const state = Atomics.load(this.parts.directory.state, slot);
    return state === kStarting || state === kAlive || state === kStopping || state === kStopAsked;
  }

  private hostedBy(endpoint: number): number {
    const dir = this.parts.directory;
    let hosted = 0;
    for (let slot = 0; slot < dir.highWater(); slot++) if (this.occupied(slot) && Atomics.load(dir.thread, slot) === endpoint) hosted++;
    return hosted;
  }

  /**
   * Per-slot rate function for this snapshot: handled now minus handled at
   * the baseline (same generation), over the time since. The baseline moves
   * up once it is a window old.
   */
  private rates(now: number): (slot: number) => number {
    const dir = this.parts.directory;
    const slots = dir.highWater();
    const base = this.baseline;
    const elapsed = now - base.at;
    const rate = (slot: number): number => {
      if (base.at === 0 || slot >= base.gen.length || base.gen[slot] !== Atomics.load(dir.gen, slot)) return 0;
      return Math.max(0, dir.actorCounts.handledBy(slot) - base.handled[slot]) / (elapsed / 1000);
    };
    if (base.at === 0 || elapsed >= kRateWindowMs) {
      const next = { at: now, gen: new Int32Array(slots), handled: new Float64Array(slots) };
      for (let slot = 0; slot < slots; slot++) {
        next.gen[slot] = Atomics.load(dir.gen, slot);
        next.handled[slot] = dir.actorCounts.handledBy(slot);
      }
      // The old baseline answers this snapshot; the new one the next.
      const old = base;
      this.baseline = next;
      return old.at === 0 ? () => 0 : rate;
    }
    return rate;
  }

  private actorRow(cell: CellReport, endpoint: number, rates: (slot: number) => number): ActorInspection {
    const counts = this.parts.directory.actorCounts;
    return {
      ref: new ActorRef(cell.slot, cell.gen, cell.name).toString(),
      slot: cell.slot,
      gen: cell.gen,
      name: cell.name ?? null,
      module: cell.module,
      thread: endpoint - 1,
      status: cell.status,
      mailbox: cell.mailbox,
      handled: counts.handledBy(cell.slot),
      rate: round(rates(cell.slot), 1),
      restarts: counts.restartsOf(cell.slot),
      p99: cell.p99,
      parent: cell.parent < 0 ? null : new ActorRef(cell.parent, Atomics.load(this.parts.directory.gen, cell.parent), undefined).toString(),
    };
  }

  /** A thread that did not answer: its actors as the directory and the registry know them. */
  private fromDirectory(endpoint: number, limit: number): ActorInspection[] {
    const { directory: dir, registry } = this.parts;
    const rows: ActorInspection[] = [];
    for (let slot = 0; slot < dir.highWater() && rows.length < limit; slot++) {
      if (!this.occupied(slot) || Atomics.load(dir.thread, slot) !== endpoint) continue;
      const gen = Atomics.load(dir.gen, slot);
      const record = registry.records.get(slot);
      const known = record !== undefined && record.gen === gen ? record : undefined;
      const state = Atomics.load(dir.state, slot);
      const status: ActorStatus = state === kStarting ? 'starting' : state === kStopping || state === kStopAsked ? 'stopping' : 'running';
      rows.push({
        ref: new ActorRef(slot, gen, known?.name).toString(),
        slot,
        gen,
        name: known?.name ?? null,
        module: known?.module ?? null,
        thread: endpoint - 1,
        status,
        // Only a bounded mailbox is counted in shared memory.
        mailbox: Math.max(0, Atomics.load(dir.depth, slot)),
        handled: dir.actorCounts.handledBy(slot),
        rate: 0,
        restarts: dir.actorCounts.restartsOf(slot),
        p99: null,
        parent: known?.parent === undefined ? null : new ActorRef(known.parent.slot, known.parent.gen, undefined).toString(),
      });
    }
    return rows;
  }

  /** The fill of the fullest ring into `endpoint`, 0..1. */
  private ringFill(endpoint: number): number {
    const shared = this.parts.transport;
    this.inbound ??= Array.from({ length: shared.endpoints }, (_, to) =>
      shared.rings.filter((sab, i) => sab !== null && i % shared.endpoints === to).map((sab) => new Ring(sab as SharedArrayBuffer)),
    );
    let fullest = 0;
    for (const ring of this.inbound[endpoint]) {
      const used = ring.availableRead();
      const fill = used / (used + ring.availableWrite());
      if (fill > fullest) fullest = fill;
    }
    return fullest;
  }
}

function swarmRow(swarm: Swarm): SwarmInspection {
  const members = swarm.members();
  const edges: Array<[number, number]> = [];
  const seen = new Set<number>();
  for (let i = 0; i < members.length; i++) {
    for (const j of neighbors(swarm.topology, members.length, i, swarm.fanout)) {
      const a = Math.min(i, j);
      const b = Math.max(i, j);
      const key = a * members.length + b;
      if (a === b || seen.has(key)) continue;
      seen.add(key);
      edges.push([a, b]);
    }
  }
  const leader = swarm.leader();
  return {
    name: swarm.name,
    topology: swarm.topology,
    fanout: swarm.fanout,
    members: members.map((m) => m.toString()),
    leader: leader?.leader.toString() ?? null,
    term: leader?.term ?? 0,
    edges,
  };
}

function round(value: number, digits: number): number {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}
