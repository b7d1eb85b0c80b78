/**
 * An actor's children as its cell keeps them: most actors have none or a
 * few (skynet: ten), so up to {@link kFewChildren} live in a small array
 * (one allocation, no hashing); past that, a Map by slot takes over.
 * Membership is by (slot, generation), not by object: a child on another
 * thread is known by a ref decoded from a message, a different object each
 * time. A ref whose slot another child already holds under another
 * generation replaces it (that slot was freed, so its earlier child has
 * stopped). Iteration is in the order they were added.
 * @internal
 */
import type { ActorRef } from './ref.js';

/** Children kept in the array before a Map takes over. */
const kFewChildren = 16;

export class Children implements Iterable<ActorRef> {
  private few: ActorRef[] | undefined = [];
  private many: Map<number, ActorRef> | undefined = undefined;

  get size(): number {
    return this.few !== undefined ? this.few.length : (this.many?.size ?? 0);
  }

  add(child: ActorRef): void {
    const few = this.few;
    if (few === undefined) {
      const many = this.many as Map<number, ActorRef>;
      const held = many.get(child.slot);
      if (held !== undefined && held.gen === child.gen) return;
      if (held !== undefined) many.delete(child.slot); // the slot's earlier child: stopped
      many.set(child.slot, child);
      return;
    }
    const at = slotIndex(few, child.slot);
    if (at >= 0) {
      if (few[at].gen === child.gen) return;
      removeAt(few, at);
    }
    if (few.length < kFewChildren) {
      few.push(child);
      return;
    }
    const many = new Map<number, ActorRef>();
    for (const c of few) many.set(c.slot, c);
    many.set(child.slot, child);
    this.many = many;
    this.few = undefined;
  }

  delete(child: ActorRef): boolean {
    const few = this.few;
    if (few === undefined) {
      const many = this.many as Map<number, ActorRef>;
      if (many.get(child.slot)?.gen !== child.gen) return false;
      return many.delete(child.slot);
    }
    const at = slotIndex(few, child.slot);
    if (at < 0 || few[at].gen !== child.gen) return false;
    removeAt(few, at);
    return true;
  }

  has(child: ActorRef): boolean {
    if (this.few === undefined) return this.many?.get(child.slot)?.gen === child.gen;
    const at = slotIndex(this.few, child.slot);
    return at >= 0 && this.few[at].gen === child.gen;
  }

  clear(): void {
    if (this.few !== undefined) this.few.length = 0;
    else {
      this.few = [];
      this.many = undefined;
    }
  }

  [Symbol.iterator](): Iterator<ActorRef> {
    // A copy when small: stopping a child may delete it from this while the
    // caller iterates (a Map's own iterator allows that).
    return this.few !== undefined ? this.few.slice()[Symbol.iterator]() : (this.many as Map<number, ActorRef>).values();
  }
}

function slotIndex(few: ActorRef[], slot: number): number {
  for (let i = 0; i < few.length; i++) if (few[i].slot === slot) return i;
  return -1;
}

/**
 * Shifted down by hand, order kept: splice would allocate the array of what
 * it removed, once per stopped child (savina-fib stops 242,785).
 */
function removeAt(few: ActorRef[], at: number): void {
  for (let i = at + 1; i < few.length; i++) few[i - 1] = few[i];
  few.pop();
}
