import { checkKeys, isPlainObject } from '../base/check.js';
import { InvalidArgumentError, InvalidOptionError } from '../base/errors.js';
import { checkAskOptions, type AskOptions } from './ref.js';

/**
 * How an entity ref's messages are delivered.
 *
 * - `'at-most-once'` (the default): a message is handed over once. One that
 *   its node had accepted but not handled when it died is lost (a tell), or
 *   fails with NodeUnreachableError (an ask).
 * - `'at-least-once'`: this node keeps each message until the entity's node
 *   confirms it was handled and checkpointed (the confirmations travel
 *   batched with the other records), and sends it again, to the entity's new
 *   activation, when its node dies or refuses it. The entity may see a
 *   message twice (make it idempotent), and one sent again may arrive after
 *   later ones.
 */
export type EntityDelivery = 'at-most-once' | 'at-least-once';

/** Options of `rt.entity`. */
export interface EntityOptions {
  /** How this ref's messages are delivered (default `'at-most-once'`). */
  delivery?: EntityDelivery;
}

/** @internal What an entity ref talks through (the cluster's entity manager, on the main thread). */
export interface EntityHost {
  tellEntity(module: string, key: string, msg: unknown, delivery: EntityDelivery): boolean;
  askEntity(module: string, key: string, msg: unknown, timeoutMs: number, delivery: EntityDelivery): Promise<unknown>;
  readonly askTimeoutMs: number;
}

/** @internal `rt.entity`'s options, checked: the delivery. */
export function checkEntityOptions(options: unknown): EntityDelivery {
  if (options === undefined) return 'at-most-once';
  if (!isPlainObject(options)) throw new InvalidOptionError('options', 'an object { delivery }', options);
  checkKeys('options', options, ['delivery']);
  const { delivery } = options as EntityOptions;
  if (delivery === undefined || delivery === 'at-most-once' || delivery === 'at-least-once') return delivery ?? 'at-most-once';
  throw new InvalidOptionError('delivery', "'at-most-once' or 'at-least-once'", delivery);
}

/**
 * The address of a cluster entity (an Orleans grain, an Akka sharded
 * entity): an actor named by its module and a key, that exists as long as
 * something sends to it. It is activated on the node that placement picks
 * when a message comes, passivated when idle, and activated again (on
 * another node if its node is gone) from its last checkpoint. Get one with
 * `rt.entity(module, key)`; see docs/cluster.md.
 */
export class EntityRef<Msg = unknown, Reply = unknown> {
  /** The entity's module, as a URL string (the same on every node). */
  readonly module: string;
  /** The entity's key within its module. */
  readonly key: string;
  /** How this ref's messages are delivered. */
  readonly delivery: EntityDelivery;
  readonly #host: EntityHost;

  /** @internal Made by `rt.entity`. */
  constructor(module: string, key: string, host: EntityHost, delivery: EntityDelivery = 'at-most-once') {
    if (typeof key !== 'string' || key.length === 0 || key.length > 256)
      throw new InvalidArgumentError('key', 'a non-empty string of at most 256 characters', key);
    this.module = module;
    this.key = key;
    this.delivery = delivery;
    this.#host = host;
  }

  /** `Entity(key)`: how errors and logs name it. */
  toString(): string {
    return `Entity(${this.key})`;
  }

  /**
   * Sends a message without waiting; true once it is handed over (to this
   * node's activation, or to the owning node). Activated first if it is not.
   * With `'at-least-once'` delivery, false when this node already keeps too
   * many unconfirmed messages (the message is then a dead letter,
   * `'dropped-newest'`).
   */
  tell(msg: Msg): boolean {
    return this.#host.tellEntity(this.module, this.key, msg, this.delivery);
  }

  /**
   * Sends a message and resolves with the handler's return value. Rejects as
   * an actor's ask does, and (at-most-once) with NodeUnreachableError when
   * the node it was on went away meanwhile (asking again activates it
   * elsewhere). At-least-once, such an ask is sent again until its timeout.
   */
  ask(msg: Msg, options?: Pick<AskOptions, 'timeoutMs'>): Promise<Reply> {
    let timeoutMs: number;
    try {
      timeoutMs = checkAskOptions(options, this.#host.askTimeoutMs);
    } catch (err) {
      return Promise.reject(err);
    }
    return this.#host.askEntity(this.module, this.key, msg, timeoutMs, this.delivery) as Promise<Reply>;
  }
}
