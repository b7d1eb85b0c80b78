/**
 * The impls of transfer-pipeline-1m behind one interface: `run(frames,
 * window)` pushes `frames` 1 MiB frames through the source and four stages
 * on two threads, `window` in flight, and resolves when the last came back.
 *
 * - microswarm: actors (bench/actors/pipeline-stage.ts), frames are pool
 *   allocations moved by handle; `transfers()` reads the pool's counter.
 * - postMessage-clone / postMessage-transfer: two workers joined by a
 *   MessageChannel (bench/peers/workers/pipeline-peer.mjs).
 * - plain: the same frame work (bench/actors/pipeline-frame.ts) in the
 *   calling thread, no runtime and no messages: the floor under every impl.
 */
import { once } from 'node:events';
import { Runtime, type ActorRef } from '../../src/index.js';
import { fillFrame, kFrameWords, kStages, passStage } from '../actors/pipeline-frame.js';
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

/**
 * The floor: each frame goes through the four stages in turn, in this thread,
 * as a plain call per stage. `window` frames are made once (filled like the
 * others' frames) and reused in turn, as the source reuses its frames.
 * What is left is what every impl pays too: the stages' header work and the
 * last stage's read of all 1 MiB, one frame after another (the last stage is
 * one actor, so its reads never overlap, whatever the threads).
 */
export function startPlainPipeline(): Pipeline {
  const spare: Int32Array[] = [];
  return {
    async run(frames, window) {
      while (spare.length < window) {
        const words = new Int32Array(kFrameWords);
        fillFrame(words);
        spare.push(words);
      }
      let back = 0;
      for (let seq = 0; seq < frames; seq++) {
        const words = spare[seq % window] as Int32Array;
        words[0] = seq;
        for (let stage = 0; stage < kStages; stage++) passStage(words, stage, seq);
        back++;
      }
      return back;
    },
    close: async () => undefined,
  };
}
