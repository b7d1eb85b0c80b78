/**
 * The FIFO of a thread's ready actors (dispatcher.ts). An array with a head
 * and a tail index: taking a cell clears its slot (a stopped actor is not
 * kept alive by the queue), and an emptied queue starts again at index 0
 * without truncating the array, so a steady conversation reuses the same
 * backing store instead of growing and shrinking it every drain round.
 * Hand-written: the queue is on the per-message path, and a general deque
 * package would add a call and a bounds check per operation for nothing.
 */
import type { Cell } from '../actors/cell.js';

/** @internal */
export class ReadyQueue {
  private cells: (Cell | undefined)[] = [];
  private head = 0;
  private tail = 0;

  /** True when a cell waits. */
  get nonEmpty(): boolean {
    return this.head < this.tail;
  }

  push(cell: Cell): void {
    this.cells[this.tail++] = cell;
  }

  /** The oldest cell, taken off the queue; undefined when it is empty. */
  shift(): Cell | undefined {
    if (this.head >= this.tail) return undefined;
    const cell = this.cells[this.head];
    this.cells[this.head++] = undefined;
    if (this.head === this.tail) {
      this.head = 0;
      this.tail = 0;
    } else if (this.head > 1024 && this.head * 2 > this.tail) {
      // Mostly consumed: move the rest to the front (amortized O(1) per cell).
      const cells = this.cells;
      cells.copyWithin(0, this.head, this.tail);
      cells.fill(undefined, this.tail - this.head, this.tail);
      this.tail -= this.head;
      this.head = 0;
    }
    return cell;
  }
}
