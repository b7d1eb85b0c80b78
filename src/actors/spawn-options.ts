/**
 * The options of `rt.spawn` and `ctx.spawn`, part of the programming model,
 * and their validation (which runs on the main thread and in pool threads).
 */
import { InvalidOptionError } from '../base/errors.js';
import { checkKeys, integer, isPlainObject } from '../base/check.js';
import { checkCapabilities, checkCapacity } from './agent-checks.js';

/** Overflow policies; a policy's index here is its code in the directory's kPolicy column. */
export const overflowPolicies = ['reject', 'drop-oldest', 'drop-newest'] as const;
/**
 * What a full bounded mailbox does with a new message: `'reject'` refuses it,
 * `'drop-oldest'` and `'drop-newest'` drop a message as a dead letter (see
 * {@link MailboxOptions.overflow}).
 */
export type OverflowPolicy = (typeof overflowPolicies)[number];

const kMaxCapacity = 2 ** 30;

/**
 * What becomes of the message an actor was handling when its thread died:
 * `'at-least-once'` (default) hands it to the actor brought back, again;
 * `'at-most-once'` makes it a dead letter (reason 'crashed'; an ask rejects
 * with ActorCrashedError). Messages it had not started are delivered either way.
 */
export type Delivery = 'at-least-once' | 'at-most-once';
const deliveries: readonly Delivery[] = ['at-least-once', 'at-most-once'];

/** A mailbox's bound and what happens when it is full. */
export interface MailboxOptions {
  /** Messages the mailbox holds before its overflow policy applies. Default `Infinity` (unbounded). */
  capacity?: number;
  /**
   * `'reject'` (default): `tell` returns false, `ask` rejects with `MailboxFullError`, `send` waits.
   * `'drop-newest'`: the new message is dropped and published as a dead letter (`send` waits instead).
   * `'drop-oldest'`: the oldest queued message is dropped and published as a dead letter (an ask among them is rejected).
   */
  overflow?: OverflowPolicy;
}

/** Options of `rt.spawn` and `ctx.spawn`. */
export interface SpawnOptions {
  /** Registers the actor under this name; unique among live actors (`NameTakenError`). */
  name?: string;
  /**
   * `'cluster'`: the name is registered cluster-wide (a NATS KV bucket,
   * compare-and-set), unique across every node, found from any node with
   * `rt.lookup` (from the node's replica of the names: eventually
   * consistent), `ctx.lookup` and `rt.cluster.lookup`; released when the
   * actor stops or its node is declared down. Needs `name` and a runtime
   * that is a cluster node. Default `'local'`.
   */
  scope?: 'local' | 'cluster';
  /** 0-based index of the pool thread to run on. Default: least loaded (`rt.spawn`), the parent's thread (`ctx.spawn`). */
  thread?: number;
  /** This actor's mailbox, overriding the runtime's default. */
  mailbox?: MailboxOptions;
  /** Bytes of pool memory this actor may own at once (whole regions count). Default: no limit. */
  memoryQuota?: number;
  /** The message being handled when this actor's thread dies: redelivered (default) or dead-lettered. */
  delivery?: Delivery;
  /** An agent's capabilities for the task scheduler, overriding its definition's. */
  capabilities?: readonly string[];
  /** How many tasks the scheduler hands this agent at once, overriding its definition's. */
  capacity?: number;
}

/** @internal An agent's spawn-time overrides. */
export interface AgentOverride {
  capabilities?: readonly string[];
  capacity?: number;
}

/** @internal Resolves a mailbox option object; `prefix` names it in errors. */
export function resolveMailbox(
  prefix: string,
  value: unknown,
  defaults: { capacity: number; policy: OverflowPolicy },
): { capacity: number; policy: OverflowPolicy } {
  if (value === undefined) return { capacity: defaults.capacity, policy: defaults.policy };
  if (!isPlainObject(value)) throw new InvalidOptionError(prefix, 'an object', value);
  checkKeys(prefix, value, ['capacity', 'overflow']);
  let capacity = defaults.capacity;
  if (value.capacity !== undefined) {
    const c = value.capacity;
    if (c === Infinity) capacity = 0;
    else if (typeof c !== 'number' || !Number.isInteger(c) || c < 1 || c > kMaxCapacity) {
      throw new InvalidOptionError(`${prefix}.capacity`, `an integer from 1 to ${kMaxCapacity}, or Infinity`, c);
    } else capacity = c;
  }
  let policy = defaults.policy;
  if (value.overflow !== undefined) {
    if (!overflowPolicies.includes(value.overflow as OverflowPolicy)) {
      throw new InvalidOptionError(`${prefix}.overflow`, `one of ${overflowPolicies.map((p) => `'${p}'`).join(', ')}`, value.overflow);
    }
    policy = value.overflow as OverflowPolicy;
  }
  return { capacity, policy };
}

/** @internal Validates spawn options against a runtime's settings. */
export function resolveSpawnOptions(options: unknown, threads: number, defaults: { capacity: number; policy: OverflowPolicy }): ResolvedSpawnOptions {
  if (options === undefined) {
    return {
      name: undefined,
      thread: undefined,
      capacity: defaults.capacity,
      policy: defaults.policy,
      memoryQuota: 0,
      delivery: 'at-least-once',
      agent: undefined,
      scope: 'local',
    };
  }
  if (!isPlainObject(options)) throw new InvalidOptionError('options', 'an object', options);
  checkKeys('options', options, ['name', 'thread', 'mailbox', 'memoryQuota', 'delivery', 'capabilities', 'capacity', 'scope']);
  let agent: AgentOverride | undefined;
  if (options.capabilities !== undefined || options.capacity !== undefined) {
    agent = {};
    if (options.capabilities !== undefined) agent.capabilities = [...checkCapabilities('capabilities', options.capabilities)];
    if (options.capacity !== undefined) agent.capacity = checkCapacity('capacity', options.capacity);
  }
  const delivery = (options.delivery ?? 'at-least-once') as Delivery;
  if (!deliveries.includes(delivery)) throw new InvalidOptionError('delivery', `one of ${deliveries.map((d) => `'${d}'`).join(', ')}`, options.delivery);
  const { name, thread } = options;
  if (name !== undefined && (typeof name !== 'string' || name.length === 0 || name.length > 256)) {
    throw new InvalidOptionError('name', 'a non-empty string of at most 256 characters', name);
  }
  if (thread !== undefined && (typeof thread !== 'number' || !Number.isInteger(thread) || thread < 0 || thread >= threads)) {
    throw new InvalidOptionError('thread', `an integer from 0 to ${threads - 1} (the pool has ${threads} threads)`, thread);
  }
  const scope = options.scope ?? 'local';
  if (scope !== 'local' && scope !== 'cluster') throw new InvalidOptionError('scope', "'local' or 'cluster'", options.scope);
  if (scope === 'cluster' && name === undefined) throw new InvalidOptionError('scope', "'cluster' only with a name", scope);
  const mailbox = resolveMailbox('mailbox', options.mailbox, defaults);
  let memoryQuota = 0;
  if (options.memoryQuota !== undefined && options.memoryQuota !== Infinity) {
    memoryQuota = integer('memoryQuota', options.memoryQuota, 1, 2 ** 31 - 1, 0);
  }
  return {
    name: name as string | undefined,
    thread: thread as number | undefined,
    capacity: mailbox.capacity,
    policy: mailbox.policy,
    memoryQuota,
    delivery,
    agent,
    scope,
  };
}

/** @internal Spawn options with defaults filled in (`capacity` here is the mailbox's bound). */
export interface ResolvedSpawnOptions {
  name: string | undefined;
  thread: number | undefined;
  capacity: number;
  policy: OverflowPolicy;
  memoryQuota: number;
  delivery: Delivery;
  agent: AgentOverride | undefined;
  scope: 'local' | 'cluster';
}
