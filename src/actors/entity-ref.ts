import { InvalidArgumentError } from '../base/errors.js';
import { checkAskOptions, type AskOptions } from './ref.js';

/** @internal What an entity ref talks through (the cluster's entity manager, on the main thread). */
export interface EntityHost {
  tellEntity(module: string, key: string, msg: unknown): void;
  askEntity(module: string, key: string, msg: unknown, timeoutMs: number): Promise<unknown>;
  readonly askTimeoutMs: number;
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
  readonly #host: EntityHost;

  /** @internal Made by `rt.entity`. */
  constructor(module: string, key: string, host: EntityHost) {
    if (typeof key !== 'string' || key.length === 0 || key.length > 256)
      throw new InvalidArgumentError('key', 'a non-empty string of at most 256 characters', key);
    this.module = module;
    this.key = key;
    this.#host = host;
  }

  /** `Entity(key)`: how errors and logs name it. */
  toString(): string {
    return `Entity(${this.key})`;
  }

  /**
   * Sends a message without waiting; true once it is handed over (to this
   * node's activation, or to the owning node). Activated first if it is not.
   */
  tell(msg: Msg): boolean {
    this.#host.tellEntity(this.module, this.key, msg);
    return true;
  }

  /**
   * Sends a message and resolves with the handler's return value. Rejects as
   * an actor's ask does, and with NodeUnreachableError when the node it was
   * on went away meanwhile (asking again activates it elsewhere).
   */
  ask(msg: Msg, options?: Pick<AskOptions, 'timeoutMs'>): Promise<Reply> {
    let timeoutMs: number;
    try {
      timeoutMs = checkAskOptions(options, this.#host.askTimeoutMs);
    } catch (err) {
      return Promise.reject(err);
    }
    return this.#host.askEntity(this.module, this.key, msg, timeoutMs) as Promise<Reply>;
  }
}
