/**
 * The cluster chaos run: accounts (entities) on three nodes move tokens
 * while two nodes are killed with SIGKILL and started again and the NATS
 * server restarts once. Each transfer is a debit and a credit, each an ask
 * sent again until answered (with an id: an account applies an id once).
 * At the end every ask has settled, and every account holds exactly what
 * the transfers say: nothing applied twice, nothing lost.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { NodeProcess } from './fixtures/cluster.js';
import { eventually } from './fixtures/helpers.js';
import { startNatsServer, type NatsServer } from './fixtures/nats.js';

const account = new URL('./fixtures/entity-account.ts', import.meta.url).href;
const cluster = 'chaos';
const accounts = 6;
const transfers = 120;
const lanes = 4;

let nats: NatsServer;
const nodes = new Map<string, NodeProcess>();

const start = (name: string) => NodeProcess.start({ servers: nats.url, name: cluster, node: name });

beforeAll(async () => {
  nats = await startNatsServer();
  for (const [name, n] of await Promise.all(['a', 'b', 'c'].map(async (name) => [name, await start(name)] as const))) nodes.set(name, n);
}, 60_000);

afterAll(async () => {
  await Promise.all([...nodes.values()].map((n) => n.shutdown()));
  await nats?.stop();
});

/** A deterministic PRNG (mulberry32), so a failing run can be replayed. */
function prng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

it('conserves every token across node kills, restarts and a NATS server restart; every ask settles', async () => {
  const driver = nodes.get('a') as NodeProcess;
  await eventually(
    () => driver.call<string[]>({ cmd: 'members' }),
    (m) => m.join() === 'a,b,c',
    10_000,
  );
  const seed = 20261205;
  const random = prng(seed);
  const plan = Array.from({ length: transfers }, (_, i) => {
    const from = Math.floor(random() * accounts);
    const to = (from + 1 + Math.floor(random() * (accounts - 1))) % accounts;
    return { id: `t${i}`, from: `acct-${from}`, to: `acct-${to}`, amount: 1 + Math.floor(random() * 10) };
  });
  let done = 0;
  let retries = 0;
  /** An ask sent again until answered: a retry policy, not a wait for a condition (each try is bounded by its timeout). */
  const apply = async (key: string, id: string, delta: number) => {
    const deadline = Date.now() + 60_000;
    for (;;) {
      try {
        return await driver.call({ cmd: 'entityAsk', module: account, key, msg: { type: 'apply', id, delta }, timeoutMs: 3_000 });
      } catch (err) {
        if (Date.now() > deadline) throw new Error(`${key} ${id}: not applied within 60 s (last: ${(err as Error).message})`);
        retries++;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }
  };
  const run = async (lane: number) => {
    for (let i = lane; i < plan.length; i += lanes) {
      const t = plan[i];
      await apply(t.from, `${t.id}:debit`, -t.amount);
      await apply(t.to, `${t.id}:credit`, t.amount);
      done++;
    }
  };
  const chaos = async () => {
    const kill = async (name: string) => {
      await (nodes.get(name) as NodeProcess).kill();
      await eventually(
        () => driver.call<string[]>({ cmd: 'members' }),
        (m) => !m.includes(name),
        10_000,
      );
      nodes.set(name, await start(name));
    };
    await eventually(
      () => done,
      (n) => n >= 15,
      60_000,
    );
    await kill('b');
    await eventually(
      () => done,
      (n) => n >= 45,
      60_000,
    );
    await nats.restart({ downMs: 300 });
    await eventually(
      () => done,
      (n) => n >= 75,
      60_000,
    );
    await kill('c');
  };
  await Promise.all([...Array.from({ length: lanes }, (_, lane) => run(lane)), chaos()]);
  expect(done).toBe(transfers);
  const expected = new Map<string, number>();
  for (let i = 0; i < accounts; i++) expected.set(`acct-${i}`, 100);
  for (const t of plan) {
    expected.set(t.from, (expected.get(t.from) as number) - t.amount);
    expected.set(t.to, (expected.get(t.to) as number) + t.amount);
  }
  const balances = new Map<string, number>();
  for (const key of expected.keys()) {
    const got = (await driver.call({ cmd: 'entityAsk', module: account, key, msg: { type: 'get' }, timeoutMs: 5_000 })) as { balance: number };
    balances.set(key, got.balance);
  }
  console.log(`cluster chaos (seed ${seed}): ${transfers} transfers, ${retries} asks sent again, 2 node kills, 1 NATS restart`);
  expect(balances).toEqual(expected);
  expect([...balances.values()].reduce((a, b) => a + b, 0)).toBe(100 * accounts);
}, 120_000);
