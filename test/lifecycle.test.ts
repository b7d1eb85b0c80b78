/**
 * Actor lifecycle: placement, children (ctx.spawn), stop (rt.stop and
 * ctx.stop), postStop and ctx.signal, the name registry, timers, and the
 * agent limit.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ActorCrashedError, ActorRef, ActorStoppedError, AgentLimitError, NameTakenError, Runtime } from '../src/index.js';
import { collectDeadLetters, eventually } from './fixtures/helpers.js';
import type { ProbeMsg } from './fixtures/probe.js';

const probeUrl = new URL('./fixtures/probe.ts', import.meta.url);
const leafUrl = new URL('./fixtures/leaf.ts', import.meta.url);

type Probe = ActorRef<ProbeMsg, unknown>;
type Leaf = ActorRef<{ type: 'value' }, number>;

let rt: Runtime;

beforeEach(async () => {
  rt = await Runtime.start({ threads: 2 });
});

afterEach(async () => {
  await rt.shutdown();
});

/** A probe that records lifecycle events told to it by other actors. */
async function spawnWatcher(runtime: Runtime = rt): Promise<Probe> {
  return runtime.spawn<ProbeMsg, unknown>(probeUrl, { tag: 'watcher' });
}

async function historyOf(probe: Probe): Promise<unknown[]> {
  return (await probe.ask({ type: 'history' })) as unknown[];
}

async function isStopped(ref: ActorRef): Promise<boolean> {
  return ref.ask({ type: 'history' }).then(
    () => false,
    (err: unknown) => err instanceof ActorStoppedError,
  );
}

describe('spawn', () => {
  it('places an actor on the thread asked for', async () => {
    const on0 = await rt.spawn<ProbeMsg, unknown>(probeUrl, undefined, { thread: 0 });
    const on1 = await rt.spawn<ProbeMsg, unknown>(probeUrl, undefined, { thread: 1 });
    expect(await on0.ask({ type: 'thread' })).toBe(0);
    expect(await on1.ask({ type: 'thread' })).toBe(1);
  });

  it('places actors on the least loaded thread by default', async () => {
    const refs = await Promise.all(Array.from({ length: 6 }, () => rt.spawn<ProbeMsg, unknown>(probeUrl)));
    const threads = await Promise.all(refs.map((ref) => ref.ask({ type: 'thread' })));
    expect(threads.filter((t) => t === 0)).toHaveLength(3);
    expect(threads.filter((t) => t === 1)).toHaveLength(3);
    expect(rt.stats().threads).toEqual([
      { thread: 0, actors: 3 },
      { thread: 1, actors: 3 },
    ]);
    expect(rt.stats().liveActors).toBe(6);
  });

  it('rejects with ActorCrashedError (not a raw pool error) when the thread dies while the actor starts, and goes on serving', async () => {
    const url = new URL('./fixtures/exit-in-init.ts', import.meta.url);
    const crashed = new Promise((resolve) => rt.crashes.subscribe(resolve));
    const used = rt.memory.stats().used;
    // init allocates from the pool, then takes the thread down: the slot and the allocation are given back.
    const err = await rt.spawn(url, { exit: true, allocBytes: 100_000 }, { thread: 1 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ActorCrashedError);
    expect((err as ActorCrashedError).actor).toMatch(/^Actor\(\d+\.\d+\)$/); // the actor that was starting
    expect((err as Error).message).toContain('on pool thread 1, which died');
    expect((err as Error).cause).toBeInstanceOf(Error);
    expect(rt.memory.stats().used).toBe(used);
    await crashed;
    const after = await rt.spawn<{ type: 'alive' }, boolean>(url, { exit: false }, { thread: 1 });
    expect(await after.ask({ type: 'alive' })).toBe(true);
    expect(rt.stats().liveActors).toBe(1);
  });

  it('rejects rt.stop with ActorCrashedError naming the actor when its thread dies while it stops, and goes on serving', async () => {
    const url = new URL('./fixtures/exit-in-init.ts', import.meta.url);
    const crashed = new Promise((resolve) => rt.crashes.subscribe(resolve));
    const doomed = await rt.spawn(url, { exit: false, exitOnStop: true }, { thread: 1 });
    const err = await rt.stop(doomed).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ActorCrashedError);
    expect((err as ActorCrashedError).actor).toBe(doomed.toString());
    expect((err as Error).message).toContain('on pool thread 1, which died');
    await crashed;
    const after = await rt.spawn<{ type: 'alive' }, boolean>(url, { exit: false }, { thread: 1 });
    expect(await after.ask({ type: 'alive' })).toBe(true);
  });

  it('passes the spawn args to init', async () => {
    const probe = await rt.spawn<ProbeMsg, unknown>(probeUrl, { tag: 'hello' });
    expect(await probe.ask({ type: 'tag' })).toBe('hello');
  });
});

describe('children (ctx.spawn)', () => {
  it("spawns a child on the parent's thread by default", async () => {
    const parent = await rt.spawn<ProbeMsg, unknown>(probeUrl, undefined, { thread: 1 });
    const child = (await parent.ask({ type: 'spawn', module: probeUrl.href, args: { tag: 'child' } })) as Probe;
    expect(child).toBeInstanceOf(ActorRef);
    expect(child.equals(parent)).toBe(false);
    expect(await child.ask({ type: 'thread' })).toBe(1);
    expect(await child.ask({ type: 'tag' })).toBe('child');
    expect(rt.stats().threads[1].actors).toBe(2);
  });

  it('spawns a child on another thread with { thread }', async () => {
    const parent = await rt.spawn<ProbeMsg, unknown>(probeUrl, undefined, { thread: 0 });
    const child = (await parent.ask({ type: 'spawn', module: probeUrl.href, options: { thread: 1 } })) as Probe;
    expect(await child.ask({ type: 'thread' })).toBe(1);
    expect(rt.stats().threads).toEqual([
      { thread: 0, actors: 1 },
      { thread: 1, actors: 1 },
    ]);
  });

  it('lists its live children in start order in ctx.children; a child that stops, on its thread or another, leaves the list', async () => {
    const parent = await rt.spawn<ProbeMsg, unknown>(probeUrl, undefined, { thread: 0 });
    const names = (refs: unknown) => (refs as ActorRef[]).map((ref) => ref.toString());
    const kids: Probe[] = [];
    // 20: past the 16 a small array holds (actors/children.ts).
    for (let i = 0; i < 20; i++) kids.push((await parent.ask({ type: 'spawn', module: probeUrl.href, options: { thread: i % 2 } })) as Probe);
    expect(names(await parent.ask({ type: 'children' }))).toEqual(names(kids));
    const leaving = kids.filter((_, i) => i % 4 === 1 || i % 4 === 2); // one of each thread per four
    for (const kid of leaving) kid.tell({ type: 'stopSelf' });
    const staying = names(kids.filter((kid) => !leaving.includes(kid)));
    expect(
      await eventually(
        async () => names(await parent.ask({ type: 'children' })),
        (now) => now.length === staying.length,
      ),
    ).toEqual(staying);
    // Children gone before their spawn answered (stopped in init) are never listed: here and on the other thread.
    for (const thread of [0, 1]) await parent.ask({ type: 'spawn', module: probeUrl.href, args: { stopAtStart: true }, options: { thread } });
    await eventually(
      () => rt.stats().liveActors,
      (n) => n === staying.length + 1,
    );
    expect(names(await parent.ask({ type: 'children' }))).toEqual(staying);
  });

  it('drops children that stopped while their parent migrated (their notice went to the thread it left)', async () => {
    const parent = await rt.spawn<ProbeMsg, unknown>(probeUrl, undefined, { thread: 0 });
    for (let round = 0; round < 6; round++) {
      const from = round % 2;
      const kids: Probe[] = [];
      for (let i = 0; i < 60; i++) kids.push((await parent.ask({ type: 'spawn', module: probeUrl.href, options: { thread: 1 - from } })) as Probe);
      // The children stop while the parent moves, spread over a few milliseconds:
      // each one's notice goes where the directory says the parent is then.
      kids.forEach((kid, i) => kid.tell({ type: 'after', ms: i % 6, msg: { type: 'stopSelf' } }));
      const moving = rt.migrate(parent, 1 - from);
      await moving;
      await eventually(
        () => rt.stats().liveActors,
        (n) => n === 1,
      );
      expect(await parent.ask({ type: 'children' })).toEqual([]);
    }
  });

  it('keeps a child that finished starting after its parent migrated, on either thread, and stops it with the parent', async () => {
    const slowUrl = new URL('./fixtures/slow-init.ts', import.meta.url);
    for (const childThread of [0, 1]) {
      const parent = await rt.spawn<ProbeMsg, unknown>(probeUrl, undefined, { thread: 0 });
      // The child's init takes 300 ms; the parent moves to thread 1 meanwhile.
      parent.tell({ type: 'spawnNoWait', module: slowUrl.href, args: { ms: 300 }, options: { thread: childThread } });
      await eventually(
        () => rt.stats().liveActors,
        (n) => n === 2,
      );
      await rt.migrate(parent, 1);
      const children = await eventually(
        async () => (await parent.ask({ type: 'children' })) as ActorRef[],
        (now) => now.length === 1,
      );
      const child = children[0] as ActorRef<{ type: 'ping' }, string>;
      expect(await child.ask({ type: 'ping' })).toBe('pong');
      await rt.stop(parent);
      await eventually(
        () => rt.stats().liveActors,
        (n) => n === 0,
      );
    }
  });

  it('stops the children, here and on other threads, when the parent stops; their postStop runs', async () => {
    const watcher = await spawnWatcher();
    const parent = await rt.spawn<ProbeMsg, unknown>(probeUrl, undefined, { thread: 0 });
    const near = (await parent.ask({ type: 'spawn', module: probeUrl.href, args: { watcher } })) as Probe;
    const far = (await parent.ask({ type: 'spawn', module: probeUrl.href, args: { watcher }, options: { thread: 1 } })) as Probe;
    const placement = await Promise.all([near.ask({ type: 'thread' }), far.ask({ type: 'thread' })]);
    const live = rt.stats().liveActors;

    await rt.stop(parent);
    await eventually(
      () => Promise.all([isStopped(near), isStopped(far)]),
      (stopped) => stopped.every(Boolean),
    );
    const events = await eventually(
      () => historyOf(watcher),
      (log) => log.filter((e) => e === 'postStop').length >= 2,
    );
    expect(events.filter((e) => e === 'postStop')).toHaveLength(2);
    // A child's slot is released just after its postStop ran, on its own thread.
    expect(
      await eventually(
        () => rt.stats().liveActors,
        (n) => n === live - 3,
      ),
    ).toBe(live - 3);
    // Checked last so the stop behaviour above is exercised whatever the placement did.
    expect(placement).toEqual([0, 1]);
  });

  it('spawns 20,000 children from one actor under maxAgents 1_000_000, and they all answer', async () => {
    const big = await Runtime.start({ threads: 2, maxAgents: 1_000_000 });
    try {
      expect(big.maxAgents).toBe(1_000_000);
      const parent = await big.spawn<ProbeMsg, unknown>(probeUrl, undefined, { thread: 0 });
      const n = 20_000;
      const sum = await parent.ask({ type: 'spawnMany', module: leafUrl.href, count: n }, { timeoutMs: 25_000 });
      expect(sum).toBe((n * (n - 1)) / 2);
      expect(big.stats().liveActors).toBe(n + 1);
      expect(big.stats().threads[0].actors).toBe(n + 1);
    } finally {
      await big.shutdown();
    }
  });
});

describe('stop', () => {
  it('runs postStop and aborts ctx.signal when stopped by rt.stop', async () => {
    const watcher = await spawnWatcher();
    const probe = await rt.spawn<ProbeMsg, unknown>(probeUrl, { watcher }, { thread: 1 });
    const live = rt.stats().liveActors;
    await rt.stop(probe);
    expect(rt.stats().liveActors).toBe(live - 1);
    expect(await isStopped(probe)).toBe(true);
    const events = await eventually(
      () => historyOf(watcher),
      (log) => log.length >= 2,
    );
    // Told from one thread, so in the order they happened: the signal aborts before postStop.
    expect(events).toEqual(['aborted', 'postStop']);
  });

  it('stops an actor that calls ctx.stop() after its handler returns', async () => {
    const watcher = await spawnWatcher();
    const probe = await rt.spawn<ProbeMsg, unknown>(probeUrl, { watcher });
    expect(await probe.ask({ type: 'stopSelf' })).toBe('stopping');
    await eventually(() => isStopped(probe), Boolean);
    const events = await eventually(
      () => historyOf(watcher),
      (log) => log.length >= 2,
    );
    expect(events).toEqual(['aborted', 'postStop']);
  });

  it('resolves for an actor already stopped, and a stopped ref stays stopped when its slot is reused', async () => {
    const first = await rt.spawn<ProbeMsg, unknown>(probeUrl, undefined, { thread: 0 });
    await rt.stop(first);
    await rt.stop(first);
    const second = await rt.spawn<ProbeMsg, unknown>(probeUrl, undefined, { thread: 0 });
    expect(second.equals(first)).toBe(false);
    expect(await isStopped(first)).toBe(true);
    expect(await second.ask({ type: 'history' })).toEqual([]);
  });
});

describe('names', () => {
  it('registers a name: rt.lookup finds it, and ctx.lookup from an actor finds it', async () => {
    const named = await rt.spawn<ProbeMsg, unknown>(probeUrl, { tag: 'named' }, { name: 'registry-a' });
    expect(named.name).toBe('registry-a');
    const found = rt.lookup<ProbeMsg, unknown>('registry-a');
    expect(found?.equals(named)).toBe(true);
    expect(rt.lookup('nobody')).toBeUndefined();

    const other = await rt.spawn<ProbeMsg, unknown>(probeUrl, undefined, { thread: 1 });
    const viaCtx = (await other.ask({ type: 'lookup', name: 'registry-a' })) as ActorRef;
    expect(viaCtx).toBeInstanceOf(ActorRef);
    expect(viaCtx.equals(named)).toBe(true);
    expect(await other.ask({ type: 'askOther', to: viaCtx, msg: { type: 'tag' } })).toBe('named');
    expect(await other.ask({ type: 'lookup', name: 'nobody' })).toBeNull();
  });

  it('refuses a name held by a live actor with NameTakenError, and frees it when the actor stops', async () => {
    const first = await rt.spawn<ProbeMsg, unknown>(probeUrl, undefined, { name: 'unique' });
    const live = rt.stats().liveActors;
    const err = await rt.spawn(probeUrl, undefined, { name: 'unique' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NameTakenError);
    expect((err as NameTakenError).actorName).toBe('unique');
    expect((err as Error).message).toContain('"unique"');
    expect(rt.stats().liveActors).toBe(live);

    await rt.stop(first);
    expect(rt.lookup('unique')).toBeUndefined();
    const second = await rt.spawn<ProbeMsg, unknown>(probeUrl, { tag: 'second' }, { name: 'unique' });
    expect(rt.lookup('unique')?.equals(second)).toBe(true);
    expect(await second.ask({ type: 'tag' })).toBe('second');
  });

  it('refuses a taken name given to ctx.spawn with NameTakenError', async () => {
    await rt.spawn(probeUrl, undefined, { name: 'taken-by-main' });
    const parent = await rt.spawn<ProbeMsg, unknown>(probeUrl);
    const err = await parent.ask({ type: 'spawn', module: probeUrl.href, options: { name: 'taken-by-main' } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NameTakenError);
    const child = (await parent.ask({ type: 'spawn', module: probeUrl.href, options: { name: 'child-name' } })) as Probe;
    expect(rt.lookup('child-name')?.equals(child)).toBe(true);
  });
});

describe('timers', () => {
  it('delivers ctx.after once', async () => {
    const probe = await rt.spawn<ProbeMsg, unknown>(probeUrl);
    await probe.ask({ type: 'after', ms: 20, msg: { type: 'log', value: 'later' } });
    await eventually(
      () => historyOf(probe),
      (log) => log.length > 0,
    );
    // Barrier: a second timer of the same length, set after the first fired.
    // Node fires timers of one duration in the order they were armed, so had
    // the first been re-armed it would fire again before this one.
    await probe.ask({ type: 'after', ms: 20, msg: { type: 'log', value: 'barrier' } });
    expect(
      await eventually(
        () => historyOf(probe),
        (log) => log.includes('barrier'),
      ),
    ).toEqual(['later', 'barrier']);
  });

  it('delivers ctx.every repeatedly, and no tick after the actor stopped', async () => {
    const letters = collectDeadLetters(rt);
    // All on thread 1: the barrier below is ordered with the stopped actor's timers and tells.
    const watcher = await rt.spawn<ProbeMsg, unknown>(probeUrl, { tag: 'watcher' }, { thread: 1 });
    const probe = await rt.spawn<ProbeMsg, unknown>(probeUrl, { watcher }, { thread: 1 });
    await probe.ask({ type: 'every', ms: 10, msg: { type: 'tick' } });
    await eventually(
      () => historyOf(watcher),
      (log) => log.filter((e) => e === 'tick').length >= 3,
    );
    await rt.stop(probe);
    // Ticks told just before the stop may still be on their way: let them land.
    const settled = await eventually(
      () => historyOf(watcher),
      (log) => log.includes('postStop'),
    );
    // A tick still in the mailbox when the stop came is a dead letter, as any
    // message left there is (its notice came on the ring before this reply).
    const atStop = letters.length;
    // Barrier: another actor on that thread arms a timer of the same period
    // after the stop; a timer the stopped actor kept was re-armed before it,
    // so it would fire, and its tick reach the watcher, first.
    const barrier = await rt.spawn<ProbeMsg, unknown>(probeUrl, undefined, { thread: 1 });
    await barrier.ask({ type: 'after', ms: 10, msg: { type: 'tellTo', to: watcher, msg: { type: 'log', value: 'barrier' } } });
    const later = await eventually(
      () => historyOf(watcher),
      (log) => log.includes('barrier'),
    );
    expect(later.filter((e) => e === 'tick')).toHaveLength(settled.filter((e) => e === 'tick').length);
    expect(later.slice(later.indexOf('postStop'))).toEqual(['postStop', 'barrier']);
    expect(letters.slice(atStop).filter((l) => (l.message as { type?: string }).type === 'tick')).toEqual([]);
  });

  it('cancels a pending ctx.after when the actor stops', async () => {
    const letters = collectDeadLetters(rt);
    const watcher = await rt.spawn<ProbeMsg, unknown>(probeUrl, { tag: 'watcher' }, { thread: 1 });
    const probe = await rt.spawn<ProbeMsg, unknown>(probeUrl, { watcher }, { thread: 1 });
    await probe.ask({ type: 'afterThenStop', ms: 20, msg: { type: 'tick' } });
    await eventually(() => isStopped(probe), Boolean);
    // Barrier: a timer of the same length armed later on the same thread
    // fires after the cancelled one would have (see above).
    const barrier = await rt.spawn<ProbeMsg, unknown>(probeUrl, undefined, { thread: 1 });
    await barrier.ask({ type: 'after', ms: 20, msg: { type: 'tellTo', to: watcher, msg: { type: 'log', value: 'barrier' } } });
    expect(
      await eventually(
        () => historyOf(watcher),
        (log) => log.includes('barrier'),
      ),
    ).toEqual(['aborted', 'postStop', 'barrier']);
    expect(letters.filter((l) => (l.message as { type?: string }).type === 'tick')).toEqual([]);
  });
});

describe('agent limit', () => {
  it('runs 256 agents across both threads, and refuses the 257th with AgentLimitError', async () => {
    expect(rt.maxAgents).toBe(256);
    const leaves = await Promise.all(Array.from({ length: 256 }, (_, value) => rt.spawn<{ type: 'value' }, number>(leafUrl, { value })));
    const stats = rt.stats();
    expect(stats.liveActors).toBe(256);
    expect(stats.threads.map((t) => t.actors)).toEqual([128, 128]);
    const answers = await Promise.all(leaves.map((leaf) => leaf.ask({ type: 'value' })));
    expect(answers).toEqual(Array.from({ length: 256 }, (_, i) => i));

    const err = await rt.spawn(leafUrl, { value: 256 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AgentLimitError);
    expect((err as AgentLimitError).maxAgents).toBe(256);
    expect((err as Error).message).toContain('256');
    expect(rt.stats().liveActors).toBe(256);

    // A stop frees a place.
    await rt.stop(leaves[0]);
    const again: Leaf = await rt.spawn(leafUrl, { value: 1000 });
    expect(await again.ask({ type: 'value' })).toBe(1000);
  });

  it('refuses ctx.spawn beyond maxAgents with AgentLimitError; a handler that lets it escape restarts, stopping its children', async () => {
    const small = await Runtime.start({ threads: 1, maxAgents: 2 });
    try {
      const parent = await small.spawn<ProbeMsg, unknown>(probeUrl);
      const child = (await parent.ask({ type: 'spawn', module: leafUrl.href, args: { value: 1 } })) as Leaf;
      // Caught in the handler: the parent goes on, the count is exact.
      const caught = (await parent.ask({ type: 'trySpawnMany', module: leafUrl.href, count: 1 })) as { refs: unknown[]; refusals: string[] };
      expect(caught).toEqual({ refs: [], refusals: ['AgentLimitError'] });
      expect(small.stats().liveActors).toBe(2);
      expect(await child.ask({ type: 'value' })).toBe(1);
      // Not caught: the ask rejects with it, and the handler failed, so the
      // default directive restarts the parent, which stops its children
      // (Akka's restart). That is why a count read right after could say 1
      // or 2 (the CI failure this regression test replaces): it follows the
      // restart, and ends at the one actor left.
      const err = await parent.ask({ type: 'spawn', module: leafUrl.href, args: { value: 2 } }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(AgentLimitError);
      await eventually(
        () => small.stats().liveActors,
        (n) => n === 1,
      );
      expect(await isStopped(child)).toBe(true);
      expect(await parent.ask({ type: 'thread' })).toBe(0);
    } finally {
      await small.shutdown();
    }
  });

  it('never exceeds maxAgents nor leaks a place when spawns race at the limit from the main thread and from actors on every thread', async () => {
    const max = 40;
    const small = await Runtime.start({ threads: 2, maxAgents: max });
    try {
      const spawners = [
        await small.spawn<ProbeMsg, unknown>(probeUrl, undefined, { thread: 0 }),
        await small.spawn<ProbeMsg, unknown>(probeUrl, undefined, { thread: 1 }),
      ];
      for (let round = 0; round < 3; round++) {
        const fromMain = Array.from({ length: max }, (_, value) => small.spawn<{ type: 'value' }, number>(leafUrl, { value }));
        const fromActors = spawners.map(
          (s) => s.ask({ type: 'trySpawnMany', module: leafUrl.href, count: max }) as Promise<{ refs: Leaf[]; refusals: string[] }>,
        );
        const mainTries = await Promise.allSettled(fromMain);
        const actorTries = await Promise.all(fromActors);
        const leaves: Leaf[] = [...mainTries.flatMap((t) => (t.status === 'fulfilled' ? [t.value] : [])), ...actorTries.flatMap((a) => a.refs)];
        const refusals = [
          ...mainTries.flatMap((t) => (t.status === 'rejected' ? [(t.reason as Error).name] : [])),
          ...actorTries.flatMap((a) => a.refusals),
        ];
        // Every try either got a place or was refused for the limit, and the places are exactly filled.
        expect(new Set(refusals)).toEqual(new Set(['AgentLimitError']));
        expect(leaves.length + refusals.length).toBe(3 * max);
        expect(leaves.length).toBe(max - spawners.length);
        expect(small.stats().liveActors).toBe(max);
        // Each counted actor is a real one that answers.
        const answers = await Promise.all(leaves.map((leaf) => leaf.ask({ type: 'value' })));
        expect(answers.every((a) => typeof a === 'number')).toBe(true);
        await Promise.all(leaves.map((leaf) => small.stop(leaf)));
        expect(small.stats().liveActors).toBe(spawners.length);
      }
    } finally {
      await small.shutdown();
    }
  });
});
