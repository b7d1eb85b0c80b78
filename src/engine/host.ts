/**
 * The worker side of the runtime: the module Piscina runs in every pool
 * thread. Piscina owns the thread; the runtime's control tasks (attach,
 * recover, standby, suspend and resume, checkpoint, the migration steps,
 * quiesce, shutdown) arrive as Piscina tasks routed to this thread by the
 * runtime's load balancer. Messages never come this way: they arrive
 * through the SharedArrayBuffer rings the endpoint reads, and so do control
 * requests (WorkerSystem): spawns, stops and plain function tasks among them.
 */
import { threadId } from 'node:worker_threads';
import { registerCodecExtensions } from './ref-codec.js';
import { ActorRef, systemRef } from '../actors/ref.js';
import type { Directive } from '../actors/supervision.js';
import { decode, encode } from '../transport/codec/index.js';
import { importModule, loadModule } from './modules.js';
import type { DirectoryShared } from '../transport/directory.js';
import { Endpoint } from './endpoint.js';
import { callFunction } from './functions.js';
import { inspectCells } from './inspection.js';
import { loadTracingApi } from './tracing.js';
import type { JournalEntry } from '../transport/journal.js';
import type { ActorStart, RehostedActor } from './recovery.js';
import type { ActorFailure, DeadLetter, EndpointConfig, SystemHandler } from './types.js';
import { ActorStoppedError, RuntimeClosedError, ThreadStartError, toError } from '../base/errors.js';
import type { TransportShared } from '../transport/transport.js';
import type { PoolShared } from '../memory/layout.js';

registerCodecExtensions();

/**
 * @internal An actor the main thread spawns here, in a slot it allocated: a
 * control request ('spawn') through this thread's ring, answered `true` once
 * the actor runs (or rejected with its init's error, the slot released).
 * Through the ring rather than as a Piscina task (two postMessage hops, a
 * structured clone each): Savina fjcreation's spread run, whose 20,000
 * spawns on the other thread all pass the main thread, took 600-745 ms as
 * tasks and 306-319 ms as requests.
 */
export interface SpawnRequest extends ActorStart {
  agent: { capabilities?: readonly string[]; capacity?: number } | undefined;
  /** Build its state with `restore` from the checkpoint the main thread put in its slot (a cluster entity's snapshot). */
  restore: boolean;
}

/** @internal Control tasks, as the main thread sends them. */
export type HostTask =
  | {
      op: 'attach';
      index: number;
      transport: TransportShared;
      directory: DirectoryShared;
      pool: PoolShared;
      config: EndpointConfig;
      setup: string | undefined;
    }
  | {
      op: 'recover';
      index: number;
      transport: TransportShared;
      directory: DirectoryShared;
      pool: PoolShared;
      config: EndpointConfig;
      setup: string | undefined;
      actors: RehostedActor[];
      error: Uint8Array;
      replay: JournalEntry[];
    }
  | { op: 'suspend' | 'resume'; slot: number; gen: number }
  | { op: 'checkpoint'; slot: number; gen: number; closing: boolean }
  | { op: 'migratePrepare' | 'migrateCancel' | 'migrateAbandon' | 'migrateArrived'; slot: number; gen: number }
  | { op: 'migrateIn'; slot: number; gen: number; module: string; name: string | undefined; parent: { slot: number; gen: number } | undefined }
  | { op: 'migrateOut'; slot: number; gen: number; to: number; fences: number }
  | { op: 'fence'; slot: number; gen: number; old: number }
  | { op: 'quiesce' }
  | { op: 'standby'; modules: string[]; setup: string | undefined }
  | { op: 'shutdown'; deadline: number };

export type { RehostedActor } from './recovery.js';

/** @internal */
export type HostResult =
  | {
      ok: true;
      idle?: boolean;
      handled?: number;
      bytes?: number;
      value?: Uint8Array;
      moving?: { module: string; name: string | undefined; parent: { slot: number; gen: number } | undefined };
      /** migratePrepare: the id of the worker thread that prepared the move. */
      worker?: number;
    }
  | { ok: false; error: Uint8Array };

let endpoint: Endpoint | undefined;

/**
 * A promise that rejected with no handler on this thread: a `void
 * ctx.spawn(...)` that failed, an ask nobody awaited. Node's default throws
 * it out of the thread, which kills the thread and brings every actor on it
 * back from its checkpoint or `init`, for one forgotten `.catch`. As an
 * uncaught error in Erlang's process or a failed future in Akka stays with
 * its actor, the thread goes on and the error is published on `rt.failures`
 * (phase `'unhandled-rejection'`). The actor named is `system`: a promise
 * does not record who made it.
 */
function unhandledRejection(reason: unknown): void {
  const ep = endpoint;
  try {
    // Inside the try: even turning the reason into an Error can throw (a revoked Proxy), and a throw here would end the thread.
    const error = toError(reason);
    if (ep === undefined) throw new Error('this thread is not attached to a runtime');
    ep.system.failure({ actor: systemRef(ep), error, phase: 'unhandled-rejection' });
  } catch (err) {
    let what: string;
    try {
      what = String(reason);
    } catch {
      what = 'a value that cannot be shown';
    }
    process.emitWarning(`microswarm: an unhandled rejection on a pool thread could not be reported (${String((err as Error)?.message ?? err)}): ${what}`);
  }
}
process.on('unhandledRejection', unhandledRejection);

/** Reports to the main thread what only it can publish. */
class WorkerSystem implements SystemHandler {
  handle(op: string, payload: Record<string, unknown>): unknown {
    const ep = attached();
    // A function task of rt.tasks (see functions.ts): the hot one, first.
    if (op === 'fn') return callFunction(payload.module as string, payload.payload);
    if (op === 'spawn') return spawnHere(ep, payload as unknown as SpawnRequest);
    if (op === 'stop') return ep.lifecycle.stopRef(payload.ref as ActorRef);
    if (op === 'childStopped') return ep.lifecycle.childStopped(payload.parent as ActorRef, payload.child as ActorRef);
    if (op === 'childAdded') return ep.lifecycle.childAdded(payload.parent as ActorRef, payload.child as ActorRef);
    if (op === 'watch') return ep.deathWatch.add(payload.target as ActorRef, payload.watcher as ActorRef);
    if (op === 'unwatch') return ep.deathWatch.remove(payload.target as ActorRef, payload.watcher as ActorRef);
    if (op === 'threadCrashed') {
      return ep.threadCrashed(payload.endpoint as number, payload.consumed as number[], payload.lost as number[], payload.replayed as number[]);
    }
    if (op === 'decideCrash') return ep.supervisor.crashDecision(payload.supervisor as ActorRef, payload.child as ActorRef, payload.error as Error);
    if (op === 'cancelTask') return ep.envelopes.cancel(payload.id as string, payload.attempt as number, payload.reason as string);
    if (op === 'inspect') return inspectCells(ep.cells, ep.dir.actorCounts, payload.limit as number);
    if (op === 'swarmTerm') return ep.envelopes.setTerm(payload.swarm as string, payload.leader as ActorRef | undefined, payload.term as number);
    if (op === 'swarmForget') return ep.envelopes.forgetTerm(payload.swarm as string);
    if (op === 'mailboxes') return ep.metering.deepest(ep.cells, payload.n as number);
    if (op === 'migrateFence') return ep.migration.fence(payload.slot as number, payload.gen as number);
    if (op === 'migrateDone') return ep.migration.done(payload.slot as number, payload.gen as number, payload.move as Uint8Array);
    if (op === 'childFailed') return ep.supervisor.childFailed(payload.supervisor as ActorRef, payload.child as ActorRef, payload.error as Error);
    if (op === 'supervise') {
      return ep.supervisor.supervise(payload.ref as ActorRef, payload.directive as Directive, payload.error as Error, payload.delayMs as number);
    }
    throw new Error(`unknown control request ${JSON.stringify(op)} on a worker`);
  }

  deadLetter(letter: DeadLetter): void {
    const ep = attached();
    try {
      ep.notify(0, 'deadLetter', { ...letter });
    } catch {
      // A local message that cannot cross threads still becomes a dead letter,
      // described instead of carried.
      ep.notify(0, 'deadLetter', { ...letter, message: `[not encodable: ${Object.prototype.toString.call(letter.message)}]` });
    }
  }

  failure(failure: ActorFailure): void {
    attached().notify(0, 'failure', { ...failure });
  }
}

function spawnHere(ep: Endpoint, request: SpawnRequest): Promise<true> {
  const args = decode(request.args);
  const parent = request.parent === undefined ? undefined : new ActorRef(request.parent.slot, request.parent.gen, undefined, ep);
  if (request.agent !== undefined) ep.envelopes.override(request.slot, request.gen, request.agent);
  return ep.lifecycle
    .startActor(request.slot, request.gen, request.module, args, request.name, parent, undefined, undefined, 0, request.restore)
    .then(() => true);
}

function attached(): Endpoint {
  if (endpoint === undefined) throw new Error('this pool thread is not attached to a runtime');
  return endpoint;
}

/**
 * The runtime's `threadSetup` module, imported once per thread before it
 * hosts anything; its failure is this thread's start-up failure.
 */
let setupDone: Promise<void> | undefined;
function runSetup(url: string | undefined): Promise<void> {
  if (url === undefined) return Promise.resolve();
  setupDone ??= importModule(url).then(
    () => undefined,
    (err: unknown) => {
      const cause = toError(err).cause ?? err;
      throw new ThreadStartError(`threadSetup ${url} failed: ${toError(cause).message}`, { cause });
    },
  );
  return setupDone;
}

function failed(err: unknown): HostResult {
  return { ok: false, error: encode(toError(err), 'error') };
}

export default async function host(task: HostTask): Promise<HostResult> {
  try {
    switch (task.op) {
      case 'attach': {
        await runSetup(task.setup);
        await loadTracingApi(); // a tracer provider threadSetup registered: its spans from the first message
        endpoint = new Endpoint(task.index, task.transport, task.directory, task.pool, task.config, new WorkerSystem());
        endpoint.start();
        return { ok: true };
      }
      case 'recover': {
        // A replacement for a thread that died: same endpoint, same rings.
        await runSetup(task.setup);
        await loadTracingApi(); // a tracer provider threadSetup registered: its spans from the first message
        endpoint = new Endpoint(task.index, task.transport, task.directory, task.pool, task.config, new WorkerSystem());
        await endpoint.rehost(task.actors, decode(task.error) as Error, task.replay);
        return { ok: true };
      }
      case 'suspend':
      case 'resume': {
        const ep = attached();
        const found = ep.dispatcher.setSuspended(new ActorRef(task.slot, task.gen, undefined, ep), task.op === 'suspend');
        if (!found) return failed(new ActorStoppedError(`Actor(${task.slot}.${task.gen})`));
        return { ok: true };
      }
      case 'migratePrepare': {
        const ep = attached();
        const moving = await ep.migration.prepare(new ActorRef(task.slot, task.gen, undefined, ep));
        // Which thread holds it now (a replacement, if the prepare waited for a recovery).
        return { ok: true, moving, worker: threadId };
      }
      case 'migrateCancel': {
        const ep = attached();
        ep.migration.cancel(new ActorRef(task.slot, task.gen, undefined, ep));
        return { ok: true };
      }
      case 'migrateAbandon': {
        const ep = attached();
        ep.migration.abandon(task.slot, task.gen);
        return { ok: true };
      }
      case 'migrateIn': {
        const ep = attached();
        const parent = task.parent === undefined ? undefined : new ActorRef(task.parent.slot, task.parent.gen, undefined, ep);
        await ep.migration.incoming(task.slot, task.gen, task.module, task.name, parent);
        return { ok: true };
      }
      case 'migrateArrived': {
        const ep = attached();
        await ep.migration.arrived(new ActorRef(task.slot, task.gen, undefined, ep));
        return { ok: true };
      }
      case 'migrateOut': {
        const ep = attached();
        await ep.migration.out(new ActorRef(task.slot, task.gen, undefined, ep), task.to, task.fences);
        return { ok: true };
      }
      case 'fence': {
        attached().migration.sendFence(task.old, task.slot, task.gen);
        return { ok: true };
      }
      case 'checkpoint': {
        const ep = attached();
        const bytes = await ep.checkpoints.forRef(new ActorRef(task.slot, task.gen, undefined, ep), task.closing);
        return { ok: true, bytes };
      }
      case 'standby':
        // A spare thread: the runtime is loaded (this module), and so are the
        // actor modules in use; it waits to take over for a thread that dies.
        await runSetup(task.setup);
        await loadTracingApi(); // a tracer provider threadSetup registered: its spans from the first message
        for (const module of task.modules) await loadModule(module).catch(() => undefined);
        return { ok: true };
      case 'quiesce': {
        const ep = attached();
        return { ok: true, idle: ep.dispatcher.isIdle(), handled: ep.dispatcher.handled };
      }
      case 'shutdown': {
        const ep = attached();
        await ep.lifecycle.stopAll(task.deadline);
        ep.transport.flushAll();
        ep.close(new RuntimeClosedError('answer: the runtime shut down'));
        endpoint = undefined;
        return { ok: true };
      }
    }
  } catch (err) {
    return failed(err);
  }
}
