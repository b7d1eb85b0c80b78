/**
 * The sending side of at-least-once entity delivery, with a scripted
 * `attempt` in place of the cluster: which outcomes confirm a message, which
 * send it again (and when), an ask's deadline, the cap, and shutdown.
 */
import { describe, expect, it } from 'vitest';
import { ActorStoppedError, AskTimeoutError, EntityUnavailableError, HandlerError, MailboxFullError, NodeUnreachableError } from '../src/index.js';
import { kMaxUnconfirmed, type Outcome, Redelivery } from '../src/cluster/redelivery.js';
import { eventually } from './fixtures/helpers.js';

interface Try {
  key: string;
  msg: unknown;
  timeoutMs: number;
  done: Outcome;
  at: number;
}

function setup(askTimeoutMs = 1000) {
  const tries: Try[] = [];
  const letters: Array<{ key: string; msg: unknown; reason: string }> = [];
  // As the real one: `done` once, with AskTimeoutError after timeoutMs when nothing else came.
  const attempt = (_module: string, key: string, msg: unknown, timeoutMs: number, done: Outcome) => {
    let settled = false;
    const once: Outcome = (ok, value) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      done(ok, value);
    };
    const timer = setTimeout(() => once(false, new AskTimeoutError('Entity(k)', timeoutMs)), timeoutMs);
    tries.push({ key, msg, timeoutMs, done: once, at: performance.now() });
  };
  const r = new Redelivery('n1', attempt, askTimeoutMs, (key, msg, reason) => letters.push({ key, msg, reason }));
  return { r, tries, letters };
}

describe('at-least-once redelivery', () => {
  it('keeps a tell until confirmed: the answer, or the handler’s own error, confirms it', () => {
    const { r, tries } = setup();
    expect(r.tell('m', 'k', 1)).toBe(true);
    expect(r.tell('m', 'k', 2)).toBe(true);
    expect(r.unconfirmed).toBe(2);
    expect(tries.map((t) => t.timeoutMs)).toEqual([1000, 1000]);
    tries[0].done(true, 'ok');
    tries[1].done(false, new TypeError('the handler threw'));
    expect(r.unconfirmed).toBe(0);
    expect(r.redelivered).toBe(0);
    expect(tries).toHaveLength(2);
  });

  it('sends a tell again at once when its node is gone, and after a backoff when it was refused', async () => {
    const { r, tries } = setup();
    r.tell('m', 'k', 'x');
    tries[0].done(false, new NodeUnreachableError('n2'));
    await eventually(
      () => tries.length,
      (n) => n === 2,
    );
    expect(tries[1].msg).toBe('x');
    for (const error of [
      new ActorStoppedError('a'),
      new MailboxFullError('a', 1),
      new EntityUnavailableError('Entity(k)', 'no lease'),
      new AskTimeoutError('a', 1),
    ]) {
      const before = tries.length;
      const from = performance.now();
      tries[before - 1].done(false, error);
      await eventually(
        () => tries.length,
        (n) => n === before + 1,
      );
      expect(tries[before].at - from).toBeGreaterThanOrEqual(40); // backoff: 50 ms, doubling
    }
    expect(r.redelivered).toBe(5);
    tries.at(-1)?.done(true, undefined);
    expect(r.unconfirmed).toBe(0);
  });

  it('sends an ask again until its timeout, then rejects with AskTimeoutError; a handler error settles it', async () => {
    const { r, tries } = setup();
    const failed = r.ask('m', 'k', 'q', 150).catch((e: Error) => e);
    expect(tries[0].timeoutMs).toBeLessThanOrEqual(150);
    tries[0].done(false, new ActorStoppedError('a'));
    await eventually(
      () => tries.length,
      (n) => n === 2,
    );
    // Not handled again, then no answer: the deadline passes.
    tries[1].done(false, new ActorStoppedError('a'));
    const timedOut = await failed;
    expect(timedOut).toBeInstanceOf(AskTimeoutError);
    expect(timedOut).toMatchObject({ timeoutMs: 150 });
    expect(r.unconfirmed).toBe(0);
    const handlerFailed = r.ask('m', 'k', 'q', 5000).catch((e: Error) => e);
    const error = new HandlerError('a', { cause: new Error('boom') });
    tries.at(-1)?.done(false, error);
    expect(await handlerFailed).toBe(error);
    const answered = r.ask('m', 'k', 'q', 5000);
    const sent = tries.length;
    tries.at(-1)?.done(false, new NodeUnreachableError('n2'));
    await eventually(
      () => tries.length,
      (n) => n === sent + 1,
    );
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
    tries[0].done(false, new NodeUnreachableError('n2'));
    await new Promise((resolve) => setImmediate(resolve));
    expect(tries).toHaveLength(2); // not sent again after close
    expect(r.tell('m', 'k', 'late')).toBe(false);
    expect(letters.at(-1)).toEqual({ key: 'k', msg: 'late', reason: 'shutdown' });
    expect(r.unconfirmed).toBe(0);
  });
});
