/**
 * The moleculer impl of remote-ask-rtt: a Moleculer 0.14 broker in this
 * process (node `near`) calls the action `counter.receive` of a broker in a
 * far process (./far/moleculer.ts, node `far`) over Moleculer's NATS
 * transporter, with `{ type: 'get' }` as its params.
 *
 * Moleculer 0.14.8's transporter speaks the `nats` package's 1.x API
 * (`Nats.connect(opts)` and its events); the 2.x API is supported from
 * Moleculer 0.14.14 on. So the devDependency is `nats@1`.
 */
import moleculer from 'moleculer';
import { nearSideOf, startFar } from './far-process.js';
import type { RemoteCounter } from './peer.js';

const farUrl = new URL('./far/moleculer.ts', import.meta.url);
const requestTimeoutMs = 120_000;
const discoveryGuardMs = 15_000;

export async function startMoleculerRemote(servers: string): Promise<Pick<RemoteCounter, 'get' | 'close'>> {
  const far = await startFar(farUrl, [servers]);
  return nearSideOf(far, async () => {
    const broker = new moleculer.ServiceBroker({
      nodeID: 'near',
      transporter: { type: 'NATS', options: { url: servers } },
      logger: false,
      requestTimeout: requestTimeoutMs,
    });
    const get = (): Promise<number> => broker.call<number, { type: 'get' }>('counter.receive', { type: 'get' });
    try {
      await broker.start();
      await broker.waitForServices('counter', discoveryGuardMs);
      await get();
    } catch (error) {
      await broker.stop().catch(() => undefined);
      throw error;
    }
    return { get, close: () => broker.stop() };
  });
}
