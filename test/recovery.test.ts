/**
 * Crash recovery at exact points: a pool thread dies at one chosen step of
 * taking messages in (test/fixtures/trap-setup.ts makes it exit there, once,
 * on the message that carries the trap marker), and every message accepted
 * is still handled exactly once afterwards. Each test names the window it
 * closes; `npm run soak` is the long random version.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Runtime, type ActorRef, type ThreadCrash } from '../src/index.js';
import type { SeenMsg, SeenReport } from './fixtures/seen.js';
import { kTrapMarker } from './fixtures/trap-setup.js';
import type { WatcherMsg } from './fixtures/watcher.js';
import { eventually } from './fixtures/helpers.js';

const seenUrl = new URL('./fixtures/seen.ts', import.meta.url);
const trapSetupUrl = new URL('./fixtures/trap-setup.ts', import.meta.url);
const watcherUrl = new URL('./fixtures/watcher.ts', import.meta.url);

let rt: Runtime | undefined;
let dir: string | undefined;
afterEach(async () => {
  await rt?.shutdown();
  rt = undefined;
  delete process.env.MICROSWARM_TEST_TRAP;
  delete process.env.MICROSWARM_TEST_TRAP_FILE;
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

/** Starts a one-thread runtime whose threads die at `point` (see trap-setup.ts); returns it and the trap's file. */
async function startTrapped(point: string): Promise<{ r: Runtime; file: string }> {
  dir = mkdtempSync(join(tmpdir(), 'microswarm-trap-'));
  const file = join(dir, 'fired');
  // Read by each pool thread as it starts (a worker copies the environment).
  process.env.MICROSWARM_TEST_TRAP = point;
  process.env.MICROSWARM_TEST_TRAP_FILE = file;
  rt = await Runtime.start({ threads: 1, threadSetup: trapSetupUrl });
  return { r: rt, file };
}

function nextCrash(r: Runtime): Promise<ThreadCrash> {
  return new Promise((resolve) => {
    const off = r.crashes.subscribe((crash) => {
      off();
      resolve(crash);
    });
  });
}

/**
 * Tells 0..9 (and waits until they are seen), then 10..29 in one go, 15
 * carrying the trap marker: the thread dies at the trap while taking that
 * batch in. Returns what the actor has seen after the recovery.
 */
async function tellThroughTrap(r: Runtime, file: string): Promise<{ report: SeenReport | undefined; crash: ThreadCrash }> {
  const seen = (await r.spawn(seenUrl, {}, { thread: 0 })) as ActorRef<SeenMsg, SeenReport | undefined>;
  // 9's pad makes its snapshot larger than the next one (see the checkpoint test).
  for (let n = 0; n < 10; n++) seen.tell(n === 9 ? { n, pad: 'x'.repeat(300) } : { n });
  expect(await seen.ask({ type: 'report' })).toMatchObject({ high: 9, gaps: [] });
  const crashed = nextCrash(r);
  for (let n = 10; n < 30; n++) seen.tell(n === 15 ? { n, note: kTrapMarker } : { n });
  const crash = await crashed;
  for (const point of (process.env.MICROSWARM_TEST_TRAP ?? '').split(',')) expect(existsSync(`${file}.${point}`)).toBe(true); // it fired
  return { report: await seen.ask({ type: 'report' }), crash };
}

describe('a thread that dies while taking messages in', () => {
  it('loses nothing it had taken out of a ring and not yet journaled (regression: the whole batch was lost)', async () => {
    const { r, file } = await startTrapped('taken');
    const { report, crash } = await tellThroughTrap(r, file);
    expect(crash).toMatchObject({ rehosted: 1, lost: [], replaced: true });
    expect(report).toEqual({ high: 29, gaps: [], duplicates: 0, reordered: 0, count: 30 });
  });

  it('hands a batch it had journaled, and not committed, over once: from the ring, not the journal too', async () => {
    const { r, file } = await startTrapped('journaled');
    const { report } = await tellThroughTrap(r, file);
    expect(report).toEqual({ high: 29, gaps: [], duplicates: 0, reordered: 0, count: 30 });
  });

  it('hands a batch whose commit it had armed over once: the main thread finishes the commit, the journal replays it', async () => {
    const { r, file } = await startTrapped('committed');
    const { report } = await tellThroughTrap(r, file);
    expect(report).toEqual({ high: 29, gaps: [], duplicates: 0, reordered: 0, count: 30 });
  });
});

describe('a thread that dies while publishing a checkpoint', () => {
  it('leaves the last checkpoint whole: the actor comes back with it, and the message being handled is handed over again (regression: a torn checkpoint was read)', async () => {
    const { r, file } = await startTrapped('checkpoint');
    const { report } = await tellThroughTrap(r, file);
    expect(report).toEqual({ high: 29, gaps: [], duplicates: 0, reordered: 0, count: 30 });
  });
});

describe('a replacement thread that dies while it takes over', () => {
  it('is replaced in turn, and what the first thread had journaled is replayed by the next one (regression: the thread was given up, its actors lost)', async () => {
    const { r, file } = await startTrapped('committed,rehost');
    const crashes: ThreadCrash[] = [];
    r.crashes.subscribe((crash) => crashes.push(crash));
    const { report } = await tellThroughTrap(r, file);
    expect(report).toEqual({ high: 29, gaps: [], duplicates: 0, reordered: 0, count: 30 });
    expect(crashes.every((crash) => crash.replaced && crash.lost.length === 0)).toBe(true);
  });

  it('still reports, and tells watchers of, the actors its predecessor lost (their supervisor said stop)', async () => {
    dir = mkdtempSync(join(tmpdir(), 'microswarm-trap-'));
    const file = join(dir, 'fired');
    process.env.MICROSWARM_TEST_TRAP = 'committed,rehost';
    process.env.MICROSWARM_TEST_TRAP_FILE = file;
    // No restarts allowed: the seen actor is lost with its thread.
    const r = (rt = await Runtime.start({ threads: 2, threadSetup: trapSetupUrl, supervisor: { maxRestarts: 0 } }));
    const crashes: ThreadCrash[] = [];
    r.crashes.subscribe((crash) => crashes.push(crash));
    const seen = (await r.spawn(seenUrl, {}, { thread: 0 })) as ActorRef<SeenMsg, SeenReport | undefined>;
    const watcher = await r.spawn<WatcherMsg, unknown>(watcherUrl, undefined, { thread: 1 });
    await watcher.ask({ type: 'watch', ref: seen });
    const crashed = nextCrash(r);
    for (let n = 0; n < 30; n++) seen.tell(n === 15 ? { n, note: kTrapMarker } : { n });
    await crashed;
    expect(existsSync(`${file}.committed`) && existsSync(`${file}.rehost`)).toBe(true);
    expect(crashes).toHaveLength(1);
    expect(crashes[0]).toMatchObject({ thread: 0, replaced: true });
    expect(crashes[0].lost.map((ref) => ref.id)).toEqual([seen.id]);
    await eventually(
      () => watcher.ask({ type: 'seen' }),
      (seenBy) => (seenBy as unknown[]).length > 0,
    );
    expect(await watcher.ask({ type: 'seen' })).toEqual([{ actor: seen.id, reason: 'crashed' }]);
  });
});

describe('a replayed handler that blocks the replacement', () => {
  it('does not hold back its recovery while another actor there builds its state: the thread is watched, killed, and the message ends as poison', async () => {
    // Before: the replacement answered its recovery task only once every
    // actor's state was built; meanwhile its loop ran the replayed 'block',
    // the answer never came, and after 10 s the thread was given up (its
    // actors lost) and left blocked, unwatched.
    rt = await Runtime.start({ threads: 1, heartbeatMs: 20, blockingHandlerMs: 200, stuckThreadMs: 600 });
    const r = rt;
    const crashes: ThreadCrash[] = [];
    r.crashes.subscribe((c) => crashes.push(c));
    const slow = (await r.spawn(new URL('./fixtures/slow-init.ts', import.meta.url), { ms: 1_500 })) as ActorRef<{ type: 'ping' }, string>;
    const crashy = (await r.spawn(new URL('./fixtures/crashy.ts', import.meta.url))) as ActorRef<{ type: 'block'; ms: number; channel: string }, unknown>;
    const blocked = await crashy.ask({ type: 'block', ms: 120_000, channel: 'unused' }, { timeoutMs: 60_000 }).catch((e: Error) => e);
    expect(blocked).toMatchObject({ name: 'PoisonMessageError' });
    expect(await slow.ask({ type: 'ping' }, { timeoutMs: 20_000 })).toBe('pong');
    expect(crashes.map((c) => [c.reason, c.replaced, c.lost.length])).toEqual([
      ['stuck', true, 0],
      ['stuck', true, 0],
    ]);
  }, 60_000);
});
