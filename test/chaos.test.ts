/**
 * The chaos test (seeded, replayable): 256 accounts move tokens between each
 * other with idempotent transfers while a killer terminates random pool
 * threads at random moments. Afterwards every transfer the driver saw
 * confirmed is in the balances exactly once (so the total is conserved and
 * nothing accepted was lost or doubled), every ask settled, and the runtime
 * still serves.
 *
 * Retries of idempotent asks would hide a lost or doubled message, so each
 * case also checks what its failure table row in the README promises. With
 * the journal: no ask is rejected or times out (every taken message is
 * replayed and answered), so nothing is retried, and a leg reaches an
 * account twice only as the message being handled at a kill (handed over
 * again): at most once per kill. Without it: taken asks reject with
 * ActorCrashedError and are retried, and a leg comes again only as a retry.
 *
 * Size: CHAOS_KILLS (default 20) kills, CHAOS_SEED (default 20261123) for the
 * random choices; `CHAOS_KILLS=200 npx vitest run test/chaos.test.ts` for a long run.
 */
import { describe, expect, it } from 'vitest';
import { ActorCrashedError, AskTimeoutError, Runtime, type ActorRef } from '../src/index.js';
import type { AccountMsg } from './fixtures/account.js';
import { mulberry32 } from './fixtures/random.js';
import { guarded } from './fixtures/helpers.js';

const kills = Number(process.env.CHAOS_KILLS ?? 20);
const seed = Number(process.env.CHAOS_SEED ?? 20261123);
const kAccounts = 256;
const kStart = 1_000;
const kDrivers = 16;
/**
 * Each transfer holds its thread this long: with instant handlers a kill
 * nearly always finds the journal empty, and a journal that replays nothing
 * would pass unnoticed.
 */
const kWorkMs = 0.2;

const prng = mulberry32;

describe('chaos', () => {
  it.each([
    ['with the journal (taken messages are replayed: no ask lost or rejected, nothing retried)', 1 << 20],
    ['without the journal (taken messages are lost: asks rejected, retried)', 0],
  ])(`conserves the total across ${kills} thread kills (seed ${seed}), %s`, { timeout: 120_000 + kills * 30_000 }, async (_, journalBytes) => {
    const journaled = journalBytes > 0;
    const random = prng(seed);
    // Every kill restarts the accounts on that thread: the root allows that
    // without limit here (the default, 10 a minute, would rightly stop them).
    // With the journal an ask may only time out if its message was lost: the
    // generous bound keeps a slow machine from passing for that.
    const rt = await Runtime.start({
      threads: 2,
      askTimeoutMs: journaled ? 20_000 : 3_000,
      maxAgents: 512,
      supervisor: { maxRestarts: Infinity },
      journalBytes,
    });
    try {
      const accounts: Array<ActorRef<AccountMsg, number>> = [];
      for (let i = 0; i < kAccounts; i++) {
        accounts.push(await rt.spawn<AccountMsg, number>(new URL('./fixtures/account.ts', import.meta.url), { balance: kStart, workMs: kWorkMs }));
      }
      const expected = new Array<number>(kAccounts).fill(kStart);
      let retries = 0;
      let crashedAsks = 0;
      let timedOutAsks = 0;
      /** Applies one leg until it is confirmed: retried after a crash or a timeout (idempotent by id). */
      const apply = async (account: number, id: string, delta: number) => {
        for (;;) {
          try {
            await accounts[account].ask({ type: 'apply', id, delta });
            return;
          } catch (err) {
            if (!(err instanceof ActorCrashedError) && !(err instanceof AskTimeoutError)) throw err;
            if (err instanceof ActorCrashedError) crashedAsks++;
            else timedOutAsks++;
            retries++;
          }
        }
      };
      let done = false;
      let transfers = 0;
      const driver = async (d: number) => {
        let n = 0;
        while (!done) {
          const from = Math.floor(random() * kAccounts);
          const to = (from + 1 + Math.floor(random() * (kAccounts - 1))) % kAccounts;
          const amount = 1 + Math.floor(random() * 50);
          const id = `${d}-${n++}`;
          await apply(from, `${id}-debit`, -amount);
          await apply(to, `${id}-credit`, amount);
          expected[from] -= amount;
          expected[to] += amount;
          transfers++;
        }
      };
      const driverErrors: unknown[] = [];
      const drivers = Array.from({ length: kDrivers }, (_, d) => driver(d).catch((err: unknown) => driverErrors.push(err)));
      const crashes = [];
      for (let k = 0; k < kills; k++) {
        await new Promise((resolve) => setTimeout(resolve, 20 + random() * 150));
        const thread = Math.floor(random() * rt.threads);
        // Hang guards, not timing claims: a failure names what never settled.
        crashes.push(await guarded(rt.killThread(thread), 30_000, `kill ${k + 1} of ${kills} (thread ${thread}): no recovery reported`));
      }
      done = true;
      await guarded(
        Promise.all(drivers),
        60_000,
        `the drivers after the last kill (${transfers} transfers, ${retries} retries, ${timedOutAsks} timed out)`,
      );
      expect(driverErrors).toEqual([]);
      expect(crashes).toHaveLength(kills);
      expect(crashes.every((c) => c.replaced && c.lost.length === 0)).toBe(true);
      expect(transfers).toBeGreaterThan(kills);
      const balances = await Promise.all(accounts.map((a) => a.ask({ type: 'balance' })));
      expect(balances).toEqual(expected);
      expect(balances.reduce((sum, b) => sum + b, 0)).toBe(kAccounts * kStart);
      const repeats = (await Promise.all(accounts.map((a) => a.ask({ type: 'repeats' })))).reduce((sum, n) => sum + n, 0);
      if (journaled) {
        // Only an answer stuck in the dead thread's own outbound backlog may
        // reject; 16 asks in flight never fill a ring, so none does.
        expect({ crashedAsks, timedOutAsks }).toEqual({ crashedAsks: 0, timedOutAsks: 0 });
        expect(repeats).toBeLessThanOrEqual(kills);
      } else {
        expect(repeats).toBeLessThanOrEqual(retries);
      }
      // Still serving: a new actor on every thread.
      for (let thread = 0; thread < rt.threads; thread++) {
        const fresh = await rt.spawn<AccountMsg, number>(new URL('./fixtures/account.ts', import.meta.url), { balance: 5 }, { thread });
        expect(await fresh.ask({ type: 'apply', id: 'x', delta: 1 })).toBe(6);
      }
      console.log(
        `chaos (journalBytes ${journalBytes}): ${kills} kills, ${transfers} transfers, ${retries} retries (${crashedAsks} ActorCrashedError, ${timedOutAsks} timed out), ${repeats} repeated legs`,
      );
    } finally {
      await rt.shutdown();
    }
  });
});
