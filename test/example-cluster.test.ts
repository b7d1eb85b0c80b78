/**
 * `npm run example:cluster` (examples/cluster.ts) runs to its end: exit 0,
 * the 300 pages spread over the three nodes, the pages of the node it kills
 * taken over by the other two, every page's state intact after the kill,
 * and its nats-server and temporary directory gone. With NATS_URL it uses
 * that server, starts none, and leaves no bucket behind there.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Kvm } from '@nats-io/kv';
import { connect } from '@nats-io/transport-node';
import { describe, expect, it } from 'vitest';
import { startNatsServer } from './fixtures/nats.js';

const root = fileURLToPath(new URL('..', import.meta.url));

/** Runs the example as `npm run example:cluster` does; resolves with its exit code and output. */
function runExample(natsUrl: string | undefined): Promise<{ code: number | null; out: string }> {
  // The suite's prebuilt copy stays in the environment: its pool threads start
  // in a third of the time (the path through tsx is the other example tests').
  const env = { ...process.env };
  delete env.NATS_URL;
  if (natsUrl !== undefined) env.NATS_URL = natsUrl;
  const child = spawn(process.execPath, ['--import', 'tsx', 'examples/cluster.ts'], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (out += chunk.toString()));
  return new Promise((resolve) => child.once('close', (code) => resolve({ code, out })));
}

/** The numbers of the line matching `pattern`, or fails showing the whole output. */
function numbers(out: string, pattern: RegExp): number[] {
  const match = pattern.exec(out);
  expect(match, `no line matching ${pattern} in:\n${out}`).not.toBeNull();
  return match!.slice(1).map(Number);
}

const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);

/** The checks of the output both runs share: placement, the kill, the takeover, the state. */
function checkRun(out: string): void {
  expect(out).toMatch(/^cluster example_\w+: nodes a, b, c joined/m);
  expect(out).toMatch(/^300 pages, .*: 300\/300 at 3 views/m);
  const where = numbers(out, /^where they live: a (\d+), b (\d+), c (\d+)$/m);
  expect(sum(where)).toBe(300);
  const [held] = numbers(out, /^killing node c \(SIGKILL\), which holds (\d+) pages$/m);
  expect(held).toBe(where[2]);
  const takenOver = numbers(out, /^all 300 pages answered from a \d+ ms after the kill .*from their checkpoints: a (\d+), b (\d+)$/m);
  expect(sum(takenOver)).toBe(held);
  expect(out).toMatch(/^state survived: 300\/300 pages at 3 views, one from each of a, b, c$/m);
  expect(sum(numbers(out, /^where they live now: a (\d+), b (\d+)$/m))).toBe(300);
  expect(out).toMatch(/^nodes a and b shut down/m);
  expect(out).toMatch(/^done in /m);
}

describe('npm run example:cluster', () => {
  it('runs to its end, and removes its nats-server and temporary directory', async () => {
    const { code, out } = await runExample(undefined);
    expect(code, out).toBe(0);
    const started = /^NATS: started nats-server -js on nats:\/\/127\.0\.0\.1:\d+ \(pid (\d+), store in (\S+)\)$/m.exec(out);
    expect(started, out).not.toBeNull();
    checkRun(out);
    expect(out).toContain(`nats-server stopped, ${started![2]} removed`);
    expect(existsSync(started![2])).toBe(false);
    expect(() => process.kill(Number(started![1]), 0)).toThrow(expect.objectContaining({ code: 'ESRCH' }));
  }, 120_000);

  it('uses the server NATS_URL names, starts none, and leaves no bucket there', async () => {
    const nats = await startNatsServer();
    try {
      const { code, out } = await runExample(nats.url);
      expect(code, out).toBe(0);
      expect(out).toMatch(/^NATS: nats:\/\/127\.0\.0\.1:\d+ \(NATS_URL\)$/m);
      expect(out).not.toContain('started nats-server');
      checkRun(out);
      expect(out).toMatch(/^removed the 3 buckets of example_\w+ from the NATS_URL server$/m);
      const nc = await connect({ servers: nats.url });
      try {
        const buckets: string[] = [];
        for await (const status of new Kvm(nc).list()) buckets.push(status.bucket);
        expect(buckets).toEqual([]);
      } finally {
        await nc.close();
      }
    } finally {
      await nats.stop();
    }
  }, 120_000);
});
