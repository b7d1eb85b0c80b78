/**
 * The postMessage peer: a worker thread holding a counter behind a raw
 * MessagePort. No framing, no ids: the smallest thing a user could write with
 * node:worker_threads alone.
 *
 * @example
 * const peer = await startPostMessageCounter();
 * await peer.incMany(1000); // 1000
 * await peer.close();
 */
import { MessageChannel, Worker } from 'node:worker_threads';
import { once } from 'node:events';
import type { CrossThreadCounter } from './peer.js';

const workerUrl = new URL('./workers/postmessage-counter.mjs', import.meta.url);

export async function startPostMessageCounter(): Promise<CrossThreadCounter> {
  const { port1, port2 } = new MessageChannel();
  const worker = new Worker(workerUrl, { workerData: { port: port2 }, transferList: [port2] });
  await once(worker, 'online');

  // Answers come back in the order the gets were posted: a FIFO of resolvers,
  // index-based so that nothing is shifted per message.
  const waiting: Array<(count: number) => void> = [];
  let head = 0;
  port1.on('message', (count: number) => {
    const resolve = waiting[head];
    waiting[head++] = noop;
    if (head === waiting.length) {
      waiting.length = 0;
      head = 0;
    }
    resolve(count);
  });
  let failure: Error | undefined;
  worker.on('error', (error) => {
    failure = error;
  });

  const get = (): Promise<number> => {
    if (failure) return Promise.reject(failure);
    return new Promise<number>((resolve) => {
      waiting.push(resolve);
      port1.postMessage({ type: 'get' });
    });
  };

  return {
    get,
    incMany(count) {
      for (let i = 0; i < count; i++) port1.postMessage({ type: 'inc', by: 1 });
      return get();
    },
    async close() {
      port1.close();
      await worker.terminate();
    },
  };
}

function noop(): void {}
