/**
 * The far side of the microswarm impls of remote-ask-rtt and remote-tell: a
 * cluster node `far` of one pool thread holding the counter
 * (../../actors/counter.ts), which the near side reaches by `{ slot, gen }`.
 * argv: NATS server URL, cluster name.
 */
import { Runtime } from '../../../src/index.js';
import type { CounterMsg } from '../../actors/counter.js';
import { serveFar } from '../far-process.js';

const counterUrl = new URL('../../actors/counter.ts', import.meta.url);
const [servers, cluster] = process.argv.slice(2);

await serveFar(async () => {
  const rt = await Runtime.start({ threads: 1, cluster: { servers, name: cluster, node: 'far' } });
  try {
    const ref = await rt.spawn<CounterMsg>(counterUrl, { start: 0 }, { thread: 0 });
    await ref.ask({ type: 'get' }); // the actor is up and its module loaded
    return { info: { slot: ref.slot, gen: ref.gen }, stop: () => rt.shutdown() };
  } catch (error) {
    await rt.shutdown().catch(() => undefined);
    throw error;
  }
});
