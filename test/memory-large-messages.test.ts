/**
 * Large messages carried through the shared region pool on real threads: a
 * payload above `inlineLimit` travels in pool regions (the carrier), told,
 * asked and relayed actor to actor, and the receiver frees the carrier once it
 * has decoded it into memory of its own; with no free run in the pool, or a
 * payload larger than the pool, it goes through a small ring instead and
 * evicts no cache.
 *
 * Actors come from `fixtures/memory-agent.ts`. The tests share two runtimes
 * (the default pool, and a 512 KiB pool with a small ring); each spawns its
 * own actors, which are stopped after it, and the pool must then be empty.
 * The helpers are in `fixtures/memory-tests.ts`.
 */
import { describe, expect, it } from 'vitest';
import { R, alloc, ask, cleanUpAfterEach, pool, sharedRuntime, since, spawn } from './fixtures/memory-tests.js';

cleanUpAfterEach();

// ---------------------------------------------------------- large messages

describe('large messages', () => {
  const pattern = (n: number, salt = 0) => Uint8Array.from({ length: n }, (_, i) => (i * 31 + salt) & 0xff);
  const carried = sharedRuntime({ inlineLimit: 4096 }); // the default pool
  const smallRing = sharedRuntime({ inlineLimit: 4096, ringBytes: 4096, memory: pool(128) });

  it('carries a 300 KB Uint8Array told and asked across threads through the pool, then frees the carrier', async () => {
    const rt = carried();
    const before = rt.memory.stats();
    const [a, b] = await spawn(rt, [0, 1]);
    const payload = pattern(300_000);
    b.tell({ type: 'keep', payload });
    const kept = await ask<Uint8Array>(b, { type: 'kept' });
    expect(kept).toBeInstanceOf(Uint8Array);
    expect(Buffer.compare(kept, payload)).toBe(0);
    expect(since(rt, before).allocations).toBe(1); // the carrier...
    expect(rt.memory.stats()).toMatchObject({ used: 0, perAgent: [] }); // ...already freed by the receiver

    const echoed = await ask<Uint8Array>(b, { type: 'echo', payload: pattern(300_000, 7) });
    expect(Buffer.compare(echoed, pattern(300_000, 7))).toBe(0);
    // Main thread -> a (thread 0), then actor to actor: a -> b (thread 1).
    const relayed = await ask<Uint8Array>(a, { type: 'relay', to: b, payload: pattern(300_001, 3) });
    expect(Buffer.compare(relayed, pattern(300_001, 3))).toBe(0);
    expect(since(rt, before)).toMatchObject({ allocations: 4, releases: 4 });
    expect(rt.memory.stats().used).toBe(0);
  });

  it('decodes a carried payload into its own memory: reusing the carrier regions does not change it', async () => {
    const rt = smallRing(); // 512 KiB pool
    const before = rt.memory.stats();
    const [a, b] = await spawn(rt, [0, 1]);
    const payload = { bytes: pattern(200_000), text: `${'x'.repeat(100_000)}ü`, list: Array.from({ length: 2000 }, (_, i) => ({ i })) };
    b.tell({ type: 'keep', payload });
    await ask(b, { type: 'held' });
    expect(since(rt, before).allocations).toBe(1);
    const everything = await alloc(a, 128 * R, undefined, 0xee); // overwrites the regions the carrier used
    expect(everything.region).toBe(0);
    const kept = await ask<typeof payload>(b, { type: 'kept' });
    expect(Buffer.compare(kept.bytes, payload.bytes)).toBe(0);
    expect(kept.text).toBe(payload.text);
    expect(kept.list).toEqual(payload.list);
  });

  it('falls back to a small ring when the pool has no free run, and evicts no cache for it', async () => {
    const rt = smallRing();
    const [a, b] = await spawn(rt, [0, 1]);
    const caches = await Promise.all(Array.from({ length: 4 }, (_, i) => alloc(a, 32 * R, { evictable: true }, i + 1)));
    const before = rt.memory.stats();
    expect(before.free).toBe(0);
    const payload = pattern(300_000, 1);
    b.tell({ type: 'keep', payload });
    expect(Buffer.compare(await ask<Uint8Array>(b, { type: 'kept' }), payload)).toBe(0);
    const echoed = await ask<Uint8Array>(b, { type: 'echo', payload });
    expect(Buffer.compare(echoed, payload)).toBe(0);
    expect(since(rt, before)).toEqual({ allocations: 0, releases: 0, evictions: 0, transfers: 0, borrows: 0 });
    for (const [i, h] of caches.entries()) expect(await ask(a, { type: 'verify', handle: h, fill: i + 1 })).toBe(true);
  });

  it('sends a message larger than the whole pool through a small ring', async () => {
    const rt = smallRing();
    const before = rt.memory.stats();
    const [b] = await spawn(rt, [1]);
    const payload = pattern(600_000, 2); // the pool holds 512 KiB
    const echoed = await ask<Uint8Array>(b, { type: 'echo', payload });
    expect(Buffer.compare(echoed, payload)).toBe(0);
    expect(since(rt, before).allocations).toBe(0);
    expect(rt.memory.stats().used).toBe(0);
  });
});
