/**
 * The production path: the package built to dist/ (npm test builds it first,
 * see "pretest"), used by plain node with .js actor modules, no TypeScript
 * loader in any thread.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));
const script = fileURLToPath(new URL('./fixtures/dist-script.mjs', import.meta.url));

describe('built package', () => {
  it('runs .js actor modules on worker threads with plain node', async () => {
    expect(existsSync(new URL('../dist/engine/host.js', import.meta.url))).toBe(true);
    const child = spawn(process.execPath, [script], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
    // A hang guard, not a timing assertion.
    const guard = setTimeout(() => child.kill('SIGKILL'), 20_000);
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    clearTimeout(guard);
    expect(err).toBe('');
    expect(code).toBe(0);
    expect(JSON.parse(out)).toEqual([
      { n: 42, thread: 0 },
      { n: 42, thread: 1 },
    ]);
  });
});
