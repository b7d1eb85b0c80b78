/**
 * The comlink peer: a counter object with `inc(by)` and `get()` exposed in a
 * worker thread (bench/peers/workers/comlink-counter.mjs), called through a
 * comlink proxy over Node's worker endpoint (comlink's node-adapter).
 *
 * Only `get` is used by the cases (ask-rtt); `incMany` awaits each call in
 * windows, as a comlink user would, and is kept for completeness.
 */
import { Worker } from 'node:worker_threads';
import { once } from 'node:events';
import * as Comlink from 'comlink/dist/esm/comlink.mjs';
// comlink has no "exports" map and its "main" is UMD: its ESM build is
// addressed by path (types in ./comlink-esm.d.ts).
import nodeEndpoint from 'comlink/dist/esm/node-adapter.mjs';
import type { CrossThreadCounter } from './peer.js';

const workerUrl = new URL('./workers/comlink-counter.mjs', import.meta.url);

interface RemoteCounter {
  inc(by: number): void;
  get(): number;
}

export async function startComlinkCounter(): Promise<CrossThreadCounter> {
  const worker = new Worker(workerUrl);
  await once(worker, 'online');
  const proxy = Comlink.wrap<RemoteCounter>(nodeEndpoint(worker));
  await proxy.get(); // the worker has loaded comlink and exposed the object

  return {
    get: () => proxy.get(),
    async incMany(count) {
      const windowSize = 1024;
      for (let sent = 0; sent < count; ) {
        const calls: Array<Promise<void>> = [];
        const end = Math.min(count, sent + windowSize);
        for (; sent < end; sent++) calls.push(proxy.inc(1));
        await Promise.all(calls);
      }
      return proxy.get();
    },
    async close() {
      proxy[Comlink.releaseProxy]();
      await worker.terminate();
    },
  };
}
