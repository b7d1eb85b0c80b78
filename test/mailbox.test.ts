/**
 * Bounded mailboxes: each overflow policy, `send` backpressure, and dead
 * letters (stopped, unknown, dropped). The actor under test is held inside a
 * handler by a {@link Gate} so its mailbox fills deterministically.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ActorRef, ActorStoppedError, MailboxFullError, Runtime, type DeadLetter, type OverflowPolicy } from '../src/index.js';
import { Gate, collectDeadLetters, eventually, guarded } from './fixtures/helpers.js';
import type { ProbeMsg } from './fixtures/probe.js';

const probeUrl = new URL('./fixtures/probe.ts', import.meta.url);

let rt: Runtime;
let gates: Gate[];

beforeEach(async () => {
  gates = [];
  rt = await Runtime.start({ threads: 2 });
});

afterEach(async () => {
  // A failed test may leave an actor held: let it go so shutdown can drain.
  for (const gate of gates) gate.release();
  await rt.shutdown();
  for (const gate of gates) gate.close();
});

/** Spawns a probe with a bounded mailbox and holds it busy inside a handler. */
async function spawnHeld(
  runtime: Runtime,
  mailbox: { capacity: number; overflow: OverflowPolicy } | undefined,
  hold: { stopAfter?: boolean } = {},
): Promise<{ ref: ActorRef<ProbeMsg, unknown>; gate: Gate; held: Promise<unknown> }> {
  const ref = await runtime.spawn<ProbeMsg, unknown>(probeUrl, undefined, mailbox === undefined ? undefined : { mailbox });
  const gate = new Gate();
  gates.push(gate);
  const held = ref.ask({ type: 'hold', channel: gate.channel, ...hold }, { timeoutMs: 10_000 });
  await guarded(gate.entered, 5_000, 'the actor entering its hold handler');
  return { ref, gate, held };
}

/**
 * A barrier for "nothing happened": one ask round trip to a fresh actor on
 * every thread, through the same rings as the test's own messages. Whatever
 * the main thread did at once with an earlier send (accept it, write it to a
 * ring) has had its effect by the answers.
 */
async function roundTrip(runtime: Runtime): Promise<void> {
  const neighbours = await Promise.all(
    Array.from({ length: runtime.threads }, (_, thread) => runtime.spawn<ProbeMsg, unknown>(probeUrl, undefined, { thread })),
  );
  await Promise.all(neighbours.map((n) => n.ask({ type: 'history' })));
}

/**
 * Asks once the bounded mailbox has room: right after the held handler returns
 * the queued messages may not have been taken yet, and a full mailbox refuses
 * the ask by design.
 */
async function askWhenRoom(ref: ActorRef<ProbeMsg, unknown>, msg: ProbeMsg): Promise<unknown> {
  let answer: unknown;
  await eventually(
    () =>
      ref.ask(msg).then(
        (value) => {
          answer = value;
          return true;
        },
        (err: unknown) => {
          if (err instanceof MailboxFullError) return false;
          throw err;
        },
      ),
    (answered) => answered,
  );
  return answer;
}

const logged = (letters: DeadLetter[]) => letters.map((l) => (l.message as { value?: unknown }).value);

describe("overflow 'reject'", () => {
  it('makes tell return false and ask reject with MailboxFullError once the mailbox is full', async () => {
    const { ref, gate, held } = await spawnHeld(rt, { capacity: 2, overflow: 'reject' });
    expect(ref.tell({ type: 'log', value: 1 })).toBe(true);
    expect(ref.tell({ type: 'log', value: 2 })).toBe(true);
    expect(ref.tell({ type: 'log', value: 3 })).toBe(false);
    const err = await ref.ask({ type: 'log', value: 'asked' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MailboxFullError);
    expect((err as MailboxFullError).capacity).toBe(2);
    expect((err as MailboxFullError).actor).toBe(ref.toString());
    gate.release();
    expect(await held).toBe('released');
    expect(await askWhenRoom(ref, { type: 'history' })).toEqual([1, 2]);
    // Room again once the queue drained.
    expect(ref.tell({ type: 'log', value: 4 })).toBe(true);
    expect(await ref.ask({ type: 'history' })).toEqual([1, 2, 4]);
  });

  it('applies a runtime-wide default mailbox to spawned actors', async () => {
    const bounded = await Runtime.start({ threads: 1, mailbox: { capacity: 1, overflow: 'reject' } });
    try {
      const { ref, gate, held } = await spawnHeld(bounded, undefined);
      expect(ref.tell({ type: 'log', value: 1 })).toBe(true);
      expect(ref.tell({ type: 'log', value: 2 })).toBe(false);
      gate.release();
      await held;
      expect(await askWhenRoom(ref, { type: 'history' })).toEqual([1]);
    } finally {
      for (const gate of gates) gate.release();
      await bounded.shutdown();
    }
  });

  it('lets a spawn option override the runtime default', async () => {
    const bounded = await Runtime.start({ threads: 1, mailbox: { capacity: 1, overflow: 'reject' } });
    try {
      const { ref, gate, held } = await spawnHeld(bounded, { capacity: 3, overflow: 'reject' });
      expect([1, 2, 3, 4].map((value) => ref.tell({ type: 'log', value }))).toEqual([true, true, true, false]);
      gate.release();
      await held;
      expect(await askWhenRoom(ref, { type: 'history' })).toEqual([1, 2, 3]);
    } finally {
      for (const gate of gates) gate.release();
      await bounded.shutdown();
    }
  });
});

describe("overflow 'drop-newest'", () => {
  it('drops the new message as a dead letter with reason dropped-newest', async () => {
    const letters = collectDeadLetters(rt);
    const { ref, gate, held } = await spawnHeld(rt, { capacity: 2, overflow: 'drop-newest' });
    ref.tell({ type: 'log', value: 1 });
    ref.tell({ type: 'log', value: 2 });
    expect(ref.tell({ type: 'log', value: 3 })).toBe(false);
    expect(letters).toHaveLength(1);
    expect(letters[0].reason).toBe('dropped-newest');
    expect(letters[0].message).toEqual({ type: 'log', value: 3 });
    expect(letters[0].recipient.equals(ref)).toBe(true);
    const err = await ref.ask({ type: 'log', value: 'asked' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MailboxFullError);
    expect(logged(letters)).toEqual([3, 'asked']);
    expect(letters.every((l) => l.reason === 'dropped-newest')).toBe(true);
    gate.release();
    await held;
    expect(await askWhenRoom(ref, { type: 'history' })).toEqual([1, 2]);
  });
});

describe("overflow 'drop-oldest'", () => {
  // Any message sent to a full drop-oldest mailbox evicts one, so these tests
  // learn that the queue drained from a last message that reports to a
  // watcher, never by asking the actor under test.
  it('dead-letters the oldest queued messages with reason dropped-oldest and keeps the newest', async () => {
    const letters = collectDeadLetters(rt);
    const watcher = await rt.spawn<ProbeMsg, unknown>(probeUrl);
    const { ref, gate, held } = await spawnHeld(rt, { capacity: 2, overflow: 'drop-oldest' });
    for (const value of [1, 2, 3, 4]) expect(ref.tell({ type: 'log', value })).toBe(true);
    expect(ref.tell({ type: 'tellTo', to: watcher, msg: { type: 'log', value: 'drained' } })).toBe(true);
    await eventually(
      () => letters.length,
      (n) => n >= 3,
    );
    expect(letters.every((l) => l.reason === 'dropped-oldest' && l.recipient.equals(ref))).toBe(true);
    expect(logged(letters)).toEqual([1, 2, 3]);
    gate.release();
    await held;
    await eventually(
      () => watcher.ask({ type: 'history' }),
      (log) => (log as unknown[]).length > 0,
    );
    expect(await ref.ask({ type: 'history' })).toEqual([4]);
    expect(logged(letters)).toEqual([1, 2, 3]);
  });

  it('rejects an ask that was dropped with MailboxFullError', async () => {
    const letters = collectDeadLetters(rt);
    const watcher = await rt.spawn<ProbeMsg, unknown>(probeUrl);
    const { ref, gate, held } = await spawnHeld(rt, { capacity: 2, overflow: 'drop-oldest' });
    const dropped = ref.ask({ type: 'log', value: 'asked' }, { timeoutMs: 10_000 }).catch((e: unknown) => e);
    ref.tell({ type: 'log', value: 1 });
    ref.tell({ type: 'tellTo', to: watcher, msg: { type: 'log', value: 'drained' } });
    const err = await dropped;
    expect(err).toBeInstanceOf(MailboxFullError);
    expect((err as MailboxFullError).capacity).toBe(2);
    expect((err as MailboxFullError).actor).toBe(ref.toString());
    await eventually(
      () => letters.length,
      (n) => n >= 1,
    );
    expect(letters[0].reason).toBe('dropped-oldest');
    expect(letters[0].message).toEqual({ type: 'log', value: 'asked' });
    gate.release();
    await held;
    await eventually(
      () => watcher.ask({ type: 'history' }),
      (log) => (log as unknown[]).length > 0,
    );
    expect(await ref.ask({ type: 'history' })).toEqual([1]);
  });
});

describe('send (backpressure)', () => {
  it('waits while the mailbox is full, resolves once room appears, and every sent message arrives', async () => {
    const { ref, gate, held } = await spawnHeld(rt, { capacity: 2, overflow: 'reject' });
    ref.tell({ type: 'log', value: 1 });
    ref.tell({ type: 'log', value: 2 });
    let sentCount = 0;
    const sending = (async () => {
      for (const value of [3, 4, 5, 6]) {
        await ref.send({ type: 'log', value });
        sentCount++;
      }
    })();
    // The actor is held, so no room can appear: the first send must still wait.
    await roundTrip(rt);
    expect(sentCount).toBe(0);
    gate.release();
    await sending;
    expect(sentCount).toBe(4);
    await held;
    expect(await askWhenRoom(ref, { type: 'history' })).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it("waits under 'drop-newest' too, instead of dropping", async () => {
    const letters = collectDeadLetters(rt);
    const { ref, gate, held } = await spawnHeld(rt, { capacity: 1, overflow: 'drop-newest' });
    ref.tell({ type: 'log', value: 1 });
    let sent = false;
    const sending = ref.send({ type: 'log', value: 2 }).then(() => {
      sent = true;
    });
    await roundTrip(rt);
    expect(sent).toBe(false);
    gate.release();
    await sending;
    await held;
    expect(letters).toEqual([]);
    expect(await askWhenRoom(ref, { type: 'history' })).toEqual([1, 2]);
  });

  it('resolves at once while there is room', async () => {
    const ref = await rt.spawn<ProbeMsg, unknown>(probeUrl, undefined, { mailbox: { capacity: 4, overflow: 'reject' } });
    await ref.send({ type: 'log', value: 'a' });
    await ref.send({ type: 'log', value: 'b' });
    expect(await ref.ask({ type: 'history' })).toEqual(['a', 'b']);
  });

  it('rejects with ActorStoppedError for a stopped actor', async () => {
    const ref = await rt.spawn<ProbeMsg, unknown>(probeUrl);
    await rt.stop(ref);
    await expect(ref.send({ type: 'log', value: 'x' })).rejects.toBeInstanceOf(ActorStoppedError);
  });
});

describe('dead letters', () => {
  it("publishes a tell to a stopped actor with reason 'stopped'", async () => {
    const letters = collectDeadLetters(rt);
    const ref = await rt.spawn<ProbeMsg, unknown>(probeUrl);
    await rt.stop(ref);
    expect(ref.tell({ type: 'log', value: 'late' })).toBe(false);
    expect(letters).toHaveLength(1);
    expect(letters[0]).toMatchObject({ reason: 'stopped', message: { type: 'log', value: 'late' }, sender: undefined });
    expect(letters[0].recipient.equals(ref)).toBe(true);
    expect(rt.stats().deadLetters).toBe(1);
  });

  it("publishes a tell to a ref no actor ever had with reason 'unknown'", async () => {
    const letters = collectDeadLetters(rt);
    const beyond = new ActorRef(999, 7, undefined);
    const neverUsed = new ActorRef(200, 7, undefined);
    expect(beyond.tell('hello')).toBe(false);
    expect(neverUsed.tell('hello')).toBe(false);
    expect(letters.map((l) => l.reason)).toEqual(['unknown', 'unknown']);
    expect(letters[0].recipient).toBe(beyond);
    await expect(beyond.ask('hello')).rejects.toBeInstanceOf(ActorStoppedError);
  });

  it('rejects an ask to a stopped actor with ActorStoppedError', async () => {
    const ref = await rt.spawn<ProbeMsg, unknown>(probeUrl);
    await rt.stop(ref);
    const err = await ref.ask({ type: 'history' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ActorStoppedError);
    expect((err as ActorStoppedError).actor).toBe(ref.toString());
  });

  it('turns the messages queued when an actor stops into dead letters, and rejects queued asks', async () => {
    const letters = collectDeadLetters(rt);
    // The held handler calls ctx.stop() when released: whatever queued behind it is never handled.
    const { ref, gate, held } = await spawnHeld(rt, undefined, { stopAfter: true });
    ref.tell({ type: 'log', value: 1 });
    ref.tell({ type: 'log', value: 2 });
    const queuedAsk = ref.ask({ type: 'history' }, { timeoutMs: 10_000 }).catch((e: unknown) => e);
    gate.release();
    expect(await held).toBe('released');
    expect(await queuedAsk).toBeInstanceOf(ActorStoppedError);
    await eventually(
      () => letters.length,
      (n) => n >= 3,
    );
    expect(letters.every((l) => l.reason === 'stopped' && l.recipient.equals(ref))).toBe(true);
    expect(letters.map((l) => l.message)).toEqual([{ type: 'log', value: 1 }, { type: 'log', value: 2 }, { type: 'history' }]);
  });

  it('reports the sender of a dead letter sent by an actor', async () => {
    const letters = collectDeadLetters(rt);
    const target = await rt.spawn<ProbeMsg, unknown>(probeUrl, undefined, { thread: 1 });
    const sender = await rt.spawn<ProbeMsg, unknown>(probeUrl, undefined, { thread: 0 });
    await rt.stop(target);
    expect(await sender.ask({ type: 'tellTo', to: target, msg: 'too late' })).toBe(false);
    await eventually(
      () => letters.length,
      (n) => n >= 1,
    );
    expect(letters[0].reason).toBe('stopped');
    expect(letters[0].message).toBe('too late');
    expect(letters[0].sender?.equals(sender)).toBe(true);
    expect(letters[0].recipient.equals(target)).toBe(true);
  });
});
