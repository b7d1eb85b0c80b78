/**
 * Least-loaded placement of entities (`cluster.placement: 'least-loaded'`)
 * across node processes: new activations go to the member with the fewest
 * active entities, and every node reaches an entity where it was placed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NodeProcess, membersAre, startNodes } from './fixtures/cluster.js';
import { startNatsServer, type NatsServer } from './fixtures/nats.js';
import { Placement } from '../src/cluster/placement.js';

const counter = new URL('./fixtures/entity-counter.ts', import.meta.url).href;
const cluster = () => ({ servers: nats.url, name: 'ptest', placement: 'least-loaded' });

let nats: NatsServer;
let nodes: NodeProcess[] = [];

beforeAll(async () => {
  nats = await startNatsServer();
  nodes = await startNodes(cluster(), ['a', 'b']);
}, 60_000);

afterAll(async () => {
  await Promise.all(nodes.map((n) => n.shutdown()));
  await nats?.stop();
});

const where = (n: NodeProcess, key: string) => n.call<number>({ cmd: 'entityAsk', module: counter, key, msg: { type: 'where' }, timeoutMs: 10_000 });

describe('least-loaded placement', () => {
  it('places new entities on the member with the fewest, and every node reaches each where it is', async () => {
    for (let i = 0; i < 20; i++) await where(nodes[0], `first-${i}`);
    const c = await NodeProcess.start({ ...cluster(), node: 'c' });
    nodes.push(c);
    await membersAre(nodes);
    // a and b hold about 10 each, c none: the next new keys go to c until it has caught up.
    const keys = Array.from({ length: 20 }, (_, i) => `second-${i}`);
    const pids: number[] = [];
    for (const key of keys) pids.push(await where(nodes[0], key));
    const onC = pids.filter((p) => p === c.child.pid).length;
    // Rendezvous would put about a third there (12 or more: probability 0.013).
    expect(onC).toBeGreaterThanOrEqual(12);
    expect(onC).toBeLessThan(20); // then spread again once loads are level
    // From every node, each key answers from the one node it was placed on.
    for (const n of nodes.slice(1)) expect(await Promise.all(keys.map((key) => where(n, key)))).toEqual(pids);
    const active = await Promise.all(nodes.map((n) => n.call<{ entities: { active: number } }>({ cmd: 'stats' })));
    expect(active.reduce((t, s) => t + s.entities.active, 0)).toBe(40);
  }, 60_000);
});

describe('hints', () => {
  it('a node that became the owner of an entity held elsewhere sends its messages on without reading the lease each time', async () => {
    const rendezvous = () => ({ servers: nats.url, name: 'htest' });
    const [x, y] = await startNodes(rendezvous(), ['x', 'y']);
    const extra = [x, y];
    try {
      // A key that y owns among x and y, and z owns once z joins.
      const among = (names: string[]) => new Placement('x', 'rendezvous', new Map(names.map((n) => [n, ''])), () => 0);
      const key = Array.from({ length: 500 }, (_, i) => `h-${i}`).find(
        (k) => among(['x', 'y']).owner(`${counter}\u0000${k}`) === 'y' && among(['x', 'y', 'z']).owner(`${counter}\u0000${k}`) === 'z',
      ) as string;
      expect(key).toBeDefined();
      expect(await where(x, key)).toBe(y.child.pid);
      const z = await NodeProcess.start({ ...rendezvous(), node: 'z' });
      extra.push(z);
      await membersAre(extra);
      // x now sends to z (the owner), z to y (the holder): it stays where it is.
      for (let i = 0; i < 20; i++) expect(await where(x, key)).toBe(y.child.pid);
      const zStats = await z.call<{ entities: { leaseReads: number; forwarded: number } }>({ cmd: 'stats' });
      expect(zStats.entities.forwarded).toBe(20);
      // The first message read the lease; the hint it left sent the other 19 on.
      expect(zStats.entities.leaseReads).toBe(1);
    } finally {
      await Promise.all(extra.map((n) => n.shutdown()));
    }
  }, 60_000);
});
