/**
 * The thread monitor: runs the watchdog (watchdog.ts) over the attached pool
 * threads and terminates a stuck one, so that its recovery (recovery.ts)
 * brings its actors back and reports reason 'stuck'.
 */
import { ActorRef, systemRef } from '../actors/ref.js';
import type { EventSource } from '../base/events.js';
import type { ActorFailure, Endpoint } from '../engine/endpoint.js';
import type { Directory } from '../transport/directory.js';
import { Journal } from '../transport/journal.js';
import { TurnReader } from '../transport/turns.js';
import type { ControlPlane, ThreadBoot } from './control.js';
import type { ResolvedOptions } from './options.js';
import type { Registry } from './registry.js';
import { Watchdog } from './watchdog.js';

/** @internal What the monitor reads: the runtime's parts it watches through. */
export interface MonitorParts {
  options: ResolvedOptions;
  control: ControlPlane;
  endpoint: Endpoint;
  directory: Directory;
  boot: ThreadBoot;
  registry: Registry;
  failures: EventSource<ActorFailure>;
}

/** @internal The watchdog's timer and what it terminated. */
export class ThreadMonitor {
  /** Endpoints terminated for a stuck heartbeat (their crash reports reason 'stuck'). */
  readonly stuck = new Set<number>();
  private readonly parts: MonitorParts;
  private watchdog: Watchdog | undefined;
  private monitor: NodeJS.Timeout | undefined;

  constructor(parts: MonitorParts) {
    this.parts = parts;
  }

  /**
   * The watchdog (watchdog.ts): every `heartbeatMs` it reads each attached
   * thread's heartbeat and turn words; a handler that holds its thread for
   * `blockingHandlerMs` is reported, a thread silent for `stuckThreadMs` is
   * terminated, and recovered like any thread that died.
   */
  start(): void {
    const { options, control, endpoint, directory, boot, registry, failures } = this.parts;
    const { heartbeatMs, blockingHandlerMs, stuckThreadMs } = options;
    if (stuckThreadMs === 0 && blockingHandlerMs === 0) return;
    const transport = endpoint.transport;
    const journals = new Map<number, Journal>();
    this.watchdog = new Watchdog(
      { heartbeatMs, blockingHandlerMs, stuckThreadMs },
      {
        watched: () => [...control.endpointToWorker].filter(([e]) => !control.recovering.has(e)),
        // A plain function task holds its thread's event loop by design (it runs to completion).
        busyByDesign: (_, workerId) => control.functionsRunning.has(workerId),
        beats: (e) => transport.beats(e),
        turns: new TurnReader(boot.transport.turns),
        journal: (e) => {
          const buffer = boot.transport.journals[e];
          if (buffer === null || buffer === undefined) return undefined;
          let journal = journals.get(e);
          if (journal === undefined) journals.set(e, (journal = new Journal(buffer)));
          return journal;
        },
        messageOf: (body) => endpoint.messageOfJournaled(body),
        actorIn: (slot) => new ActorRef(slot, Atomics.load(directory.gen, slot), registry.nameOf(slot), endpoint),
        systemRef: systemRef(endpoint),
        report: (failure) => failures.publish(failure),
        terminate: (e, workerId) => {
          const worker = control.pool.threads.find((w) => w.threadId === workerId);
          if (worker === undefined) return;
          this.stuck.add(e);
          void worker.terminate();
        },
      },
    );
    const watchdog = this.watchdog;
    this.monitor = setInterval(() => watchdog.tick(), heartbeatMs);
    this.monitor.unref();
  }

  /** The thread of `endpoint` was recovered: its watch starts over. */
  forget(endpoint: number): void {
    this.watchdog?.forget(endpoint);
  }

  /** Stops watching (shutdown). */
  stop(): void {
    if (this.monitor !== undefined) clearInterval(this.monitor);
  }
}
