/**
 * At-least-once entity delivery across node processes: tells (and an ask)
 * that the entity's node had accepted but not handled when it was killed
 * with SIGKILL reach the entity's new activation on another node.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type NodeProcess, entityKeyOn, startNodes } from './fixtures/cluster.js';
import { eventually } from './fixtures/helpers.js';
import { startNatsServer, type NatsServer } from './fixtures/nats.js';

const ledger = new URL('./fixtures/entity-ledger.ts', import.meta.url).href;
type Ledger = { ids: number[] | number; seen: number; pid: number };
type Stats = { entities: { unconfirmed: number; redelivered: number } };

let nats: NatsServer;
let nodes: NodeProcess[] = [];

beforeAll(async () => {
  nats = await startNatsServer();
  nodes = await startNodes({ servers: nats.url, name: 'dtest' }, ['a', 'b', 'c']);
}, 60_000);

afterAll(async () => {
  await Promise.all(nodes.map((n) => n.shutdown()));
  await nats?.stop();
});

const get = (n: NodeProcess, key: string) => n.call<Ledger>({ cmd: 'entityAsk', module: ledger, key, msg: { type: 'get' }, timeoutMs: 10_000 });

describe('at-least-once entity delivery', () => {
  it('tells and an ask its killed node had accepted but not handled reach the new activation', async () => {
    const c = nodes[2];
    const key = await entityKeyOn(nodes[0], c, 'ledger', ledger);
    expect(key).not.toBe('');
    // The first entry holds c's thread until a file exists, so the 199 after it, and the ask, wait at c.
    const marker = join(await mkdtemp(join(tmpdir(), 'microswarm-ledger-')), 'release');
    const tell = (msg: unknown, extra: object = {}) =>
      nodes[0].call({ cmd: 'entityTell', module: ledger, key, msg, delivery: 'at-least-once', ...extra });
    expect(await tell({ type: 'add', id: 0, holdUntil: marker })).toBe(true);
    expect(await tell({ type: 'add' }, { count: 199, first: 1 })).toBe(199);
    const asked = nodes[0]
      .call<Ledger>({ cmd: 'entityAsk', module: ledger, key, msg: { type: 'get' }, timeoutMs: 30_000, delivery: 'at-least-once' })
      .catch((e: Error) => e);
    await eventually(
      () => existsSync(`${marker}.held`),
      (held) => held,
      10_000,
    );
    await c.kill();
    nodes.pop();
    await writeFile(marker, '');
    // The ask was sent again, not failed with NodeUnreachableError.
    const answered = await asked;
    expect(answered).not.toBeInstanceOf(Error);
    expect((answered as Ledger).pid).not.toBe(c.child.pid);
    // Every entry arrived at the new activation (none was handled at c).
    const after = await eventually(
      () => get(nodes[1], key).catch((e: Error) => e),
      (r) => !(r instanceof Error) && r.ids === 200,
      30_000,
    );
    expect(after).toMatchObject({ ids: 200 });
    expect((after as Ledger).seen).toBeGreaterThanOrEqual(200);
    const a = await eventually(
      () => nodes[0].call<Stats>({ cmd: 'stats' }),
      (s) => s.entities.unconfirmed === 0,
      10_000,
    );
    expect(a.entities.redelivered).toBeGreaterThanOrEqual(201);
  }, 90_000);

  it('keeps nothing once its messages are confirmed, and sends nothing again while the node lives', async () => {
    const key = await entityKeyOn(nodes[0], nodes[1], 'calm', ledger);
    expect(key).not.toBe('');
    const before = (await nodes[0].call<Stats>({ cmd: 'stats' })).entities.redelivered;
    expect(await nodes[0].call({ cmd: 'entityTell', module: ledger, key, msg: { type: 'add' }, count: 50, delivery: 'at-least-once' })).toBe(50);
    await eventually(
      () => get(nodes[0], key),
      (r) => r.ids === 50,
      10_000,
    );
    const s = await eventually(
      () => nodes[0].call<Stats>({ cmd: 'stats' }),
      (st) => st.entities.unconfirmed === 0,
      10_000,
    );
    expect(s.entities.redelivered).toBe(before);
    expect(await get(nodes[0], key)).toMatchObject({ ids: 50, seen: 50 });
  }, 30_000);
});
