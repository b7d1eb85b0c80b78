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

export async function startPostMessagePair(mode: TransferMode): Promise<HandoffPair> {
  const { port1, port2 } = new MessageChannel();
  const ping = new Worker(workerUrl, { workerData: { role: 'ping', mode, port: port1 }, transferList: [port1] });
  const pong = new Worker(workerUrl, { workerData: { role: 'pong', mode, port: port2 }, transferList: [port2] });
  let failure: Error | undefined;
  const onError = (error: Error) => {
    failure ??= error;
  };
  ping.on('error', onError);
  pong.on('error', onError);
  await Promise.all([once(ping, 'online'), once(pong, 'online')]);

  return {
    async run(roundTrips) {
      if (failure) throw failure;
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
