/**
 * What the case files need from an implementation. Every peer (and the
 * microswarm side) holds one counter that receives the same messages:
 * `{ type: 'inc', by: 1 }` (one-way) and `{ type: 'get' }` (answered with the
 * count), so that message shape and count are the same for every impl.
 */

/** A counter on another thread (ask-rtt, tell-cross-thread). */
export interface CrossThreadCounter {
  /** One sequential round trip: `{ type: 'get' }` and its answer, the count. */
  get(): Promise<number>;
  /**
   * Sends `count` one-way `{ type: 'inc', by: 1 }` messages, then resolves
   * with the counter read after all of them were counted.
   */
  incMany(count: number): Promise<number>;
  close(): Promise<void>;
}

/**
 * A counter in another process, reached over NATS (remote-ask-rtt,
 * remote-tell): the same messages and contract as a cross-thread one.
 */
export type RemoteCounter = CrossThreadCounter;

/** Two actors on one thread (tell-local). */
export interface LocalPair {
  /**
   * A driver actor tells its sibling `{ type: 'inc', by: 1 }` `count` times,
   * then asks it for its count; resolves with that count.
   */
  run(count: number): Promise<number>;
  close(): Promise<void>;
}
