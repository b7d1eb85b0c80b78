/**
 * The microswarm impl of remote-ask-rtt and remote-tell: the counter lives in
 * a far process (./far/microswarm.ts, cluster node `far`); this process
 * starts a runtime of its own as cluster node `near`, waits until `far` is a
 * member, and talks to the counter through a ref naming node `far`. tell and
 * ask go from this process's main thread through its gateway, over NATS, to
 * far's gateway, then to far's pool thread and back.
 */
import { ActorRef, Runtime } from '../../src/index.js';
import type { CounterMsg } from '../actors/counter.js';
import { nearSideOf, startFar } from './far-process.js';
import type { RemoteCounter } from './peer.js';

const farUrl = new URL('./far/microswarm.ts', import.meta.url);
const cluster = 'bench';
/** Generous: a slow ask must show up as a slow figure, not as a failure. */
const askTimeoutMs = 120_000;
const memberGuardMs = 15_000;

export async function startMicroswarmRemote(servers: string): Promise<RemoteCounter> {
  const far = await startFar<{ slot: number; gen: number }>(farUrl, [servers, cluster]);
  return nearSideOf(far, async () => {
    const rt = await Runtime.start({ threads: 1, cluster: { servers, name: cluster, node: 'near' } });
    try {
      await untilMember(rt, 'far');
      // The constructor is @internal; a ref of another node is what a lookup or a message would hand over.
      const ref = new ActorRef<CounterMsg, number>(far.info.slot, far.info.gen, undefined, undefined, 'far');
      const get = (): Promise<number> => ref.ask({ type: 'get' }, { timeoutMs: askTimeoutMs });
      await get(); // the path is warm: connection, subjects, both gateways
      return {
        get,
        async incMany(count: number) {
          let refused = 0;
          for (let i = 0; i < count; i++) if (!ref.tell({ type: 'inc', by: 1 })) refused++;
          // No backpressure reaches across nodes: a refused tell is lost, and the count check says so.
          if (refused > 0) throw new Error(`${refused} of ${count} remote tells refused`);
          // One sender, one node: this answer comes after all `count` increments were handled.
          return get();
        },
        close: () => rt.shutdown(),
      };
    } catch (error) {
      await rt.shutdown().catch(() => undefined);
      throw error;
    }
  });
}

async function untilMember(rt: Runtime, node: string): Promise<void> {
  const deadline = performance.now() + memberGuardMs;
  while (!rt.cluster?.members().some((m) => m.node === node)) {
    if (performance.now() > deadline) throw new Error(`node ${node} not a member within ${memberGuardMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
