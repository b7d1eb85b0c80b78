/**
 * `Runtime`: the public entry on the main thread. It owns the shared memory
 * (directory, rings, doorbells), the Piscina pool that owns the threads, the
 * name registry, and the main thread's endpoint (asks, replies, dead letters).
 *
 * Control tasks reach one chosen thread through Piscina itself: each task
 * carries its target endpoint under `Piscina.queueOptionsSymbol`, and the
 * pool's `loadBalancer` returns the worker attached to that endpoint. At
 * start-up one `attach` task per thread binds each Piscina worker to an
 * endpoint index. Nothing here bypasses Piscina to talk to a worker; the data
 * plane (messages) never goes through it.
 */
import { Piscina } from 'piscina';
import { registerCodecExtensions } from '../engine/ref-codec.js';
import { createPoolShared, type PoolShared } from '../memory/layout.js';
import { Pool, type MemoryStats } from '../memory/pool.js';
import { ActorRef } from '../actors/ref.js';
import { decode, encode } from '../transport/codec/index.js';
import { Directory, kAlive, kFree, kStarting, kStopping, kWhyCrashed } from '../transport/directory.js';
import { overflowPolicies } from '../actors/spawn-options.js';
import { Endpoint, kUntimedAsk, type ActorFailure, type DeadLetter, type EndpointConfig, type SystemHandler } from '../engine/endpoint.js';
import {
  ActorCrashedError, ActorStoppedError, AgentLimitError, EscalatedError, ThreadStartError, InvalidArgumentError, InvalidOptionError, NameTakenError, RuntimeClosedError, MicroswarmError,
} from '../base/errors.js';
import { EventSource } from '../base/events.js';
import type { HostResult, HostTask, RehostedActor } from '../engine/host.js';
import { checkModuleExists, normalizeModuleUrl } from '../engine/modules.js';
import { TaskScheduler, type TaskExecutor } from '../scheduler/scheduler.js';
import { Swarm, type SwarmHost, type SwarmOptions } from '../swarm/swarm.js';
import { Topic, TopicRegistry } from '../swarm/topics.js';
/** A function task's routing: the worker the balancer chose. */
type FunctionOrder = { fn: true; worker?: number };
import type { EventLoopUtilization } from 'node:perf_hooks';
import {
  resolveRuntimeOptions, resolveSpawnOptions, type AgentOverride, type Delivery, type ResolvedOptions, type ResolvedSpawnOptions, type RuntimeOptions, type SpawnOptions,
  type OverflowPolicy,
} from './options.js';
import { createTransportShared, finishTakenBatch } from '../transport/transport.js';
import { Journal, kBlameNone, kBlameRunning, type JournalEntry } from '../transport/journal.js';
import { TurnReader } from '../transport/turns.js';
import { Watchdog } from './watchdog.js';
import { Ring } from '../transport/ring.js';
import type { CrashDecision } from '../actors/supervision.js';
import { SupervisorState } from '../actors/supervision.js';

registerCodecExtensions();

/** Options of {@link Runtime.shutdown}. */
export interface ShutdownOptions {
  /** How long mailboxes may take to drain before actors are stopped regardless. Default 5000 ms. */
  timeoutMs?: number;
}

/** What `rt.crashes` reports once a pool thread that died has been dealt with. */
export interface ThreadCrash {
  /** 0-based index of the pool thread that died. */
  thread: number;
  /** 'stuck': silent for `stuckThreadMs` (one handler held it), and the runtime terminated it; 'exited': it died (or was killed) on its own. */
  reason: 'stuck' | 'exited';
  /** Actors brought back on its replacement (same refs; state from checkpoint or init). */
  rehosted: number;
  /** Actors that did not come back (their supervisor said stop, they were children of an actor that died with them, or no replacement thread started). */
  lost: ActorRef[];
  /** True when a replacement thread took over; false when the runtime goes on with the threads it has. */
  replaced: boolean;
  /** From the thread's exit being noticed to its actors running again, in ms. */
  recoveryMs: number;
}

/** A snapshot of the runtime, from {@link Runtime.stats}. */
export interface RuntimeStats {
  threads: Array<{ thread: number; actors: number }>;
  liveActors: number;
  maxAgents: number;
  deadLetters: number;
  failures: number;
}

type QueueOptions = { endpoint: number; attach?: boolean; spare?: boolean } | FunctionOrder;
type RoutedTask = HostTask & { [key: symbol]: QueueOptions };
type PiscinaWorkerLike = { id: number; terminating: boolean; destroyed: boolean; currentUsage: number };

/** Where the worker entry is: built JS, or (running from sources) an ESM shim that loads the TypeScript host. */
function hostEntry(): string {
  const fromSource = import.meta.url.endsWith('.ts');
  return new URL(fromSource ? '../engine/host-source.mjs' : '../engine/host.js', import.meta.url).href;
}

export class Runtime {
  /** Messages that could not be delivered: to a stopped or unknown actor, or dropped by an overflow policy. */
  readonly deadLetters = new EventSource<DeadLetter>();
  /** Handlers that threw or rejected, failed restarts, escalations past the root, and actors lost in a crash. */
  readonly failures = new EventSource<ActorFailure>();
  /** Pool threads that died (crashed, exited, ran out of memory, were terminated), once recovery is done. */
  readonly crashes = new EventSource<ThreadCrash>();
  /** Worker threads in the pool. */
  readonly threads: number;
  /** Live actors at most. */
  readonly maxAgents: number;
  /** The shared region pool: `stats()` and `collect()`. */
  readonly memory: RuntimeMemory;
  /** The task scheduler: submit work to agents or the pool (see the README's scheduler section). */
  readonly tasks: TaskScheduler;

  private readonly options: ResolvedOptions;
  private readonly directory: Directory;
  private readonly endpoint: Endpoint;
  private readonly pool: Piscina;
  private readonly endpointToWorker = new Map<number, number>();
  private readonly workerToEndpoint = new Map<number, number>();
  private readonly names = new Map<string, ActorRef>();
  /** Actors whose supervisor is the root, in start order (one-for-all and rest-for-one need it). */
  private readonly topLevel = new Set<ActorRef>();
  private readonly rootSupervision: SupervisorState;
  /** How to bring back each actor spawned through the main thread, by slot (checked against its generation). */
  private readonly records = new Map<
    number,
    { gen: number; module: string; args: Uint8Array; name: string | undefined; parent: { slot: number; gen: number } | undefined; delivery: Delivery }
  >();
  /** Slots whose spawn through the main thread is in flight. */
  private readonly spawning = new Set<number>();
  /** Endpoints whose thread died and could not be replaced. */
  private readonly down = new Set<number>();
  private recovery: Promise<void> = Promise.resolve();
  private attachData: { transport: ReturnType<typeof createTransportShared>; config: EndpointConfig; pool: PoolShared };
  private keepAlive: NodeJS.Timeout | undefined;
  private closing = false;
  private shutdownPromise: Promise<void> | undefined;

  /**
   * Starts a runtime: the pool's threads, the shared memory, and the rings.
   * Resolves once every thread is attached.
   *
   * @example
   * const rt = await Runtime.start({ threads: 2, maxAgents: 256 });
   */
  static async start(options?: RuntimeOptions): Promise<Runtime> {
    const resolved = resolveRuntimeOptions(options);
    const rt = new Runtime(resolved);
    try {
      await rt.attachThreads();
      rt.startMonitor();
    } catch (err) {
      rt.closing = true;
      await rt.pool.destroy().catch(() => undefined);
      rt.endpoint.close(new RuntimeClosedError('start'));
      if (rt.keepAlive) clearInterval(rt.keepAlive);
      if (err instanceof MicroswarmError) throw err;
      throw new ThreadStartError((err as Error)?.message ?? String(err), { cause: err });
    }
    return rt;
  }

  private constructor(options: ResolvedOptions) {
    this.options = options;
    this.threads = options.threads;
    this.maxAgents = options.maxAgents;
    this.rootSupervision = new SupervisorState(options.supervisor);
    const endpoints = options.threads + 1;
    this.directory = Directory.create(options.maxAgents);
    const transport = createTransportShared(endpoints, options.ringBytes, options.journalBytes);
    const config = this.endpointConfig();
    const pool = createPoolShared(options.memory, options.maxAgents);
    this.endpoint = new Endpoint(0, transport, this.directory.shared, pool, config, this.systemHandler());
    this.memory = new RuntimeMemory(this.endpoint.pool, this.directory);
    this.tasks = new TaskScheduler(options.tasks, this.taskExecutor());
    this.endpoint.start();
    // The runtime keeps the process alive until shutdown, as a server does:
    // accepted messages must not vanish because the main script returned.
    this.keepAlive = setInterval(() => undefined, 1 << 30);
    this.pool = new Piscina({
      filename: hostEntry(),
      // Plus warm spares: a dead thread's replacement is already running.
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
    this.pendingAttach = { transport, config, pool };
    this.attachData = this.pendingAttach;
    // The destroyed worker's id may read -1 already: find the endpoint whose worker is no longer in the pool.
    // Piscina emits this before it removes the worker from its list: look after that.
    this.pool.on('workerDestroy', () => {
      queueMicrotask(() => {
        const alive = new Set(this.pool.threads.map((w) => w.threadId));
        for (const [endpoint, id] of this.endpointToWorker) if (!alive.has(id)) this.workerGone(id, endpoint);
      });
    });
    // A worker error outside any task: without a listener it would throw on the main thread.
    this.pool.on('error', (error: Error) => {
      this.failures.publish({ actor: new ActorRef(-1, 0, 'system', this.endpoint), error, phase: 'crashed' });
    });
  }

  /**
   * The watchdog (watchdog.ts): every `heartbeatMs` it reads each attached
   * thread's heartbeat and turn words; a handler that holds its thread for
   * `blockingHandlerMs` is reported, a thread silent for `stuckThreadMs` is
   * terminated, and recovered like any thread that died.
   */
  private startMonitor(): void {
    const { heartbeatMs, blockingHandlerMs, stuckThreadMs } = this.options;
    if (stuckThreadMs === 0 && blockingHandlerMs === 0) return;
    const transport = this.endpoint.transport;
    const journals = new Map<number, Journal>();
    this.watchdog = new Watchdog({ heartbeatMs, blockingHandlerMs, stuckThreadMs }, {
      watched: () => [...this.endpointToWorker].filter(([endpoint]) => !this.recovering.has(endpoint)),
      // A plain function task holds its thread's event loop by design (it runs to completion).
      busyByDesign: (_, workerId) => this.functionsRunning.has(workerId),
      beats: (endpoint) => transport.beats(endpoint),
      turns: new TurnReader(this.attachData.transport.turns),
      journal: (endpoint) => {
        const buffer = this.attachData.transport.journals[endpoint];
        if (buffer === null || buffer === undefined) return undefined;
        let journal = journals.get(endpoint);
        if (journal === undefined) journals.set(endpoint, (journal = new Journal(buffer)));
        return journal;
      },
      messageOf: (body) => this.endpoint.messageOfJournaled(body),
      actorIn: (slot) => new ActorRef(slot, Atomics.load(this.directory.gen, slot), this.records.get(slot)?.name, this.endpoint),
      systemRef: new ActorRef(-1, 0, 'system', this.endpoint),
      report: (failure) => this.failures.publish(failure),
      terminate: (endpoint, workerId) => {
        const worker = this.pool.threads.find((w) => w.threadId === workerId);
        if (worker === undefined) return;
        this.stuck.add(endpoint);
        void worker.terminate();
      },
    });
    const watchdog = this.watchdog;
    this.monitor = setInterval(() => watchdog.tick(), heartbeatMs);
    this.monitor.unref();
  }

  private watchdog: Watchdog | undefined;
  private monitor: NodeJS.Timeout | undefined;
  /** Endpoints terminated for a stuck heartbeat (their crash reports reason 'stuck'). */
  private readonly stuck = new Set<number>();
  /** Endpoints terminated by `killThread`: no message is to blame for their death. */
  private readonly injected = new Set<number>();
  /** Endpoints between their thread's death and the end of their recovery. */
  private readonly recovering = new Set<number>();

  /** Piscina removed a worker: if it hosted an endpoint (and we are not shutting down), recover it. */
  private workerGone(workerId: number, endpoint: number): void {
    this.workerToEndpoint.delete(workerId);
    this.endpointToWorker.delete(endpoint);
    this.deaths.set(endpoint, (this.deaths.get(endpoint) ?? 0) + 1);
    if (this.closing) return;
    // Swarms learn at once (not after the recovery) that members of that thread lost their state.
    if (this.swarms.size > 0) {
      for (const swarm of this.swarms.values()) {
        const there = swarm.members().filter((m) => Atomics.load(this.directory.thread, m.slot) === endpoint);
        if (there.length > 0) swarm.membersLost(there, 'crashed');
      }
    }
    this.recovering.add(endpoint);
    this.recovery = this.recovery
      .then(() => this.recover(endpoint))
      .catch((error: unknown) => {
        this.failures.publish({ actor: new ActorRef(-1, 0, 'system', this.endpoint), error: error as Error, phase: 'crashed' });
      })
      .finally(() => {
        this.recovering.delete(endpoint);
        this.watchdog?.forget(endpoint);
      });
  }

  /**
   * Recovery of a thread that died. What it had not read of its rings is
   * still there; its heap (mailboxes, state, backlog) is gone. Each actor
   * spawned through the main thread is brought back in the same slot and
   * generation, unless its supervisor says stop; actors spawned on that
   * thread by an actor of it are not (their parent's new instance makes its
   * own children, as after a restart). Asks other threads had in that
   * thread's heap are rejected with ActorCrashedError; watchers of the lost
   * actors get Terminated ('crashed').
   */
  private async recover(endpoint: number): Promise<void> {
    const began = performance.now();
    const injected = this.injected.delete(endpoint);
    const dir = this.directory;
    const transport = this.endpoint.transport;
    // A batch it was committing is finished first: the counts read next include it.
    finishTakenBatch(this.attachData.transport, endpoint);
    const consumed = Array.from({ length: this.threads + 1 }, (_, from) => (from === endpoint ? 0 : transport.consumed(from, endpoint)));
    const error = new ActorCrashedError(`on pool thread ${endpoint - 1}`, 'was on a pool thread that died');
    const rehost: RehostedActor[] = [];
    const lost: ActorRef[] = [];
    const limit = dir.highWater();
    for (let slot = 0; slot < limit; slot++) {
      const state = Atomics.load(dir.state, slot);
      if ((state !== kStarting && state !== kAlive && state !== kStopping) || Atomics.load(dir.thread, slot) !== endpoint) continue;
      if (this.spawning.has(slot)) continue; // its spawn call settles it
      const gen = Atomics.load(dir.gen, slot);
      const record = this.records.get(slot);
      const ref = new ActorRef(slot, gen, record?.name, this.endpoint);
      let decision: CrashDecision = { directive: 'stop', delayMs: 0 };
      if (record !== undefined && record.gen === gen && state === kAlive) decision = await this.crashDirective(ref, record.parent, endpoint, error);
      if (decision.directive === 'restart' && state === kAlive) {
        const r = record!;
        rehost.push({ slot, gen, module: r.module, args: r.args, name: r.name, parent: r.parent, delivery: r.delivery, delayMs: decision.delayMs });
      } else lost.push(ref);
    }
    const lostPairs: number[] = [];
    const release = (refs: ActorRef[]) => {
      for (const ref of refs) {
        lostPairs.push(ref.slot, ref.gen);
        // Live, or stopping when its thread died (it never finished): release it.
        const state = Atomics.load(dir.state, ref.slot);
        if (Atomics.load(dir.gen, ref.slot) !== ref.gen || state === kFree) continue;
        this.records.delete(ref.slot);
        this.endpoint.pool.reclaim({ slot: ref.slot, gen: ref.gen });
        this.endpoint.dropCheckpoint(ref.slot);
        dir.release(ref.slot, kWhyCrashed);
        transport.addLoad(endpoint, -1);
        this.failures.publish({ actor: ref, error, phase: 'crashed' });
      }
    };
    // Released before the replacement replays anything: what it replays for
    // them becomes a dead letter with reason 'crashed'.
    release(lost);
    // Lost by an attempt whose replacement died while taking over: reported now.
    const earlier = this.lostBefore.get(endpoint);
    if (earlier !== undefined) {
      this.lostBefore.delete(endpoint);
      lost.unshift(...earlier.lost);
      lostPairs.unshift(...earlier.pairs);
    }
    // What it had taken and not finished: replayed by its replacement, whose
    // answers settle those asks (so they are not rejected below). The
    // journal is left as it is: the replacement takes it over, each entry
    // staying until its message is done (see journal.ts).
    const journalBuffer = this.attachData.transport.journals[endpoint];
    let replay: JournalEntry[] = [];
    if (journalBuffer !== null && journalBuffer !== undefined) {
      const journal = new Journal(journalBuffer);
      try {
        replay = journal.pending(this.culprit(endpoint, injected));
      } catch (err) {
        // A corrupt journal replays nothing: its asks are rejected as in
        // doubt below, rather than replaying bytes that cannot be trusted;
        // the replacement starts with an empty one.
        this.failures.publish({ actor: new ActorRef(-1, 0, 'system', this.endpoint), error: err as Error, phase: 'crashed' });
        journal.reset();
      }
    }
    const replayedAsks = replay.flatMap((entry) => this.endpoint.askOfJournaled(entry));
    this.recountBounded(endpoint, rehost, replay);
    let replaced = true;
    const deathsBefore = this.deaths.get(endpoint) ?? 0;
    try {
      const a = this.attachData;
      const task = {
        op: 'recover', index: endpoint, transport: a.transport, directory: dir.shared, pool: a.pool, config: a.config, actors: rehost,
        setup: this.options.threadSetup, error: encode(error, 'error'), replay,
      } as HostTask;
      this.unwrap(await withTimeout(this.runRouted(task, { endpoint, attach: true }), 10_000, 'no replacement thread started'));
    } catch (err) {
      if (this.replacementDied(endpoint, deathsBefore)) {
        // The replacement itself died while taking over (killed, or it crashed
        // replaying): it is recovered in turn, by the recovery its death
        // queued, which finds the same actors and the same journal. One
        // report covers both deaths, and the actors lost in this attempt.
        this.lostBefore.set(endpoint, { lost, pairs: lostPairs });
        return;
      }
      // Piscina does not respawn a thread that fails while starting: go on
      // with the threads we have; what lived there is lost.
      replaced = false;
      this.down.add(endpoint);
      // Its worker (if one took the task) stays idle and bound to nothing:
      // not a spare, not watched by the heartbeat monitor.
      const worker = this.endpointToWorker.get(endpoint);
      if (worker !== undefined) {
        this.endpointToWorker.delete(endpoint);
        this.workerToEndpoint.set(worker, -1);
      }
      const more = rehost.map((a) => new ActorRef(a.slot, a.gen, a.name, this.endpoint));
      lost.push(...more);
      release(more);
      rehost.length = 0;
      replayedAsks.length = 0; // nobody replays them: rejected below
      this.failures.publish({ actor: new ActorRef(-1, 0, 'system', this.endpoint), error: err as Error, phase: 'crashed' });
    }
    // Everyone else learns of it: asks in doubt are rejected, watches settled.
    this.endpoint.threadCrashed(endpoint, consumed, lostPairs, replayedAsks);
    for (let e = 1; e <= this.threads; e++) {
      if (e === endpoint || this.down.has(e) || !this.endpointToWorker.has(e)) continue;
      this.endpoint.notify(e, 'threadCrashed', { endpoint, consumed, lost: lostPairs, replayed: replayedAsks });
    }
    this.warmStandby(); // the spare Piscina started in place of the dead thread
    const reason = this.stuck.delete(endpoint) ? 'stuck' : 'exited';
    this.crashes.publish({ thread: endpoint - 1, reason, rehosted: rehost.length, lost, replaced, recoveryMs: performance.now() - began });
  }

  /**
   * Which journaled message took thread `endpoint` down, for poison counting
   * (kPoisonAfterCrashes): none when it was killed on request (no message's
   * fault); else the message whose handler was running synchronously (the
   * turn words outlive the thread: see turns.ts), or, when none was, every
   * message whose async handler was in flight (the culprit is among them).
   */
  private culprit(endpoint: number, injected: boolean): number {
    if (injected) return kBlameNone;
    const turns = new TurnReader(this.attachData.transport.turns);
    return turns.slot(endpoint) >= 0 ? turns.entry(endpoint) : kBlameRunning;
  }

  /**
   * True when the thread that took over `endpoint` has died (and so a
   * recovery of its own is or will be queued by `workerGone`), false when it
   * is alive (it failed to start: setup threw, or it timed out) or none took
   * the task.
   */
  private replacementDied(endpoint: number, deathsBefore: number): boolean {
    // workerGone has run already: it unbound the endpoint and queued a recovery.
    if ((this.deaths.get(endpoint) ?? 0) !== deathsBefore) return true;
    // Or it is about to: the worker bound to the endpoint is no longer in the pool.
    const id = this.endpointToWorker.get(endpoint);
    return id !== undefined && !this.pool.threads.some((w) => w.threadId === id);
  }

  /** Deaths of the threads of each endpoint (counted by workerGone). */
  private readonly deaths = new Map<number, number>();
  /** Actors lost by a recovery whose replacement died while taking over, for the next one's report. */
  private readonly lostBefore = new Map<number, { lost: ActorRef[]; pairs: number[] }>();

  /**
   * A bounded mailbox counts messages accepted and not yet taken (senders
   * add, the host takes). What a dead thread held only in its heap (messages
   * between its own actors) is gone, so its count would stay taken forever.
   * Each brought-back bounded actor's count is set back to what still waits
   * for it: messages in the rings to the thread plus journaled ones not
   * being handled (the one being handled is re-counted by the replay). A
   * sender between counting and pushing at this very moment can leave the
   * count off by its one message; no count is left holding a lost message.
   */
  private recountBounded(endpoint: number, rehost: RehostedActor[], replay: JournalEntry[]): void {
    const dir = this.directory;
    const bounded = rehost.filter((a) => dir.capacity[a.slot] > 0);
    if (bounded.length === 0) return;
    const waiting = new Map<number, number>();
    const count = (body: Uint8Array) => {
      for (const target of this.endpoint.countedTargetsOf(body)) {
        if (Atomics.load(dir.gen, target.slot) === target.gen) waiting.set(target.slot, (waiting.get(target.slot) ?? 0) + 1);
      }
    };
    const before = bounded.map((a) => Atomics.load(dir.depth, a.slot));
    const rings = this.attachData.transport.rings;
    const endpoints = this.threads + 1;
    for (let from = 0; from < endpoints; from++) {
      const ring = rings[from * endpoints + endpoint];
      if (from !== endpoint && ring !== null && ring !== undefined) new Ring(ring).peekMessages(count);
    }
    for (const entry of replay) if (!entry.running) count(entry.body);
    bounded.forEach((a, i) => {
      const lost = before[i] - (waiting.get(a.slot) ?? 0);
      if (lost > 0) Atomics.sub(dir.depth, a.slot, lost);
    });
  }

  /**
   * What the crashed actor's supervisor says: restart (resume counts as
   * restart: its state is gone) or stop, and the restart backoff delay.
   */
  private async crashDirective(ref: ActorRef, parent: { slot: number; gen: number } | undefined, endpoint: number, error: Error): Promise<CrashDecision> {
    const stop: CrashDecision = { directive: 'stop', delayMs: 0 };
    if (parent === undefined) {
      const decision = this.rootSupervision.decide(ref.toString(), error, ref);
      if (decision.directive === 'escalate') {
        this.failures.publish({ actor: ref, error: new EscalatedError(ref.toString(), decision.reason ?? 'the root supervisor escalated', { cause: error }), phase: 'escalated' });
        return stop;
      }
      if (decision.directive === 'stop') return stop;
      return { directive: 'restart', delayMs: decision.delayMs };
    }
    if (!this.directory.isLive(parent.slot, parent.gen)) return stop;
    const thread = Atomics.load(this.directory.thread, parent.slot);
    if (thread === endpoint) return stop; // died with it: its new instance makes its own children
    try {
      const parentRef = new ActorRef(parent.slot, parent.gen, undefined, this.endpoint);
      return (await withTimeout(this.endpoint.request(thread, 'decideCrash', { supervisor: parentRef, child: ref, error }), 5_000, 'decideCrash')) as CrashDecision;
    } catch {
      return stop;
    }
  }

  /**
   * Fault injection (Erlang's `exit(Pid, kill)` for a whole thread): terminates
   * pool thread `thread` as a crash would, and resolves once it has been
   * recovered (see `rt.crashes`). For chaos tests and drills.
   */
  async killThread(thread: number): Promise<ThreadCrash> {
    this.checkOpen('killThread');
    if (typeof thread !== 'number' || !Number.isInteger(thread) || thread < 0 || thread >= this.threads) {
      throw new InvalidArgumentError('thread', `an integer from 0 to ${this.threads - 1}`, thread);
    }
    const id = this.endpointToWorker.get(thread + 1);
    const worker = this.pool.threads.find((w) => w.threadId === id);
    if (worker === undefined) throw new InvalidArgumentError('thread', 'a pool thread that is running (it is down or being replaced)', thread);
    const crashed = new Promise<ThreadCrash>((resolve) => {
      const off = this.crashes.subscribe((crash) => {
        if (crash.thread !== thread) return;
        off();
        resolve(crash);
      });
    });
    this.injected.add(thread + 1);
    await worker.terminate();
    return crashed;
  }

  private pendingAttach: { transport: ReturnType<typeof createTransportShared>; config: EndpointConfig; pool: PoolShared } | undefined;

  private endpointConfig(): EndpointConfig {
    const o = this.options;
    return {
      threads: o.threads,
      askTimeoutMs: o.askTimeoutMs,
      maxMessageBytes: o.maxMessageBytes,
      throughput: o.throughput,
      spinUs: o.spinUs,
      defaultCapacity: o.mailboxCapacity,
      defaultPolicy: o.mailboxPolicy,
      inlineLimit: o.inlineLimit,
      heartbeatMs: o.heartbeatMs,
    };
  }

  private async attachThreads(): Promise<void> {
    const attach = this.pendingAttach;
    if (attach === undefined) throw new Error('already attached');
    this.pendingAttach = undefined;
    const tasks: Array<Promise<HostResult>> = [];
    for (let thread = 0; thread < this.threads; thread++) {
      const task = {
        op: 'attach', index: thread + 1, transport: attach.transport, directory: this.directory.shared, pool: attach.pool, config: attach.config,
        setup: this.options.threadSetup,
      } as HostTask;
      tasks.push(this.runRouted(task, { endpoint: thread + 1, attach: true }));
    }
    for (const result of await Promise.all(tasks)) this.unwrap(result);
    this.warmStandby();
  }

  /**
   * Warms each spare thread: it loads the runtime and every actor module
   * spawned so far, so that taking over for a dead thread costs no loading.
   */
  private warmStandby(): void {
    const modules = [...this.modulesSeen];
    for (let i = 0; i < this.options.standbyThreads; i++) {
      void this.runRouted({ op: 'standby', modules, setup: this.options.threadSetup } as HostTask, { endpoint: -1, spare: true }).catch(() => undefined);
    }
  }

  /** Actor modules spawned through the main thread (what spares preload). */
  private readonly modulesSeen = new Set<string>();

  /** Piscina's load balancer: a control task goes to the worker of its endpoint. */
  private pickWorker<W extends PiscinaWorkerLike>(task: Record<symbol, QueueOptions | null>, workers: W[]): W | null {
    const target = task[Piscina.queueOptionsSymbol];
    if (target === null || target === undefined) return null;
    if ('fn' in target) return this.pickFunctionWorker(target, workers);
    if (target.spare) {
      // A warm-up for a spare: any worker not bound to an endpoint, left unbound.
      for (const worker of workers) if (!this.workerToEndpoint.has(worker.id) && !worker.terminating && !worker.destroyed) return worker;
      return null;
    }
    if (target.attach) {
      for (const worker of workers) {
        if (!this.workerToEndpoint.has(worker.id) && !worker.terminating && !worker.destroyed) {
          this.workerToEndpoint.set(worker.id, target.endpoint);
          this.endpointToWorker.set(target.endpoint, worker.id);
          return worker;
        }
      }
      return null;
    }
    const id = this.endpointToWorker.get(target.endpoint);
    for (const worker of workers) if (worker.id === id && !worker.destroyed) return worker;
    return null;
  }


  /** Function tasks running per worker id (for the heartbeat monitor: such a thread is busy by design, not stuck). */
  private readonly functionsRunning = new Map<number, number>();

  /**
   * A function task goes to the attached thread running the fewest. The
   * scheduler only hands one over when a function slot is free (its own
   * priority queue holds the rest), so this never leaves one in Piscina's
   * queue, where it would hold the runtime's control tasks up.
   */
  private pickFunctionWorker<W extends PiscinaWorkerLike>(order: FunctionOrder, workers: W[]): W | null {
    let best: W | null = null;
    let fewest = Infinity;
    for (const worker of workers) {
      const endpoint = this.workerToEndpoint.get(worker.id);
      if (endpoint === undefined || endpoint < 0 || worker.terminating || worker.destroyed || this.recovering.has(endpoint)) continue;
      const running = this.functionsRunning.get(worker.id) ?? 0;
      if (running < fewest) {
        best = worker;
        fewest = running;
      }
    }
    if (best !== null) {
      order.worker = best.id;
      this.functionsRunning.set(best.id, fewest + 1);
    }
    return best;
  }

  /** Runs a plain function task on the pool (a running one cannot be cancelled: Piscina's abort would terminate its thread). */
  private async runFunction(module: string, payload: unknown): Promise<unknown> {
    this.checkOpen('tasks.submit');
    const target: FunctionOrder = { fn: true };
    const routed = { op: 'fn', module, payload: encode(payload, 'payload') } as unknown as RoutedTask;
    routed[Piscina.queueOptionsSymbol] = target;
    try {
      const ok = this.unwrap((await this.pool.run(routed)) as HostResult);
      return ok.value === undefined ? undefined : decode(ok.value);
    } finally {
      if (target.worker !== undefined) {
        const left = (this.functionsRunning.get(target.worker) ?? 1) - 1;
        if (left <= 0) this.functionsRunning.delete(target.worker);
        else this.functionsRunning.set(target.worker, left);
      }
    }
  }

  /** Endpoints of pool threads that are attached and running (not down, not being recovered). */
  private runningEndpoints(): number[] {
    const running: number[] = [];
    for (let e = 1; e <= this.threads; e++) if (!this.down.has(e) && !this.recovering.has(e) && this.endpointToWorker.has(e)) running.push(e);
    return running;
  }

  /** Function tasks the pool runs at once: running threads x functionConcurrency. */
  private functionSlots(): number {
    return this.runningEndpoints().length * this.options.tasks.functionConcurrency;
  }

  /** Event-loop utilisation per worker id, sampled at most every 100 ms. */
  private readonly elus = new Map<number, { at: number; last: EventLoopUtilization; value: number }>();

  private eluOfEndpoint(endpoint: number): number {
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
   * How rt.tasks reaches the runtime: a task goes to its agent as an ask
   * carrying a Task (the agent's `task` handler answers it; no ask timeout:
   * the scheduler's own timeouts apply, and a crash or stop settles it); a
   * cancellation as a control message to the agent's thread, so it reaches
   * the handler while it runs rather than queueing behind it; a function
   * task as a Piscina task on this pool.
   */
  private taskExecutor(): TaskExecutor {
    const dir = this.directory;
    return {
      runOnAgent: (ref, task) => this.endpoint.ask(ref, task, kUntimedAsk, undefined),
      cancelOnAgent: (ref, id, attempt, reason) => {
        const thread = Atomics.load(dir.thread, ref.slot);
        if (dir.isLive(ref.slot, ref.gen) && thread > 0 && !this.down.has(thread)) this.endpoint.notify(thread, 'cancelTask', { id, attempt, reason });
      },
      runFunction: (module, payload) => this.runFunction(module, payload),
      functionSlots: () => this.functionSlots(),
      isAlive: (ref) => dir.isLive(ref.slot, ref.gen),
      depth: (ref) => (dir.capacity[ref.slot] > 0 ? Math.max(0, Atomics.load(dir.depth, ref.slot)) : 0),
      elu: (ref) => this.eluOfEndpoint(Atomics.load(dir.thread, ref.slot)),
      moduleUrl: (module) => {
        const url = normalizeModuleUrl(module);
        checkModuleExists(url);
        return url;
      },
    };
  }

  private runRouted(task: HostTask, target: QueueOptions): Promise<HostResult> {
    const routed = task as RoutedTask;
    routed[Piscina.queueOptionsSymbol] = target;
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

  private unwrap(result: HostResult): Extract<HostResult, { ok: true }> {
    if (!result.ok) throw decode(result.error);
    return result;
  }

  private systemHandler(): SystemHandler {
    return {
      handle: (op, payload) => {
        switch (op) {
          case 'deadLetter':
            this.deadLetters.publish(payload as unknown as DeadLetter);
            return undefined;
          case 'failure':
            this.failures.publish(payload as unknown as ActorFailure);
            return undefined;
          case 'lookup':
            return this.lookup(payload.name as string);
          case 'topic': {
            const ref = payload.ref as ActorRef;
            const topic = payload.topic as string;
            if (payload.action === 'subscribe') this.topics.subscribe(topic, ref);
            else if (payload.action === 'unsubscribe') this.topics.unsubscribe(topic, ref);
            else this.topics.publish(topic, payload.msg, ref);
            return undefined;
          }
          case 'agent':
            this.tasks.addAgent(payload.ref as ActorRef, payload.capabilities as string[], payload.capacity as number);
            return undefined;
          case 'childFailed':
            this.rootFailed(payload.child as ActorRef, payload.error as Error);
            return undefined;
          case 'spawn':
            return this.spawnResolved(
              payload.module as string,
              payload.args,
              {
                name: payload.name as string | undefined,
                thread: payload.thread as number,
                capacity: payload.capacity as number,
                policy: payload.overflow as OverflowPolicy,
                memoryQuota: (payload.memoryQuota as number | undefined) ?? 0,
                delivery: (payload.delivery as Delivery | undefined) ?? 'at-least-once',
                agent: payload.agent as AgentOverride | undefined,
              },
              payload.parent as ActorRef | undefined,
            );
          default:
            throw new MicroswarmError(`unknown control request ${JSON.stringify(op)}`);
        }
      },
      deadLetter: (letter) => this.deadLetters.publish(letter),
      failure: (failure) => this.failures.publish(failure),
    };
  }

  /**
   * The root supervisor: a top-level actor failed. Escalating past the root
   * stops the actor (its failure, wrapped, is on `rt.failures` with phase 'escalated').
   */
  private rootFailed(child: ActorRef, error: Error): void {
    if (this.closing) return;
    for (const ref of this.topLevel) if (!this.directory.isLive(ref.slot, ref.gen)) this.topLevel.delete(ref);
    const decision = this.rootSupervision.decide(child.toString(), error, child);
    this.endpoint.supervisor.applyDecision(decision, this.options.supervisor.strategy, child, [...this.topLevel], error, (escalated) => {
      this.failures.publish({ actor: child, error: escalated, phase: 'escalated' });
      void this.endpoint.supervisor.superviseRef(child, 'stop', escalated, 0);
    });
  }

  private checkOpen(what: string): void {
    if (this.closing) throw new RuntimeClosedError(what);
  }

  /**
   * Spawns an actor from a module whose default export is `defineActor(...)`.
   * Resolves to its ref once `init` has run. Placement: `options.thread`, or
   * the least loaded thread.
   *
   * @example
   * const counter = await rt.spawn(new URL('./counter.js', import.meta.url), { start: 0 }, { name: 'c1' });
   */
  async spawn<Msg = unknown, Reply = unknown>(
    moduleUrl: URL | string,
    args?: unknown,
    options?: SpawnOptions,
  ): Promise<ActorRef<Msg, Reply>> {
    this.checkOpen('spawn');
    const url = normalizeModuleUrl(moduleUrl);
    const opts = resolveSpawnOptions(options, this.threads, { capacity: this.options.mailboxCapacity, policy: this.options.mailboxPolicy });
    checkModuleExists(url);
    return (await this.spawnResolved(url, args, opts, undefined)) as ActorRef<Msg, Reply>;
  }

  private async spawnResolved(
    url: string,
    args: unknown,
    opts: ResolvedSpawnOptions,
    parent: ActorRef | undefined,
  ): Promise<ActorRef> {
    this.checkOpen('spawn');
    const argBytes = encode(args, 'args');
    const endpoint = opts.thread === undefined ? this.leastLoaded() : opts.thread + 1;
    if (this.down.has(endpoint)) {
      throw new InvalidOptionError('thread', 'a running pool thread (this one died and could not be replaced)', opts.thread);
    }
    if (opts.name !== undefined) this.checkNameFree(opts.name);
    const slot = this.directory.allocate(endpoint, opts.capacity, overflowPolicies.indexOf(opts.policy));
    if (slot < 0) throw new AgentLimitError(this.maxAgents);
    this.endpoint.transport.addLoad(endpoint, 1);
    this.endpoint.pool.setQuota(slot, opts.memoryQuota);
    const gen = Atomics.load(this.directory.gen, slot);
    const ref = new ActorRef(slot, gen, opts.name, this.endpoint);
    // Reserved before init runs: a second spawn with the same name fails at once.
    if (opts.name !== undefined) this.names.set(opts.name, ref);
    let result: HostResult;
    // In flight: a recovery of that thread leaves this slot to this call.
    this.spawning.add(slot);
    try {
      result = await this.runRouted(
        {
          op: 'spawn', slot, gen, module: url, args: argBytes, name: opts.name,
          parent: parent === undefined ? undefined : { slot: parent.slot, gen: parent.gen }, agent: opts.agent,
        },
        { endpoint },
      );
    } catch (err) {
      this.spawning.delete(slot);
      // The thread never took the slot (or died with it): give it back here, once.
      if (this.directory.isLive(slot, gen)) {
        this.directory.release(slot);
        this.endpoint.transport.addLoad(endpoint, -1);
      }
      throw err;
    }
    this.spawning.delete(slot);
    this.unwrap(result); // on failure the host already released the slot
    if (parent === undefined) this.topLevel.add(ref);
    if (!this.modulesSeen.has(url)) {
      this.modulesSeen.add(url);
      this.warmStandby();
    }
    this.records.set(slot, {
      gen, module: url, args: argBytes, name: opts.name, parent: parent === undefined ? undefined : { slot: parent.slot, gen: parent.gen },
      delivery: opts.delivery,
    });
    return ref;
  }

  private checkNameFree(name: string): void {
    const holder = this.names.get(name);
    if (holder === undefined) return;
    if (this.directory.isLive(holder.slot, holder.gen)) throw new NameTakenError(name);
    this.names.delete(name);
  }

  private leastLoaded(): number {
    let best = 1;
    let bestLoad = Infinity;
    for (let endpoint = 1; endpoint <= this.threads; endpoint++) {
      if (this.down.has(endpoint) || this.recovering.has(endpoint)) continue;
      const load = this.endpoint.transport.load(endpoint);
      if (load < bestLoad) {
        best = endpoint;
        bestLoad = load;
      }
    }
    return best;
  }

  /** The live actor registered under `name`, or undefined. */
  /**
   * The topic `name` (made on first use): `publish` reaches every subscriber,
   * encoded once and sent once per thread that hosts subscribers.
   *
   * @example
   * rt.topic('prices').publish({ symbol: 'ACME', price: 12.5 });
   */
  topic<Msg = unknown>(name: string): Topic<Msg> {
    this.checkOpen('topic');
    return new Topic<Msg>(TopicRegistry.checkName(name, 'name'), this.topics);
  }

  /**
   * Forms a swarm of `members` with a topology (see the README's
   * coordination section): broadcast, neighbors, gather, propose, leader.
   * Throws InvalidOptionError for bad options or a name already in use.
   */
  swarm(options: SwarmOptions): Swarm {
    this.checkOpen('swarm');
    const checked = Swarm.check(options);
    if (this.swarms.has(checked.name)) throw new InvalidOptionError('name', 'a swarm name not already in use', checked.name);
    const swarm = new Swarm(checked, this.swarmHost());
    this.swarms.set(checked.name, swarm);
    if (this.swarmTimer === undefined) {
      // With the first swarm: its leader is checked every heartbeat, and a
      // thread brought back after a crash (it has no swarm terms) is told again.
      this.swarmTimer = setInterval(() => {
        for (const s of this.swarms.values()) s.check();
      }, this.options.heartbeatMs);
      this.swarmTimer.unref();
      this.crashes.subscribe(() => {
        for (const s of this.swarms.values()) s.reannounce();
      });
    }
    return swarm;
  }

  private readonly swarms = new Map<string, Swarm>();
  private swarmTimer: NodeJS.Timeout | undefined;
  private readonly topics = new TopicRegistry({
    isAlive: (ref) => this.directory.isLive(ref.slot, ref.gen),
    multicast: (targets, msg, sender) => this.endpoint.multicast(targets, msg, sender),
  });

  private swarmHost(): SwarmHost {
    const dir = this.directory;
    return {
      isAlive: (ref) => dir.isLive(ref.slot, ref.gen),
      tell: (ref, msg) => this.endpoint.tell(ref, msg, undefined),
      ask: (ref, msg, timeoutMs) => this.endpoint.ask(ref, msg, { timeoutMs }, undefined),
      multicast: (targets, msg) => this.endpoint.multicast(targets, msg, undefined),
      announce: async (swarm, leader, term) => {
        this.endpoint.envelopes.setTerm(swarm, leader, term);
        await Promise.allSettled(this.runningEndpoints().map((e) => withTimeout(this.endpoint.request(e, 'swarmTerm', { swarm, leader, term }), 5_000, 'swarmTerm')));
      },
      closed: () => this.closing,
      forget: (swarm) => {
        if (this.swarms.get(swarm.name) === swarm) this.swarms.delete(swarm.name);
      },
    };
  }

  lookup<Msg = unknown, Reply = unknown>(name: string): ActorRef<Msg, Reply> | undefined {
    this.checkOpen('lookup');
    if (typeof name !== 'string') throw new InvalidArgumentError('name', 'a string', name);
    const ref = this.names.get(name);
    if (ref === undefined) return undefined;
    if (!this.directory.isLive(ref.slot, ref.gen)) {
      this.names.delete(name);
      return undefined;
    }
    return ref as ActorRef<Msg, Reply>;
  }

  /**
   * Stops an actor after its running handler; its children stop first-come,
   * queued messages become dead letters (asks reject with ActorStoppedError).
   * Resolves when it has stopped; stopping a stopped actor does nothing.
   */
  async stop(ref: ActorRef): Promise<void> {
    this.checkOpen('stop');
    if (!(ref instanceof ActorRef)) throw new InvalidArgumentError('ref', 'an ActorRef', ref);
    if (!this.directory.isLive(ref.slot, ref.gen)) return;
    const endpoint = Atomics.load(this.directory.thread, ref.slot);
    this.unwrap(await this.runRouted({ op: 'stop', slot: ref.slot, gen: ref.gen }, { endpoint }));
  }

  /**
   * Suspends an actor: it finishes the handler it is in, then handles
   * nothing until {@link resume}; its mailbox keeps accepting messages up to
   * its bound (then its overflow policy applies). Rejects with
   * ActorStoppedError for an actor that has stopped.
   */
  suspend(ref: ActorRef): Promise<void> {
    return this.lifecycle('suspend', ref);
  }

  /** Resumes a suspended actor: it handles its queued messages in order. */
  resume(ref: ActorRef): Promise<void> {
    return this.lifecycle('resume', ref);
  }

  private async lifecycle(op: 'suspend' | 'resume', ref: ActorRef): Promise<void> {
    this.checkOpen(op);
    if (!(ref instanceof ActorRef)) throw new InvalidArgumentError('ref', 'an ActorRef', ref);
    if (!this.directory.isLive(ref.slot, ref.gen)) throw new ActorStoppedError(ref.toString());
    const endpoint = Atomics.load(this.directory.thread, ref.slot);
    this.unwrap(await this.runRouted({ op, slot: ref.slot, gen: ref.gen }, { endpoint }));
  }

  /**
   * Checkpoints an actor: its definition's `snapshot(state)`, taken between
   * two messages and stored in the shared memory pool, where a restart (or the
   * recovery of its thread) finds it and hands it to `restore`. Resolves to
   * the snapshot's size in bytes. Fails with InvalidArgumentError for an
   * actor without `snapshot`, ActorStoppedError for one that has stopped, and
   * PoolExhaustedError when the pool has no room.
   */
  async checkpoint(ref: ActorRef): Promise<number> {
    this.checkOpen('checkpoint');
    if (!(ref instanceof ActorRef)) throw new InvalidArgumentError('ref', 'an ActorRef', ref);
    if (!this.directory.isLive(ref.slot, ref.gen)) throw new ActorStoppedError(ref.toString());
    const endpoint = Atomics.load(this.directory.thread, ref.slot);
    return this.unwrap(await this.runRouted({ op: 'checkpoint', slot: ref.slot, gen: ref.gen }, { endpoint })).bytes ?? 0;
  }

  /**
   * Moves a live actor, with its state, to pool thread `thread`: between two
   * of its messages (after its running handler), it is encoded (its
   * `snapshot(state)` when it defines one, else the state itself), sent, and
   * rebuilt there (`restore`, or the decoded state). Messages sent to it
   * before, during and after the move are all handled, in per-sender order;
   * refs held anywhere keep working. Its timers (`ctx.after`, `ctx.every`)
   * are cancelled. Fails with MigrationError when what moves cannot be
   * encoded (a state with functions, say; the actor keeps running where it
   * is), InvalidArgumentError for a bad thread, ActorStoppedError for a
   * stopped actor. Moving an actor to the thread it is on does nothing.
   */
  async migrate(ref: ActorRef, thread: number): Promise<void> {
    this.checkOpen('migrate');
    if (!(ref instanceof ActorRef)) throw new InvalidArgumentError('ref', 'an ActorRef', ref);
    if (typeof thread !== 'number' || !Number.isInteger(thread) || thread < 0 || thread >= this.threads) {
      throw new InvalidArgumentError('thread', `an integer from 0 to ${this.threads - 1}`, thread);
    }
    const to = thread + 1;
    if (this.down.has(to)) throw new InvalidArgumentError('thread', 'a running pool thread (this one died and could not be replaced)', thread);
    if (!this.directory.isLive(ref.slot, ref.gen)) throw new ActorStoppedError(ref.toString());
    const from = Atomics.load(this.directory.thread, ref.slot);
    if (from === to) return;
    const key = { slot: ref.slot, gen: ref.gen };
    // 1. Hold it between messages; encode what moves (may fail: nothing changed).
    const prepared = this.unwrap(await this.runRouted({ op: 'migratePrepare', ...key }, { endpoint: from }));
    const moving = prepared.moving as NonNullable<typeof prepared.moving>;
    // 2. A cell on the new thread that queues what arrives.
    try {
      this.unwrap(await this.runRouted({ op: 'migrateIn', ...key, module: moving.module, name: moving.name, parent: moving.parent }, { endpoint: to }));
    } catch (err) {
      await this.runRouted({ op: 'migrateCancel', ...key }, { endpoint: from }).catch(() => undefined);
      throw err;
    }
    const arrived = this.runRouted({ op: 'migrateArrived', ...key }, { endpoint: to });
    // 3. New sends go to the new thread.
    Atomics.store(this.directory.thread, ref.slot, to);
    // 4. Every other endpoint fences its ring to the old thread; then the old
    //    thread forwards what it holds, in order, and the move.
    const out = this.runRouted({ op: 'migrateOut', ...key, to, fences: this.threads }, { endpoint: from });
    this.endpoint.migration.sendFence(from, ref.slot, ref.gen);
    const fences: Array<Promise<HostResult>> = [];
    for (let e = 1; e <= this.threads; e++) {
      if (e !== from && !this.down.has(e)) fences.push(this.runRouted({ op: 'fence', ...key, old: from }, { endpoint: e }));
    }
    // A down thread sends nothing: its fence is given for it.
    for (const e of this.down) if (e !== from) this.endpoint.migration.sendFence(from, ref.slot, ref.gen);
    for (const result of await Promise.all([out, ...fences, arrived])) this.unwrap(result);
  }

  /** Actors per thread and totals. */
  stats(): RuntimeStats {
    const threads: RuntimeStats['threads'] = [];
    for (let thread = 0; thread < this.threads; thread++) {
      threads.push({ thread, actors: this.endpoint.transport.load(thread + 1) });
    }
    return {
      threads,
      liveActors: this.directory.liveCount(),
      maxAgents: this.maxAgents,
      deadLetters: this.deadLetters.count,
      failures: this.failures.count,
    };
  }

  /**
   * Stops accepting work, lets mailboxes drain for up to `timeoutMs`, stops
   * every actor (postStop runs; what is still queued becomes dead letters),
   * and ends the pool. Afterwards the runtime holds no handle: the process
   * can exit. Calling it again returns the same promise.
   */
  shutdown(options?: ShutdownOptions): Promise<void> {
    if (options !== undefined && (options === null || typeof options !== 'object')) {
      return Promise.reject(new InvalidOptionError('options', 'an object', options));
    }
    const timeoutMs = options?.timeoutMs ?? 5000;
    if (typeof timeoutMs !== 'number' || !(timeoutMs >= 0) || !Number.isFinite(timeoutMs)) {
      return Promise.reject(new InvalidOptionError('timeoutMs', 'a finite number from 0 up', timeoutMs));
    }
    this.shutdownPromise ??= this.doShutdown(timeoutMs);
    return this.shutdownPromise;
  }

  private async doShutdown(timeoutMs: number): Promise<void> {
    this.closing = true;
    this.tasks.close();
    this.endpoint.accepting = false;
    if (this.monitor !== undefined) clearInterval(this.monitor);
    if (this.swarmTimer !== undefined) clearInterval(this.swarmTimer);
    const deadline = Date.now() + timeoutMs;
    // A thread that died and could not be replaced has no worker to ask.
    const running = Array.from({ length: this.threads }, (_, thread) => thread + 1).filter((e) => !this.down.has(e));
    const all = (task: HostTask) => Promise.all(running.map((endpoint) => this.runRouted({ ...task }, { endpoint })));
    try {
      // 1. Drain: until every thread is idle twice in a row with no message
      //    handled in between, and nothing of ours is still unread.
      let lastHandled = -1;
      while (Date.now() < deadline) {
        const states = await all({ op: 'quiesce' });
        const handled = states.reduce((sum, s) => sum + (s.ok ? (s.handled ?? 0) : 0), 0);
        const idle = states.every((s) => s.ok && s.idle) && this.endpoint.transport.outboundDrained(this.down);
        if (idle && handled === lastHandled) break;
        lastHandled = handled;
        await new Promise((resolve) => setTimeout(resolve, 2));
      }
      // 2. Stop every actor; their last dead letters reach us through the
      //    rings. Handlers still running get one more second, then are cut off.
      await all({ op: 'shutdown', deadline: Math.max(deadline, Date.now()) + 1000 });
      this.endpoint.pollNow();
    } finally {
      this.endpoint.close(new RuntimeClosedError('answer: the runtime shut down'));
      if (this.keepAlive) clearInterval(this.keepAlive);
      this.keepAlive = undefined;
      await this.pool.destroy();
    }
  }
}

/** `rt.memory`: the pool seen from the main thread. */
export class RuntimeMemory {
  private readonly pool: Pool;
  private readonly directory: Directory;

  /** @internal */
  constructor(pool: Pool, directory: Directory) {
    this.pool = pool;
    this.directory = directory;
  }

  /** Size, used, free, largest free run, counters, and bytes owned per actor. */
  stats(): MemoryStats {
    return this.pool.stats();
  }

  /**
   * Reclaims orphans: allocations whose owner is no longer live and loans
   * whose holder is not (normally done when each actor stops; this sweeps up
   * after anything that escaped that, such as a thread that died).
   */
  collect(): { allocations: number; bytes: number; loans: number } {
    return this.pool.collect(
      (slot, gen) => this.directory.isLive(slot, gen),
      (slot) => this.directory.isLive(slot, Atomics.load(this.directory.gen, slot)),
    );
  }
}

/** Settles like `promise`, or rejects with `what` after `ms`. */
function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new MicroswarmError(`${what} within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
