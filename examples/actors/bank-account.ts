/**
 * A bank account for examples/resilience.ts: a balance and the ids of the
 * transfers it applied (a retried transfer is applied once). It checkpoints
 * after every message, before its answer leaves, so an answered transfer
 * survives the death of its thread.
 */
import { defineActor } from '../../src/actor.js';

export type AccountMsg = { type: 'apply'; id: string; delta: number } | { type: 'balance' };

export default defineActor({
  init: (args: { balance: number }) => ({ balance: args.balance, applied: new Set<string>() }),
  receive(state, msg: AccountMsg) {
    if (msg.type === 'apply' && !state.applied.has(msg.id)) {
      state.applied.add(msg.id);
      state.balance += msg.delta;
    }
    return state.balance;
  },
  snapshot: (state) => ({ balance: state.balance, applied: [...state.applied] }),
  restore: (data) => {
    const d = data as { balance: number; applied: string[] };
    return { balance: d.balance, applied: new Set(d.applied) };
  },
  checkpointEvery: 1,
});
