/**
 * tell / ask between the main thread and actors on real pool threads:
 * per-sender ordering, typed answers, timeouts, aborts, handler errors,
 * non-reentrant async handlers, and refs carried inside messages.
 */
import { afterEach, beforeEach, describe, expect, expectTypeOf, it, vi } from 'vitest';
import { ActorRef, AskAbortedError, AskTimeoutError, Runtime, type ActorFailure } from '../src/index.js';
import type { CounterMsg } from './fixtures/counter.js';
import { eventually } from './fixtures/helpers.js';
import type { ProbeMsg } from './fixtures/probe.js';
import type { RallyMsg } from './fixtures/rally.js';

const counterUrl = new URL('./fixtures/counter.ts', import.meta.url);
const probeUrl = new URL('./fixtures/probe.ts', import.meta.url);
const leafUrl = new URL('./fixtures/leaf.ts', import.meta.url);
const rallyUrl = new URL('./fixtures/rally.ts', import.meta.url);

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

let rt: Runtime;

beforeEach(async () => {
  rt = await Runtime.start({ threads: 2 });
});

afterEach(async () => {
  await rt.shutdown();
});

describe('ask', () => {
  it('answers with the handler return value, typed by the ref', async () => {
    const leaf = await rt.spawn<{ type: 'value' }, number>(leafUrl, { value: 7 });
    const answer = await leaf.ask({ type: 'value' });
    expectTypeOf(answer).toEqualTypeOf<number>();
    expect(answer).toBe(7);
  });

  it('answers with the value an async handler resolves to', async () => {
    const counter = await rt.spawn<CounterMsg, unknown>(counterUrl, { start: 1 });
    expect(await counter.ask({ type: 'inc', by: 4 })).toBe(5);
    expect(await counter.ask({ type: 'slow', ms: 5 })).toBe('done');
  });

  it('the main thread awaits an answer by polling only within 1 ms of sending an ask to a pool thread', async () => {
    const asks = (rt as unknown as { endpoint: { asks: { awaiting(): boolean } } }).endpoint.asks;
    const counter = await rt.spawn<CounterMsg, unknown>(counterUrl);
    expect(asks.awaiting()).toBe(false); // nothing asked
    let answered = false;
    // The clock held still from the send to the check: "within 1 ms" must not hang on a GC pause between two lines.
    const clock = vi.spyOn(performance, 'now').mockReturnValue(performance.now());
    const slow = counter.ask({ type: 'slow', ms: 500 }).then(() => {
      answered = true;
    });
    try {
      expect(asks.awaiting()).toBe(true); // just sent through a ring
    } finally {
      clock.mockRestore();
    }
    await eventually(
      () => asks.awaiting(),
      (polling) => !polling,
    );
    expect(answered).toBe(false); // still unanswered, but sent more than 1 ms ago: the main thread parks
    await slow;
    expect(asks.awaiting()).toBe(false);
  });

  it('rejects with AskTimeoutError naming the actor and the timeout; by default made when it fires, with no caller frame', async () => {
    const probe = await rt.spawn<ProbeMsg, unknown>(probeUrl);
    const err = await probe.ask({ type: 'slowLog', ms: 300, value: 'late' }, { timeoutMs: 20 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AskTimeoutError);
    const timeout = err as AskTimeoutError;
    expect(timeout.timeoutMs).toBe(20);
    expect(timeout.actor).toBe(probe.toString());
    expect(timeout.message).toBe(`Ask to actor ${probe.toString()} got no answer within 20 ms`);
    expect(timeout.stack).not.toContain('messaging.test.ts');
  });

  it("an actor's ask that times out names the asking actor; by default its error is made when it fires, with no handler frame", async () => {
    const asker = await rt.spawn<ProbeMsg, unknown>(probeUrl, undefined, { thread: 0 });
    const slow = await rt.spawn<ProbeMsg, unknown>(probeUrl, undefined, { thread: 1 });
    const err = await asker.ask({ type: 'askOther', to: slow, msg: { type: 'slowLog', ms: 300, value: 'late' }, timeoutMs: 20 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AskTimeoutError);
    const timeout = err as AskTimeoutError;
    expect(timeout.message).toBe(`Ask to actor ${slow.toString()} by actor ${asker.toString()} got no answer within 20 ms`);
    expect(timeout.stack).not.toContain('probe.ts');
  });

  it.each([
    ['always', true, true],
    ['main-thread', false, true],
    ['never', false, false],
  ] as const)('askStackTraces %s: a timeout error made at the call shows the caller (actors: %s, main thread: %s)', async (mode, inActors, onMain) => {
    const traced = await Runtime.start({ threads: 1, askStackTraces: mode });
    try {
      const asker = await traced.spawn<ProbeMsg, unknown>(probeUrl);
      const slow = await traced.spawn<ProbeMsg, unknown>(probeUrl);
      const inActor = await asker
        .ask({ type: 'askOther', to: slow, msg: { type: 'slowLog', ms: 300, value: 'x' }, timeoutMs: 20 })
        .catch((e: unknown) => e);
      expect(inActor).toBeInstanceOf(AskTimeoutError);
      expect(String((inActor as Error).stack).includes('probe.ts')).toBe(inActors);
      const fromMain = await slow.ask({ type: 'slowLog', ms: 300, value: 'y' }, { timeoutMs: 20 }).catch((e: unknown) => e);
      expect(fromMain).toBeInstanceOf(AskTimeoutError);
      expect(String((fromMain as Error).stack).includes('messaging.test.ts')).toBe(onMain);
    } finally {
      await traced.shutdown();
    }
  });

  it('refuses a bad askStackTraces with an InvalidOptionError naming the value', async () => {
    await expect(Runtime.start({ threads: 1, askStackTraces: 'sometimes' as never })).rejects.toThrow(/askStackTraces.*"sometimes"/s);
  });

  it('an actor awaiting asks to a neighbour of its thread in a loop leaves room for its timers', async () => {
    const asker = await rt.spawn<ProbeMsg, unknown>(probeUrl, undefined, { thread: 0 });
    const leaf = await rt.spawn(leafUrl, { value: 1 }, { thread: 0 });
    const asks = await asker.ask({ type: 'askUntilTimer', to: leaf, msg: { type: 'value' }, ms: 20 }, { timeoutMs: 20_000 });
    expect(asks).toBeGreaterThan(0);
  });

  it('an actor awaiting asks to a neighbour of its thread in a loop leaves room for messages from other threads to its thread', async () => {
    const asker = await rt.spawn<ProbeMsg, unknown>(probeUrl, undefined, { thread: 0 });
    const leaf = await rt.spawn(leafUrl, { value: 1 }, { thread: 0 });
    const other = await rt.spawn<{ type: 'value' }, number>(leafUrl, { value: 7 }, { thread: 0 });
    const channel = new BroadcastChannel('ask-loop-room');
    const entered = new Promise<void>((resolve) => {
      channel.onmessage = (event) => {
        if (event.data === 'entered') resolve();
      };
    });
    let loopDone = false;
    const loop = asker.ask({ type: 'askUntilReleased', to: leaf, msg: { type: 'value' }, channel: 'ask-loop-room' }, { timeoutMs: 60_000 });
    void loop.then(() => (loopDone = true));
    try {
      await entered;
      // Each answer crosses from the main thread's ring into a thread that is busy with the loop.
      for (let i = 0; i < 20; i++) expect(await other.ask({ type: 'value' }, { timeoutMs: 30_000 })).toBe(7);
      expect(loopDone).toBe(false);
    } finally {
      channel.postMessage('release');
    }
    expect(await loop).toBeGreaterThan(0);
    channel.close();
  });

  it('two actors of a thread that keep each other busy forever let a message from another thread in within a few of their turns', async () => {
    const a = await rt.spawn<RallyMsg, number>(rallyUrl, undefined, { thread: 0 });
    const b = await rt.spawn<RallyMsg, number>(rallyUrl, undefined, { thread: 0 });
    const counter = await rt.spawn<RallyMsg, number>(rallyUrl, undefined, { thread: 0 });
    a.tell({ type: 'serve', to: b, spinMs: 1 });
    try {
      // Turns the rally takes between two asks in a row from the main
      // thread: the second ask waits in the ring for at most a few of them
      // (kInboundCheckEvery, 8), not for a whole ready budget (256). A turn
      // is 1 ms, several times a round trip to the main thread; the median
      // of 7 pairs is checked, so one late wake-up of the main thread does not count.
      await eventually(
        () => counter.ask({ type: 'count' }),
        (turns) => turns > 10,
        20_000,
      );
      const gaps: number[] = [];
      for (let i = 0; i < 7; i++) {
        const first = await counter.ask({ type: 'count' }, { timeoutMs: 20_000 });
        const second = await counter.ask({ type: 'count' }, { timeoutMs: 20_000 });
        gaps.push(second - first);
      }
      gaps.sort((x, y) => x - y);
      expect(gaps[3]).toBeLessThanOrEqual(30);
    } finally {
      await a.ask({ type: 'halt' }, { timeoutMs: 20_000 });
    }
  });

  it('uses the runtime askTimeoutMs when the ask gives none', async () => {
    const quick = await Runtime.start({ threads: 1, askTimeoutMs: 30 });
    try {
      const probe = await quick.spawn<ProbeMsg, unknown>(probeUrl);
      const err = await probe.ask({ type: 'slowLog', ms: 300, value: 'late' }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(AskTimeoutError);
      expect((err as AskTimeoutError).timeoutMs).toBe(30);
    } finally {
      await quick.shutdown();
    }
  });

  it('rejects with AskAbortedError when its signal aborts, with the reason as cause', async () => {
    const probe = await rt.spawn<ProbeMsg, unknown>(probeUrl);
    const controller = new AbortController();
    const reason = new Error('the caller gave up');
    const asked = probe.ask({ type: 'slowLog', ms: 200, value: 'x' }, { signal: controller.signal, timeoutMs: 10_000 });
    controller.abort(reason);
    const err = await asked.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AskAbortedError);
    expect((err as AskAbortedError).cause).toBe(reason);
    expect((err as AskAbortedError).actor).toBe(probe.toString());
  });

  it('rejects at once with AskAbortedError for an already-aborted signal, and sends nothing', async () => {
    const probe = await rt.spawn<ProbeMsg, unknown>(probeUrl);
    const err = await probe.ask({ type: 'log', value: 'never' }, { signal: AbortSignal.abort('too late') }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AskAbortedError);
    expect((err as AskAbortedError).cause).toBe('too late');
    expect(await probe.ask({ type: 'history' })).toEqual([]);
  });

  it('rejects with the error a handler throws, rebuilt across threads, and the actor answers the next ask', async () => {
    const probe = await rt.spawn<ProbeMsg, unknown>(probeUrl);
    const failures: ActorFailure[] = [];
    rt.failures.subscribe((failure) => failures.push(failure));

    const plain = await probe.ask({ type: 'throw', message: 'boom 1' }).catch((e: unknown) => e);
    expect(plain).toBeInstanceOf(Error);
    expect((plain as Error).message).toBe('boom 1');

    const typed = await probe.ask({ type: 'throw', message: 'boom 2', kind: 'TypeError' }).catch((e: unknown) => e);
    expect(typed).toBeInstanceOf(TypeError);
    expect((typed as Error).message).toBe('boom 2');

    const thrownValue = await probe.ask({ type: 'throwValue', value: 42 }).catch((e: unknown) => e);
    expect(thrownValue).toBeInstanceOf(Error);
    expect((thrownValue as Error).message).toContain('42');

    await probe.ask({ type: 'log', value: 'still here' });
    expect(await probe.ask({ type: 'history' })).toEqual(['still here']);
    await eventually(
      () => failures.length,
      (n) => n >= 3,
    );
    expect(failures.map((f) => f.error.message)).toEqual(['boom 1', 'boom 2', expect.stringContaining('42')]);
    expect(failures.every((f) => f.phase === 'receive' && f.actor.equals(probe))).toBe(true);
  });

  it('awaits an async handler before the next message (no reentrancy)', async () => {
    const probe = await rt.spawn<ProbeMsg, unknown>(probeUrl);
    probe.tell({ type: 'slowLog', ms: 50, value: 'first' });
    probe.tell({ type: 'log', value: 'second' });
    expect(await probe.ask({ type: 'history' })).toEqual(['start first', 'end first', 'second']);
  });
});

describe('ordering per sender', () => {
  /**
   * Small-ring tests: a hang guard for their asks (they answer in milliseconds
   * when the runtime works), so a lost wake-up fails fast instead of eating
   * the file's time budget.
   */
  const guard = { timeoutMs: 2000 };

  /** Reads a probe's whole log in slices small enough for any ring. */
  async function readLog(probe: ActorRef<ProbeMsg, unknown>, length: number): Promise<unknown[]> {
    const log: unknown[] = [];
    for (let from = 0; from < length; from += 100) {
      log.push(...((await probe.ask({ type: 'historySlice', from, to: from + 100 }, guard)) as unknown[]));
    }
    return log;
  }

  it('delivers tells from the main thread in the order sent', async () => {
    const counter = await rt.spawn<CounterMsg, unknown>(counterUrl);
    const n = 5000;
    for (let i = 0; i < n; i++) expect(counter.tell({ type: 'log', value: i })).toBe(true);
    expect(await counter.ask({ type: 'history' })).toEqual(range(n));
  });

  it('keeps the order when the ring is small and tells back up behind it', async () => {
    const small = await Runtime.start({ threads: 1, ringBytes: 4096 });
    try {
      const probe = await small.spawn<ProbeMsg, unknown>(probeUrl);
      const n = 3000;
      for (let i = 0; i < n; i++) probe.tell({ type: 'log', value: `message number ${i}` });
      expect(await probe.ask({ type: 'historyLength' }, guard)).toBe(n);
      expect(await readLog(probe, n)).toEqual(range(n).map((i) => `message number ${i}`));
    } finally {
      await small.shutdown({ timeoutMs: 1000 });
    }
  });

  it('delivers tells from an actor on thread 0 to an actor on thread 1 in order', async () => {
    const from = await rt.spawn<ProbeMsg, unknown>(probeUrl, undefined, { thread: 0 });
    const to = await rt.spawn<ProbeMsg, unknown>(probeUrl, undefined, { thread: 1 });
    const n = 2000;
    expect(await from.ask({ type: 'relay', to, count: n })).toBe(n);
    expect(await to.ask({ type: 'history' })).toEqual(range(n));
  });

  it('delivers tells between two actors on the same thread in order', async () => {
    const from = await rt.spawn<ProbeMsg, unknown>(probeUrl, undefined, { thread: 1 });
    const to = await rt.spawn<ProbeMsg, unknown>(probeUrl, undefined, { thread: 1 });
    const n = 2000;
    expect(await from.ask({ type: 'relay', to, count: n })).toBe(n);
    expect(await to.ask({ type: 'history' })).toEqual(range(n));
  });

  it('keeps the order from thread 0 to thread 1 when the ring between them is small', async () => {
    const small = await Runtime.start({ threads: 2, ringBytes: 4096 });
    try {
      const from = await small.spawn<ProbeMsg, unknown>(probeUrl, undefined, { thread: 0 });
      const to = await small.spawn<ProbeMsg, unknown>(probeUrl, undefined, { thread: 1 });
      const n = 3000;
      expect(await from.ask({ type: 'relay', to, count: n, prefix: 'relayed message ' }, guard)).toBe(n);
      expect(await readLog(to, n)).toEqual(range(n).map((i) => `relayed message ${i}`));
    } finally {
      await small.shutdown({ timeoutMs: 1000 });
    }
  });

  it('regression (lost wake-up of a backlogged producer): a reply larger than the ring reaches the main thread', async () => {
    const small = await Runtime.start({ threads: 1, ringBytes: 4096 });
    try {
      const probe = await small.spawn<ProbeMsg, unknown>(probeUrl);
      const n = 3000;
      for (let i = 0; i < n; i++) probe.tell({ type: 'log', value: i });
      expect(await probe.ask({ type: 'historyLength' }, guard)).toBe(n);
      // About 15 KB: the worker's backlog must be flushed over several rounds.
      expect(await probe.ask({ type: 'history' }, guard)).toEqual(range(n));
    } finally {
      await small.shutdown({ timeoutMs: 1000 });
    }
  });
});

describe('refs in messages', () => {
  it('lets an actor on thread 0 ask an actor on thread 1 through a ref it received', async () => {
    const asker = await rt.spawn<ProbeMsg, unknown>(probeUrl, undefined, { thread: 0 });
    const leaf = await rt.spawn(leafUrl, { value: 41 }, { thread: 1 });
    expect(await asker.ask({ type: 'askOther', to: leaf, msg: { type: 'value' } })).toBe(41);
  });

  it('hands the main thread a usable ref inside a reply', async () => {
    const probe = await rt.spawn<ProbeMsg, unknown>(probeUrl, undefined, { thread: 1 });
    const self = await probe.ask({ type: 'self' });
    expect(self).toBeInstanceOf(ActorRef);
    expect((self as ActorRef).equals(probe)).toBe(true);
    const child = (await probe.ask({ type: 'spawn', module: leafUrl.href, args: { value: 9 }, options: { thread: 0 } })) as ActorRef<
      { type: 'value' },
      number
    >;
    expect(child).toBeInstanceOf(ActorRef);
    expect(await child.ask({ type: 'value' })).toBe(9);
  });

  it('carries a ref from the main thread in spawn args and in messages', async () => {
    const leaf = await rt.spawn(leafUrl, { value: 3 }, { thread: 0 });
    const probe = await rt.spawn<ProbeMsg, unknown>(probeUrl, { watcher: leaf }, { thread: 1 });
    probe.tell({ type: 'log', value: { ref: leaf } });
    const [entry] = (await probe.ask({ type: 'history' })) as Array<{ ref: ActorRef }>;
    expect(entry.ref.equals(leaf)).toBe(true);
    expect(await entry.ref.ask({ type: 'value' })).toBe(3);
  });
});

describe('ctx.self and ctx.sender', () => {
  it('gives ctx.sender = the telling actor for an actor-to-actor tell', async () => {
    const sender = await rt.spawn<ProbeMsg, unknown>(probeUrl, undefined, { thread: 0 });
    const receiver = await rt.spawn<ProbeMsg, unknown>(probeUrl, undefined, { thread: 1 });
    expect(await sender.ask({ type: 'tellTo', to: receiver, msg: { type: 'recordSender' } })).toBe(true);
    // Asked through the sender: same path as its tell, so it arrives after it.
    const seen = await sender.ask({ type: 'askOther', to: receiver, msg: { type: 'lastSender' } });
    expect(seen).toBeInstanceOf(ActorRef);
    expect((seen as ActorRef).equals(sender)).toBe(true);
  });

  it('gives no ctx.sender for a tell from the main thread, unless one is passed', async () => {
    const receiver = await rt.spawn<ProbeMsg, unknown>(probeUrl);
    receiver.tell({ type: 'recordSender' });
    expect(await receiver.ask({ type: 'lastSender' })).toBeNull();
    const other = await rt.spawn(leafUrl, { value: 1 });
    receiver.tell({ type: 'recordSender' }, { sender: other });
    expect(((await receiver.ask({ type: 'lastSender' })) as ActorRef).equals(other)).toBe(true);
  });

  it('gives ctx.self equal to the ref spawn returned', async () => {
    const probe = await rt.spawn<ProbeMsg, unknown>(probeUrl, undefined, { name: 'myself' });
    const self = (await probe.ask({ type: 'self' })) as ActorRef;
    expect(self.equals(probe)).toBe(true);
    expect(self.name).toBe('myself');
  });
});
