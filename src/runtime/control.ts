/**
 * The control plane: the Piscina pool that owns the threads, which worker
 * hosts which endpoint, and control tasks routed to one chosen thread.
 *
 * Control tasks reach one chosen thread through Piscina itself: each task
 * carries its target endpoint under `Piscina.queueOptionsSymbol`, and the
 * pool's `loadBalancer` returns the worker attached to that endpoint. At
 * start-up one `attach` task per thread binds each Piscina worker to an
 * endpoint index. Nothing here bypasses Piscina to send a worker a control
 * task; the data plane (messages, and the control requests on a thread's
 * ring: spawns and stops from the main thread, runtime/actors.ts, and plain
 * function tasks of `rt.tasks`, see runFunction) never goes through it.
 */
import { createRequire } from 'node:module';
import type { Piscina } from 'piscina';
import type { EventLoopUtilization } from 'node:perf_hooks';
import type { PoolShared } from '../memory/layout.js';
import { ActorRef } from '../actors/ref.js';
import { decode } from '../transport/codec/index.js';
import type { DirectoryShared } from '../transport/directory.js';
import type { TransportShared } from '../transport/transport.js';
import type { Endpoint, EndpointConfig } from '../engine/endpoint.js';
import type { HostResult, HostTask } from '../engine/host.js';
import { ActorCrashedError, MicroswarmError, RuntimeClosedError } from '../base/errors.js';
import type { ResolvedOptions } from './options.js';

/**
 * @internal Where a control task goes: the thread of an endpoint, or a free
 * worker to bind (attach), or to warm as spare number `spare`.
 */
export type QueueOptions = { endpoint: number; attach?: boolean; spare?: number };
type RoutedTask = HostTask & { [key: symbol]: QueueOptions };
/**
 * Piscina, loaded when the first pool is made, not when this module is: an
 * actor module that imports the package root loads this module on every pool
 * thread, which never makes a pool (importing piscina was about 40 ms of each
 * thread's first spawn on a 2-core AMD EPYC). Its ESM entry re-exports its
 * CommonJS build, so `require` gives the same classes as `import`.
 */
const loadPiscina = (): typeof import('piscina') => createRequire(import.meta.url)('piscina') as typeof import('piscina'); // require caches it

type PiscinaWorkerLike = { id: number; terminating: boolean; destroyed: boolean; currentUsage: number };

/** @internal What a thread attaches (or takes over an endpoint) with: the shared memory and its endpoint's config. */
export interface ThreadBoot {
  transport: TransportShared;
  config: EndpointConfig;
  pool: PoolShared;
}

/** @internal What the control plane tells the runtime. */
export interface ControlHooks {
  /** Piscina removed the worker that hosted `endpoint`. */
  workerGone(workerId: number, endpoint: number): void;
  /** A worker error outside any task. */
  poolError(error: Error): void;
  /** A spare's worker died (not while it took over a thread): Piscina starts another in its place, which needs warming. */
  spareGone(): void;
}

/** Where the worker entry is: built JS, or (running from sources) an ESM shim that loads the TypeScript host. */
function hostEntry(): string {
  const fromSource = import.meta.url.endsWith('.ts');
  return new URL(fromSource ? '../engine/host-source.mjs' : '../engine/host.js', import.meta.url).href;
}

/** @internal Every endpoint's config, from the runtime's options. */
export function endpointConfig(o: ResolvedOptions): EndpointConfig {
  return {
    threads: o.threads,
    askTimeoutMs: o.askTimeoutMs,
    askStackTraces: o.askStackTraces,
    maxMessageBytes: o.maxMessageBytes,
    throughput: o.throughput,
    spinUs: o.spinUs,
    mainSpinUs: o.mainSpinUs,
    defaultCapacity: o.mailboxCapacity,
    defaultPolicy: o.mailboxPolicy,
    inlineLimit: o.inlineLimit,
    heartbeatMs: o.heartbeatMs,
    node: o.node,
  };
}

/** @internal A host's answer, or its error thrown. */
export function unwrap(result: HostResult): Extract<HostResult, { ok: true }> {
  if (!result.ok) throw decode(result.error);
  return result;
}

/** @internal Settles like `promise`, or rejects with `what` after `ms`. */
export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new MicroswarmError(`${what} within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** @internal The pool, the endpoint-to-worker binding, and the tasks routed through it. */
export class ControlPlane {
  /** The Piscina pool that owns the threads. */
  readonly pool: Piscina;
  /** Piscina's key for a task's queue options (where it runs), read once from the class loaded lazily. */
  private readonly queueOptions: symbol;
  readonly endpointToWorker = new Map<number, number>();
  readonly workerToEndpoint = new Map<number, number>();
  /** Endpoints whose thread died and could not be replaced. */
  readonly down = new Set<number>();
  /** Endpoints between their thread's death and the end of their recovery. */
  readonly recovering = new Set<number>();
  /** Function tasks running per worker id (for the heartbeat monitor: such a thread is busy by design, not stuck). */
  readonly functionsRunning = new Map<number, number>();
  /** Control tasks waiting for the recovery of their endpoint (see run). */
  private readonly held = new Map<number, Array<{ retry: () => void; reject: (error: Error) => void }>>();
  /** Set at shutdown (or a failed start): no new work is taken. */
  closing = false;

  private readonly threads: number;
  private readonly endpoint: Endpoint;
  private attached = false;
  /** The worker each spare's warm-up went to, by spare number: each spare is its own worker. */
  private readonly spareWorkers = new Map<number, number>();
  /** Event-loop utilisation per worker id, sampled at most every 100 ms. */
  private readonly elus = new Map<number, { at: number; last: EventLoopUtilization; value: number }>();

  constructor(options: ResolvedOptions, endpoint: Endpoint, hooks: ControlHooks) {
    this.threads = options.threads;
    this.endpoint = endpoint;
    const { Piscina } = loadPiscina();
    this.queueOptions = Piscina.queueOptionsSymbol;
    this.pool = new Piscina({
      filename: hostEntry(),
      // Plus warm spares: a dead thread's replacement is already running.
      // Started with the pool's own threads (about 190 ms of a 620 ms start
      // from TypeScript sources on two cores): started later, their loading
      // landed in the user's first work instead (tasks-throughput, measured
      // soon after start, ran at 171-176 thousand tasks/s against 289-333).
      minThreads: options.threads + options.standbyThreads,
      maxThreads: options.threads + options.standbyThreads,
      // Long-lived actors: threads never idle out, and Piscina must not block
      // a worker's event loop between tasks (the endpoint runs there).
      idleTimeout: Infinity,
      atomics: 'disabled',
      concurrentTasksPerWorker: 1 << 20,
      resourceLimits: options.resourceLimits,
      loadBalancer: (task, workers) => this.pickWorker(task as unknown as Record<symbol, QueueOptions | null>, workers),
    });
    // The destroyed worker's id may read -1 already: find the endpoint whose worker is no longer in the pool.
    // Piscina emits this before it removes the worker from its list: look after that.
    this.pool.on('workerDestroy', () => {
      queueMicrotask(() => {
        const alive = new Set(this.pool.threads.map((w) => w.threadId));
        for (const [endpoint, id] of this.endpointToWorker) if (!alive.has(id)) hooks.workerGone(id, endpoint);
        let spareLost = false;
        for (const [spare, id] of this.spareWorkers) {
          if (alive.has(id)) continue;
          this.spareWorkers.delete(spare);
          spareLost = true;
        }
        if (spareLost && !this.closing) hooks.spareGone();
      });
    });
    // A worker error outside any task: without a listener it would throw on the main thread.
    this.pool.on('error', (error: Error) => hooks.poolError(error));
  }

  checkOpen(what: string): void {
    if (this.closing) throw new RuntimeClosedError(what);
  }

  /** Binds one thread to each endpoint 1..threads (an `attach` task each); resolves once all are attached. */
  async attach(boot: ThreadBoot, directory: DirectoryShared, setup: string | undefined): Promise<void> {
    if (this.attached) throw new Error('already attached');
    this.attached = true;
    const tasks: Array<Promise<HostResult>> = [];
    for (let thread = 0; thread < this.threads; thread++) {
      const task = {
        op: 'attach',
        index: thread + 1,
        transport: boot.transport,
        directory,
        pool: boot.pool,
        config: boot.config,
        setup,
      } as HostTask;
      tasks.push(this.run(task, { endpoint: thread + 1, attach: true }));
    }
    for (const result of await Promise.all(tasks)) unwrap(result);
  }

  /** The pool's worker bound to `endpoint`, if it is still in the pool. */
  workerOf(endpoint: number) {
    const id = this.endpointToWorker.get(endpoint);
    return this.pool.threads.find((w) => w.threadId === id);
  }

  /** Piscina's load balancer: a control task goes to the worker of its endpoint. */
  private pickWorker<W extends PiscinaWorkerLike>(task: Record<symbol, QueueOptions | null>, workers: W[]): W | null {
    const target = task[this.queueOptions];
    if (target === null || target === undefined) return null;
    const free = (worker: W) => !this.workerToEndpoint.has(worker.id) && !worker.terminating && !worker.destroyed;
    if (target.spare !== undefined) {
      // A warm-up for spare number `spare`: its worker, or a free worker no
      // other spare holds, left unbound (none: Piscina's replacement for a
      // dead worker is still starting, and takes it once it is up).
      const held = this.spareWorkers.get(target.spare);
      for (const worker of workers) if (worker.id === held && free(worker)) return worker;
      const taken = new Set(this.spareWorkers.values());
      for (const worker of workers) {
        if (free(worker) && !taken.has(worker.id)) {
          this.spareWorkers.set(target.spare, worker.id);
          return worker;
        }
      }
      return null;
    }
    if (target.attach) {
      for (const worker of workers) {
        if (free(worker)) {
          this.workerToEndpoint.set(worker.id, target.endpoint);
          this.endpointToWorker.set(target.endpoint, worker.id);
          // A spare taking over an endpoint is no longer that spare's.
          for (const [spare, id] of this.spareWorkers) if (id === worker.id) this.spareWorkers.delete(spare);
          return worker;
        }
      }
      return null;
    }
    const id = this.endpointToWorker.get(target.endpoint);
    for (const worker of workers) if (worker.id === id && !worker.destroyed) return worker;
    return null;
  }

  /**
   * Runs a plain function task on the running thread that runs the fewest,
   * as a control request through its ring (see engine/functions.ts), not as
   * a Piscina task: Piscina's postMessage of each task (a structured clone)
   * was a quarter of the main thread's time, and many in flight per thread
   * go 2-3x faster through the ring. The scheduler only hands
   * a function over when a function slot is free, so nothing waits in the
   * ring behind it but that thread's own messages. A running function
   * cannot be cancelled. When its thread dies while it runs, it rejects
   * with ActorCrashedError (the scheduler places it again, as it does an
   * agent's task); one the thread had not yet taken runs on its replacement.
   */
  runFunction(module: string, payload: unknown): Promise<unknown> {
    if (this.closing) return Promise.reject(new RuntimeClosedError('tasks.submit'));
    let endpoint = -1;
    let worker = -1;
    let fewest = Infinity;
    for (let e = 1; e <= this.threads; e++) {
      const id = this.endpointToWorker.get(e);
      if (id === undefined || this.down.has(e) || this.recovering.has(e)) continue;
      const running = this.functionsRunning.get(id) ?? 0;
      if (running < fewest) {
        endpoint = e;
        worker = id;
        fewest = running;
      }
    }
    if (endpoint < 0)
      return Promise.reject(new ActorCrashedError('on no pool thread', `could not run function task ${module}: no pool thread is running`));
    this.functionsRunning.set(worker, fewest + 1);
    const done = (): void => {
      const left = (this.functionsRunning.get(worker) ?? 1) - 1;
      if (left <= 0) this.functionsRunning.delete(worker);
      else this.functionsRunning.set(worker, left);
    };
    return this.endpoint.request(endpoint, 'fn', { module, payload }).then(
      (value) => {
        done();
        return value;
      },
      (error: unknown) => {
        done();
        if (!(error instanceof ActorCrashedError)) throw error;
        throw new ActorCrashedError(`on pool thread ${endpoint - 1}`, `died while it ran function task ${module}`, { cause: error });
      },
    );
  }

  /** How many pool threads are attached and running (runningEndpoints().length, without the array). */
  runningThreads(): number {
    let n = 0;
    for (let e = 1; e <= this.threads; e++) if (!this.down.has(e) && !this.recovering.has(e) && this.endpointToWorker.has(e)) n++;
    return n;
  }

  /** Endpoints of pool threads that are attached and running (not down, not being recovered). */
  runningEndpoints(): number[] {
    const running: number[] = [];
    for (let e = 1; e <= this.threads; e++) if (!this.down.has(e) && !this.recovering.has(e) && this.endpointToWorker.has(e)) running.push(e);
    return running;
  }

  /** Event-loop utilisation of the thread of `endpoint` (1 when it has none). */
  eluOf(endpoint: number): number {
    const id = this.endpointToWorker.get(endpoint);
    if (id === undefined) return 1;
    const now = performance.now();
    const seen = this.elus.get(id);
    if (seen !== undefined && now - seen.at < 100) return seen.value;
    const worker = this.pool.threads.find((w) => w.threadId === id);
    if (worker === undefined) return 1;
    const current = worker.performance.eventLoopUtilization();
    const value = seen === undefined ? current.utilization : worker.performance.eventLoopUtilization(current, seen.last).utilization;
    this.elus.set(id, { at: now, last: current, value });
    return value;
  }

  /**
   * Runs a control task on the thread `target` names. One for an endpoint
   * being recovered (or with no thread bound to it) waits here until its
   * recovery ends, then runs on the replacement, on the actors it brought
   * back: handed to Piscina at once, it would wait in Piscina's queue, whose
   * head task is tried alone each time a worker frees up, and ahead of the
   * recovery's own task (which binds the replacement) it held that one back
   * until the recovery gave up (10 s later: the thread down, its actors
   * lost) and every control task after it, on every thread, for good.
   */
  run(task: HostTask, target: QueueOptions): Promise<HostResult> {
    if (target.attach !== true && target.spare === undefined && target.endpoint > 0) {
      const e = target.endpoint;
      if (this.down.has(e)) return Promise.reject(this.unreachable(task, e));
      if (this.recovering.has(e) || !this.endpointToWorker.has(e)) {
        return new Promise((resolve, reject) => {
          let held = this.held.get(e);
          if (held === undefined) this.held.set(e, (held = []));
          held.push({ retry: () => this.run(task, target).then(resolve, reject), reject });
        });
      }
    }
    return this.dispatch(task, target);
  }

  /**
   * The recovery of `endpoint` ended (replaced, or given up): the control
   * tasks that waited for it run now (they fail if it is down). Still being
   * recovered (its replacement died too), they wait for the next recovery.
   */
  recovered(endpoint: number): void {
    const held = this.held.get(endpoint);
    if (held === undefined || (!this.down.has(endpoint) && (this.recovering.has(endpoint) || !this.endpointToWorker.has(endpoint)))) return;
    this.held.delete(endpoint);
    for (const { retry } of held) retry();
  }

  private unreachable(task: HostTask, endpoint: number): Error {
    const actor = 'slot' in task ? new ActorRef(task.slot, task.gen, undefined, this.endpoint).toString() : `on pool thread ${endpoint - 1}`;
    return new ActorCrashedError(actor, `could not be reached for a '${task.op}' call: pool thread ${endpoint - 1} died and could not be replaced`);
  }

  private dispatch(task: HostTask, target: QueueOptions): Promise<HostResult> {
    const routed = task as RoutedTask;
    routed[this.queueOptions] = target;
    return (this.pool.run(routed) as Promise<HostResult>).catch((err: unknown) => {
      // Piscina rejects the tasks of a worker that exits with a plain Error
      // ("worker exited with code: 1"): the thread died while it ran this
      // one (an init that exits, a stuck thread terminated). Callers and
      // users get the runtime's typed error, the pool's as its cause.
      // Starting a thread (attach, recover, standby) fails its own way: the
      // callers make that a ThreadStartError.
      if (err instanceof MicroswarmError || task.op === 'attach' || task.op === 'recover' || task.op === 'standby') throw err;
      const thread = 'endpoint' in target ? `pool thread ${target.endpoint - 1}` : 'a pool thread';
      const actor = 'slot' in task ? new ActorRef(task.slot, task.gen, undefined, this.endpoint).toString() : `on ${thread}`;
      throw new ActorCrashedError(actor, `was in a '${task.op}' call on ${thread}, which died`, { cause: err });
    });
  }

  /** Ends the pool and its threads. */
  destroy(): Promise<void> {
    const held = [...this.held.values()].flat();
    this.held.clear();
    for (const { reject } of held) reject(new RuntimeClosedError('finish a control call'));
    return this.pool.destroy();
  }
}
