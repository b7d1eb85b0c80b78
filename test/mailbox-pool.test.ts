/**
 * The mailbox pool (actors/mailbox.ts): the shared empty mailbox and the
 * per-thread spare list. A fast-check property drives several actors'
 * mailboxes through first messages, handling and stops against a model of
 * plain queues: every mailbox keeps its own messages in order, a mailbox
 * handed out is never one still in use, and a reused one starts empty.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { emptyMailbox, kNoReply, recycleMailbox, takeMailbox, type Mailbox } from '../src/actors/mailbox.js';

const seed = Number(process.env.MAILBOX_POOL_SEED ?? 0x0a11_b0c5);

type Op = { kind: 'push'; actor: number; count: number } | { kind: 'take'; actor: number; count: number } | { kind: 'stop'; actor: number };

const actors = 6;
const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant('push' as const), actor: fc.integer({ min: 0, max: actors - 1 }), count: fc.integer({ min: 1, max: 40 }) }),
  fc.record({ kind: fc.constant('take' as const), actor: fc.integer({ min: 0, max: actors - 1 }), count: fc.integer({ min: 1, max: 40 }) }),
  fc.record({ kind: fc.constant('stop' as const), actor: fc.integer({ min: 0, max: actors - 1 }) }),
);

/** Takes the oldest message, as the dispatcher does (read in place, then drop). */
function takeOne(mailbox: Mailbox): unknown {
  const at = mailbox.peekIndex();
  const msg = mailbox.msgAt(at);
  mailbox.drop();
  return msg;
}

describe('mailbox pool', () => {
  it('keeps each mailbox its own, in order, and hands out only empty mailboxes nobody uses', () => {
    fc.assert(
      fc.property(fc.array(op, { minLength: 1, maxLength: 60 }), (ops) => {
        const boxes: Mailbox[] = Array.from({ length: actors }, () => emptyMailbox);
        const model: number[][] = Array.from({ length: actors }, () => []);
        let next = 0;
        for (const o of ops) {
          const box = boxes[o.actor];
          if (o.kind === 'push') {
            if (box === emptyMailbox) {
              const fresh = takeMailbox();
              expect(fresh).not.toBe(emptyMailbox);
              expect(fresh.length).toBe(0);
              expect(boxes.includes(fresh)).toBe(false);
              boxes[o.actor] = fresh;
            }
            for (let i = 0; i < o.count; i++) {
              boxes[o.actor].push(next, undefined, kNoReply);
              model[o.actor].push(next++);
            }
          } else if (o.kind === 'take') {
            for (let i = 0; i < o.count && box.length > 0; i++) expect(takeOne(box)).toBe(model[o.actor].shift());
          } else {
            // A stop: what is left becomes dead letters, then the mailbox goes back.
            box.takeEach(() => undefined);
            model[o.actor].length = 0;
            recycleMailbox(box);
            boxes[o.actor] = emptyMailbox;
          }
          expect(boxes[o.actor].length).toBe(model[o.actor].length);
        }
        for (let a = 0; a < actors; a++) for (const want of model[a]) expect(takeOne(boxes[a])).toBe(want);
        expect(emptyMailbox.length).toBe(0);
      }),
      { seed, numRuns: 200 },
    );
  });

  it('refuses a message pushed into the shared empty mailbox, which stays empty', () => {
    expect(() => emptyMailbox.push('lost', undefined, kNoReply)).toThrow(/shared empty mailbox/);
    expect(emptyMailbox.length).toBe(0);
  });

  it('keeps no mailbox that still holds messages, nor the shared one', () => {
    const busy = takeMailbox();
    busy.push('left', undefined, kNoReply);
    recycleMailbox(busy);
    recycleMailbox(emptyMailbox);
    const taken = [takeMailbox(), takeMailbox()];
    expect(taken).not.toContain(busy);
    expect(taken).not.toContain(emptyMailbox);
  });
});
