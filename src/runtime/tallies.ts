/**
 * Counts of what the main thread publishes (dead letters by reason, failures
 * by phase, thread crashes and their recovery times), kept from the start so
 * that metrics registered later (`rt.metrics()`) count from the start too.
 * Not the message path: a listener per event on `rt.deadLetters`,
 * `rt.failures`, `rt.crashes`, which publish on the main thread anyway.
 */
import type { EventSource } from '../base/events.js';
import type { ActorFailure, DeadLetter } from '../engine/endpoint.js';
import { bucketOf, kBuckets } from '../transport/meters.js';
import type { EventTallies } from '../observe/metrics-source.js';
import type { ThreadCrash } from './recovery.js';

function bump(map: Map<string, number>, key: string, n = 1): void {
  map.set(key, (map.get(key) ?? 0) + n);
}

/** @internal */
export class Tallies implements EventTallies {
  readonly deadLetters = new Map<string, number>();
  readonly failures = new Map<string, number>();
  readonly crashes = new Map<string, number>();
  readonly recoveries = new Map<string, number>();
  actorsLost = 0;
  readonly recoveryBuckets: number[] = new Array<number>(kBuckets).fill(0);
  recoverySumUs = 0;

  constructor(deadLetters: EventSource<DeadLetter>, failures: EventSource<ActorFailure>, crashes: EventSource<ThreadCrash>) {
    deadLetters.subscribe((letter) => bump(this.deadLetters, letter.reason));
    failures.subscribe((failure) => bump(this.failures, failure.phase));
    crashes.subscribe((crash) => {
      bump(this.crashes, `${crash.thread}/${crash.reason}`);
      bump(this.recoveries, `${crash.thread}/${crash.replaced ? 'replaced' : 'not-replaced'}`);
      this.actorsLost += crash.lost.length;
      const us = Math.floor(crash.recoveryMs * 1000);
      this.recoveryBuckets[bucketOf(us)]++;
      this.recoverySumUs += us;
    });
  }
}
