/**
 * After shutdown the runtime holds no handle: a script that starts a runtime,
 * spawns, asks and shuts down exits by itself, with code 0.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { userEnv } from './fixtures/prebuilt.js';

const repoRoot = fileURLToPath(new URL('..', import.meta.url));
const script = fileURLToPath(new URL('./fixtures/exit-script.ts', import.meta.url));
/** A hang guard, not a timing claim: a process still alive by then never exits. */
const kHangGuardMs = 20_000;

it('lets the process exit on its own after shutdown', async () => {
  const child = spawn(process.execPath, ['--import', 'tsx', script], { cwd: repoRoot, env: userEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  let hung = false;
  const guard = setTimeout(() => {
    hung = true;
    child.kill('SIGKILL');
  }, kHangGuardMs);
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (exitCode, exitSignal) => resolve([exitCode, exitSignal]));
  });
  clearTimeout(guard);
  expect(hung, `the process did not exit within ${kHangGuardMs} ms after printing:\n${stdout}\n${stderr}`).toBe(false);
  expect({ code, signal, stderr: stderr.replace(/^npm warn.*\n/gm, '') }).toEqual({ code: 0, signal: null, stderr: '' });
  expect(stdout).toBe('answer 42\ndone\n');
}, 30_000);
