/**
 * Options of the public calls, their defaults, and their validation. Every
 * check fails with `InvalidOptionError` naming the option, what was expected,
 * and the value received with its type.
 */
import { availableParallelism } from 'node:os';
import type { ResourceLimits } from 'node:worker_threads';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { InvalidOptionError } from '../base/errors.js';
import { checkKeys, integer, isPlainObject } from '../base/check.js';
import { askStackTraceModes, type AskStackTraces } from '../actors/ref.js';
import { resolveMailbox, type MailboxOptions, type OverflowPolicy } from '../actors/spawn-options.js';
import { normalizeModuleUrl } from '../engine/modules.js';
import { resolveStrategy, type ResolvedStrategy, type SupervisorStrategy } from '../actors/supervision.js';
import { resolveSchedulerOptions, type ResolvedSchedulerOptions, type SchedulerOptions } from '../scheduler/scheduler.js';
import { evictionPolicies, type EvictionPolicy, type MemoryOptions } from '../memory/layout.js';
import type { ClusterOptions } from '../cluster/options.js';

/**
 * What `Runtime.start` takes; every field is optional and checked (`InvalidOptionError`
 * names the option, what was expected and the value received).
 */
export interface RuntimeOptions {
  /** Worker threads in the pool. Default `os.availableParallelism()`. */
  threads?: number;
  /** Live actors at most, across all threads. Default 256; up to 16,777,216. */
  maxAgents?: number;
  /** Default mailbox of every actor; `spawn` may override it. */
  mailbox?: MailboxOptions;
  /**
   * Passed to Piscina (and so to each Worker): heap limits of the pool threads.
   * At least 4 for `maxOldGenerationSizeMb` and 0.5 for `stackSizeMb`: smaller
   * values crash the whole process on some supported Node versions.
   */
  resourceLimits?: ResourceLimits;
  /** Timeout of an `ask` that gives none. Default 5000 ms. */
  askTimeoutMs?: number;
  /**
   * Which asks create their `AskTimeoutError` at the call, so that it carries
   * the caller's stack: `'never'` (default: every timeout error is made when
   * it fires, naming the actor asked, and the asking actor when an actor
   * asked in the synchronous part of its handler), `'main-thread'`
   * (the service's asks) or `'always'`. A stack capture costs several
   * microseconds per ask, more than the ask itself (see {@link AskStackTraces}).
   */
  askStackTraces?: AskStackTraces;
  /** Bytes of each thread-to-thread ring. Default 1 MiB. */
  ringBytes?: number;
  /** Largest encoded message accepted; larger ones fail with `MessageTooLargeError`. Default 64 MiB. */
  maxMessageBytes?: number;
  /** Messages an actor handles before the thread moves on to the next ready actor. Default 64. */
  throughput?: number;
  /** How long an idle worker polls its rings before parking on Atomics, in microseconds. Default 50. */
  spinUs?: number;
  /**
   * How long the main thread polls its rings before it parks on Atomics, in
   * microseconds, when it has nothing else to do and sent an ask to a pool
   * thread less than 1 ms ago that is not answered yet (0: it always parks
   * at once). A parked main thread takes about 20 us to wake
   * (Atomics.waitAsync), several times a whole ask, so a reply that comes
   * within this budget is read at once. The budget adapts: halved after a
   * poll that caught nothing (down to 2 us), doubled by one that caught a
   * frame. At most 1000. Default 25.
   */
  mainSpinUs?: number;
  /** The shared region pool (see the README's memory section). */
  memory?: MemoryOptions;
  /** Encoded messages above this many bytes travel through the memory pool instead of the ring. Default 64 KiB. */
  inlineLimit?: number;
  /**
   * Bytes of each pool thread's journal of taken cross-thread messages (kept
   * until handled, replayed if the thread dies). Default 1 MiB; 0 turns the
   * journal off (taken messages are then lost with their thread).
   */
  journalBytes?: number;
  /**
   * Extra pool threads kept started and idle, so that a thread that dies is
   * replaced at once instead of after a worker start-up (Piscina then starts
   * a new spare in the background). Default 1; 0 for none.
   */
  standbyThreads?: number;
  /** How often each pool thread beats its heartbeat (and the main thread checks them), in ms. Default 100. */
  heartbeatMs?: number;
  /**
   * A handler that holds its pool thread this long without yielding (the
   * thread's heartbeat stopped and no other handler started) is reported on
   * `rt.failures`, phase 'timeout', a HandlerTimeoutError naming the actor
   * and the message; it is not cut off. Default 1000 ms; 0 turns it off.
   */
  blockingHandlerMs?: number;
  /**
   * A pool thread silent this long (one handler holding it: an endless loop)
   * is terminated and recovered like a crashed one, every actor on it
   * restarted: the last resort. Default 10,000 ms: ten times the report
   * above, and twice the default ask timeout, so asks to that thread have
   * long failed and the report has long been out; raise it for handlers
   * that legitimately compute longer without yielding (or run such work as
   * a function task, which is never taken for a stuck thread). 0 turns it off.
   */
  stuckThreadMs?: number;
  /** The root supervisor's strategy: how top-level actors' failures are handled. Default: one-for-one, restart, at most 10 a minute. */
  supervisor?: SupervisorStrategy;
  /**
   * A module every pool thread imports before it hosts any actor (Node's
   * `--import`, for the pool): instrumentation, per-thread clients. A URL, a
   * URL string or an absolute path; TypeScript loads through `tsx`. A setup
   * that throws fails that thread's start-up: `Runtime.start` rejects with
   * `ThreadStartError`; a replacement thread that fails is reported on
   * `rt.crashes` with `replaced: false`, and the runtime goes on with the
   * threads it has (no respawn loop).
   */
  threadSetup?: string | URL;
  /** The task scheduler's settings (`rt.tasks`). */
  tasks?: SchedulerOptions;
  /**
   * Joins a cluster over NATS (see the README's Cluster section): refs,
   * `tell` and `ask` reach the actors of the other nodes. Without it the
   * runtime is one process and loads no NATS code.
   */
  cluster?: ClusterOptions;
}

/** @internal Options with every default filled in. */
export interface ResolvedOptions {
  threads: number;
  maxAgents: number;
  mailboxCapacity: number;
  mailboxPolicy: OverflowPolicy;
  resourceLimits: ResourceLimits | undefined;
  askTimeoutMs: number;
  askStackTraces: AskStackTraces;
  ringBytes: number;
  maxMessageBytes: number;
  throughput: number;
  spinUs: number;
  mainSpinUs: number;
  memory: { size: number; regionSize: number; maxRegionsPerAllocation: number; eviction: EvictionPolicy; ttlMs: number; maxLeases: number };
  inlineLimit: number;
  supervisor: ResolvedStrategy;
  heartbeatMs: number;
  blockingHandlerMs: number;
  stuckThreadMs: number;
  journalBytes: number;
  standbyThreads: number;
  threadSetup: string | undefined;
  tasks: ResolvedSchedulerOptions;
  /** `options.cluster` as given (validated by the cluster code, loaded only then). */
  cluster: unknown;
  /** This node's name once the cluster connection is made (undefined: not in a cluster). */
  node: string | undefined;
}

const kMaxAgentsLimit = 16_777_216;
const kMaxThreads = 256;

function positiveNumber(name: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new InvalidOptionError(name, 'a finite number above 0', value);
  }
  return value;
}

/**
 * The smallest `resourceLimits` a pool thread may be given: below these, a
 * thread does not fail to start (ThreadStartError) but takes the whole
 * process down, on some supported Node version. Measured with a bare
 * `new Worker(..., { resourceLimits })` (2026-12, x64):
 *
 *   maxOldGenerationSizeMb  1-2: Node 22.23 and 24.22 abort the process
 *                           ("Fatal JavaScript out of memory: GC during
 *                           deserialization", in node::NewIsolate); 3-4: the
 *                           worker fails with ERR_WORKER_OUT_OF_MEMORY on 20, 22
 *                           and 24. Node 20 fails the worker at any size.
 *   stackSizeMb             0.1-0.2: a segfault (Node 22) or an uncaught
 *                           RangeError in the process (Node 20, 24); 0.25: the
 *                           worker fails; 0.3 and up: it runs.
 *   maxYoungGenerationSizeMb, codeRangeSizeMb: 0.01 survives everywhere.
 *
 * The floors keep a margin over the last size that survived (V8's boot
 * needs change between patch releases).
 */
const kResourceLimitFloors: Record<string, number | undefined> = { maxOldGenerationSizeMb: 4, stackSizeMb: 0.5 };
const kResourceLimitWhy: Record<string, string> = {
  maxOldGenerationSizeMb: 'smaller heaps abort the whole process on Node 22 and 24',
  stackSizeMb: 'smaller stacks crash the whole process on Node 20, 22 and 24',
};

function atLeast(name: string, value: unknown, floor: number, why: string | undefined): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < floor) {
    throw new InvalidOptionError(name, `a finite number from ${floor} up (${why ?? 'the smallest that is safe'})`, value);
  }
  return value;
}

/** @internal */
export function resolveRuntimeOptions(options: unknown): ResolvedOptions {
  if (options === undefined) options = {};
  if (!isPlainObject(options)) throw new InvalidOptionError('options', 'an object', options);
  checkKeys('options', options, [
    'threads',
    'maxAgents',
    'mailbox',
    'resourceLimits',
    'askTimeoutMs',
    'askStackTraces',
    'ringBytes',
    'maxMessageBytes',
    'throughput',
    'spinUs',
    'mainSpinUs',
    'memory',
    'inlineLimit',
    'supervisor',
    'heartbeatMs',
    'blockingHandlerMs',
    'stuckThreadMs',
    'journalBytes',
    'standbyThreads',
    'threadSetup',
    'tasks',
    'cluster',
  ]);
  const mailbox = resolveMailbox('mailbox', options.mailbox, { capacity: 0, policy: 'reject' });
  let resourceLimits: ResourceLimits | undefined;
  if (options.resourceLimits !== undefined) {
    const limits = options.resourceLimits;
    if (!isPlainObject(limits)) throw new InvalidOptionError('resourceLimits', 'an object', limits);
    const known = ['maxOldGenerationSizeMb', 'maxYoungGenerationSizeMb', 'codeRangeSizeMb', 'stackSizeMb'];
    checkKeys('resourceLimits', limits, known);
    for (const key of known) {
      if (limits[key] === undefined) continue;
      const floor = kResourceLimitFloors[key];
      if (floor === undefined) positiveNumber(`resourceLimits.${key}`, limits[key], 0);
      else atLeast(`resourceLimits.${key}`, limits[key], floor, kResourceLimitWhy[key]);
    }
    resourceLimits = limits as ResourceLimits;
  }
  const ringBytes = integer('ringBytes', options.ringBytes, 4096, 2 ** 30, 1 << 20);
  const heartbeatMs = integer('heartbeatMs', options.heartbeatMs, 10, 60_000, 100);
  const blockingHandlerMs = integer('blockingHandlerMs', options.blockingHandlerMs, 0, 3_600_000, Math.max(1000, 2 * heartbeatMs));
  if (blockingHandlerMs !== 0 && blockingHandlerMs < 2 * heartbeatMs) {
    throw new InvalidOptionError('blockingHandlerMs', `0 (off) or at least twice heartbeatMs (${2 * heartbeatMs})`, blockingHandlerMs);
  }
  const stuckThreadMs = integer('stuckThreadMs', options.stuckThreadMs, 0, 3_600_000, Math.max(10_000, 2 * heartbeatMs));
  if (stuckThreadMs !== 0 && stuckThreadMs < 2 * heartbeatMs) {
    throw new InvalidOptionError('stuckThreadMs', `0 (off) or at least twice heartbeatMs (${2 * heartbeatMs})`, stuckThreadMs);
  }
  return {
    threads: integer('threads', options.threads, 1, kMaxThreads, Math.max(1, availableParallelism())),
    maxAgents: integer('maxAgents', options.maxAgents, 1, kMaxAgentsLimit, 256),
    mailboxCapacity: mailbox.capacity,
    mailboxPolicy: mailbox.policy,
    resourceLimits,
    askTimeoutMs: positiveNumber('askTimeoutMs', options.askTimeoutMs, 5000),
    askStackTraces: resolveAskStackTraces(options.askStackTraces),
    ringBytes,
    maxMessageBytes: integer('maxMessageBytes', options.maxMessageBytes, 1024, 2 ** 31 - 1, 64 * 1024 * 1024),
    throughput: integer('throughput', options.throughput, 1, 1_000_000, 64),
    spinUs: integer('spinUs', options.spinUs, 0, 100_000, 50),
    mainSpinUs: integer('mainSpinUs', options.mainSpinUs, 0, 1_000, 25),
    memory: resolveMemory(options.memory),
    inlineLimit: integer('inlineLimit', options.inlineLimit, 1024, 2 ** 30, 64 * 1024),
    supervisor: resolveStrategy(options.supervisor, 'supervisor'),
    heartbeatMs,
    blockingHandlerMs,
    stuckThreadMs,
    journalBytes: options.journalBytes === 0 ? 0 : integer('journalBytes', options.journalBytes, 4096, 2 ** 30, 1 << 20),
    standbyThreads: integer('standbyThreads', options.standbyThreads, 0, 16, 1),
    threadSetup: resolveSetup(options.threadSetup),
    tasks: resolveSchedulerOptions(options.tasks),
    cluster: options.cluster,
    node: undefined,
  };
}

function resolveSetup(value: unknown): string | undefined {
  if (value === undefined) return undefined;
  let url: string;
  try {
    url = normalizeModuleUrl(value);
  } catch {
    throw new InvalidOptionError('threadSetup', 'a URL, a URL string or an absolute path of a module', value);
  }
  if (url.startsWith('file:') && !existsSync(fileURLToPath(url))) throw new InvalidOptionError('threadSetup', 'the URL of a module that exists', value);
  return url;
}

function resolveMemory(value: unknown): ResolvedOptions['memory'] {
  if (value === undefined) value = {};
  if (!isPlainObject(value)) throw new InvalidOptionError('memory', 'an object', value);
  checkKeys('memory', value, ['size', 'regionSize', 'maxRegionsPerAllocation', 'eviction', 'ttlMs', 'maxLeases']);
  const regionSize = integer('memory.regionSize', value.regionSize, 4096, 2 ** 30, 64 * 1024);
  if ((regionSize & (regionSize - 1)) !== 0) throw new InvalidOptionError('memory.regionSize', 'a power of two from 4096', regionSize);
  const size = integer('memory.size', value.size, regionSize, 2 ** 31 - regionSize, 28 * 1024 * 1024);
  if (size % regionSize !== 0) throw new InvalidOptionError('memory.size', `a multiple of memory.regionSize (${regionSize})`, size);
  const regions = size / regionSize;
  const eviction = value.eviction ?? 'lru';
  if (!evictionPolicies.includes(eviction as EvictionPolicy)) {
    throw new InvalidOptionError('memory.eviction', `one of ${evictionPolicies.map((p) => `'${p}'`).join(', ')}`, eviction);
  }
  return {
    size,
    regionSize,
    maxRegionsPerAllocation: integer('memory.maxRegionsPerAllocation', value.maxRegionsPerAllocation, 1, regions, regions),
    eviction: eviction as EvictionPolicy,
    ttlMs: integer('memory.ttlMs', value.ttlMs, 1, 2 ** 31 - 1, 60_000),
    maxLeases: integer('memory.maxLeases', value.maxLeases, 1, 1 << 20, 4096),
  };
}

export type { Delivery, OverflowPolicy, SpawnOptions, AgentOverride, ResolvedSpawnOptions } from '../actors/spawn-options.js';
export { resolveSpawnOptions } from '../actors/spawn-options.js';

/** `askStackTraces`: one of {@link askStackTraceModes}; default `'never'`. */
function resolveAskStackTraces(value: unknown): AskStackTraces {
  if (value === undefined) return 'never';
  if (!askStackTraceModes.includes(value as AskStackTraces)) {
    throw new InvalidOptionError('askStackTraces', `${askStackTraceModes.map((mode) => `'${mode}'`).join(', ')} or undefined`, value);
  }
  return value as AskStackTraces;
}
