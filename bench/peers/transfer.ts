/**
 * The postMessage peers of transfer-64k: two worker threads joined by a
 * MessageChannel play ping-pong with a 64 KB Uint8Array
 * (bench/peers/workers/transfer-peer.mjs), the same loop as the microswarm
 * actors (bench/actors/memory-ping.ts, memory-pong.ts):
 *
 * - `postMessage-clone`: the Uint8Array is posted by structured clone, so each
 *   handoff copies 64 KB and the receiver reads a fresh copy.
 * - `postMessage-transfer`: its ArrayBuffer is in the transfer list, so it is
 *   moved; the sender has a detached buffer until the other side sends it
 *   back, as a microswarm region is no longer the sender's after a transfer.
 *
 * The main thread only starts a run and collects the samples.
 */
import { MessageChannel, Worker } from 'node:worker_threads';
import { once } from 'node:events';

const workerUrl = new URL('./workers/transfer-peer.mjs', import.meta.url);

export type TransferMode = 'clone' | 'transfer';

/** A ping-pong pair: `run(n)` plays n round trips and gives the per-handoff microseconds. */
export interface HandoffPair {
  run(roundTrips: number): Promise<Float64Array>;
  close(): Promise<void>;
}

/**
 * Two workers of `url` joined by a MessageChannel, each given its end as
 * `workerData.port` beside its own data, both online. `failure()` is the
 * first error either raised.
 */
export async function startWorkerPair(url: URL, first: object, second: object): Promise<{ first: Worker; second: Worker; failure(): Error | undefined }> {
  const { port1, port2 } = new MessageChannel();
  const a = new Worker(url, { workerData: { ...first, port: port1 }, transferList: [port1] });
  const b = new Worker(url, { workerData: { ...second, port: port2 }, transferList: [port2] });
  let failure: Error | undefined;
  const onError = (error: Error) => {
    failure ??= error;
  };
  a.on('error', onError);
  b.on('error', onError);
  await Promise.all([once(a, 'online'), once(b, 'online')]);
  return { first: a, second: b, failure: () => failure };
}

export async function startPostMessagePair(mode: TransferMode): Promise<HandoffPair> {
  const { first: ping, second: pong, failure } = await startWorkerPair(workerUrl, { role: 'ping', mode }, { role: 'pong', mode });

  return {
    async run(roundTrips) {
      const failed = failure();
      if (failed) throw failed;
      const answer = once(ping, 'message');
      ping.postMessage({ roundTrips });
      const [reply] = (await answer) as [{ samples?: Float64Array; error?: string }];
      if (reply.error !== undefined || reply.samples === undefined) throw new Error(reply.error ?? 'no samples');
      return reply.samples;
    },
    async close() {
      await Promise.all([ping.terminate(), pong.terminate()]);
    },
  };
}
