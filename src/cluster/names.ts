/**
 * Cluster-wide actor names over a NATS KV bucket (`microswarm_<cluster>_names`).
 *
 * - **Keys.** NATS KV keys allow only `[-/_=.a-zA-Z0-9]` (and `.` splits a key
 *   into subject tokens), while an actor's name may hold any character. The
 *   key is therefore the base64url encoding (no padding) of the name's UTF-8
 *   bytes: every name is a valid key, and two names never share one (names
 *   must be well-formed UTF-16, so the UTF-8 encoding is one-to-one).
 * - **Values.** JSON `{ name, node, slot, gen, incarnation }`: the plain
 *   name is kept in the value, so a value is checked against the name it was
 *   read for; `incarnation` is the registering node's membership incarnation.
 * - **Ownership.** `register` is `kv.create` (taken anywhere = taken);
 *   `release` and `releaseNode` delete with `previousSeq` = the revision they
 *   read, so a name registered again in between is never deleted.
 * - **Taking over a dead holder's name.** Given `holderLive`, `register`
 *   takes a name over (an update on the revision it read) whose holder is
 *   not live: the node's key in the members bucket holds no member record
 *   of the incarnation that wrote the value. This is how a name outlives no
 *   one: a process that restarted under its node name, when no other node
 *   was there to release its predecessor's names (a cluster of one, or every
 *   node that knew it gone too), and a value a node that is not a member
 *   wrote. The order is what makes it safe: the name is read first, then
 *   the members key, then the update expects the revision read. A holder
 *   found live after the read wrote its value before that read (a process
 *   claims its node's key before it registers anything), so it was not
 *   replaced; one that registers after the read moves the revision, and the
 *   update fails and reads again.
 * - **Fencing on the incarnation.** `releaseNode` releases the names of one
 *   incarnation of a node, not every name under the node's name: a process
 *   that restarted under the same node name may have registered names before
 *   the others finished releasing its predecessor's. A value without an
 *   incarnation (written by a version before they were stored) is released
 *   by node name alone, as it was then: it cannot be told apart.
 * - **Untrusted bytes.** A value another process wrote is validated (shape,
 *   types, integer ranges, the name) before use. A malformed value counts as
 *   absent: `lookup` answers undefined, `register` may take it over, and each
 *   one seen adds to `badValues`; none of them throws.
 */
import { type KV, type KvEntry, type KvWatchEntry, Kvm } from '@nats-io/kv';
import type { NatsConnection, QueuedIterator } from '@nats-io/transport-node';
import { checkKeys, isPlainObject } from '../base/check.js';
import { InvalidArgumentError, NameTakenError } from '../base/errors.js';
import { checkName, createShared, isIncarnation, isName, isWrongLastSequence, kIncarnationExpected, kNameExpected, parseJson } from './kv.js';

/** Where a named actor lives: its node, and its slot and generation there. */
export interface NamedRef {
  /** The node hosting the actor. */
  node: string;
  /** The actor's slot in that node's directory (an int32 from 0). */
  slot: number;
  /** The slot's generation (a uint32). */
  gen: number;
}

/** A name's value as read from the bucket: the ref, and the incarnation of the node that registered it. */
export interface NameEntry extends NamedRef {
  /** The registering node's incarnation; undefined in a value written before incarnations were stored. */
  incarnation: string | undefined;
}

/** Options of {@link ClusterNames.open}. */
export interface NamesOptions {
  /** The cluster's name: 1 to 64 letters, digits, `-` or `_`. */
  cluster: string;
  /** This node's name (informational: `register` does not require `ref.node` to be it). */
  node: string;
}

const kMaxNameLength = 256;
const kMaxSlot = 0x7fff_ffff;
const kMaxGen = 0xffff_ffff;
/** Attempts of one register or release (each one lost a compare-and-set race). */
const kAttempts = 8;
/** Names read and deleted at once by `releaseNode`. */
const kReleaseConcurrency = 16;

/** @internal The bucket key of an actor name: base64url (unpadded) of its UTF-8 bytes. */
export function nameKey(name: string): string {
  return Buffer.from(name, 'utf8').toString('base64url');
}

/** The name a key encodes, or undefined for a key that is not one `nameKey` makes. */
function keyName(key: string): string | undefined {
  const name = Buffer.from(key, 'base64url').toString('utf8');
  return nameKey(name) === key ? name : undefined;
}

function checkActorName(name: unknown): string {
  if (typeof name !== 'string' || name.length === 0 || name.length > kMaxNameLength || !name.isWellFormed()) {
    throw new InvalidArgumentError('name', `a non-empty string of at most ${kMaxNameLength} characters (well-formed UTF-16)`, name);
  }
  return name;
}

function checkRef(ref: unknown): NamedRef {
  if (ref === null || typeof ref !== 'object') throw new InvalidArgumentError('ref', 'an object { node, slot, gen }', ref);
  const { node, slot, gen } = ref as Record<string, unknown>;
  if (!isName(node)) throw new InvalidArgumentError('ref.node', kNameExpected, node);
  if (!isInteger(slot, kMaxSlot)) throw new InvalidArgumentError('ref.slot', `an integer from 0 to ${kMaxSlot}`, slot);
  if (!isInteger(gen, kMaxGen)) throw new InvalidArgumentError('ref.gen', `an integer from 0 to ${kMaxGen}`, gen);
  return { node, slot, gen };
}

function checkIncarnation(incarnation: unknown): string {
  if (!isIncarnation(incarnation)) throw new InvalidArgumentError('incarnation', kIncarnationExpected, incarnation);
  return incarnation;
}

function isInteger(value: unknown, max: number): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= max;
}

function sameRef(a: NamedRef, b: NamedRef): boolean {
  return a.node === b.node && a.slot === b.slot && a.gen === b.gen;
}

/**
 * The cluster's name registry: one name, one actor, anywhere in the cluster.
 *
 * @example
 * const names = await ClusterNames.open(nc, { cluster: 'prod', node: 'web-1' });
 * await names.register('billing', { node: 'web-1', slot: 12, gen: 3 }, incarnation);
 * await names.lookup('billing'); // { node: 'web-1', slot: 12, gen: 3, incarnation }, from any node
 */
export class ClusterNames {
  /** Values in the bucket that were not a valid entry for the name they were read for (treated as absent). */
  badValues = 0;

  private constructor(
    private readonly kv: KV,
    /** This node's name, as given to `open`. */
    readonly node: string,
  ) {}

  /** Opens (or creates) the names bucket of `cluster`. Rejects with InvalidOptionError for bad options. */
  static async open(nc: NatsConnection, options: NamesOptions): Promise<ClusterNames> {
    if (nc === null || typeof nc !== 'object') throw new InvalidArgumentError('nc', 'a NatsConnection', nc);
    if (!isPlainObject(options)) throw new InvalidArgumentError('options', 'an object { cluster, node }', options);
    checkKeys('options', options, ['cluster', 'node']);
    const cluster = checkName('cluster', options.cluster);
    const node = checkName('node', options.node);
    const kv = await createShared(() => new Kvm(nc).create(`microswarm_${cluster}_names`, { history: 1, maxValueSize: 4 * 1024 }));
    return new ClusterNames(kv, node);
  }

  /**
   * Registers `name` for `ref`, an actor of the node's `incarnation`.
   * Rejects with NameTakenError when the name names another actor anywhere in
   * the cluster whose holder is live (`holderLive`; without it, every holder
   * counts as live); registering the same ref again resolves (stamped with
   * `incarnation` if it held another one). A malformed value under the name,
   * and one whose holder is not live, is taken over.
   */
  async register(name: string, ref: NamedRef, incarnation: string, holderLive?: (held: NameEntry) => Promise<boolean>): Promise<void> {
    const key = nameKey(checkActorName(name));
    const wanted = checkRef(ref);
    const stamp = checkIncarnation(incarnation);
    const value = JSON.stringify({ name, ...wanted, incarnation: stamp });
    for (let attempt = 0; attempt < kAttempts; attempt++) {
      try {
        await this.kv.create(key, value);
        return;
      } catch (err) {
        if (!isWrongLastSequence(err)) throw err;
      }
      const entry = await this.kv.get(key);
      if (entry === null || entry.operation !== 'PUT') continue; // released in between: create again
      const held = this.parse(entry.value, name);
      if (held !== undefined) {
        // Another actor's, unless its holder is gone: read after the name, so the update below is safe (see the top).
        if (!sameRef(held, wanted) && (holderLive === undefined || (await holderLive(held)))) throw new NameTakenError(name);
        // The same actor, its node joined again under a new incarnation (declared down while alive): the value takes
        // the new one, so that the release of the old incarnation's names leaves it.
        if (sameRef(held, wanted) && held.incarnation === stamp) return;
      }
      try {
        await this.kv.update(key, value, entry.revision);
        return;
      } catch (err) {
        if (!isWrongLastSequence(err)) throw err;
      }
    }
    throw new NameTakenError(name);
  }

  /** What `name` names (read from the bucket now), or undefined when it names none (or its value is malformed). */
  async lookup(name: string): Promise<NameEntry | undefined> {
    const entry = await this.kv.get(nameKey(checkActorName(name)));
    if (entry === null || entry.operation !== 'PUT') return undefined;
    return this.parse(entry.value, name);
  }

  /** Deletes `name` if it still names `ref` (compare-and-set on the revision read); otherwise leaves it. */
  async release(name: string, ref: NamedRef): Promise<void> {
    const key = nameKey(checkActorName(name));
    const owner = checkRef(ref);
    await this.releaseIf(key, name, (held) => sameRef(held, owner));
  }

  /**
   * Deletes every name that `incarnation` of `node` registered (each by
   * compare-and-set, as `release`), for an incarnation that left or was
   * declared down. Names of another incarnation of the node (a process that
   * restarted under its name) are left alone; a value without an incarnation
   * is released by node name alone. Returns how many it deleted.
   */
  async releaseNode(node: string, incarnation: string): Promise<number> {
    if (!isName(node)) throw new InvalidArgumentError('node', kNameExpected, node);
    const departed = checkIncarnation(incarnation);
    const owned = (held: NameEntry): boolean => held.node === node && (held.incarnation === undefined || held.incarnation === departed);
    const keys: string[] = [];
    for await (const key of await this.kv.keys()) keys.push(key);
    let next = 0;
    let released = 0;
    const worker = async (): Promise<void> => {
      while (next < keys.length) {
        const key = keys[next++];
        const name = keyName(key);
        if (name === undefined) {
          this.badValues++;
          continue;
        }
        if (await this.releaseIf(key, name, owned)) released++;
      }
    };
    await Promise.all(Array.from({ length: Math.min(kReleaseConcurrency, keys.length) }, worker));
    return released;
  }

  /** Deletes `key` while what it holds passes `owned`; true when this call deleted it. */
  private async releaseIf(key: string, name: string, owned: (held: NameEntry) => boolean): Promise<boolean> {
    for (let attempt = 0; attempt < kAttempts; attempt++) {
      const entry = await this.kv.get(key);
      if (entry === null || entry.operation !== 'PUT') return false;
      const held = this.parse(entry.value, name);
      if (held === undefined || !owned(held)) return false;
      try {
        await this.kv.delete(key, { previousSeq: entry.revision });
        return true;
      } catch (err) {
        // The name changed since it was read: read it again.
        if (!isWrongLastSequence(err)) throw err;
      }
    }
    return false;
  }

  /** @internal Watches the whole bucket: every key's last value (deletes too), then each change in revision order. */
  watch(): Promise<QueuedIterator<KvWatchEntry>> {
    return this.kv.watch();
  }

  /**
   * @internal The revision of the bucket's last entry (0 for an empty bucket): a watch started after this read has
   * shown every value present at the read once it has shown this revision (every key's last value comes in
   * revision order, and the last entry is the last value of its key).
   */
  async lastRevision(): Promise<number> {
    const { state } = (await this.kv.status()).streamInfo;
    return state.messages === 0 ? 0 : state.last_seq;
  }

  /**
   * @internal A watched entry as `[name, what it names now]`: undefined for a delete or a purge, and for a malformed
   * value (counted, and absent); the whole answer is undefined for a key no name encodes to (a put counted).
   */
  read(entry: KvEntry): [string, NameEntry | undefined] | undefined {
    const name = keyName(entry.key);
    if (name === undefined) {
      if (entry.operation === 'PUT') this.badValues++;
      return undefined;
    }
    return [name, entry.operation === 'PUT' ? this.parse(entry.value, name) : undefined];
  }

  /** Validates a value read for `name`; undefined (and counted) when malformed. A value without an incarnation is valid. */
  private parse(bytes: Uint8Array, name: string): NameEntry | undefined {
    const value = parseJson(bytes);
    if (
      isPlainObject(value) &&
      value.name === name &&
      isName(value.node) &&
      isInteger(value.slot, kMaxSlot) &&
      isInteger(value.gen, kMaxGen) &&
      (value.incarnation === undefined || isIncarnation(value.incarnation))
    ) {
      return { node: value.node, slot: value.slot, gen: value.gen, incarnation: value.incarnation };
    }
    this.badValues++;
    return undefined;
  }
}
