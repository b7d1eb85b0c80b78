/** rt.suspend / rt.resume: a suspended actor keeps its mailbox (up to its bound) and handles nothing. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ActorStoppedError, AskTimeoutError, InvalidArgumentError, Runtime, RuntimeClosedError, type ActorRef } from '../src/index.js';
import type { CounterMsg } from './fixtures/counter.js';
import { collectDeadLetters, eventually } from './fixtures/helpers.js';

const counterUrl = new URL('./fixtures/counter.ts', import.meta.url);

let rt: Runtime;
beforeEach(async () => {
  rt = await Runtime.start({ threads: 2 });
});
afterEach(async () => {
  await rt.shutdown();
});

describe('suspend and resume', () => {
  it('handles nothing while suspended, then everything in order after resume', async () => {
    const counter = (await rt.spawn(counterUrl, undefined, { thread: 1 })) as ActorRef<CounterMsg, unknown>;
    await rt.suspend(counter);
    for (let i = 1; i <= 5; i++) expect(counter.tell({ type: 'log', value: i })).toBe(true);
    // Nothing is handled: the ask cannot be answered while suspended.
    await expect(counter.ask({ type: 'history' }, { timeoutMs: 200 })).rejects.toBeInstanceOf(AskTimeoutError);
    await rt.resume(counter);
    expect(await counter.ask({ type: 'history' })).toEqual([1, 2, 3, 4, 5]);
  });

  it('keeps the mailbox bound while suspended: the overflow policy applies', async () => {
    const counter = (await rt.spawn(counterUrl, undefined, { thread: 0, mailbox: { capacity: 3 } })) as ActorRef<CounterMsg, unknown>;
    await rt.suspend(counter);
    const accepted = [1, 2, 3, 4].map((value) => counter.tell({ type: 'log', value }));
    expect(accepted).toEqual([true, true, true, false]);
    await rt.resume(counter);
    // The three queued messages still fill the mailbox until handled: an ask
    // made at once may be refused (MailboxFullError), so retry until there is room.
    const history = await eventually(
      () => counter.ask({ type: 'history' }).catch(() => undefined),
      (h) => h !== undefined,
    );
    expect(history).toEqual([1, 2, 3]);
  });

  it('dead-letters what was queued when a suspended actor is stopped', async () => {
    const counter = (await rt.spawn(counterUrl, undefined, { thread: 1 })) as ActorRef<CounterMsg, unknown>;
    const letters = collectDeadLetters(rt);
    await rt.suspend(counter);
    counter.tell({ type: 'log', value: 'a' });
    counter.tell({ type: 'log', value: 'b' });
    await rt.stop(counter);
    const seen = await eventually(
      () => letters,
      (l) => l.length >= 2,
    );
    expect(seen.map((l) => [(l.message as { value: unknown }).value, l.reason])).toEqual([
      ['a', 'stopped'],
      ['b', 'stopped'],
    ]);
  });

  it('resuming an actor that is not suspended changes nothing', async () => {
    const counter = (await rt.spawn(counterUrl, { start: 3 }, { thread: 0 })) as ActorRef<CounterMsg, unknown>;
    await rt.resume(counter);
    expect(await counter.ask({ type: 'get' })).toBe(3);
  });

  it('refuses a stopped actor, a non-ref, and calls after shutdown, with typed errors', async () => {
    const counter = await rt.spawn(counterUrl, undefined, { thread: 0 });
    await rt.stop(counter);
    await expect(rt.suspend(counter)).rejects.toBeInstanceOf(ActorStoppedError);
    await expect(rt.resume(counter)).rejects.toBeInstanceOf(ActorStoppedError);
    const err = await rt.suspend('nope' as unknown as ActorRef).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidArgumentError);
    expect((err as InvalidArgumentError).value).toBe('nope');
    const other = await rt.spawn(counterUrl, undefined, { thread: 1 });
    await rt.shutdown();
    await expect(rt.suspend(other)).rejects.toBeInstanceOf(RuntimeClosedError);
  });
});
