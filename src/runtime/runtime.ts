/**
 * `Runtime`: the public entry on the main thread. It owns the shared memory
 * (directory, rings, doorbells) and the main thread's endpoint (asks,
 * replies, dead letters), and wires the parts that do the work:
 *
 * - control.ts: the Piscina pool that owns the threads, and control tasks
 *   routed to one chosen thread (the data plane never goes through it);
 * - registry.ts: names and the spawn records of actors spawned here;
 * - actors.ts: spawn, stop, suspend, resume, checkpoint, migrate, and the
 *   root supervisor;
 * - recovery.ts: a pool thread's death, its replacement, its actors
 *   rehosted or lost; monitor.ts: the watchdog that terminates a stuck one;
 * - spares.ts: warm standby threads;
 * - coordination.ts: topics and swarms; executor.ts: how `rt.tasks` runs.
 *
 * The parts hold direct references to each other, set once here; none
 * imports this class.
 */
import { createPoolShared } from '../memory/layout.js';
import { registerCodecExtensions, setLocalNode } from '../engine/ref-codec.js';
import { type ActorRef, systemRef } from '../actors/ref.js';
import { SupervisorState } from '../actors/supervision.js';
import { Directory } from '../transport/directory.js';
import { createTransportShared } from '../transport/transport.js';
import { Endpoint, type ActorFailure, type DeadLetter } from '../engine/endpoint.js';
import { ThreadStartError, InvalidArgumentError, InvalidOptionError, RuntimeClosedError, MicroswarmError } from '../base/errors.js';
import { EventSource } from '../base/events.js';
import type { HostTask } from '../engine/host.js';
import { checkModuleExists, normalizeModuleUrl } from '../engine/modules.js';
import { loadTracingApi } from '../engine/tracing.js';
import { TaskScheduler } from '../scheduler/scheduler.js';
import type { Swarm, SwarmOptions } from '../swarm/swarm.js';
import type { Topic } from '../swarm/topics.js';
import { resolveRuntimeOptions, resolveSpawnOptions, type ResolvedOptions, type RuntimeOptions, type SpawnOptions } from './options.js';
import { ActorControl } from './actors.js';
import { ControlPlane, endpointConfig, type ThreadBoot } from './control.js';
import { Coordination } from './coordination.js';
import { taskExecutor } from './executor.js';
import { ThreadMonitor } from './monitor.js';
import { ThreadRecovery, type ThreadCrash } from './recovery.js';
import { Registry } from './registry.js';
import { Spares } from './spares.js';
import { systemHandler } from './system-handler.js';
import { RuntimeMemory } from './memory.js';
import { ObserveHost } from './observe-host.js';
import type { InspectOptions, InspectSnapshot } from './inspect-types.js';
import type { HandlerOptions, ObserveHandler, ObserveServer, ServeOptions } from '../observe/index.js';
import { clusterHost, entityRuntime } from './cluster-host.js';
import type { Cluster, ClusterNode, PreparedCluster } from '../cluster/index.js';
import type { Registry as PromRegistry } from 'prom-client';
import type { MetricsOptions } from '../observe/metrics.js';
import { metricsSource } from './metrics-host.js';
import { Tallies } from './tallies.js';
import { checkEntityOptions, type EntityOptions, type EntityRef } from '../actors/entity-ref.js';

/** A cluster node runs in this process (refs decode against one node name per process). */
let clusterNodeLive = false;

export type { ThreadCrash } from './recovery.js';
export type { RuntimeMemory } from './memory.js';

registerCodecExtensions();

/** Options of {@link Runtime.shutdown}. */
export interface ShutdownOptions {
  /** How long mailboxes may take to drain before actors are stopped regardless. Default 5000 ms. */
  timeoutMs?: number;
}

/** A snapshot of the runtime, from {@link Runtime.stats}. */
export interface RuntimeStats {
  /** One entry per pool thread, in order. */
  threads: Array<{
    /** The thread's 0-based index (the `thread` of spawn options). */
    thread: number;
    /** Actors hosted on it now. */
    actors: number;
  }>;
  /** Live actors across all threads (starting, alive or stopping). */
  liveActors: number;
  /** The `maxAgents` limit this runtime was started with. */
  maxAgents: number;
  /** Dead letters published on `rt.deadLetters` since start. */
  deadLetters: number;
  /** Failures published on `rt.failures` since start. */
  failures: number;
}

/**
 * An embedded runtime: a Piscina pool of threads hosting actors, started
 * with {@link Runtime.start}. Spawns and stops actors, looks them up by
 * name, and holds the shared memory pool, the task scheduler, swarms,
 * topics, inspection and the optional cluster node.
 */
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
  /** @internal The main thread's endpoint. */
  private readonly endpoint: Endpoint;
  /** @internal What threads attach with: the shared memory and the endpoint config. */
  private readonly attachData: ThreadBoot;
  private readonly control: ControlPlane;
  private readonly registry: Registry;
  private readonly actors: ActorControl;
  private readonly spares: Spares;
  private readonly monitor: ThreadMonitor;
  private readonly recovery: ThreadRecovery;
  private readonly coordination: Coordination;
  private readonly observe: ObserveHost;
  private keepAlive: NodeJS.Timeout | undefined;
  private shutdownPromise: Promise<void> | undefined;
  private clusterNode: ClusterNode | undefined;
  /** What `metrics()` reads, and its close (at shutdown). */
  private readonly metered: ReturnType<typeof metricsSource>;

  /** This node's view of its cluster (`options.cluster`); undefined for a runtime that is not a cluster node. */
  get cluster(): Cluster | undefined {
    return this.clusterNode;
  }

  /**
   * Starts a runtime: the pool's threads, the shared memory, and the rings.
   * Resolves once every thread is attached.
   *
   * @example
   * const rt = await Runtime.start({ threads: 2, maxAgents: 256 });
   */
  static async start(options?: RuntimeOptions): Promise<Runtime> {
    const resolved = resolveRuntimeOptions(options);
    // A cluster node connects first (a refusal fails here, before any thread
    // starts), so its threads start knowing the node's name.
    let prepared: PreparedCluster | undefined;
    if (resolved.cluster !== undefined) {
      if (clusterNodeLive)
        throw new InvalidOptionError('cluster', 'one cluster node per process (another runtime of this process is one)', '[cluster options]');
      clusterNodeLive = true;
      try {
        const { connectCluster } = await import('../cluster/index.js');
        prepared = await connectCluster(resolved.cluster);
      } catch (err) {
        clusterNodeLive = false;
        throw err;
      }
      resolved.node = prepared.node;
      // The options as given hold the credentials: not kept past the connection.
      resolved.cluster = { name: prepared.options.cluster, node: prepared.node };
    }
    // A tracer provider registered on this thread: the OpenTelemetry API is loaded before the first ask (engine/tracing.ts).
    await loadTracingApi();
    const rt = new Runtime(resolved);
    try {
      await rt.control.attach(rt.attachData, rt.directory.shared, resolved.threadSetup);
      rt.spares.warm();
      rt.monitor.start();
      if (prepared !== undefined) {
        const host = clusterHost(rt.endpoint, rt.directory, {
          deadLetter: (letter) => rt.deadLetters.publish(letter),
          workerUp: (e) => !rt.control.down.has(e),
          threads: rt.threads,
          publish: (topic, msg, sender, from) => rt.coordination.topics.publish(topic, msg, sender, from),
          swarmTerm: (node, incarnation, swarm, leader, term) => rt.coordination.remoteTerm(node, incarnation, swarm, leader, term),
        });
        rt.clusterNode = await prepared.join(
          host,
          entityRuntime({
            actors: rt.actors,
            endpoint: rt.endpoint,
            directory: rt.directory,
            control: rt.control,
            deadLetters: rt.deadLetters,
            defaults: resolveSpawnOptions(undefined, rt.threads, { capacity: rt.options.mailboxCapacity, policy: rt.options.mailboxPolicy }),
          }),
          resolved.askTimeoutMs,
        );
        rt.endpoint.remote = rt.clusterNode.gateway;
        const self = rt.clusterNode.node;
        // Swarm leaders of a node that left or was declared down are replaced at once, and the terms it sent are
        // forgotten. This node, declared down and joined again: the others forgot its terms, and hear them again.
        rt.clusterNode.events.subscribe((e) => {
          if (e.type === 'left' && e.node !== self) rt.coordination.nodeLost(e.node, e.reason);
          else if (e.type === 'joined' && e.node === self) rt.coordination.rejoined();
        });
      }
    } catch (err) {
      if (prepared !== undefined) {
        clusterNodeLive = false;
        await prepared.abandon().catch(() => undefined);
      }
      rt.control.closing = true;
      await rt.control.destroy().catch(() => undefined);
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
    const rootSupervision = new SupervisorState(options.supervisor);
    const endpoints = options.threads + 1;
    const directory = (this.directory = Directory.create(options.maxAgents, options.threads));
    const transport = createTransportShared(endpoints, options.ringBytes, options.journalBytes, directory.slots);
    const config = endpointConfig(options);
    const pool = createPoolShared(options.memory, directory.slots);
    const endpoint = (this.endpoint = new Endpoint(
      0,
      transport,
      directory.shared,
      pool,
      config,
      systemHandler({
        deadLetters: this.deadLetters,
        failures: this.failures,
        lookup: (name) => this.lookup(name) ?? this.clusterNode?.lookup(name),
        topics: () => this.coordination.topics,
        addAgent: (ref, capabilities, capacity) => this.tasks.addAgent(ref, capabilities, capacity),
        rootFailed: (child, error) => this.actors.rootFailed(child, error),
        spawn: (module, args, opts, parent) => this.actors.spawn(module, args, opts, parent),
      }),
    ));
    this.memory = new RuntimeMemory(endpoint.pool, directory);
    endpoint.start();
    // The runtime keeps the process alive until shutdown, as a server does:
    // accepted messages must not vanish because the main script returned.
    this.keepAlive = setInterval(() => undefined, 1 << 30);
    const control = (this.control = new ControlPlane(options, endpoint, {
      workerGone: (workerId, e) => this.recovery.workerGone(workerId, e),
      poolError: (error) => this.failures.publish({ actor: systemRef(endpoint), error, phase: 'crashed' }),
      spareGone: () => this.spares.warm(),
    }));
    this.tasks = new TaskScheduler(options.tasks, taskExecutor(control, endpoint, directory, options.tasks.functionConcurrency));
    const boot = (this.attachData = { transport, config, pool });
    const registry = (this.registry = new Registry(directory));
    const spares = (this.spares = new Spares(control, options.standbyThreads, options.threadSetup));
    const failures = this.failures;
    const crashes = this.crashes;
    this.actors = new ActorControl({
      options,
      control,
      endpoint,
      directory,
      registry,
      spares,
      rootSupervision,
      failures,
      cluster: () => this.clusterNode,
    });
    const coordination = (this.coordination = new Coordination({
      control,
      endpoint,
      directory,
      crashes,
      heartbeatMs: options.heartbeatMs,
      cluster: () => this.clusterNode,
    }));
    const monitor = (this.monitor = new ThreadMonitor({ options, control, endpoint, directory, boot, registry, failures }));
    this.recovery = new ThreadRecovery({
      options,
      control,
      endpoint,
      directory,
      boot,
      registry,
      spares,
      monitor,
      rootSupervision,
      failures,
      crashes,
      threadLost: (e) => coordination.threadLost(e),
    });
    const deadLetters = this.deadLetters;
    this.observe = new ObserveHost({
      control,
      endpoint,
      directory,
      registry,
      transport,
      failures,
      crashes,
      deadLetters,
      tasks: this.tasks,
      // /metrics reads the registry rt.metrics() registers on (on the first scrape).
      metrics: () => () => this.metrics(),
      swarms: () => coordination.list(),
      counts: () => ({ deadLetters: this.deadLetters.count, failures: failures.count, crashes: crashes.count }),
      node: () => this.clusterNode?.node,
      clusterConnected: () => this.clusterNode?.connected(),
    });
    this.metered = metricsSource({
      endpoint,
      transport,
      directory,
      control,
      tallies: new Tallies(this.deadLetters, failures, crashes),
      memory: () => this.memory.stats(),
      scheduler: () => this.tasks.stats(),
      swarms: () => coordination.swarmList(),
      cluster: () => this.clusterNode,
    });
  }

  /**
   * Fault injection (Erlang's `exit(Pid, kill)` for a whole thread): terminates
   * pool thread `thread` as a crash would, and resolves once it has been
   * recovered (see `rt.crashes`). For chaos tests and drills.
   */
  killThread(thread: number): Promise<ThreadCrash> {
    return this.recovery.kill(thread);
  }

  /**
   * Spawns an actor from a module whose default export is `defineActor(...)`.
   * Resolves to its ref once `init` has run. Placement: `options.thread`, or
   * the least loaded thread.
   *
   * @example
   * const counter = await rt.spawn(new URL('./counter.js', import.meta.url), { start: 0 }, { name: 'c1' });
   */
  async spawn<Msg = unknown, Reply = unknown>(moduleUrl: URL | string, args?: unknown, options?: SpawnOptions): Promise<ActorRef<Msg, Reply>> {
    this.control.checkOpen('spawn');
    const url = normalizeModuleUrl(moduleUrl);
    const opts = resolveSpawnOptions(options, this.threads, { capacity: this.options.mailboxCapacity, policy: this.options.mailboxPolicy });
    checkModuleExists(url);
    return (await this.actors.spawn(url, args, opts, undefined)) as ActorRef<Msg, Reply>;
  }

  /**
   * A ref to the cluster entity (`moduleUrl`, `key`), at once: an actor that
   * exists while messages come (Orleans grains, Akka Cluster Sharding). It is
   * activated on the node rendezvous hashing picks, with `init({ key })` or,
   * when its module has `snapshot`/`restore`, from its last checkpoint;
   * passivated after `cluster.entityIdleMs` idle; activated again, on
   * another node if its node is gone. Every node must load the module from
   * the same URL. Needs a runtime that is a cluster node (see docs/cluster.md).
   * `options.delivery: 'at-least-once'` keeps each message until the
   * entity's node confirms it, and sends it again to a new activation when
   * that node dies (see EntityDelivery).
   */
  entity<Msg = unknown, Reply = unknown>(moduleUrl: URL | string, key: string, options?: EntityOptions): EntityRef<Msg, Reply> {
    this.control.checkOpen('entity');
    const url = normalizeModuleUrl(moduleUrl);
    // Other nodes import it by its URL, and take only file: URLs from the wire (never code sent as data).
    if (!url.startsWith('file:')) throw new InvalidArgumentError('moduleUrl', 'a file: URL or an absolute path (every node imports it from disk)', url);
    checkModuleExists(url);
    const delivery = checkEntityOptions(options);
    if (this.clusterNode === undefined)
      throw new InvalidOptionError('cluster', 'a runtime started with options.cluster (entities live in a cluster)', undefined);
    return this.clusterNode.entity<Msg, Reply>(url, key, delivery);
  }

  /**
   * The topic `name` (made on first use): `publish` reaches every subscriber,
   * encoded once and sent once per thread that hosts subscribers.
   *
   * @example
   * rt.topic('prices').publish({ symbol: 'ACME', price: 12.5 });
   */
  topic<Msg = unknown>(name: string): Topic<Msg> {
    this.control.checkOpen('topic');
    return this.coordination.topic<Msg>(name);
  }

  /**
   * Forms a swarm of `members` with a topology (see the README's
   * coordination section): broadcast, neighbors, gather, propose, leader.
   * Throws InvalidOptionError for bad options or a name already in use.
   */
  swarm(options: SwarmOptions): Swarm {
    this.control.checkOpen('swarm');
    return this.coordination.swarm(options);
  }

  /**
   * The live actor registered under `name`, or undefined. On a cluster node it
   * also finds the cluster-scoped names of other nodes, from this node's
   * replica of the names: eventually consistent (see docs/cluster.md).
   */
  lookup<Msg = unknown, Reply = unknown>(name: string): ActorRef<Msg, Reply> | undefined {
    this.control.checkOpen('lookup');
    if (typeof name !== 'string') throw new InvalidArgumentError('name', 'a string', name);
    return (this.registry.lookup(name) as ActorRef<Msg, Reply> | undefined) ?? this.clusterNode?.lookupReplica<Msg, Reply>(name);
  }

  /**
   * Stops an actor after its running handler; its children stop first-come,
   * queued messages become dead letters (asks reject with ActorStoppedError).
   * Resolves when it has stopped; stopping a stopped actor does nothing.
   */
  stop(ref: ActorRef): Promise<void> {
    return this.actors.stop(ref);
  }

  /**
   * Suspends an actor: it finishes the handler it is in, then handles
   * nothing until {@link resume}; its mailbox keeps accepting messages up to
   * its bound (then its overflow policy applies). Rejects with
   * ActorStoppedError for an actor that has stopped.
   */
  suspend(ref: ActorRef): Promise<void> {
    return this.actors.lifecycle('suspend', ref);
  }

  /** Resumes a suspended actor: it handles its queued messages in order. */
  resume(ref: ActorRef): Promise<void> {
    return this.actors.lifecycle('resume', ref);
  }

  /**
   * Checkpoints an actor: its `snapshot(state)` between two messages, stored
   * in the shared pool, where a restart (or its thread's recovery) hands it
   * to `restore`. Resolves to its size in bytes. Fails with
   * InvalidArgumentError (no `snapshot`), ActorStoppedError (stopped),
   * PoolExhaustedError (no room), or MigrationError ("ask again": it waited
   * for a restart that runs where the actor moved; docs/supervision.md).
   */
  checkpoint(ref: ActorRef): Promise<number> {
    return this.actors.checkpoint(ref);
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
  migrate(ref: ActorRef, thread: number): Promise<void> {
    return this.actors.migrate(ref, thread);
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
   * One plain, JSON-serialisable snapshot: threads (actors, event-loop
   * utilisation, ring fill, rates), actors (thread, status, mailbox, messages
   * handled and per second, restarts), swarms (members, leader, term, the
   * topology's edges), the memory pool's allocations and the scheduler's
   * statistics. Each pool thread is asked for its actors; one that does not
   * answer in `timeoutMs` is listed as `unresponsive`.
   *
   * @example
   * const { threads, actors } = await rt.inspect();
   */
  inspect(options?: InspectOptions): Promise<InspectSnapshot> {
    return this.observe.inspect(options);
  }

  /**
   * Starts an HTTP server (node:http) with `/metrics`, `/healthz`, `/readyz`,
   * `/inspect`, `/events` and the live dashboard at `/`. Listens on
   * 127.0.0.1 unless `host` says otherwise; `port: 0` (the default) takes
   * any free port. Closed by `rt.shutdown()` if not before.
   *
   * @example
   * const server = await rt.serve({ port: 9464 });
   * console.log(`dashboard at ${server.url}`);
   */
  serve(options?: ServeOptions): Promise<ObserveServer> {
    return this.observe.serve(options);
  }

  /**
   * The same routes as {@link serve}, as a handler to mount in an existing
   * server: `app.use('/observe', await rt.observeHandler())` (express), or
   * `handler(req, res)` in a node:http server with `{ prefix: '/observe' }`.
   */
  observeHandler(options?: HandlerOptions): Promise<ObserveHandler> {
    return this.observe.handler(options);
  }

  /**
   * Registers this runtime's Prometheus metrics on `registry` (a prom-client
   * `Registry`; a new one when omitted) and resolves to it. Counts are kept
   * in shared memory from the start and read at scrape time; histograms
   * sample one message in `options.sampleEvery` from this call on. Calling it
   * again with the same registry registers nothing more; the options given
   * apply, and one left out keeps its value (so `rt.serve()`, which registers
   * for its own `/metrics`, changes no option). The metrics leave every registry at `shutdown()`. Loads
   * prom-client on the first call. The metric list is in the README
   * ("Observability").
   *
   * @example
   * const registry = await rt.metrics();
   * const text = await registry.metrics(); // Prometheus text format
   */
  async metrics(registry?: PromRegistry, options?: MetricsOptions): Promise<PromRegistry> {
    this.control.checkOpen('metrics');
    const { registerMetrics } = await import('../observe/metrics.js');
    this.control.checkOpen('metrics');
    return registerMetrics(this.metered.source, registry, options);
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
    const control = this.control;
    control.closing = true;
    this.metered.close();
    this.tasks.close();
    this.endpoint.accepting = false;
    this.monitor.stop();
    this.coordination.stop();
    const deadline = Date.now() + timeoutMs;
    await this.observe.close();
    // A cluster node's entities first, while their threads still run: each is
    // checkpointed and its lease released, within the deadline (what is not
    // done by then ends with the actors' stop below).
    if (this.clusterNode !== undefined) {
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<void>((resolve) => (timer = setTimeout(resolve, Math.max(0, deadline - Date.now()))));
      await Promise.race([this.clusterNode.entities.close().catch(() => undefined), late]);
      clearTimeout(timer);
    }
    // A thread that died and could not be replaced has no worker to ask.
    const running = Array.from({ length: this.threads }, (_, thread) => thread + 1).filter((e) => !control.down.has(e));
    const all = (task: HostTask) => Promise.all(running.map((endpoint) => control.run({ ...task }, { endpoint })));
    try {
      // 1. Drain: until every thread is idle twice in a row with no message
      //    handled in between, and nothing of ours is still unread.
      let lastHandled = -1;
      while (Date.now() < deadline) {
        const states = await all({ op: 'quiesce' });
        const handled = states.reduce((sum, s) => sum + (s.ok ? (s.handled ?? 0) : 0), 0);
        const idle = states.every((s) => s.ok && s.idle) && this.endpoint.transport.outboundDrained(control.down);
        if (idle && handled === lastHandled) break;
        lastHandled = handled;
        await new Promise((resolve) => setTimeout(resolve, 2));
      }
      // 2. Stop every actor; their last dead letters reach us through the
      //    rings. Handlers still running get one more second, then are cut off.
      await all({ op: 'shutdown', deadline: Math.max(deadline, Date.now()) + 1000 });
      this.endpoint.pollNow();
    } finally {
      // Leaves the cluster once its actors are stopped: others' asks to them were answered or dead-lettered.
      if (this.clusterNode !== undefined) {
        await this.clusterNode.close().catch(() => undefined);
        this.endpoint.remote = undefined;
        setLocalNode(undefined);
        clusterNodeLive = false;
      }
      this.endpoint.close(new RuntimeClosedError('answer: the runtime shut down'));
      if (this.keepAlive) clearInterval(this.keepAlive);
      this.keepAlive = undefined;
      await control.destroy();
    }
  }
}
