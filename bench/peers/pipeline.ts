/**
 * The impls of transfer-pipeline-1m behind one interface: `run(frames,
 * window)` pushes `frames` 1 MiB frames through the source and four stages
 * on two threads, `window` in flight, and resolves when the last came back.
 *
 * - microswarm: actors (bench/actors/pipeline-stage.ts), frames are pool
 *   allocations moved by handle; `transfers()` reads the pool's counter.
 * - postMessage-clone / postMessage-transfer: two workers joined by a
 *   MessageChannel (bench/peers/workers/pipeline-peer.mjs).
 */
import { once } from 'node:events';
import { Runtime, type ActorRef } from '../../src/index.js';
import type { PipelineMsg } from '../actors/pipeline-stage.js';
import { startWorkerPair } from './transfer.js';

export interface Pipeline {
  run(frames: number, window: number): Promise<number>;
  transfers?(): number;
  close(): Promise<void>;
}

const stageUrl = new URL('../actors/pipeline-stage.ts', import.meta.url);
const workerUrl = new URL('./workers/pipeline-peer.mjs', import.meta.url);

export async function startMicroswarmPipeline(): Promise<Pipeline> {
  const rt = await Runtime.start({ threads: 2 });
  try {
    const source = await rt.spawn<PipelineMsg, number>(stageUrl, { role: 'source' }, { thread: 0 });
    let next = source as unknown as ActorRef<PipelineMsg>;
    for (let stage = 3; stage >= 0; stage--) {
      next = await rt.spawn<PipelineMsg, undefined>(stageUrl, { role: 'stage', stage, next }, { thread: stage % 2 });
    }
    const first = next;
    return {
      run: (frames, window) => source.ask({ type: 'run', first, frames, window }, { timeoutMs: 120_000 }),
      transfers: () => rt.memory.stats().transfers,
      close: () => rt.shutdown(),
    };
  } catch (error) {
    await rt.shutdown().catch(() => undefined);
    throw error;
  }
}

export async function startPostMessagePipeline(mode: 'clone' | 'transfer'): Promise<Pipeline> {
  const { first: a, second: b, failure } = await startWorkerPair(workerUrl, { role: 'a', mode }, { role: 'b', mode });
  return {
    async run(frames, window) {
      const failed = failure();
      if (failed) throw failed;
      const answer = once(a, 'message');
      a.postMessage({ frames, window });
      const [reply] = (await answer) as [{ frames?: number; error?: string }];
      if (reply.error !== undefined || reply.frames === undefined) throw new Error(reply.error ?? 'no answer');
      return reply.frames;
    },
    async close() {
      await Promise.all([a.terminate(), b.terminate()]);
    },
  };
}
