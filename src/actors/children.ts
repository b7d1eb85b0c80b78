/**
 * An actor's children as its cell keeps them: most actors have none or a
 * few (skynet: ten), so up to {@link kFewChildren} live in a small array
 * (one allocation, no hashing); past that, a Set takes over. Membership is
 * by identity, as a Set's is. Iteration is in the order they were added.
 * @internal
 */
import type { ActorRef } from './ref.js';

/** Children kept in the array before a Set takes over. */
const kFewChildren = 16;

export class Children implements Iterable<ActorRef> {
  private few: ActorRef[] | undefined = [];
  private many: Set<ActorRef> | undefined = undefined;

  get size(): number {
    return this.few !== undefined ? this.few.length : (this.many?.size ?? 0);
  }

  add(child: ActorRef): void {
    const few = this.few;
    if (few === undefined) {
      this.many?.add(child);
      return;
    }
    if (few.includes(child)) return;
    if (few.length < kFewChildren) {
      few.push(child);
      return;
    }
    this.many = new Set(few);
    this.many.add(child);
    this.few = undefined;
  }

  delete(child: ActorRef): boolean {
    const few = this.few;
    if (few === undefined) return this.many?.delete(child) ?? false;
    const at = few.indexOf(child);
    if (at < 0) return false;
    // Shifted down by hand, order kept: splice would allocate the array of
    // what it removed, once per stopped child (savina-fib stops 242,785).
    for (let i = at + 1; i < few.length; i++) few[i - 1] = few[i];
    few.pop();
    return true;
  }

  has(child: ActorRef): boolean {
    return this.few !== undefined ? this.few.includes(child) : (this.many?.has(child) ?? false);
  }

  clear(): void {
    if (this.few !== undefined) this.few.length = 0;
    else {
      this.few = [];
      this.many = undefined;
    }
  }

  [Symbol.iterator](): Iterator<ActorRef> {
    // A copy when small: stopping a child may delete it from this while the caller iterates.
    return this.few !== undefined ? this.few.slice()[Symbol.iterator]() : (this.many ?? [])[Symbol.iterator]();
  }
}
