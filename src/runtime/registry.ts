/**
 * The name registry, and what the main thread keeps of each actor spawned
 * through it: its name (for `rt.lookup` and `ctx.lookup`), how to bring it
 * back after its thread dies (its spawn record), and whether its spawn is
 * still in flight.
 */
import type { ActorRef } from '../actors/ref.js';
import { NameTakenError } from '../base/errors.js';
import type { Directory } from '../transport/directory.js';
import type { Delivery } from './options.js';

/** @internal How to bring back an actor spawned through the main thread. */
export interface SpawnRecord {
  gen: number;
  module: string;
  args: Uint8Array;
  name: string | undefined;
  parent: { slot: number; gen: number } | undefined;
  delivery: Delivery;
}

/** @internal Names, spawn records and spawns in flight. */
export class Registry {
  /** How to bring back each actor spawned through the main thread, by slot (checked against its generation). */
  readonly records = new Map<number, SpawnRecord>();
  /** Slots whose spawn through the main thread is in flight. */
  readonly spawning = new Set<number>();
  private readonly names = new Map<string, ActorRef>();
  private readonly directory: Directory;

  constructor(directory: Directory) {
    this.directory = directory;
  }

  /** The live actor registered under `name`, or undefined (a stale entry is dropped). */
  lookup(name: string): ActorRef | undefined {
    const ref = this.names.get(name);
    if (ref === undefined) return undefined;
    if (!this.directory.isLive(ref.slot, ref.gen)) {
      this.names.delete(name);
      return undefined;
    }
    return ref;
  }

  /** Throws NameTakenError when a live actor holds `name`. */
  checkFree(name: string): void {
    const holder = this.names.get(name);
    if (holder === undefined) return;
    if (this.directory.isLive(holder.slot, holder.gen)) throw new NameTakenError(name);
    this.names.delete(name);
  }

  /** Registers `ref` under `name` (checked free first). */
  reserve(name: string, ref: ActorRef): void {
    this.names.set(name, ref);
  }

  /** The name of the actor spawned through the main thread in `slot`, if it has one. */
  nameOf(slot: number): string | undefined {
    return this.records.get(slot)?.name;
  }
}
