/**
 * The raw nats.js impls of remote-ask-rtt (nats-request) and remote-tell
 * (nats-publish): the counter is a subscriber in a far process
 * (./far/nats.ts); this process publishes `{ type: 'inc', by: 1 }` and
 * requests `{ type: 'get' }` on the same subject, JSON-encoded. No framing,
 * no batching of its own: the smallest thing a user could write with nats.js.
 */
import { connect } from '@nats-io/transport-node';
import { nearSideOf, startFar } from './far-process.js';
import type { RemoteCounter } from './peer.js';

const farUrl = new URL('./far/nats.ts', import.meta.url);
const subject = 'bench.counter';
const requestTimeoutMs = 120_000;

export async function startNatsRemote(servers: string): Promise<RemoteCounter> {
  const far = await startFar(farUrl, [servers, subject]);
  return nearSideOf(far, async () => {
    const nc = await connect({ servers });
    const get = async (): Promise<number> => (await nc.request(subject, JSON.stringify({ type: 'get' }), { timeout: requestTimeoutMs })).json<number>();
    try {
      await get();
    } catch (error) {
      await nc.close();
      throw error;
    }
    return {
      get,
      incMany(count: number) {
        for (let i = 0; i < count; i++) nc.publish(subject, JSON.stringify({ type: 'inc', by: 1 }));
        // Same connection, same subject: the request reaches the subscriber after every publish.
        return get();
      },
      close: () => nc.close(),
    };
  });
}
