/**
 * The nact peer for tell-local: two nact actors on the main thread, set up as
 * the microswarm side is (bench/actors/driver.ts). A driver actor receives
 * `{ type: 'run', n }`, dispatches `{ type: 'inc', by: 1 }` to its sibling
 * counter n times, then queries the sibling's count and replies with it.
 * The caller measures the whole query of the driver.
 */
import { dispatch, query, spawn, start, stop, type Ref } from 'nact';
import type { LocalPair } from './peer.js';

type CounterMsg = { type: 'inc'; by: number } | { type: 'get'; replyTo: Ref<number> };
type DriverMsg = { type: 'run'; n: number; replyTo: Ref<number> };

const queryTimeoutMs = 120_000;

export async function startNactPair(): Promise<LocalPair> {
  const system = start();

  const counter = spawn(
    system,
    (state: { n: number }, msg: CounterMsg) => {
      if (msg.type === 'inc') {
        state.n += msg.by;
        return state;
      }
      dispatch(msg.replyTo, state.n);
      return state;
    },
    'counter',
    { initialState: { n: 0 } },
  );

  const driver = spawn(
    system,
    async (state: Record<string, never>, msg: DriverMsg) => {
      for (let i = 0; i < msg.n; i++) dispatch(counter, { type: 'inc', by: 1 });
      const count = await query(counter, (replyTo: Ref<number>) => ({ type: 'get', replyTo }), queryTimeoutMs);
      dispatch(msg.replyTo, count);
      return state;
    },
    'driver',
    { initialState: {} },
  );

  return {
    run: (n) => query(driver, (replyTo: Ref<number>) => ({ type: 'run', n, replyTo }), queryTimeoutMs) as Promise<number>,
    async close() {
      stop(system);
    },
  };
}
