/**
 * The driver of tell-local: on `{ type: 'run', n }` it tells its sibling
 * counter (spawned on the same thread, on the first run) `{ type: 'inc', by: 1 }`
 * n times, then asks it for its count and answers with it. The main thread
 * measures the whole `ask({ type: 'run', n })`, as the nact peer's caller does.
 */
import { defineActor } from '../../src/actor.js';
import type { CounterMsg } from './counter.js';

export type DriverMsg = { type: 'run'; n: number };

/** The part of a ref the driver uses. */
interface CounterRef {
  tell(msg: CounterMsg): boolean;
  send(msg: CounterMsg): Promise<void>;
  ask(msg: CounterMsg, options?: { timeoutMs?: number }): Promise<unknown>;
}

const counterUrl = new URL('./counter.ts', import.meta.url);

export default defineActor({
  init: () => ({ sibling: undefined as CounterRef | undefined }),
  async receive(state, msg: DriverMsg, ctx) {
    const sibling = (state.sibling ??= (await ctx.spawn(counterUrl, { start: 0 })) as unknown as CounterRef);
    for (let i = 0; i < msg.n; i++) {
      // A bounded mailbox may refuse: then wait for room, so that every
      // message is counted once (the peers have unbounded queues).
      if (!sibling.tell({ type: 'inc', by: 1 })) await sibling.send({ type: 'inc', by: 1 });
    }
    return (await sibling.ask({ type: 'get' }, { timeoutMs: 120_000 })) as number;
  },
});
