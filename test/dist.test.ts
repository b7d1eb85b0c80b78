/**
 * The production path: the package built to dist/ (npm test builds it first,
 * see "pretest"), used by plain node with .js actor modules, no TypeScript
 * loader in any thread; and the `microswarm` command that package.json's
 * `bin` names.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));
const script = fileURLToPath(new URL('./fixtures/dist-script.mjs', import.meta.url));

/** Runs plain node with `args` in `cwd` and collects what it printed and its exit code; killed after 20 s (a hang guard, not a timing assertion). */
async function runNode(args: string[], cwd = root): Promise<{ code: number | null; out: string; err: string }> {
  const child = spawn(process.execPath, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
  const guard = setTimeout(() => child.kill('SIGKILL'), 20_000);
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  clearTimeout(guard);
  return { code, out, err };
}

describe('built package', () => {
  it('runs .js actor modules on worker threads with plain node', async () => {
    expect(existsSync(new URL('../dist/engine/host.js', import.meta.url))).toBe(true);
    const { code, out, err } = await runNode([script]);
    expect(err).toBe('');
    expect(code).toBe(0);
    expect(JSON.parse(out)).toEqual([
      { n: 42, thread: 0 },
      { n: 42, thread: 1 },
    ]);
  });

  it("runs package.json's bin, `microswarm`, with plain node", async () => {
    const { bin } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { bin: Record<string, string> };
    const file = new URL(`../${bin.microswarm}`, import.meta.url);
    // npm links it as an executable: it must say how to run it.
    expect(readFileSync(file, 'utf8').startsWith('#!/usr/bin/env node\n')).toBe(true);
    const run = (args: string[]) => runNode([fileURLToPath(file), ...args]);
    const help = await run(['--help']);
    expect(help).toMatchObject({ code: 0, err: '' });
    expect(help.out).toContain('Usage: microswarm top --url <url>');
    const bad = await run(['top', '--url', 'http://127.0.0.1:9464/', '--interval', 'soon']);
    expect(bad.code).toBe(2);
    expect(bad.err).toContain('Expected `--interval` to be a whole number of milliseconds from 100 to 60000, got `"soon"` (string)');
  });

  it.each([
    ['node10', 'commonjs'],
    ['node16', 'node16'],
    ['bundler', 'esnext'],
  ])("gives a TypeScript user (moduleResolution %s) the types of both entries, 'microswarm' and 'microswarm/actor'", async (resolution, module) => {
    // A user's project: the package in its node_modules, one strict file importing both entries.
    const project = await mkdtemp(join(tmpdir(), 'microswarm-types-'));
    try {
      await mkdir(join(project, 'node_modules'));
      await symlink(root, join(project, 'node_modules', 'microswarm'), 'dir');
      await writeFile(join(project, 'package.json'), '{ "type": "module" }');
      await writeFile(
        join(project, 'user.ts'),
        "import { defineActor, type ActorRef } from 'microswarm/actor';\n" +
          "import { Runtime } from 'microswarm';\n" +
          'export const actor = defineActor({ init: () => ({ n: 0 }), receive: (state, _msg: { type: string }) => state.n });\n' +
          'export const start: typeof Runtime.start = Runtime.start;\n' +
          'export type Ref = ActorRef;\n',
      );
      const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
      const args = ['--noEmit', '--strict', '--skipLibCheck', '--moduleResolution', resolution, '--module', module, '--target', 'es2022', 'user.ts'];
      const { code, out, err } = await runNode([tsc, ...args], project);
      expect(out + err).toBe('');
      expect(code).toBe(0);
    } finally {
      await rm(project, { recursive: true, force: true });
    }
  });
});
