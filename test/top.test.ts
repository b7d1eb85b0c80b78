/**
 * `microswarm top` in a pseudo-terminal (util-linux `script`, see
 * fixtures/pty.ts), against a real runtime's `rt.serve()`: the screen shows
 * the threads and actors, the sort keys re-sort the table, `q` exits with 0,
 * a server that is not there yet is retried until it is; and bad arguments
 * exit with 2 and a message naming the value.
 */
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import type { CounterMsg } from './fixtures/counter.js';
import type { ProbeMsg } from './fixtures/probe.js';
import { eventually, Gate, guarded, keepBusy, useRuntime } from './fixtures/helpers.js';
import { Pty } from './fixtures/pty.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const cli = fileURLToPath(new URL('../src/cli/microswarm.ts', import.meta.url));
const counterUrl = new URL('./fixtures/counter.ts', import.meta.url);
const probeUrl = new URL('./fixtures/probe.ts', import.meta.url);
/** The command, run from sources as in development (`npx tsx src/cli/microswarm.ts`). */
const command = [process.execPath, '--import', 'tsx', cli];

const start = useRuntime({ threads: 2 });

let pty: Pty | undefined;
const gates: Gate[] = [];
afterEach(() => {
  pty?.kill();
  pty = undefined;
  for (const gate of gates.splice(0)) {
    gate.release();
    gate.close();
  }
});

/** The names in the screen's actor table, top to bottom. */
function tableNames(screen: string[]): string[] {
  const header = screen.findIndex((line) => line.startsWith('NAME'));
  if (header < 0) return [];
  return screen
    .slice(header + 1)
    .map((line) => line.split(/\s+/)[0])
    .filter((name) => name !== '' && name !== '…');
}

/** A port nothing listens on (taken from the OS, then given back). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('microswarm top in a terminal', () => {
  it('shows the threads and actors, re-sorts on m and r, and exits with 0 on q', async () => {
    const rt = await start();
    // Held actors: mailboxes of 300, 600 and 900 that do not move, and no rate.
    for (let i = 1; i <= 3; i++) {
      const ref = await rt.spawn<ProbeMsg>(probeUrl, undefined, { name: `held-${i}`, thread: i % 2 });
      const gate = new Gate();
      gates.push(gate);
      ref.tell({ type: 'hold', channel: gate.channel });
      await gate.entered;
      for (let k = 0; k < i * 300; k++) ref.tell({ type: 'log', value: k });
    }
    // Busy actors: a rate, and small mailboxes.
    const busy = await rt.spawn<CounterMsg, number>(counterUrl, { start: 0 }, { name: 'busy-1', thread: 0 });
    const stopBusy = keepBusy(busy);
    try {
      const server = await rt.serve({ port: 0 });
      pty = new Pty([...command, 'top', '--url', server.url, '--interval', '200', '--sort', 'mailbox'], { rows: 24, columns: 100 }, root);
      const p = pty;

      let screen = await eventually(
        () => p.screen(),
        (s) => tableNames(s).length === 4,
        15_000,
      );
      expect(screen[0]).toContain(`microswarm top  ${server.url}`);
      expect(screen).toContain('THREAD STATUS       ACTORS ELU             RING             RATE/s RESP ms');
      expect(screen.some((line) => /^0 +running +\d+ \[[# ]{8}\] +\d+% \[/.test(line))).toBe(true);
      expect(screen.some((line) => /^1 +running /.test(line))).toBe(true);
      expect(screen.find((line) => line.startsWith('sort:'))).toContain('sort: mailbox ▼');
      expect(tableNames(screen).slice(0, 3)).toEqual(['held-3', 'held-2', 'held-1']);
      expect(screen.find((line) => line.startsWith('held-3'))).toMatch(/ 900 +0 +- +0 +\d+$/);

      // r: the busy actor (the only one with a rate) comes first, with a handler p99 (rt.serve registered metrics: handlers are timed).
      p.type('r');
      screen = await eventually(
        () => p.screen(),
        (s) =>
          s.some((line) => line.startsWith('sort: rate ▼')) &&
          tableNames(s)[0] === 'busy-1' &&
          /^busy-1 .* [1-9][\d.]*k? +\d+\.\d\d +0 /.test(s.find((l) => l.startsWith('busy-1')) ?? ''),
        15_000,
      );
      expect(screen.find((line) => line.startsWith('NAME'))).toContain('RATE/s▼');

      // m: back to mailbox order; m again: reversed.
      p.type('m');
      await eventually(
        () => p.screen(),
        (s) => tableNames(s).slice(0, 3).join() === 'held-3,held-2,held-1',
      );
      p.type('m');
      await eventually(
        () => p.screen(),
        (s) => s.some((line) => line.startsWith('sort: mailbox ▲')) && tableNames(s).slice(1).join() === 'held-1,held-2,held-3',
      );

      p.type('q');
      expect(await guarded(p.exited, 10_000, 'top to exit after q')).toBe(0);
      // It left the alternate screen and showed the cursor again.
      expect(p.output.endsWith('\x1b[?25h\x1b[?1049l')).toBe(true);
    } finally {
      await stopBusy();
    }
  });

  it('says a server is not reachable, retries until it is, and quits on Ctrl-C with 0', async () => {
    const port = await closedPort();
    pty = new Pty([...command, 'top', '--url', `http://127.0.0.1:${port}`, '--interval', '200'], { rows: 24, columns: 140 }, root);
    const p = pty;
    const screen = await eventually(
      () => p.screen(),
      (s) => s.some((line) => line.includes('(attempt 2)')),
      15_000,
    );
    expect(screen[1]).toMatch(new RegExp(`^! cannot reach http://127\\.0\\.0\\.1:${port}/inspect: connect ECONNREFUSED .*; retrying in `));
    expect(screen).toContain('waiting for the first snapshot…');

    // The server comes up on that port: the next attempt reads it.
    const rt = await start();
    await rt.spawn<CounterMsg, number>(counterUrl, { start: 0 }, { name: 'late-counter' });
    await rt.serve({ port });
    await eventually(
      () => p.screen(),
      (s) => tableNames(s).includes('late-counter') && !s.some((line) => line.startsWith('!')),
      15_000,
    );

    p.type('\x03');
    expect(await guarded(p.exited, 10_000, 'top to exit after Ctrl-C')).toBe(0);
  });

  it('exits with 2 and names the value on a bad argument', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', cli, 'top', '--url', 'http://127.0.0.1:9464', '--sort', 'cpu'], { cwd: root });
    let err = '';
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
    const code = await guarded(new Promise<number | null>((resolve) => child.on('exit', resolve)), 20_000, 'microswarm to exit');
    expect(code).toBe(2);
    expect(err).toContain('microswarm: Expected `--sort` to be one of mailbox, rate, p99, got `"cpu"` (string)');
    expect(err).toContain('Usage: microswarm top --url <url>');
  });
});
