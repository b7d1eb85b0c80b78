/**
 * The cluster: loaded by `Runtime.start` (a dynamic import) only when
 * `options.cluster` is given, so a single-process runtime loads no NATS code.
 */
export {
  connectCluster,
  type Cluster,
  type ClusterStats,
  type ConnectionStats,
  type ClusterNode,
  type MemberEvent,
  type MemberInfo,
  type PreparedCluster,
} from './node.js';
export type { GatewayHost } from './gateway.js';
export type { EntityRuntime, EntityStats } from './entities.js';
export type { EntityPlacement } from './placement.js';
