/**
 * Runtime.start (accepted options and what they change) and shutdown
 * (mailboxes drain first, postStop runs, every later call is refused, a
 * second call returns the same promise).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type ActorRef, Runtime, RuntimeClosedError, type DeadLetter } from '../src/index.js';
import { Gate, collectDeadLetters } from './fixtures/helpers.js';
import type { ProbeMsg } from './fixtures/probe.js';

const probeUrl = new URL('./fixtures/probe.ts', import.meta.url);
const leafUrl = new URL('./fixtures/leaf.ts', import.meta.url);
const tallyUrl = new URL('./fixtures/tally.ts', import.meta.url);

type Tally = ActorRef<{ type: 'add'; n: number }, void>;

let dir: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'microswarm-runtime-test-'));
});

afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('Runtime.start', () => {
  it('starts with the defaults: one thread per core, 256 agents', async () => {
    const rt = await Runtime.start();
    try {
      expect(rt.threads).toBe(Math.max(1, availableParallelism()));
      expect(rt.maxAgents).toBe(256);
      expect(rt.stats()).toEqual({
        threads: Array.from({ length: rt.threads }, (_, thread) => ({ thread, actors: 0 })),
        liveActors: 0,
        maxAgents: 256,
        deadLetters: 0,
        failures: 0,
      });
      const leaf = await rt.spawn<{ type: 'value' }, number>(leafUrl, { value: 5 });
      expect(await leaf.ask({ type: 'value' })).toBe(5);
    } finally {
      await rt.shutdown();
    }
  });

  it('runs every actor on the one thread of a one-thread pool', async () => {
    const rt = await Runtime.start({ threads: 1 });
    try {
      const refs = await Promise.all([1, 2, 3].map(() => rt.spawn<ProbeMsg, unknown>(probeUrl)));
      expect(await Promise.all(refs.map((ref) => ref.ask({ type: 'thread' })))).toEqual([0, 0, 0]);
      expect(rt.stats().threads).toEqual([{ thread: 0, actors: 3 }]);
    } finally {
      await rt.shutdown();
    }
  });

  it('accepts maxAgents 1_000_000, resourceLimits, and the tuning options', async () => {
    const rt = await Runtime.start({
      threads: 2,
      maxAgents: 1_000_000,
      resourceLimits: { maxOldGenerationSizeMb: 256 },
      askTimeoutMs: 10_000,
      ringBytes: 1 << 16,
      maxMessageBytes: 1 << 20,
      throughput: 8,
      spinUs: 0,
    });
    try {
      expect(rt.maxAgents).toBe(1_000_000);
      expect(rt.stats().maxAgents).toBe(1_000_000);
      const leaf = await rt.spawn<{ type: 'value' }, number>(leafUrl, { value: 1 }, { thread: 1 });
      expect(await leaf.ask({ type: 'value' })).toBe(1);
    } finally {
      await rt.shutdown();
    }
  });
});

describe('shutdown', () => {
  it('drains every mailbox before stopping: all tells sent before it are handled, then postStop runs', async () => {
    const rt = await Runtime.start({ threads: 2 });
    const letters = collectDeadLetters(rt);
    const n = 5000;
    const paths = [join(dir, 'tally-0'), join(dir, 'tally-1')];
    const tallies: Tally[] = [];
    for (const [thread, path] of paths.entries()) tallies.push(await rt.spawn(tallyUrl, { path }, { thread }));
    for (let i = 0; i < n; i++) for (const tally of tallies) tally.tell({ type: 'add', n: i });
    await rt.shutdown();
    for (const path of paths) {
      expect(readFileSync(path, 'utf8')).toBe(String(n));
      expect(readFileSync(`${path}.log`, 'utf8')).toBe(Array.from({ length: n }, (_, i) => `${i}\n`).join(''));
    }
    expect(letters).toEqual([]);
  });

  it('drains messages actors are still sending each other', async () => {
    const rt = await Runtime.start({ threads: 2 });
    const path = join(dir, 'tally-relayed');
    const tally: Tally = await rt.spawn(tallyUrl, { path }, { thread: 1 });
    const relay = await rt.spawn<ProbeMsg, unknown>(probeUrl, undefined, { thread: 0 });
    relay.tell({ type: 'relay', to: tally, count: 500 });
    await rt.shutdown();
    // 500 tells, then the relay's closing ask.
    expect(readFileSync(path, 'utf8')).toBe('501');
  });

  it('answers an ask made just before it', async () => {
    const rt = await Runtime.start({ threads: 1 });
    const probe = await rt.spawn<ProbeMsg, unknown>(probeUrl);
    probe.tell({ type: 'slowLog', ms: 30, value: 'a' });
    const answer = probe.ask({ type: 'history' });
    await rt.shutdown();
    expect(await answer).toEqual(['start a', 'end a']);
  });

  it('refuses every call afterwards with RuntimeClosedError', async () => {
    const rt = await Runtime.start({ threads: 1 });
    const probe = await rt.spawn<ProbeMsg, unknown>(probeUrl, undefined, { name: 'closed' });
    await rt.shutdown();
    await expect(rt.spawn(probeUrl)).rejects.toBeInstanceOf(RuntimeClosedError);
    await expect(rt.stop(probe)).rejects.toBeInstanceOf(RuntimeClosedError);
    expect(() => probe.tell({ type: 'log', value: 1 })).toThrow(RuntimeClosedError);
    await expect(probe.ask({ type: 'history' })).rejects.toBeInstanceOf(RuntimeClosedError);
    await expect(probe.send({ type: 'log', value: 1 })).rejects.toBeInstanceOf(RuntimeClosedError);
    const err = await rt.spawn(probeUrl).catch((e: unknown) => e);
    expect((err as Error).message).toContain('spawn');
  });

  it('refuses calls made while it is in progress', async () => {
    const rt = await Runtime.start({ threads: 1 });
    const probe = await rt.spawn<ProbeMsg, unknown>(probeUrl);
    const done = rt.shutdown();
    await expect(rt.spawn(probeUrl)).rejects.toBeInstanceOf(RuntimeClosedError);
    expect(() => probe.tell({ type: 'log', value: 1 })).toThrow(RuntimeClosedError);
    await done;
  });

  it('returns the same promise when called twice, during and after', async () => {
    const rt = await Runtime.start({ threads: 1 });
    await rt.spawn(probeUrl);
    const first = rt.shutdown();
    const second = rt.shutdown();
    expect(second).toBe(first);
    await first;
    expect(rt.shutdown()).toBe(first);
  });

  /**
   * A handler busy for a second, with messages queued behind it, and no time
   * to drain: shutdown must stop the actor after the handler and dead-letter
   * the queue. (The second only has to outlast the shutdown request's trip.)
   */
  async function shutdownWithQueue(): Promise<{ letters: DeadLetter[]; path: string }> {
    const rt = await Runtime.start({ threads: 1 });
    const letters = collectDeadLetters(rt);
    const path = join(dir, 'tally-timeout');
    await rt.spawn(tallyUrl, { path });
    const probe = await rt.spawn<ProbeMsg, unknown>(probeUrl);
    // The actor is inside a handler that never returns by itself before shutdown
    // starts (a gate, not a sleep), so exactly the two tells behind it are queued.
    const gate = new Gate();
    try {
      probe.tell({ type: 'hold', channel: gate.channel });
      await gate.entered;
      probe.tell({ type: 'log', value: 1 });
      probe.tell({ type: 'log', value: 2 });
      await rt.shutdown({ timeoutMs: 0 });
    } finally {
      gate.close();
    }
    return { letters, path };
  }

  it('stops every actor when timeoutMs runs out: postStop runs and the queue is dead-lettered', async () => {
    const { letters, path } = await shutdownWithQueue();
    expect(readFileSync(path, 'utf8')).toBe('0');
    expect(letters.map((l) => l.message)).toEqual([
      { type: 'log', value: 1 },
      { type: 'log', value: 2 },
    ]);
  });

  it("gives what is still queued at the end of the drain the dead-letter reason 'shutdown'", async () => {
    const { letters } = await shutdownWithQueue();
    expect(letters.map((l) => l.reason)).toEqual(['shutdown', 'shutdown']);
  });
});
