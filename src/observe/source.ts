/**
 * What the observability routes read, declared here and implemented by the
 * runtime (runtime/observe-source.ts), so this folder imports nothing above
 * it: a snapshot, the Prometheus text when metrics exist, readiness, and a
 * feed of what went wrong.
 */

/** One entry of the dashboard's feed: a failure, a thread crash, or a dead letter (plain data). */
export interface FeedItem {
  /** Its number in this server's feed, from 1: a page that reconnects skips what it has. */
  id: number;
  /** `Date.now()` when the runtime published it. */
  at: number;
  /** A handler or hook that failed (`rt.failures`), a pool thread that died (`rt.crashes`), or a dead letter (`rt.deadLetters`). */
  kind: 'failure' | 'crash' | 'dead-letter';
  /** The actor concerned (`Actor(name#slot.gen)`), or the thread for a crash (`thread 1`). */
  subject: string;
  /** One line: the phase and error message, the crash's outcome, or the reason a message was not delivered. */
  text: string;
}

/** The answer of `/readyz`. */
export interface Readiness {
  /** Every check passed. */
  ready: boolean;
  /** Each check by name: true when it passed, else a short reason. */
  checks: Record<string, true | string>;
}

/** @internal What the routes need of a runtime. */
export interface ObserveSource {
  /** A JSON-serialisable snapshot (`rt.inspect()`). */
  inspect(): Promise<unknown>;
  /** The Prometheus exposition text, or undefined when no metrics are available (`/metrics` answers 501). */
  metrics: (() => Promise<string>) | undefined;
  ready(): Readiness;
  /** Calls `listener` for each new feed item (numbered by the stream); returns the function that stops it. */
  onFeed(listener: (item: Omit<FeedItem, 'id'>) => void): () => void;
}
