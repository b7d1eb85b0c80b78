/**
 * `npx tsx examples/pipeline.ts`: image frames through a pipeline of agents
 * on different threads, moved through the shared memory pool, not copied.
 *
 *   source --> invert --> blur --> threshold --> sink
 *   (thread 0)  (1)        (0)       (1)          (0)      with 2 threads
 *
 * The source allocates each 256 x 256 RGBA frame (256 KiB) in the pool and
 * paints it; each stage transforms it in place and transfers it on with
 * `tell(msg, { transfer: [handle] })`; the sink checks a few rows against a
 * replay of every step, frees the frame and gives the source a credit (at
 * most `window` frames are in flight).
 *
 * How bytes are counted: every hop between two actors is one ownership
 * transfer, which the pool counts (`rt.memory.stats().transfers`), and moves
 * a whole frame by handle. A frame that travelled inside a message instead
 * would have been encoded and copied; above 64 KiB such a message is carried
 * through the pool, which would show as extra pool allocations. So:
 *   bytes moved by handle = transfers x frame size
 *   bytes copied          = (hops that were not transfers + carried messages) x frame size
 * and the same pipeline with postMessage structured clone would copy
 * frames x hops x frame size.
 */
import { availableParallelism } from 'node:os';
import { Runtime, type ActorFailure, type ActorRef, type MemoryStats } from '../src/index.js';
import { kFrameBytes, kHeight, kWidth, stageKinds } from './actors/pipeline-kernels.js';
import type { SinkMsg, SinkProgress } from './actors/pipeline-sink.js';
import type { SourceMsg, SourceResult } from './actors/pipeline-source.js';
import type { FrameMsg, StageMsg, StageStats } from './actors/pipeline-stage.js';

const frames = 400;
const window = 8;
const hops = stageKinds.length + 1; // source -> stages -> sink

const sourceUrl = new URL('./actors/pipeline-source.ts', import.meta.url);
const stageUrl = new URL('./actors/pipeline-stage.ts', import.meta.url);
const sinkUrl = new URL('./actors/pipeline-sink.ts', import.meta.url);

const mib = (bytes: number) => `${(bytes / (1024 * 1024)).toFixed(1)} MiB`;
// On a terminal the progress line rewrites itself; in a log it is one line per update.
const progress = (line: string) => (process.stdout.isTTY ? process.stdout.write(`\r${line.padEnd(78)}`) : console.log(line));

const started = performance.now();
const rt = await Runtime.start({ threads: Math.max(2, Math.min(4, availableParallelism())) });
try {
  let failure: ActorFailure | undefined;
  const failed = new Promise<never>((_, reject) => {
    rt.failures.subscribe((event) => {
      failure ??= event;
      reject(new Error(`${event.actor.toString()} failed: ${event.error.message}`, { cause: event.error }));
    });
  });
  failed.catch(() => undefined); // raced below; not an unhandled rejection when nothing fails

  // Place the actors round-robin over the threads: every hop crosses threads.
  const threadOf = (position: number) => position % rt.threads;
  const source = await rt.spawn<SourceMsg, SourceResult>(sourceUrl, undefined, { thread: threadOf(0) });
  const sink = await rt.spawn<SinkMsg, SinkProgress | undefined>(sinkUrl, { source }, { thread: threadOf(hops) });
  const stages: Array<ActorRef<StageMsg, StageStats | undefined>> = [];
  let next: ActorRef<FrameMsg> = sink as unknown as ActorRef<FrameMsg>;
  for (let i = stageKinds.length - 1; i >= 0; i--) {
    const stage = await rt.spawn<StageMsg, StageStats | undefined>(stageUrl, { kind: stageKinds[i], next }, { thread: threadOf(i + 1) });
    stages.unshift(stage);
    next = stage as unknown as ActorRef<FrameMsg>;
  }
  console.log(
    `pipeline: source -> ${stageKinds.join(' -> ')} -> sink on ${rt.threads} threads; ` +
      `${frames} frames of ${kWidth}x${kHeight} RGBA (${kFrameBytes / 1024} KiB), ${window} in flight`,
  );

  const before = rt.memory.stats();
  const runStart = performance.now();
  const run = Promise.race([source.ask({ type: 'run', frames, window, first: next }, { timeoutMs: 60_000 }), failed]);
  let finished = false;
  void run.finally(() => (finished = true)).catch(() => undefined);
  while (!finished) {
    await Promise.race([new Promise((resolve) => setTimeout(resolve, 100)), run.catch(() => undefined)]);
    if (finished) break;
    const seen = (await Promise.race([sink.ask({ type: 'progress' }), failed])) as SinkProgress;
    const moved = rt.memory.stats().transfers - before.transfers;
    progress(`frames ${seen.frames}/${frames} checked; ${moved} transfers, ${mib(moved * kFrameBytes)} moved by handle`);
  }
  const result = await run;
  const elapsedMs = performance.now() - runStart;
  const after = rt.memory.stats();
  const sinkStats = (await sink.ask({ type: 'progress' })) as SinkProgress;
  const stageStats = (await Promise.all(stages.map((stage) => stage.ask({ type: 'stats' })))) as StageStats[];
  progress(`frames ${sinkStats.frames}/${frames} checked in ${elapsedMs.toFixed(0)} ms`);
  console.log('\n');

  // The counts, from the pool's own counters.
  const transfers = after.transfers - before.transfers;
  const allocations = after.allocations - before.allocations;
  const carried = Math.max(0, allocations - frames); // large messages carried through the pool
  const hopsNotTransferred = Math.max(0, frames * hops - transfers);
  const bytesMoved = transfers * kFrameBytes;
  const bytesCopied = (hopsNotTransferred + carried) * kFrameBytes;
  const cloneWouldCopy = frames * hops * kFrameBytes;

  console.table({
    frames: { value: frames },
    'stages (hops)': { value: `${stageKinds.length} (${hops}: source -> ... -> sink)` },
    'frame size': { value: `${kFrameBytes.toLocaleString('en')} B` },
    elapsed: { value: `${elapsedMs.toFixed(0)} ms` },
    throughput: { value: `${Math.round(frames / (elapsedMs / 1000))} frames/s, ${mib((frames * kFrameBytes) / (elapsedMs / 1000))}/s` },
    'transfers counted by the pool': { value: `${transfers} (frames x hops = ${frames * hops})` },
    'bytes moved by handle': { value: `${bytesMoved.toLocaleString('en')} B (${mib(bytesMoved)})` },
    'frame bytes copied': { value: `${bytesCopied.toLocaleString('en')} B` },
    'postMessage clone would copy': { value: `${cloneWouldCopy.toLocaleString('en')} B (${mib(cloneWouldCopy)})` },
    'rows checked by the sink': { value: sinkStats.rowsChecked },
  });
  console.table([
    { actor: 'source', thread: result.thread, frames: result.frames, 'busy ms': Math.round(result.busyMs) },
    ...stageStats.map((s) => ({ actor: s.kind, thread: s.thread, frames: s.frames, 'busy ms': Math.round(s.busyMs) })),
    { actor: 'sink', thread: sinkStats.thread, frames: sinkStats.frames, 'busy ms': Math.round(sinkStats.busyMs) },
  ]);
  const { perAgent, ...poolStats } = after;
  console.log('rt.memory.stats() after the run:');
  console.table(
    Object.fromEntries(
      (Object.keys(poolStats) as Array<keyof Omit<MemoryStats, 'perAgent'>>).map((key) => [key, { before: before[key], after: after[key] }]),
    ),
  );
  if (perAgent.length > 0) console.log('still owned per actor slot:', perAgent);

  if (sinkStats.frames !== frames) throw new Error(`the sink saw ${sinkStats.frames} frames, expected ${frames}`);
  if (bytesCopied !== 0) console.warn(`warning: ${bytesCopied} frame bytes were copied (see the counting in the file header)`);
  if (after.used !== before.used) console.warn(`warning: ${after.used - before.used} bytes still allocated after the run`);
  if (failure !== undefined) throw failure.error;
} finally {
  await rt.shutdown();
}
console.log(`done in ${((performance.now() - started) / 1000).toFixed(1)} s`);
