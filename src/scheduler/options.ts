/**
 * The scheduler's settings: `Runtime.start({ tasks })` as the user gives
 * them (SchedulerOptions) and as the scheduler reads them, checked and
 * defaulted (ResolvedSchedulerOptions, from resolveSchedulerOptions).
 */
import { checkKeys, integer } from '../base/check.js';
import { InvalidOptionError } from '../base/errors.js';
import { strategies, type Strategy } from './placement.js';

/** `Runtime.start({ tasks })`: the scheduler's settings. */
export interface SchedulerOptions {
  /** Default placement strategy. Default `'least-loaded'`. */
  strategy?: Strategy;
  /** Tasks waiting (blocked, queued, between retries) at most; beyond, `submit` throws QueueFullError. Default 100 000. */
  maxQueue?: number;
  /** Aging: a task gains one priority level per this many ms of waiting. Default 5000. */
  agingMs?: number;
  /** Bulkhead: tasks running at once overall. Default unlimited. */
  maxInFlight?: number;
  /** Bulkhead: tasks running at once per agent (on top of its capacity). Default unlimited. */
  maxInFlightPerAgent?: number;
  /** Circuit breaker per agent: opens after `failures` consecutive failures, half-opens for one probe after `halfOpenAfterMs`. Default 5 and 5000. */
  breaker?: {
    /** Consecutive failed attempts (not cancellations) that open it: an integer from 1. Default 5. */
    failures?: number;
    /** How long it stays open before one probe task is let through, ms. Default 5000. */
    halfOpenAfterMs?: number;
  };
  /** `timeoutMs: 'adaptive'`: percentile x factor of a kind's recent durations, clamped; `maxMs` until `minSamples` are seen. */
  adaptiveTimeout?: {
    /** Which percentile of the kind's recent successful run times, above 0 and at most 1. Default 0.99. */
    percentile?: number;
    /** What that percentile is multiplied by. Default 3. */
    factor?: number;
    /** Shortest adaptive timeout, ms. Default 50. */
    minMs?: number;
    /** Longest adaptive timeout, ms; also the timeout until `minSamples` runs are seen. Default 60 000. */
    maxMs?: number;
    /** Successful runs of a kind needed before its percentile is used: an integer from 1 to 512. Default 20. */
    minSamples?: number;
  };
  /** Re-placements of a task whose agent crashed or stopped, on top of its retries. Default 3. */
  maxReplacements?: number;
  /** Plain function tasks running at once per pool thread (the rest wait in the scheduler's priority queue). Default 1. */
  functionConcurrency?: number;
}

/** @internal Resolved scheduler settings. */
export interface ResolvedSchedulerOptions {
  strategy: Strategy;
  maxQueue: number;
  agingMs: number;
  maxInFlight: number;
  maxInFlightPerAgent: number;
  breakerFailures: number;
  halfOpenAfterMs: number;
  adaptive: { percentile: number; factor: number; minMs: number; maxMs: number; minSamples: number };
  maxReplacements: number;
  functionConcurrency: number;
}

export function resolveSchedulerOptions(value: unknown): ResolvedSchedulerOptions {
  if (value === undefined) value = {};
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new InvalidOptionError('tasks', 'an object', value);
  const o = value as Record<string, unknown>;
  const known = [
    'strategy',
    'maxQueue',
    'agingMs',
    'maxInFlight',
    'maxInFlightPerAgent',
    'breaker',
    'adaptiveTimeout',
    'maxReplacements',
    'functionConcurrency',
  ];
  checkKeys('tasks', o, known);
  const strategy = (o.strategy ?? 'least-loaded') as Strategy;
  if (!strategies.includes(strategy)) throw new InvalidOptionError('tasks.strategy', `one of ${strategies.map((s) => `'${s}'`).join(', ')}`, o.strategy);
  const breaker = subObject('tasks.breaker', o.breaker, ['failures', 'halfOpenAfterMs']);
  const adaptive = subObject('tasks.adaptiveTimeout', o.adaptiveTimeout, ['percentile', 'factor', 'minMs', 'maxMs', 'minSamples']);
  const minMs = positive('tasks.adaptiveTimeout.minMs', adaptive.minMs, 50);
  const maxMs = positive('tasks.adaptiveTimeout.maxMs', adaptive.maxMs, 60_000);
  if (maxMs < minMs) throw new InvalidOptionError('tasks.adaptiveTimeout.maxMs', `a number from minMs (${minMs}) up`, adaptive.maxMs);
  const percentile = adaptive.percentile ?? 0.99;
  if (typeof percentile !== 'number' || !(percentile > 0 && percentile <= 1)) {
    throw new InvalidOptionError('tasks.adaptiveTimeout.percentile', 'a number above 0, at most 1', adaptive.percentile);
  }
  return {
    strategy,
    maxQueue: integer('tasks.maxQueue', o.maxQueue, 1, 2 ** 31 - 1, 100_000),
    agingMs: positive('tasks.agingMs', o.agingMs, 5000),
    maxInFlight: o.maxInFlight === Infinity ? Infinity : integer('tasks.maxInFlight', o.maxInFlight, 1, 2 ** 31 - 1, Infinity),
    maxInFlightPerAgent:
      o.maxInFlightPerAgent === Infinity ? Infinity : integer('tasks.maxInFlightPerAgent', o.maxInFlightPerAgent, 1, 2 ** 31 - 1, Infinity),
    breakerFailures: integer('tasks.breaker.failures', breaker.failures, 1, 1_000_000, 5),
    halfOpenAfterMs: positive('tasks.breaker.halfOpenAfterMs', breaker.halfOpenAfterMs, 5000),
    adaptive: {
      percentile,
      factor: positive('tasks.adaptiveTimeout.factor', adaptive.factor, 3),
      minMs,
      maxMs,
      minSamples: integer('tasks.adaptiveTimeout.minSamples', adaptive.minSamples, 1, 512, 20),
    },
    maxReplacements: integer('tasks.maxReplacements', o.maxReplacements, 0, 1000, 3),
    functionConcurrency: integer('tasks.functionConcurrency', o.functionConcurrency, 1, 1024, 1),
  };
}

function subObject(name: string, value: unknown, known: string[]): Record<string, unknown> {
  if (value === undefined) return {};
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new InvalidOptionError(name, 'an object', value);
  for (const key of Object.keys(value))
    if (!known.includes(key)) throw new InvalidOptionError(`${name}.${key}`, `one of ${known.join(', ')}`, (value as Record<string, unknown>)[key]);
  return value as Record<string, unknown>;
}

function positive(name: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) throw new InvalidOptionError(name, 'a finite number above 0', value);
  return value;
}
