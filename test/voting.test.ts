/**
 * The vote tally (src/swarm/voting.ts) against every faulty-voter behaviour,
 * at f and at f + 1 faulty members, for both truths: with at most f faulty
 * voters a bft proposal decides what the honest members say; with f + 1 it
 * decides that or nothing, never the opposite. Then mixed faults, generated.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { readAnswer, settled, tally, thresholds, type Answers } from '../src/swarm/voting.js';

const faults = ['silent', 'slow', 'always-reject', 'random', 'duplicate', 'wrong-proposal', 'equivocate', 'liar', 'impersonate', 'throws'] as const;
type Fault = (typeof faults)[number];

/** What a member with `fault` answers in each of `rounds` rounds (as the swarm collects it). */
function answersOf(fault: Fault | undefined, valid: boolean, rounds: number, random: () => number): unknown[] {
  const honest = { approve: valid, reason: valid ? 'valid' : 'invalid' };
  const out: unknown[] = [];
  for (let r = 1; r <= rounds; r++) {
    switch (fault) {
      case undefined:
        out.push(honest);
        break;
      case 'silent':
      case 'slow':
        out.push(undefined);
        break;
      case 'always-reject':
        out.push({ approve: false });
        break;
      case 'random':
        out.push(random() < 0.5);
        break;
      case 'duplicate':
        out.push({ approve: !valid });
        break; // the runtime keeps only the first answer to an ask
      case 'wrong-proposal':
        out.push({ approve: !valid, proposal: 'other#7' });
        break;
      case 'equivocate':
        out.push({ approve: r === 1 ? valid : !valid });
        break;
      case 'liar':
        out.push({ approve: !valid });
        break;
      case 'impersonate':
        out.push({ approve: !valid, member: 'Actor(0.1)' });
        break;
      case 'throws':
        out.push(new Error('broke'));
        break;
    }
  }
  return out;
}

function ballot(n: number, faulty: Array<Fault | undefined>, valid: boolean, rounds: number, seed = 1): Answers[] {
  let a = seed;
  const random = () => (a = (a * 16807) % 2147483647) / 2147483647;
  return Array.from({ length: n }, (_, i) => ({ member: `m${i}`, rounds: answersOf(faulty[i], valid, rounds, random), ms: 1 }));
}

describe('bft tally', () => {
  for (const n of [4, 7, 10]) {
    const f = Math.floor((n - 1) / 3);
    for (const fault of faults) {
      it(`n=${n}: ${f} '${fault}' voters cannot stop the right decision; ${f + 1} cannot make a wrong one`, () => {
        for (const valid of [true, false]) {
          const right = valid ? 'approved' : 'rejected';
          const wrong = valid ? 'rejected' : 'approved';
          for (let seed = 1; seed <= 20; seed++) {
            const atF = tally(
              'bft',
              'p#1',
              ballot(
                n,
                Array.from({ length: n }, (_, i) => (i < f ? fault : undefined)),
                valid,
                2,
                seed,
              ),
            );
            expect(atF.outcome).toBe(right);
            const beyond = tally(
              'bft',
              'p#1',
              ballot(
                n,
                Array.from({ length: n }, (_, i) => (i < f + 1 ? fault : undefined)),
                valid,
                2,
                seed,
              ),
            );
            expect(beyond.outcome).not.toBe(wrong);
            if (!['random'].includes(fault) && !(fault === 'always-reject' && !valid)) expect(beyond.outcome).toBe('undecided');
          }
        }
      });
    }
  }

  it('records the evidence: every vote, the silent, the faulty and why', () => {
    const result = tally('bft', 'p#1', ballot(7, ['silent', 'equivocate', 'wrong-proposal', 'throws'], true, 2));
    expect(result.silent).toEqual(['m0']);
    expect(result.faulty).toEqual(['m1', 'm2', 'm3']);
    expect(result.votes.find((v) => v.member === 'm1')).toMatchObject({ valid: false, fault: 'equivocation' });
    expect(result.votes.find((v) => v.member === 'm2')).toMatchObject({ valid: false, fault: 'wrong-proposal' });
    expect(result.votes.find((v) => v.member === 'm3')).toMatchObject({ valid: false, fault: 'error' });
    expect(result).toMatchObject({ approvals: 3, rejections: 0, outcome: 'undecided', tolerated: 2, needed: { approve: 5, reject: 5 } });
  });

  it('mixed faults, generated: never the wrong decision with up to f + 1 of them, and the right one with up to f', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 4, max: 13 }),
        fc.boolean(),
        fc.array(fc.constantFrom(...faults), { minLength: 1, maxLength: 5 }),
        fc.integer({ min: 1, max: 1000 }),
        (n, valid, kinds, seed) => {
          const f = Math.floor((n - 1) / 3);
          const count = Math.min(kinds.length, f + 1);
          const faulty = Array.from({ length: n }, (_, i) => (i < count ? kinds[i] : undefined));
          const outcome = tally('bft', 'p#1', ballot(n, faulty, valid, 2, seed)).outcome;
          expect(outcome).not.toBe(valid ? 'rejected' : 'approved');
          if (count <= f) expect(outcome).toBe(valid ? 'approved' : 'rejected');
        },
      ),
      { seed: 42, numRuns: 300 },
    );
  });
});

describe('bft thresholds (regressions)', () => {
  it('n = 3 (f = 0): one liar against two honest rejections cannot approve', () => {
    const answers: Answers[] = [
      { member: 'h1', rounds: [{ approve: false }, { approve: false }], ms: 1 },
      { member: 'h2', rounds: [{ approve: false }, { approve: false }], ms: 1 },
      { member: 'liar', rounds: [{ approve: true }, { approve: true }], ms: 1 },
    ];
    expect(tally('bft', 'p', answers).outcome).toBe('rejected');
  });

  it('n = 6 (f = 1): honest members split 2/3 plus one liar approving is undecided, not approved (quorums must intersect in an honest member)', () => {
    const vote = (member: string, approve: boolean): Answers => ({ member, rounds: [{ approve }, { approve }], ms: 1 });
    const result = tally('bft', 'p', [vote('a', true), vote('b', true), vote('c', false), vote('d', false), vote('e', false), vote('liar', true)]);
    expect(thresholds('bft', 6)).toMatchObject({ approve: 4, reject: 4, tolerated: 1 });
    expect(result.outcome).toBe('undecided');
  });

  it('for every n from 1 to 40, two bft quorums share more than f members', () => {
    for (let n = 1; n <= 40; n++) {
      const { approve, tolerated } = thresholds('bft', n);
      expect(2 * approve - n, `n=${n}`).toBeGreaterThan(tolerated as number);
      expect(n - (tolerated as number), `n=${n}`).toBeGreaterThanOrEqual(approve); // the honest can decide alone
    }
  });
});

describe('other quorums', () => {
  it('majority, unanimous and a number decide by their thresholds; short of them it is undecided', () => {
    expect(thresholds('majority', 7)).toMatchObject({ approve: 4, reject: 4 });
    expect(thresholds('majority', 6)).toMatchObject({ approve: 4, reject: 3 });
    expect(tally('majority', 'p', ballot(7, ['liar', 'liar', 'liar'], true, 1)).outcome).toBe('approved');
    expect(tally('majority', 'p', ballot(7, ['silent', 'silent', 'silent', 'silent'], true, 1)).outcome).toBe('undecided');
    expect(tally('unanimous', 'p', ballot(5, [], true, 1)).outcome).toBe('approved');
    expect(tally('unanimous', 'p', ballot(5, ['liar'], true, 1)).outcome).toBe('rejected');
    expect(tally('unanimous', 'p', ballot(5, ['silent'], true, 1)).outcome).toBe('undecided');
    expect(tally(3, 'p', ballot(5, ['silent', 'silent'], true, 1)).outcome).toBe('approved');
    expect(tally(3, 'p', ballot(5, ['silent', 'silent', 'silent'], true, 1)).outcome).toBe('undecided');
    expect(tally(3, 'p', ballot(5, [], false, 1)).outcome).toBe('rejected');
  });

  it('a number quorum: that many approvals approve, n - quorum + 1 rejections reject', () => {
    expect(thresholds(4, 5)).toMatchObject({ approve: 4, reject: 2, tolerated: undefined });
    expect(tally(4, 'p', ballot(5, ['liar', 'liar'], true, 1)).outcome).toBe('rejected');
  });

  it('reads an answer: a boolean, or { approve, reason?, proposal? }; anything else is a fault', () => {
    expect(readAnswer(true, 'p#1')).toEqual({ approve: true, reason: undefined });
    expect(readAnswer({ approve: false, reason: 'too costly', proposal: 'p#1' }, 'p#1')).toEqual({ approve: false, reason: 'too costly' });
    expect(readAnswer({ approve: true, reason: 42 }, 'p#1')).toEqual({ approve: true, reason: undefined });
    expect(readAnswer({ approve: true, proposal: 'p#2' }, 'p#1')).toEqual({ fault: 'wrong-proposal' });
    expect(readAnswer(new Error('broke'), 'p#1')).toEqual({ fault: 'error' });
    for (const malformed of [null, undefined, 'yes', 1, {}, { approve: 'yes' }])
      expect(readAnswer(malformed, 'p#1'), String(malformed)).toEqual({ fault: 'malformed' });
    const result = tally('majority', 'p#1', [
      { member: 'a', rounds: [{ approve: true, reason: 'fine' }], ms: 1 },
      { member: 'b', rounds: ['yes'], ms: 1 },
      { member: 'c', rounds: [undefined], ms: undefined },
    ]);
    expect(result).toMatchObject({ approvals: 1, rejections: 0, silent: ['c'], pending: [], faulty: ['b'] });
    expect(result.votes).toEqual([
      { member: 'a', approve: true, reason: 'fine', valid: true, fault: undefined, ms: 1 },
      { member: 'b', approve: undefined, reason: undefined, valid: false, fault: 'malformed', ms: 1 },
    ]);
  });

  it('settles early once the outcome cannot change (never under bft, which waits to catch equivocation)', () => {
    expect(settled('majority', 4, 0, 7)).toBe(true);
    expect(settled('majority', 3, 3, 7)).toBe(false);
    expect(settled('unanimous', 0, 1, 7)).toBe(true);
    expect(settled('bft', 7, 0, 7)).toBe(false);
  });
});
