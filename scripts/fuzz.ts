/**
 * `npm run fuzz [-- --seed=N] [--runs=N] [--target=name]`: fuzzes everything
 * that reads bytes written elsewhere (the decoder, the frame parser, a dead
 * thread's journal; see test/fixtures/fuzz-targets.ts) with 100,000 cases per
 * target by default. The seed is random unless given, and printed. A failure
 * prints fast-check's report (the shrunk counterexample, the seed and path to
 * replay it) and exits 1. A case that makes no progress for 60 s is a hang:
 * a watchdog thread prints the target and case, and kills the process
 * (exit by SIGKILL) since a synchronous loop cannot be interrupted otherwise.
 */
import { writeSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import fc from 'fast-check';
import { fuzzTargets } from '../test/fixtures/fuzz-targets.js';

function option(name: string): string | undefined {
  const prefix = `--${name}=`;
  return process.argv.find((arg) => arg.startsWith(prefix))?.slice(prefix.length);
}

const seed = Number(option('seed') ?? process.env.FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));
const runs = Number(option('runs') ?? 100_000);
const only = option('target');
const hangMs = 60_000;

// progress[0]: cases started in the current target; progress[1]: the target's index.
const progress = new Int32Array(new SharedArrayBuffer(8));
const targets = fuzzTargets(() => Atomics.add(progress, 0, 1));
const names = targets.map((t) => t.name);
if (only !== undefined && !names.includes(only)) {
  console.error(`no target ${only}; targets: ${names.join(', ')}`);
  process.exit(2);
}

const watchdog = new Worker(
  `
  const { workerData } = require('node:worker_threads');
  const { writeSync } = require('node:fs');
  const progress = new Int32Array(workerData.sab);
  let last = -1, lastTarget = -1, since = Date.now();
  setInterval(() => {
    const cases = Atomics.load(progress, 0), target = Atomics.load(progress, 1);
    if (cases !== last || target !== lastTarget) { last = cases; lastTarget = target; since = Date.now(); return; }
    if (Date.now() - since < workerData.hangMs) return;
    const name = workerData.names[target];
    writeSync(2, 'HANG: ' + name + ' made no progress for ' + workerData.hangMs / 1000 + ' s in case ' + (cases - 1) +
      ' (replay: npm run fuzz -- --seed=' + workerData.seed + ' --target=' + name + ')\\n');
    process.kill(process.pid, 'SIGKILL');
  }, 1000);
  `,
  { eval: true, workerData: { sab: progress.buffer, names, seed, hangMs } },
);
watchdog.unref();

console.log(`fuzz: seed ${seed}, ${runs.toLocaleString('en-US')} cases per target (replay: npm run fuzz -- --seed=${seed})`);
let failed = false;
const started = performance.now();
for (const [index, { name, property }] of targets.entries()) {
  if (only !== undefined && name !== only) continue;
  Atomics.store(progress, 1, index);
  Atomics.store(progress, 0, 0);
  const t0 = performance.now();
  const details = fc.check(property, { seed, numRuns: runs });
  const seconds = ((performance.now() - t0) / 1000).toFixed(1);
  if (details.failed) {
    failed = true;
    console.log(`FAIL ${name} after ${details.numRuns.toLocaleString('en-US')} cases (${seconds} s)`);
    writeSync(1, `${fc.defaultReportMessage(details) ?? ''}\n`);
    const error = details.errorInstance as Error | undefined;
    if (error?.stack !== undefined) writeSync(1, `${error.stack}\n`);
  } else {
    console.log(`ok   ${name}: ${details.numRuns.toLocaleString('en-US')} cases, ${seconds} s`);
  }
}
console.log(`fuzz: ${failed ? 'FAILED' : 'all targets passed'} in ${((performance.now() - started) / 1000).toFixed(1)} s (seed ${seed})`);
process.exit(failed ? 1 : 0);
