/**
 * `npm run example:resilience`: let it crash. 128 bank accounts on 2 pool
 * threads move money between each other while a pool thread is killed every
 * 400 ms (rt.killThread, as a crash would). The runtime replaces each dead
 * thread, brings its accounts back in the same refs from their last
 * checkpoint, replays the messages the dead thread had taken (its journal),
 * and answers the asks that were waiting. At the end every balance is
 * checked against the transfers this script saw confirmed.
 */
import { Runtime, ActorCrashedError, type ActorRef } from '../src/index.js';
import type { AccountMsg } from './actors/bank-account.js';

const accountsCount = 128;
const start = 1_000;
const kills = 8;

const rt = await Runtime.start({ threads: 2, supervisor: { maxRestarts: Infinity } });
rt.crashes.subscribe((c) =>
  console.log(`  thread ${c.thread} died (${c.reason}): ${c.rehosted} accounts back in ${c.recoveryMs.toFixed(0)} ms, ${c.lost.length} lost`),
);

const url = new URL('./actors/bank-account.ts', import.meta.url);
const accounts: Array<ActorRef<AccountMsg, number>> = [];
for (let i = 0; i < accountsCount; i++) accounts.push(await rt.spawn<AccountMsg, number>(url, { balance: start }));
const expected = new Array<number>(accountsCount).fill(start);

let retries = 0;
async function apply(account: number, id: string, delta: number): Promise<void> {
  for (;;) {
    try {
      await accounts[account].ask({ type: 'apply', id, delta });
      return;
    } catch (err) {
      if (!(err instanceof ActorCrashedError)) throw err;
      retries++; // its answer died with the thread: safe to retry (idempotent by id)
    }
  }
}

let running = true;
let transfers = 0;
async function teller(t: number): Promise<void> {
  for (let n = 0; running; n++) {
    const from = Math.floor(Math.random() * accountsCount);
    const to = (from + 1 + Math.floor(Math.random() * (accountsCount - 1))) % accountsCount;
    const amount = 1 + Math.floor(Math.random() * 100);
    await apply(from, `${t}.${n}.debit`, -amount);
    await apply(to, `${t}.${n}.credit`, amount);
    expected[from] -= amount;
    expected[to] += amount;
    transfers++;
  }
}

console.log(`${accountsCount} accounts on ${rt.threads} threads; killing a thread every 400 ms, ${kills} times`);
const tellers = Array.from({ length: 8 }, (_, t) => teller(t));
for (let k = 0; k < kills; k++) {
  await new Promise((resolve) => setTimeout(resolve, 400));
  await rt.killThread(k % rt.threads);
}
running = false;
await Promise.all(tellers);

const balances = await Promise.all(accounts.map((a) => a.ask({ type: 'balance' })));
const wrong = balances.filter((b, i) => b !== expected[i]).length;
const total = balances.reduce((sum, b) => sum + b, 0);
console.log(`${transfers} transfers, ${retries} retried after a crash`);
console.log(`total ${total} (expected ${accountsCount * start}); accounts off: ${wrong}`);
await rt.shutdown();
if (wrong !== 0 || total !== accountsCount * start) process.exitCode = 1;
