/**
 * Supervision: what a supervisor decides when one of its children fails, as
 * in Akka (`SupervisorStrategy`, `restartWithBackoff`) and Erlang/OTP
 * (`one_for_one`, `one_for_all`, `rest_for_one`, restart intensity).
 *
 * Every actor's supervisor is its parent; top-level actors have the root
 * supervisor, whose strategy is `Runtime.start({ supervisor })`. A parent
 * declares the strategy for its children in its definition
 * (`defineActor({ supervisor: { ... } })`).
 *
 * This module holds the policy only (validation, the decider's default, the
 * restart window and the backoff delay), with the clock and the random source
 * injected, so it is tested on a fake clock. The endpoint carries out what it
 * decides.
 */
import { ActorInitError, InvalidOptionError } from '../base/errors.js';
import type { ActorRef } from './ref.js';

/** What a supervisor does about a failed child. */
export type Directive = 'restart' | 'resume' | 'stop' | 'escalate';
/** Which children a directive applies to. */
export type StrategyKind = 'one-for-one' | 'one-for-all' | 'rest-for-one';

const directives: readonly Directive[] = ['restart', 'resume', 'stop', 'escalate'];
const strategyKinds: readonly StrategyKind[] = ['one-for-one', 'one-for-all', 'rest-for-one'];

/** Exponential restart backoff with jitter, as Akka's `restartWithBackoff`. */
export interface BackoffOptions {
  /** Delay before the first restart. */
  minMs: number;
  /** Cap of the exponential part of the delay (jitter comes on top, as in Akka). */
  maxMs: number;
  /** Up to this fraction of the delay is added at random (0 = none). Default 0.2. */
  randomFactor?: number;
}

/** How a supervisor treats its children's failures. */
export interface SupervisorStrategy {
  /**
   * `'one-for-one'` (default): the directive applies to the failed child only.
   * `'one-for-all'`: to every child. `'rest-for-one'`: to the failed child and
   * the children started after it.
   */
  strategy?: StrategyKind;
  /**
   * Chooses the directive for an error. Default: `'stop'` for an
   * `ActorInitError` (a restart would fail the same way), `'restart'` for
   * anything else (Akka's default). A decider that throws or returns
   * something else escalates.
   */
  decider?: (error: Error, child: ActorRef) => Directive;
  /** At most this many restarts of one child within `withinMs`; one more escalates. Default 10. */
  maxRestarts?: number;
  /** The window of `maxRestarts`, in ms. Default 60,000. */
  withinMs?: number;
  /**
   * Delay restarts exponentially: the n-th restart within the window waits
   * `min(maxMs, minMs * 2^n) * (1 + random * randomFactor)`. Default: restart at once.
   */
  backoff?: BackoffOptions;
}

/** @internal A validated strategy. */
export interface ResolvedStrategy {
  strategy: StrategyKind;
  decider: (error: Error, child: ActorRef) => Directive;
  maxRestarts: number;
  withinMs: number;
  backoff: Required<BackoffOptions> | undefined;
}

/** The directive chosen when no decider is given. */
export function defaultDecider(error: Error): Directive {
  return error instanceof ActorInitError || error?.name === 'ActorInitError' ? 'stop' : 'restart';
}

export const defaultStrategy: ResolvedStrategy = Object.freeze({
  strategy: 'one-for-one',
  decider: defaultDecider,
  maxRestarts: 10,
  withinMs: 60_000,
  backoff: undefined,
});

function nonNegative(name: string, value: unknown, integer: boolean): number {
  if (typeof value !== 'number' || Number.isNaN(value) || value < 0 || (integer && !Number.isInteger(value) && value !== Infinity)) {
    throw new InvalidOptionError(name, integer ? 'an integer from 0 up (or Infinity)' : 'a number from 0 up', value);
  }
  return value;
}

/** Validates a strategy; `where` prefixes option names in errors (e.g. `supervisor`). */
export function resolveStrategy(input: unknown, where = 'supervisor'): ResolvedStrategy {
  if (input === undefined) return defaultStrategy;
  if (input === null || typeof input !== 'object' || Array.isArray(input)) throw new InvalidOptionError(where, 'an object', input);
  const s = input as SupervisorStrategy;
  const strategy = s.strategy ?? 'one-for-one';
  if (!strategyKinds.includes(strategy)) throw new InvalidOptionError(`${where}.strategy`, `one of ${strategyKinds.join(', ')}`, s.strategy);
  if (s.decider !== undefined && typeof s.decider !== 'function') throw new InvalidOptionError(`${where}.decider`, 'a function', s.decider);
  const maxRestarts = s.maxRestarts === undefined ? 10 : nonNegative(`${where}.maxRestarts`, s.maxRestarts, true);
  const withinMs = s.withinMs === undefined ? 60_000 : nonNegative(`${where}.withinMs`, s.withinMs, false);
  let backoff: Required<BackoffOptions> | undefined;
  if (s.backoff !== undefined) {
    const b = s.backoff;
    if (b === null || typeof b !== 'object') throw new InvalidOptionError(`${where}.backoff`, 'an object { minMs, maxMs, randomFactor? }', b);
    const minMs = nonNegative(`${where}.backoff.minMs`, b.minMs, false);
    const maxMs = nonNegative(`${where}.backoff.maxMs`, b.maxMs, false);
    if (!Number.isFinite(maxMs) || maxMs < minMs)
      throw new InvalidOptionError(`${where}.backoff.maxMs`, `a finite number from minMs (${minMs}) up`, b.maxMs);
    const randomFactor = b.randomFactor === undefined ? 0.2 : nonNegative(`${where}.backoff.randomFactor`, b.randomFactor, false);
    if (!Number.isFinite(randomFactor)) throw new InvalidOptionError(`${where}.backoff.randomFactor`, 'a finite number from 0 up', randomFactor);
    backoff = { minMs, maxMs, randomFactor };
  }
  return { strategy, decider: s.decider ?? defaultDecider, maxRestarts, withinMs, backoff };
}

/** The outcome for one failure: the directive, and for a restart its delay. */
export interface Decision {
  /** What the supervisor does with the failed child. */
  directive: Directive;
  /** For a restart, how long it waits first (the backoff), in milliseconds; otherwise 0. */
  delayMs: number;
  /** Why a restart became an escalation, or the decider's own failure. */
  reason?: string;
}

/** @internal A supervisor's answer for a child whose thread died: brought back (after the backoff delay) or not. */
export interface CrashDecision {
  directive: 'restart' | 'stop';
  delayMs: number;
}

/**
 * One supervisor's memory of its children's restarts: per child, the times of
 * its restarts within the window (intensity) and how many came in a row
 * (backoff exponent). Clock and random source are injected.
 */
export class SupervisorState {
  private readonly restarts = new Map<string, number[]>();

  constructor(
    private readonly strategy: ResolvedStrategy,
    private readonly now: () => number = Date.now,
    private readonly random: () => number = Math.random,
  ) {}

  /** Decides what to do about `error` in the child known by `key`. */
  decide(key: string, error: Error, child: ActorRef): Decision {
    let directive: unknown;
    try {
      directive = this.strategy.decider(error, child);
    } catch (err) {
      return { directive: 'escalate', delayMs: 0, reason: `the decider threw: ${(err as Error)?.message ?? String(err)}` };
    }
    if (!directives.includes(directive as Directive)) {
      return { directive: 'escalate', delayMs: 0, reason: `the decider returned ${JSON.stringify(directive) ?? String(directive)}, not a directive` };
    }
    if (directive !== 'restart') return { directive: directive as Directive, delayMs: 0 };
    const now = this.now();
    const times = (this.restarts.get(key) ?? []).filter((t) => now - t < this.strategy.withinMs);
    if (times.length >= this.strategy.maxRestarts) {
      this.restarts.delete(key);
      return {
        directive: 'escalate',
        delayMs: 0,
        reason: `more than ${this.strategy.maxRestarts} restarts within ${this.strategy.withinMs} ms`,
      };
    }
    const delayMs = this.backoffDelay(times.length);
    times.push(now);
    this.restarts.set(key, times);
    return { directive: 'restart', delayMs };
  }

  /** Delay of the restart that follows `previous` restarts inside the window. */
  backoffDelay(previous: number): number {
    const b = this.strategy.backoff;
    if (b === undefined) return 0;
    // Akka's formula: the exponential part is capped at maxMs, then jitter
    // adds up to randomFactor of it (so a delay may exceed maxMs by that much).
    const base = Math.min(b.maxMs, b.minMs * 2 ** Math.min(previous, 52));
    return base * (1 + this.random() * b.randomFactor);
  }
}
