/**
 * A minimal typed event source (`rt.deadLetters`, `rt.failures`): subscribe,
 * unsubscribe, await the next event, and a running count. A listener that
 * throws does not break the runtime or the other listeners; its error is
 * reported as a process warning.
 */
export class EventSource<T> {
  private readonly listeners = new Set<(event: T) => void>();
  /** Events published since the runtime started. */
  count = 0;

  /** Calls `listener` for every event; returns the function that unsubscribes it. */
  subscribe(listener: (event: T) => void): () => void {
    if (typeof listener !== 'function') throw new TypeError(`subscribe expects a function, got ${typeof listener}`);
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Resolves with the next event. */
  next(): Promise<T> {
    return new Promise((resolve) => {
      const off = this.subscribe((event) => {
        off();
        resolve(event);
      });
    });
  }

  /** @internal */
  publish(event: T): void {
    this.count++;
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch (err) {
        process.emitWarning(`A microswarm event listener threw: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
      }
    }
  }
}
