/**
 * A bench agent for the scheduler cases: `trivial` tasks answer at once;
 * `work` tasks take `payload.units x msPerUnit` (a timer, so agents on one
 * thread overlap as independent machines would).
 */
import { defineActor, type Task } from '../../src/actor.js';

export interface TaskWorkerArgs {
  /** Milliseconds per unit of work for this agent (its speed). */
  msPerUnit?: number;
}

export default defineActor({
  init: (args: TaskWorkerArgs | undefined) => ({ msPerUnit: args?.msPerUnit ?? 1 }),
  receive: () => undefined,
  task(state: { msPerUnit: number }, task: Task) {
    if (task.kind === 'trivial') return task.payload;
    const units = (task.payload as { units: number }).units;
    return new Promise((resolve) => setTimeout(() => resolve(units), units * state.msPerUnit));
  },
});
