/**
 * This node's replica of the cluster's names bucket, so that `rt.lookup`
 * answers synchronously for names other nodes hold, as Akka's Receptionist
 * and Erlang's `global` keep a local copy of the registry on every node.
 *
 * - **Fed by a KV watch** of the bucket: every key's last value first, then
 *   each change in revision order. A put is validated by `ClusterNames.read`
 *   (a malformed value counts as absent and adds to `badValues`); a delete or
 *   a purge removes the name.
 * - **Complete at start.** `start` resolves once the watch has shown every
 *   value the bucket held when it began: the bucket's last revision is read
 *   first, and the copy is complete once the watch reaches it (or marks an
 *   entry `isUpdate`, which nats.js does from the last initial value on).
 * - **Eventually consistent.** A change made on another node shows here one
 *   watch delivery later (a few milliseconds on one machine; see
 *   docs/cluster.md). Until then a lookup answers what was there before.
 * - **Reconnects.** nats.js 3 runs the watch as an ordered push consumer. Its
 *   subscription is made again on reconnect, so a server that kept the
 *   consumer (a restart with its store) goes on delivering. One that lost it
 *   (another server of a NATS cluster, a memory store) is given a new
 *   consumer, from the last sequence delivered, only once two idle
 *   heartbeats (5 s each) are missed (`@nats-io/jetstream` pushconsumer.js
 *   `reset`; https://github.com/nats-io/nats.deno/issues/688 was that reset
 *   failing after a server restart). Ten seconds of a stale copy is too long,
 *   and a server that lost the stream's tail must not leave names behind. So
 *   on every reconnect the replica starts a new watch and builds a fresh copy
 *   from its initial values; lookups answer from the old copy until the new
 *   one is complete, then it is swapped in. A watch that ends (nats.js gave
 *   up recreating its consumer) is started again every `retryMs`.
 */
import type { KvWatchEntry } from '@nats-io/kv';
import type { NatsConnection, QueuedIterator } from '@nats-io/transport-node';
import { MicroswarmError } from '../base/errors.js';
import type { ClusterNames, NameEntry } from './names.js';

/** Options of {@link NamesReplica.start}. */
export interface ReplicaOptions {
  /** Wait between attempts to start a watch again after one failed or ended, in milliseconds. */
  retryMs: number;
  /** How long `start` waits for the first complete copy before it fails (a hang guard), in milliseconds. */
  guardMs: number;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms).unref());

/**
 * The names of the whole cluster as this node last saw them (see the top of
 * this file): read synchronously, kept up to date by a watch.
 *
 * @example
 * const replica = await NamesReplica.start(nc, names, { retryMs: 250, guardMs: 5_000 });
 * replica.get('billing'); // { node: 'web-2', slot: 12, gen: 3, incarnation } or undefined
 */
export class NamesReplica {
  /** Complete copies made: 1 at start, one more after each reconnect (or a watch that ended) once its copy is complete. */
  copies = 0;
  /** The complete copy lookups read; replaced whole when a new watch's copy is complete. */
  private entries = new Map<string, NameEntry>();
  private watch: QueuedIterator<KvWatchEntry> | undefined;
  private generation = 0;
  private closed = false;
  private status: { stop?: () => void } | undefined;
  private readonly firstCopy: Promise<void>;
  private firstCopyDone: () => void = () => undefined;

  private constructor(
    private readonly names: ClusterNames,
    private readonly retryMs: number,
  ) {
    this.firstCopy = new Promise((resolve) => {
      this.firstCopyDone = resolve;
    });
  }

  /** Starts watching `names`' bucket; resolves once the copy holds every name present (rejects after `guardMs`). */
  static async start(nc: NatsConnection, names: ClusterNames, options: ReplicaOptions): Promise<NamesReplica> {
    const replica = new NamesReplica(names, options.retryMs);
    let timer: NodeJS.Timeout | undefined;
    try {
      await replica.follow();
      await new Promise<void>((resolve, reject) => {
        timer = setTimeout(
          () => reject(new MicroswarmError(`the names watch did not show the bucket's values within ${options.guardMs} ms`)),
          options.guardMs,
        );
        void replica.firstCopy.then(resolve);
      });
    } catch (err) {
      replica.close();
      throw err;
    } finally {
      clearTimeout(timer);
    }
    void replica.followReconnects(nc);
    return replica;
  }

  /** What `name` names, as this node last saw it (undefined: no such name, or its value was malformed). */
  get(name: string): NameEntry | undefined {
    return this.entries.get(name);
  }

  /** How many names the copy holds. */
  get size(): number {
    return this.entries.size;
  }

  /** Stops watching; `get` answers from the last copy. */
  close(): void {
    this.closed = true;
    this.generation++;
    this.watch?.stop();
    this.status?.stop?.();
  }

  /**
   * Starts a watch whose values go into a fresh copy, swapped in once it is
   * complete (see "Complete at start"). The watch it replaces is stopped once
   * this one is up, so lookups go on reading the old copy meanwhile.
   */
  private async follow(): Promise<void> {
    const generation = ++this.generation;
    const last = await this.names.lastRevision();
    const watch = await this.names.watch();
    if (generation !== this.generation) {
      watch.stop();
      return;
    }
    this.watch?.stop();
    this.watch = watch;
    const copy = new Map<string, NameEntry>();
    const complete = (): void => {
      if (generation !== this.generation) return; // a newer watch's copy replaces this one
      this.entries = copy;
      this.copies++;
      this.firstCopyDone();
    };
    if (last === 0) complete();
    void (async () => {
      try {
        for await (const entry of watch) {
          const read = this.names.read(entry);
          if (read !== undefined) {
            const [name, held] = read;
            if (held === undefined) copy.delete(name);
            else copy.set(name, held);
          }
          if (this.entries !== copy && (entry.revision >= last || entry.isUpdate)) complete();
        }
      } catch {
        // The watch failed (its consumer could not be recreated): start another below.
      }
      if (generation === this.generation && !this.closed) void this.restart();
    })();
  }

  /** Starts a new watch (a fresh copy), retrying every `retryMs` until one is up. */
  private async restart(): Promise<void> {
    while (!this.closed) {
      try {
        await this.follow();
        return;
      } catch {
        await sleep(this.retryMs);
      }
    }
  }

  /** A reconnect starts a new watch at once (see "Reconnects" at the top of this file). */
  private async followReconnects(nc: NatsConnection): Promise<void> {
    const status = nc.status();
    this.status = status as { stop?: () => void };
    try {
      for await (const event of status) {
        if (this.closed) break;
        if (event.type === 'reconnect') void this.restart();
      }
    } catch {
      // The connection closed: the node closes this replica.
    }
  }
}
