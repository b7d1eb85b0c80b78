/**
 * The chaos test (seeded, replayable): 256 accounts move tokens between each
 * other with idempotent transfers while a killer terminates random pool
 * threads at random moments. Afterwards every transfer the driver saw
 * confirmed is in the balances exactly once (so the total is conserved and
 * nothing accepted was lost or doubled), every ask settled, and the runtime
 * still serves.
 *
 * Size: CHAOS_KILLS (default 20) kills, CHAOS_SEED (default 20261123) for the
 * random choices; `CHAOS_KILLS=200 npx vitest run test/chaos.test.ts` for a long run.
 */
import { describe, expect, it } from 'vitest';
import { ActorCrashedError, AskTimeoutError, Runtime, type ActorRef } from '../src/index.js';
import type { AccountMsg } from './fixtures/account.js';
import { mulberry32 } from './fixtures/random.js';

const kills = Number(process.env.CHAOS_KILLS ?? 20);
const seed = Number(process.env.CHAOS_SEED ?? 20261123);
const kAccounts = 256;
const kStart = 1_000;
const kDrivers = 16;

const prng = mulberry32;

describe('chaos', () => {
  it.each([
    ['with the journal (taken messages are replayed)', 1 << 20],
    ['without the journal (taken messages are lost: asks rejected, retried)', 0],
  ])(`conserves the total across ${kills} thread kills (seed ${seed}), %s`, { timeout: 60_000 + kills * 3_000 }, async (_, journalBytes) => {
    const random = prng(seed);
    // Every kill restarts the accounts on that thread: the root allows that
    // without limit here (the default, 10 a minute, would rightly stop them).
    const rt = await Runtime.start({ threads: 2, askTimeoutMs: 3_000, maxAgents: 512, supervisor: { maxRestarts: Infinity }, journalBytes });
    try {
      const accounts: Array<ActorRef<AccountMsg, number>> = [];
      for (let i = 0; i < kAccounts; i++) {
        accounts.push(await rt.spawn<AccountMsg, number>(new URL('./fixtures/account.ts', import.meta.url), { balance: kStart }));
      }
      const expected = new Array<number>(kAccounts).fill(kStart);
      let retries = 0;
      let crashedAsks = 0;
      /** Applies one leg until it is confirmed: retried after a crash or a timeout (idempotent by id). */
      const apply = async (account: number, id: string, delta: number) => {
        for (;;) {
          try {
            await accounts[account].ask({ type: 'apply', id, delta });
            return;
          } catch (err) {
            if (!(err instanceof ActorCrashedError) && !(err instanceof AskTimeoutError)) throw err;
            if (err instanceof ActorCrashedError) crashedAsks++;
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
        crashes.push(await rt.killThread(Math.floor(random() * rt.threads)));
      }
      done = true;
      await Promise.all(drivers);
      expect(driverErrors).toEqual([]);
      expect(crashes).toHaveLength(kills);
      expect(crashes.every((c) => c.replaced && c.lost.length === 0)).toBe(true);
      expect(transfers).toBeGreaterThan(kills);
      const balances = await Promise.all(accounts.map((a) => a.ask({ type: 'balance' })));
      expect(balances).toEqual(expected);
      expect(balances.reduce((sum, b) => sum + b, 0)).toBe(kAccounts * kStart);
      // Still serving: a new actor on every thread.
      for (let thread = 0; thread < rt.threads; thread++) {
        const fresh = await rt.spawn<AccountMsg, number>(new URL('./fixtures/account.ts', import.meta.url), { balance: 5 }, { thread });
        expect(await fresh.ask({ type: 'apply', id: 'x', delta: 1 })).toBe(6);
      }
      console.log(`chaos (journalBytes ${journalBytes}): ${kills} kills, ${transfers} transfers, ${retries} retries (${crashedAsks} ActorCrashedError)`);
    } finally {
      await rt.shutdown();
    }
  });
});
