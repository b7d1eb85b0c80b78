/**
 * Control calls (rt.checkpoint, rt.suspend, rt.migrate...) for an actor
 * whose pool thread is being recovered. The recovery here is held before
 * it starts the replacement: the dead thread's child actor's supervisor
 * decides its fate, on thread 0, which a handler keeps busy for a second.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Runtime, type ActorRef, type ThreadCrash } from '../src/index.js';
import type { PhasesMsg } from './fixtures/checkpoint-phases.js';
import type { LongAskerMsg } from './fixtures/long-asker.js';
import type { ProbeMsg } from './fixtures/probe.js';
import { eventually, guarded } from './fixtures/helpers.js';

const phasesUrl = new URL('./fixtures/checkpoint-phases.ts', import.meta.url);
const probeUrl = new URL('./fixtures/probe.ts', import.meta.url);
const longUrl = new URL('./fixtures/long-asker.ts', import.meta.url);

let rt: Runtime | undefined;
afterEach(async () => {
  await rt?.shutdown();
  rt = undefined;
});

/**
 * `a` (checkpointed at 7, then 12) on thread 1, and a child of an actor of
 * thread 0 there too; thread 0 busy for a second, then thread 1 killed:
 * returns once thread 1 is being recovered, its recovery waiting for the
 * child's supervisor, before it has a replacement.
 */
async function recovering(): Promise<{ r: Runtime; a: ActorRef<PhasesMsg, unknown>; b: ActorRef<PhasesMsg, unknown>; crash: Promise<ThreadCrash> }> {
  const r = (rt = await Runtime.start({ threads: 2 }));
  const a = (await r.spawn(phasesUrl, { count: 7 }, { thread: 1 })) as ActorRef<PhasesMsg, unknown>;
  await a.ask({ type: 'add', n: 5 });
  const b = (await r.spawn(phasesUrl, { count: 3 }, { thread: 0 })) as ActorRef<PhasesMsg, unknown>;
  const parent = (await r.spawn(probeUrl, undefined, { thread: 0 })) as ActorRef<ProbeMsg, unknown>;
  await parent.ask({ type: 'spawn', module: phasesUrl.href, args: { count: 1 }, options: { thread: 1 } });
  const busy = (await r.spawn(longUrl, undefined, { thread: 0 })) as ActorRef<LongAskerMsg, unknown>;
  busy.tell({ type: 'spinAfterAwait', ms: 1000 });
  const crash = r.killThread(1);
  await eventually(
    () => r.inspect({ timeoutMs: 1 }),
    (snapshot) => snapshot.threads[1].status === 'recovering',
  );
  return { r, a, b, crash };
}

describe('a control call for an actor whose thread is being recovered', () => {
  it('waits for the recovery, then runs on the replacement (regression: it held the recovery back; the thread was given up 10 s later, its actors lost, and every control call after it hung)', async () => {
    const { r, a, b, crash } = await recovering();
    const bytes = r.checkpoint(a);
    const done = await guarded(crash, 5_000, 'the recovery');
    expect({ replaced: done.replaced, rehosted: done.rehosted }).toEqual({ replaced: true, rehosted: 2 });
    // Brought back from its checkpoint (7): that is what it saves.
    expect(await guarded(bytes, 5_000, 'rt.checkpoint')).toBeGreaterThan(0);
    expect(await guarded(a.ask({ type: 'get' }), 5_000, 'ask')).toBe(7);
    // A control call for the other thread after it.
    expect(await guarded(r.checkpoint(b), 5_000, 'rt.checkpoint on thread 0')).toBeGreaterThan(0);
  });

  it('rt.migrate moves it from the replacement (regression: the move failed, and left it held for a move forever)', async () => {
    const { r, a, crash } = await recovering();
    const moved = r.migrate(a, 0);
    expect((await guarded(crash, 5_000, 'the recovery')).replaced).toBe(true);
    await guarded(moved, 5_000, 'rt.migrate');
    expect(await guarded(a.ask({ type: 'get' }), 5_000, 'ask')).toBe(7);
    expect(await guarded(a.ask({ type: 'nextTurn' }), 5_000, 'ask')).toBe(7);
    await eventually(
      () => r.stats().threads.map((t) => t.actors),
      (actors) => actors.join() === '4,1', // b, the parent, the busy one and a; the child
    );
  });
});
