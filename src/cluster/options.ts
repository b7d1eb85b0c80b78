/**
 * `RuntimeOptions.cluster`: which NATS servers, which cluster, which node,
 * the failure detector's timing; every other key is a NATS connection
 * option (user and pass, token, authenticator for nkeys or credentials, tls,
 * timeouts) handed to `@nats-io/transport-node`'s `connect` unchanged.
 */
import { hostname } from 'node:os';
import { InvalidOptionError } from '../base/errors.js';
import { integer, isPlainObject } from '../base/check.js';
import { checkName } from './kv.js';
import type { EntityPlacement } from './placement.js';

/** Options of a runtime that joins a cluster (`RuntimeOptions.cluster`). */
export interface ClusterOptions {
  /** NATS server URL(s), e.g. `nats://127.0.0.1:4222`. */
  servers: string | string[];
  /** The cluster's name: nodes with the same name (on the same NATS) form one cluster. Letters, digits, `-`, `_`. */
  name: string;
  /** This node's name, unique among the live members. Default `<host>-<pid>`. Letters, digits, `-`, `_`. */
  node?: string;
  /** How often this node writes its heartbeat. Default 250 ms. */
  heartbeatMs?: number;
  /** Silence after which a member is reported `unreachable`. Default 750 ms. */
  suspectAfterMs?: number;
  /** Silence after which a member is declared down (its asks settle with NodeUnreachableError). Default 1500 ms. */
  downAfterMs?: number;
  /** An entity that handled nothing for this long is passivated (checkpointed, stopped). Default 120,000 ms. */
  entityIdleMs?: number;
  /**
   * Where a new entity activation goes: `'rendezvous'` (default: hashing
   * over the live members, the same answer on every node) or
   * `'least-loaded'` (the member with the fewest active entities). See
   * docs/cluster.md.
   */
  placement?: EntityPlacement;
  /** Any other key: a NATS connection option, passed to `connect` as it is (never logged, never in an error). */
  [connectionOption: string]: unknown;
}

/** @internal */
export interface ResolvedClusterOptions {
  servers: string[];
  cluster: string;
  node: string;
  timing: { heartbeatMs: number; suspectAfterMs: number; downAfterMs: number };
  entityIdleMs: number;
  placement: EntityPlacement;
  /** The NATS connection options, as given. */
  connection: Record<string, unknown>;
}

const ours = ['servers', 'name', 'node', 'heartbeatMs', 'suspectAfterMs', 'downAfterMs', 'entityIdleMs', 'placement'];

/** @internal Validates `options.cluster`; throws InvalidOptionError naming the option and the value. */
export function resolveClusterOptions(value: unknown): ResolvedClusterOptions {
  if (!isPlainObject(value)) throw new InvalidOptionError('cluster', 'an object', value);
  const servers = typeof value.servers === 'string' ? [value.servers] : value.servers;
  if (!Array.isArray(servers) || servers.length === 0 || !servers.every((s) => typeof s === 'string' && s.length > 0)) {
    throw new InvalidOptionError('cluster.servers', 'a NATS server URL or a non-empty array of them', redactServers(value.servers));
  }
  const cluster = checkName('cluster.name', value.name);
  const node = value.node ?? `${hostname()}-${process.pid}`.replace(/[^A-Za-z0-9_-]/g, '-').slice(0, 64);
  checkName('cluster.node', node);
  const heartbeatMs = integer('cluster.heartbeatMs', value.heartbeatMs, 1, 60_000, 250);
  const suspectAfterMs = integer('cluster.suspectAfterMs', value.suspectAfterMs, 2, 600_000, 750);
  const downAfterMs = integer('cluster.downAfterMs', value.downAfterMs, 3, 3_600_000, 1500);
  if (suspectAfterMs <= heartbeatMs) throw new InvalidOptionError('cluster.suspectAfterMs', `more than heartbeatMs (${heartbeatMs})`, suspectAfterMs);
  if (downAfterMs <= suspectAfterMs) throw new InvalidOptionError('cluster.downAfterMs', `more than suspectAfterMs (${suspectAfterMs})`, downAfterMs);
  const entityIdleMs = integer('cluster.entityIdleMs', value.entityIdleMs, 10, 86_400_000, 120_000);
  const placement = value.placement ?? 'rendezvous';
  if (placement !== 'rendezvous' && placement !== 'least-loaded') {
    throw new InvalidOptionError('cluster.placement', "'rendezvous' or 'least-loaded'", value.placement);
  }
  const connection: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) if (!ours.includes(key)) connection[key] = v;
  return {
    servers: servers as string[],
    cluster,
    node: node as string,
    timing: { heartbeatMs, suspectAfterMs, downAfterMs },
    entityIdleMs,
    placement,
    connection,
  };
}

/** A server URL without any user:password it holds, for errors and logs. */
export function redactServer(url: string): string {
  // Up to the last `@` (a password may hold `@` or `/`), with or without a scheme.
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/)?.*@/i, '$1');
}

function redactServers(value: unknown): unknown {
  if (typeof value === 'string') return redactServer(value);
  if (Array.isArray(value)) return value.map((v) => (typeof v === 'string' ? redactServer(v) : v));
  return value;
}
