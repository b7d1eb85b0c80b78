/**
 * A far node of the entity cases (entity-activate, entity-failover): cluster
 * node `<node>` of one pool thread, hosting the entities placement gives it.
 * argv: NATS server URL, cluster name, node name. Its info is its pid (what
 * the test counter's `where` answers). Beside `'stop'`, it answers the IPC
 * message `'state'` with `{ state: FarNodeState }`.
 */
import { Runtime } from '../../../src/index.js';
import { serveFar } from '../far-process.js';
import type { FarNodeState } from '../entity-cluster.js';

const [servers, cluster, node] = process.argv.slice(2);

await serveFar(async () => {
  const rt = await Runtime.start({ threads: 1, cluster: { servers, name: cluster, node } });
  process.on('message', (m) => {
    if (m !== 'state' || rt.cluster === undefined) return;
    const state: FarNodeState = { members: rt.cluster.members().map((member) => member.node), entities: rt.cluster.stats().entities };
    process.send?.({ state });
  });
  return { info: { pid: process.pid }, stop: () => rt.shutdown() };
});
