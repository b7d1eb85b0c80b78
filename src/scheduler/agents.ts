/**
 * The agents the scheduler may place tasks on: each with its capabilities,
 * capacity, circuit breaker (cockatiel) and statistics. The runtime reports
 * an agent when it starts; one found dead (stopped, lost with its thread)
 * takes no more tasks and is dropped once its running attempts settled.
 */
import type { ActorRef } from '../actors/ref.js';
import { TaskCancelledError } from '../base/errors.js';
import { cockatiel } from './policies.js';
import type { ResolvedSchedulerOptions } from './options.js';
import type { Agent } from './placement.js';
import { Window } from './stats.js';
import type { DispatchTrigger, TaskExecutor } from './types.js';

/** @internal */
export class AgentRegistry {
  /** The agents, in the order they came (placement walks them in this order). */
  readonly list: Agent[] = [];
  private readonly byKey = new Map<string, Agent>();
  private readonly options: ResolvedSchedulerOptions;
  private readonly executor: TaskExecutor;
  private readonly trigger: DispatchTrigger;

  constructor(options: ResolvedSchedulerOptions, executor: TaskExecutor, trigger: DispatchTrigger) {
    this.options = options;
    this.executor = executor;
    this.trigger = trigger;
  }

  /** An agent started (or came back): the scheduler may place tasks on it. */
  add(ref: ActorRef, capabilities: readonly string[], capacity: number): void {
    const key = `${ref.slot}.${ref.gen}`;
    const known = this.byKey.get(key);
    if (known !== undefined) {
      known.alive = true;
      return;
    }
    const limit = Math.min(capacity, this.options.maxInFlightPerAgent);
    const { CircuitState, ConsecutiveBreaker, circuitBreaker, handleWhen } = cockatiel();
    const breaker = circuitBreaker(
      handleWhen((e) => !(e instanceof TaskCancelledError)),
      {
        halfOpenAfter: this.options.halfOpenAfterMs,
        breaker: new ConsecutiveBreaker(this.options.breakerFailures),
      },
    );
    const agent: Agent = {
      ref,
      capabilities: new Set(capabilities),
      capacity,
      limit,
      inFlight: 0,
      breaker,
      breakerState: 'closed',
      openedAt: 0,
      failStreak: 0,
      byKind: new Map(),
      successes: 0,
      failures: 0,
      latency: new Window(),
      alive: true,
    };
    breaker.onStateChange((state) => {
      agent.breakerState = state === CircuitState.Closed ? 'closed' : state === CircuitState.HalfOpen ? 'half-open' : 'open';
      if (state === CircuitState.Open) agent.openedAt = Date.now();
      // Half-open is due later: look again then.
      if (state === CircuitState.Open) setTimeout(() => this.trigger.dispatchSoon(), this.options.halfOpenAfterMs).unref?.();
    });
    this.list.push(agent);
    this.byKey.set(key, agent);
    this.trigger.dispatchSoon();
  }

  /** Drops agents that are no longer alive (stopped, lost with a thread). */
  prune(): void {
    for (let i = this.list.length - 1; i >= 0; i--) {
      const agent = this.list[i];
      if (!this.executor.isAlive(agent.ref)) {
        agent.alive = false;
        if (agent.inFlight === 0) {
          this.list.splice(i, 1);
          this.byKey.delete(`${agent.ref.slot}.${agent.ref.gen}`);
        }
      }
    }
  }
}
