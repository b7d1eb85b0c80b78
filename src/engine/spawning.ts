/**
 * Spawning children from inside an actor: `ctx.spawn` (a promise; on this
 * thread unless placed elsewhere, where the main thread takes over) and
 * `ctx.spawnNow` (on this thread, the ref at once). The child's slot, cell
 * and start are the lifecycle's (lifecycle.ts).
 */
import type { Cell } from '../actors/cell.js';
import { defineActor } from '../actors/define.js';
import { ActorRef } from '../actors/ref.js';
import { resolveSpawnOptions, type ResolvedSpawnOptions, type SpawnOptions } from '../actors/spawn-options.js';
import { ActorStoppedError, InvalidOptionError, RuntimeClosedError, toError } from '../base/errors.js';
import { checkModuleExists, loadModule, loadedModule, normalizeModuleUrl } from './modules.js';
import type { Engine } from './parts.js';

/**
 * The definition of a ctx.spawnNow child while its module loads: never run
 * (the cell has not started, so it handles no message), replaced by the
 * module's own once it has loaded.
 */
const kLoading = defineActor({
  init: () => undefined,
  receive() {
    throw new Error('microswarm: a message was handled by an actor whose module is still loading');
  },
});

/** @internal */
export class Spawning {
  private readonly engine: Engine;
  private readonly defaultSpawn: ResolvedSpawnOptions;

  constructor(engine: Engine) {
    this.engine = engine;
    const config = engine.config;
    this.defaultSpawn = {
      name: undefined,
      thread: undefined,
      capacity: config.defaultCapacity,
      policy: config.defaultPolicy,
      memoryQuota: 0,
      delivery: 'at-least-once',
      agent: undefined,
      scope: 'local',
    };
  }

  /** `ctx.spawn`. */
  spawnChild(parent: Cell, moduleUrl: URL | string, args: unknown, options: SpawnOptions | undefined): Promise<ActorRef> {
    const engine = this.engine;
    const lifecycle = engine.lifecycle;
    let url: string;
    let opts: ResolvedSpawnOptions;
    try {
      ({ url, opts } = this.checked(parent, moduleUrl, options));
    } catch (err) {
      return Promise.reject(err);
    }
    const index = engine.index;
    const thread = opts.thread === undefined ? index : opts.thread + 1;
    if (thread !== index || opts.name !== undefined) {
      // Placement elsewhere and names are the main thread's business.
      return engine.asks
        .request(0, 'spawn', {
          module: url,
          args,
          name: opts.name,
          thread: thread - 1,
          capacity: opts.capacity,
          overflow: opts.policy,
          parent: parent.ref,
          memoryQuota: opts.memoryQuota,
          delivery: opts.delivery,
          agent: opts.agent,
          scope: opts.scope,
        })
        .then((ref) => {
          const child = ref as ActorRef;
          if (parent.stopped || !lifecycle.adopt(parent.ref, child)) void lifecycle.stopRef(child).catch(() => undefined);
          return child;
        });
    }
    let slot: number;
    try {
      slot = lifecycle.allocateChild(opts);
    } catch (err) {
      return Promise.reject(err);
    }
    return lifecycle.startActor(slot, Atomics.load(engine.dir.gen, slot), url, args, undefined, parent.ref, parent);
  }

  /**
   * `ctx.spawnNow`: a child on this thread whose ref is returned at once, as
   * Akka's `context.spawn` and Erlang's `spawn` return theirs (docs/actors.md).
   * Bad input, the agent limit and a stopped parent throw. The child starts
   * here and now when this thread has its module loaded and its `init` and
   * `preStart` are synchronous (no promise is made); otherwise it starts
   * later, and messages sent to it meanwhile wait in its mailbox. A start
   * that fails (the module does not load, `init` or `preStart` throws) is
   * published on rt.failures, phase 'init', with ActorInitError (or the
   * module's ActorModuleError); the messages it had become dead letters.
   */
  spawnChildNow(parent: Cell, moduleUrl: URL | string, args: unknown, options: SpawnOptions | undefined): ActorRef {
    const engine = this.engine;
    const lifecycle = engine.lifecycle;
    const { url, opts } = this.checked(parent, moduleUrl, options);
    if (opts.name !== undefined) {
      throw new InvalidOptionError('name', 'none (names are registered by the main thread: use ctx.spawn for a named child)', opts.name);
    }
    if (opts.thread !== undefined && opts.thread + 1 !== engine.index) {
      throw new InvalidOptionError(
        'thread',
        `none or this actor's own thread, ${engine.index - 1} (use ctx.spawn to place a child elsewhere)`,
        opts.thread,
      );
    }
    const def = loadedModule(url);
    if (def === undefined) checkModuleExists(url);
    const slot = lifecycle.allocateChild(opts);
    const cell = lifecycle.createCell(slot, Atomics.load(engine.dir.gen, slot), def ?? kLoading, url, undefined, parent.ref, true);
    // One of its parent's children from now on, started or not: a stop or a
    // restart of the parent stops it too (a failed start takes it out again).
    parent.addChild(cell.ref);
    if (def !== undefined) this.startNow(cell, args, parent);
    else {
      loadModule(url).then(
        (loaded) => {
          // Stopped while its module loaded (its thread shutting down): nothing to start.
          if (cell.stopped || engine.cells[cell.slot] !== cell) return;
          // Asked to stop meanwhile (rt.stop, or its parent stopped or restarted):
          // it stops without starting, so without postStop.
          if (cell.stopRequested || parent.stopped) {
            lifecycle.endUnstarted(cell, undefined);
            return;
          }
          cell.def = loaded;
          this.startNow(cell, args, parent);
        },
        (err: unknown) => {
          if (cell.stopped || engine.cells[cell.slot] !== cell) return;
          lifecycle.initFailed(cell, err);
          this.startFailed(cell, err);
        },
      );
    }
    return cell.ref;
  }

  /** What both spawns check first (throws): the runtime and the parent still running, the URL, the options. */
  private checked(parent: Cell, moduleUrl: URL | string, options: SpawnOptions | undefined): { url: string; opts: ResolvedSpawnOptions } {
    const engine = this.engine;
    if (engine.closed) throw new RuntimeClosedError('spawn');
    if (parent.stopped) throw new ActorStoppedError(parent.ref.toString(), 'has stopped and cannot spawn');
    const url = normalizeModuleUrl(moduleUrl);
    const opts = options === undefined ? this.defaultSpawn : resolveSpawnOptions(options, engine.config.threads, this.defaultSpawn);
    return { url, opts };
  }

  /** Starts a cell of spawnChildNow; a failed start is published, since no caller awaits it. */
  private startNow(cell: Cell, args: unknown, parent: Cell): void {
    let started: ActorRef | Promise<ActorRef>;
    try {
      started = this.engine.lifecycle.buildState(cell, args, parent, undefined);
    } catch (err) {
      this.startFailed(cell, err);
      return;
    }
    if (!(started instanceof ActorRef)) started.catch((err: unknown) => this.startFailed(cell, err));
  }

  private startFailed(cell: Cell, err: unknown): void {
    this.engine.system.failure({ actor: cell.ref, error: toError(err), phase: 'init' });
  }
}
