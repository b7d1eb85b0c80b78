/**
 * rt.migrate: a live actor moves to another thread with its state; messages
 * sent before, during and after the move all arrive, in per-sender order;
 * refs keep working; bad calls get typed errors and change nothing.
 */
import { describe, expect, it } from 'vitest';
import { type ActorRef, ActorStoppedError, InvalidArgumentError, MigrationError, type Runtime } from '../src/index.js';
import type { CrashyMsg } from './fixtures/crashy.js';
import { eventually, useRuntime } from './fixtures/helpers.js';

const crashyUrl = new URL('./fixtures/crashy.ts', import.meta.url);
const plainUrl = new URL('./fixtures/plain.ts', import.meta.url);
const watcherUrl = new URL('./fixtures/watcher.ts', import.meta.url);
type Crashy = ActorRef<CrashyMsg, unknown>;

const startWith = useRuntime();
const start = (threads = 3): Promise<Runtime> => startWith({ threads });

/** Checks that, per sender (n / 100000), the numbers arrived complete and in order. */
function checkPerSender(log: number[], senders: Record<number, number>): void {
  for (const [sender, count] of Object.entries(senders)) {
    const base = Number(sender) * 100_000;
    const mine = log.filter((n) => n >= base && n < base + 100_000);
    expect(mine).toEqual(Array.from({ length: count }, (_, i) => base + i));
  }
}

describe('rt.migrate', () => {
  it('moves an actor under load: every message from every sender arrives, in order, and the state moves with it', async () => {
    const r = await start(3);
    const target = (await r.spawn(crashyUrl, undefined, { thread: 0 })) as Crashy;
    const pumpOld = (await r.spawn(crashyUrl, undefined, { thread: 0 })) as Crashy; // same thread as the target at first
    const pumpNew = (await r.spawn(crashyUrl, undefined, { thread: 1 })) as Crashy; // the thread it moves to
    const pumpOther = (await r.spawn(crashyUrl, undefined, { thread: 2 })) as Crashy;
    const pumps = [
      pumpOld.ask({ type: 'pump', to: target, base: 100_000, count: 3000 }, { timeoutMs: 30_000 }),
      pumpNew.ask({ type: 'pump', to: target, base: 200_000, count: 3000 }, { timeoutMs: 30_000 }),
      pumpOther.ask({ type: 'pump', to: target, base: 300_000, count: 3000 }, { timeoutMs: 30_000 }),
    ];
    // From the main thread too, before, during and after.
    let sent = 0;
    const fromMain = (async () => {
      while (sent < 3000) {
        target.tell({ type: 'add', n: 400_000 + sent++ });
        if (sent % 100 === 0) await new Promise((resolve) => setImmediate(resolve));
      }
    })();
    await new Promise((resolve) => setTimeout(resolve, 5));
    // The target's asks queue behind up to 12,000 messages: the pumps' 30 s deadline, not the default 5 s (a whole-suite
    // run at load ~24 on 2 cores timed one out).
    await r.migrate(target, 1);
    expect(await target.ask({ type: 'thread' }, { timeoutMs: 30_000 })).toBe(1);
    await r.migrate(target, 2);
    await Promise.all([...pumps, fromMain]);
    const log = (await target.ask({ type: 'get' }, { timeoutMs: 30_000 })) as number[];
    expect(log).toHaveLength(12_000);
    checkPerSender(log, { 1: 3000, 2: 3000, 3: 3000, 4: 3000 });
    expect(await target.ask({ type: 'thread' }, { timeoutMs: 30_000 })).toBe(2);
    expect(r.stats().threads.map((t) => t.actors)).toEqual([1, 1, 2]);
  });

  it('keeps watches and refs: a watcher still learns when the moved actor stops', async () => {
    const r = await start(2);
    const target = await r.spawn(plainUrl, undefined, { thread: 0, name: 'moving' });
    const watcher = await r.spawn<{ type: 'watch'; ref: ActorRef } | { type: 'seen' }>(watcherUrl, undefined, { thread: 1 });
    await watcher.ask({ type: 'watch', ref: target });
    await target.ask({ type: 'inc' });
    await r.migrate(target, 1);
    expect(await target.ask({ type: 'get' })).toBe(1); // the state came along (no snapshot: as it was)
    expect(await target.ask({ type: 'where' })).toBe(1);
    expect(r.lookup('moving')?.equals(target)).toBe(true);
    await r.stop(target);
    const seen = await eventually(
      () => watcher.ask({ type: 'seen' }) as Promise<unknown[]>,
      (s) => s.length > 0,
    );
    expect(seen).toEqual([{ actor: target.id, reason: 'stopped' }]);
  });

  it('refuses a state that cannot be encoded with MigrationError; the actor keeps running where it was', async () => {
    const r = await start(2);
    const target = await r.spawn(plainUrl, undefined, { thread: 0 });
    await target.ask({ type: 'keepFunction' });
    await expect(r.migrate(target, 1)).rejects.toBeInstanceOf(MigrationError);
    expect(await target.ask({ type: 'inc' })).toBe(1);
    expect(await target.ask({ type: 'where' })).toBe(0);
  });

  it('refuses bad input with typed errors naming the value, and does nothing for the current thread', async () => {
    const r = await start(2);
    const target = await r.spawn(plainUrl, undefined, { thread: 0 });
    await expect(r.migrate('x' as never, 1)).rejects.toMatchObject({ name: 'InvalidArgumentError', option: 'ref', value: 'x' });
    for (const bad of [2, -1, 1.5, '1']) {
      await expect(r.migrate(target, bad as never)).rejects.toMatchObject({ name: 'InvalidArgumentError', option: 'thread', value: bad });
    }
    await expect(r.migrate(target, 2)).rejects.toBeInstanceOf(InvalidArgumentError); // the class, not only its name
    await r.migrate(target, 0);
    expect(await target.ask({ type: 'where' })).toBe(0);
    await r.stop(target);
    await expect(r.migrate(target, 1)).rejects.toBeInstanceOf(ActorStoppedError);
  });
});
