/**
 * The sending side of at-least-once entity delivery, with a scripted
 * `attempt` in place of the cluster and a fake clock: which outcomes confirm
 * a message, which send it again (and when), which end it as a dead letter,
 * an ask's deadline, the cap, and shutdown.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { kMaxTries, kMaxUnconfirmed, type Outcome, Redelivery } from '../src/cluster/redelivery.js';
import {
  ActorCrashedError,
  ActorStoppedError,
  AskTimeoutError,
  EntitySnapshotError,
  EntityUnavailableError,
  HandlerError,
  MailboxFullError,
  MessageTooLargeError,
  NodeUnreachableError,
  SerializationError,
} from '../src/index.js';

interface Try {
  key: string;
  msg: unknown;
  timeoutMs: number;
  done: Outcome;
  at: number;
}

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
});
afterEach(() => {
  vi.useRealTimers();
});

function setup(members: string[] = ['n1', 'n2']) {
  const tries: Try[] = [];
  const letters: Array<{ key: string; msg: unknown; reason: string }> = [];
  let throwNext: Error | undefined;
  // As the real one: `done` once, with AskTimeoutError after timeoutMs (0: none) when nothing else came.
  const attempt = (_module: string, key: string, msg: unknown, timeoutMs: number, done: Outcome) => {
    if (throwNext !== undefined) {
      const error = throwNext;
      throwNext = undefined;
      throw error;
    }
    let settled = false;
    const once: Outcome = (ok, value) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      done(ok, value);
    };
    const timer = timeoutMs > 0 ? setTimeout(() => once(false, new AskTimeoutError('Entity(k)', timeoutMs)), timeoutMs) : undefined;
    tries.push({ key, msg, timeoutMs, done: once, at: performance.now() });
  };
  const r = new Redelivery(
    'n1',
    attempt,
    (node) => members.includes(node),
    (key, msg, reason) => letters.push({ key, msg, reason }),
  );
  return { r, tries, letters, throwOnce: (e: Error) => (throwNext = e) };
}

/** Lets the fake clock run `ms`. */
const pass = (ms: number) => vi.advanceTimersByTimeAsync(ms);

describe('at-least-once redelivery', () => {
  it('keeps a tell until confirmed, with no timeout of its own: the answer, or the handler’s own error, confirms it', async () => {
    const { r, tries } = setup();
    expect(r.tell('m', 'k', 1)).toBe(true);
    expect(r.tell('m', 'k', 2)).toBe(true);
    expect(r.unconfirmed).toBe(2);
    expect(tries.map((t) => t.timeoutMs)).toEqual([0, 0]);
    await pass(60_000); // however long its node takes: no copy is sent
    expect(tries).toHaveLength(2);
    tries[0].done(true, 'ok');
    tries[1].done(false, new TypeError('the handler threw'));
    expect(r.unconfirmed).toBe(0);
    expect(r.redelivered).toBe(0);
  });

  it('sends a tell again at once when its node is gone, after a backoff when a member refused it', async () => {
    const { r, tries } = setup();
    r.tell('m', 'k', 'x');
    tries[0].done(false, new NodeUnreachableError('n3')); // not a member: at once
    await pass(0);
    expect(tries).toHaveLength(2);
    expect(tries[1].msg).toBe('x');
    const refusals = [
      new NodeUnreachableError('n2', 'is shutting down'), // still a member: backoff
      new ActorStoppedError('a'),
      new MailboxFullError('a', 1),
      new EntityUnavailableError('Entity(k)', 'no lease'),
      new EntitySnapshotError('Entity(k)', 'm', 'missing object'),
      new ActorCrashedError('a'),
    ];
    let backoff = 100; // after the second try: 50 ms doubling per try
    for (const error of refusals) {
      const before = tries.length;
      tries[before - 1].done(false, error);
      await pass(backoff - 1);
      expect(tries, error.name).toHaveLength(before);
      await pass(1);
      expect(tries, error.name).toHaveLength(before + 1);
      backoff = Math.min(2000, backoff * 2);
    }
    expect(r.redelivered).toBe(7);
    tries.at(-1)?.done(true, undefined);
    expect(r.unconfirmed).toBe(0);
  });

  it('ends a tell as a dead letter: a message that cannot go, a poison message, and after kMaxTries tries', async () => {
    const { r, tries, letters } = setup();
    r.tell('m', 'big', 1);
    tries.at(-1)?.done(false, new MessageTooLargeError(2_000_000, 1_000_000));
    r.tell('m', 'bad', 2);
    tries.at(-1)?.done(false, new SerializationError('a function', 'msg'));
    r.tell('m', 'crashy', 3);
    tries.at(-1)?.done(false, new ActorCrashedError('a'));
    await pass(50);
    tries.at(-1)?.done(false, new ActorCrashedError('a'));
    expect(letters).toEqual([
      { key: 'big', msg: 1, reason: 'too-large' },
      { key: 'bad', msg: 2, reason: 'undeliverable' },
      { key: 'crashy', msg: 3, reason: 'poison' },
    ]);
    r.tell('m', 'stuck', 4);
    for (let i = 1; i < kMaxTries; i++) {
      tries.at(-1)?.done(false, new ActorStoppedError('a'));
      await pass(2000);
    }
    expect(letters).toHaveLength(3);
    tries.at(-1)?.done(false, new ActorStoppedError('a'));
    expect(letters.at(-1)).toEqual({ key: 'stuck', msg: 4, reason: 'undeliverable' });
    expect(r.unconfirmed).toBe(0);
  });

  it('a message whose first try throws is not kept: tell throws, ask rejects', async () => {
    const { r, throwOnce } = setup();
    throwOnce(new SerializationError('a function', 'msg'));
    expect(() => r.tell('m', 'k', () => 1)).toThrow(SerializationError);
    throwOnce(new SerializationError('a function', 'msg'));
    await expect(r.ask('m', 'k', () => 1, 1000)).rejects.toBeInstanceOf(SerializationError);
    expect(r.unconfirmed).toBe(0);
  });

  it('sends an ask again until its timeout, then rejects with AskTimeoutError; a handler error settles it', async () => {
    const { r, tries } = setup();
    const failed = r.ask('m', 'k', 'q', 150).catch((e: Error) => e);
    expect(tries[0].timeoutMs).toBe(150);
    tries[0].done(false, new ActorStoppedError('a'));
    await pass(50);
    expect(tries).toHaveLength(2);
    expect(tries[1].timeoutMs).toBe(100); // what is left
    tries[1].done(false, new ActorStoppedError('a'));
    await pass(200);
    const timedOut = await failed;
    expect(timedOut).toBeInstanceOf(AskTimeoutError);
    expect(timedOut).toMatchObject({ timeoutMs: 150 });
    expect(r.unconfirmed).toBe(0);
    const handlerFailed = r.ask('m', 'k', 'q', 5000).catch((e: Error) => e);
    const error = new HandlerError('a', { cause: new Error('boom') });
    tries.at(-1)?.done(false, error);
    expect(await handlerFailed).toBe(error);
    const tooBig = r.ask('m', 'k', 'q', 5000).catch((e: Error) => e);
    tries.at(-1)?.done(false, new MessageTooLargeError(2, 1));
    expect(await tooBig).toBeInstanceOf(MessageTooLargeError);
    const answered = r.ask('m', 'k', 'q', 5000);
    const sent = tries.length;
    tries.at(-1)?.done(false, new NodeUnreachableError('n9'));
    await pass(0);
    expect(tries).toHaveLength(sent + 1);
    tries[sent].done(true, 42);
    expect(await answered).toBe(42);
    expect(r.unconfirmed).toBe(0);
  });

  it(`refuses a tell past ${kMaxUnconfirmed} unconfirmed (a dead letter), and an ask with NodeUnreachableError`, async () => {
    const { r, letters } = setup();
    for (let i = 0; i < kMaxUnconfirmed; i++) r.tell('m', 'k', i);
    expect(r.tell('m', 'k', 'one too many')).toBe(false);
    expect(letters).toEqual([{ key: 'k', msg: 'one too many', reason: 'dropped-newest' }]);
    await expect(r.ask('m', 'k', 'q', 1000)).rejects.toBeInstanceOf(NodeUnreachableError);
    r.close();
  });

  it('at shutdown: kept tells become dead letters, kept asks reject; later ones are refused', async () => {
    const { r, tries, letters } = setup();
    r.tell('m', 'k', 'kept');
    const ask = r.ask('m', 'k', 'q', 5000).catch((e: Error) => e);
    r.close();
    expect(letters).toEqual([{ key: 'k', msg: 'kept', reason: 'shutdown' }]);
    expect(await ask).toMatchObject({ name: 'NodeUnreachableError', node: 'n1' });
    tries[0].done(false, new NodeUnreachableError('n3'));
    await pass(10);
    expect(tries).toHaveLength(2); // not sent again after close
    expect(r.tell('m', 'k', 'late')).toBe(false);
    expect(letters.at(-1)).toEqual({ key: 'k', msg: 'late', reason: 'shutdown' });
    expect(r.unconfirmed).toBe(0);
  });
});
