/**
 * The runtime's side of inspection and serving: `rt.inspect()`,
 * `rt.serve()` and `rt.observeHandler()`. It builds what the routes in
 * src/observe/ read (an `ObserveSource`: snapshots, readiness, the feed
 * from `rt.failures`, `rt.crashes` and `rt.deadLetters`, the metrics text)
 * and loads that folder only through a dynamic import, on the first
 * `serve` or handler: a runtime that never serves loads no HTTP server.
 * Servers and handlers still open at shutdown are closed by it.
 */
import type { ActorFailure, DeadLetter } from '../engine/endpoint.js';
import type { EventSource } from '../base/events.js';
import type { FeedItem, HandlerOptions, ObserveHandler, ObserveServer, ObserveSource, Readiness, ServeOptions } from '../observe/index.js';
import type { InspectOptions, InspectSnapshot } from './inspect-types.js';
import { Inspector, type InspectParts } from './inspect.js';
import type { ThreadCrash } from './recovery.js';

/** What the Prometheus text comes from: `rt.metrics()`'s registry, once the runtime has it. */
type MetricsRegistry = { metrics(): Promise<string> };

/** @internal What serving reads besides the inspector's parts. */
export interface ObserveParts extends InspectParts {
  failures: EventSource<ActorFailure>;
  deadLetters: EventSource<DeadLetter>;
  crashes: EventSource<ThreadCrash>;
  /** True when the runtime is a cluster node whose NATS connection is up; undefined outside a cluster. */
  clusterConnected: () => boolean | undefined;
  /** `rt.metrics` when the runtime has it (registers metrics, resolves to their registry); looked up when a server or handler is made. */
  metrics: () => (() => MetricsRegistry | Promise<MetricsRegistry>) | undefined;
}

/** @internal Inspection, servers and handlers of one runtime. */
export class ObserveHost {
  private readonly parts: ObserveParts;
  private readonly inspector: Inspector;
  private readonly open = new Set<{ close(): unknown }>();
  private registry: Promise<MetricsRegistry> | undefined;

  constructor(parts: ObserveParts) {
    this.parts = parts;
    this.inspector = new Inspector(parts);
  }

  inspect(options?: InspectOptions): Promise<InspectSnapshot> {
    try {
      this.parts.control.checkOpen('inspect');
      return this.inspector.inspect(options);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  async serve(options?: ServeOptions): Promise<ObserveServer> {
    this.parts.control.checkOpen('serve');
    const { serve } = await import('../observe/index.js');
    const server = await serve(this.source(), options);
    const tracked = { close: () => server.close() };
    this.open.add(tracked);
    return {
      port: server.port,
      url: server.url,
      close: () => {
        this.open.delete(tracked);
        return server.close();
      },
    };
  }

  async handler(options?: HandlerOptions): Promise<ObserveHandler> {
    this.parts.control.checkOpen('observeHandler');
    const { checkHandlerOptions, createHandler } = await import('../observe/index.js');
    const handler = createHandler(this.source(), checkHandlerOptions(options, ['prefix', 'intervalMs']));
    this.open.add(handler);
    return handler;
  }

  /** Shutdown: every server and handler stops. */
  async close(): Promise<void> {
    const open = [...this.open];
    this.open.clear();
    await Promise.allSettled(open.map((o) => o.close()));
  }

  private source(): ObserveSource {
    const parts = this.parts;
    const metrics = parts.metrics();
    let registry = this.registry;
    if (metrics !== undefined && registry === undefined) {
      // Registered when the first server or handler is made, not at the first
      // scrape: registering turns on handler timing, which the dashboard's
      // and `top`'s p99 column reads through /inspect. A failure is the
      // scrape's to report.
      this.registry = registry = Promise.resolve().then(metrics);
      registry.catch(() => undefined);
    }
    return {
      inspect: () => this.inspect(),
      metrics: registry === undefined ? undefined : async () => (await registry).metrics(),
      ready: () => this.readiness(),
      onFeed: (listener) => {
        const offs = [
          parts.failures.subscribe((f) => listener(failureItem(f))),
          parts.crashes.subscribe((c) => listener(crashItem(c))),
          parts.deadLetters.subscribe((d) => listener(deadLetterItem(d))),
        ];
        return () => {
          for (const off of offs) off();
        };
      },
    };
  }

  /** `/readyz`: open, every pool thread running, and (a cluster node) connected to NATS. */
  private readiness(): Readiness {
    const control = this.parts.control;
    const checks: Readiness['checks'] = {};
    checks.open = control.closing ? 'shutting down' : true;
    const threads = this.parts.transport.endpoints - 1;
    const running = new Set(control.runningEndpoints());
    const missing: string[] = [];
    for (let e = 1; e <= threads; e++) {
      if (!running.has(e)) missing.push(`thread ${e - 1} ${control.down.has(e) ? 'down' : control.recovering.has(e) ? 'recovering' : 'not attached'}`);
    }
    checks.threads = missing.length === 0 ? true : missing.join(', ');
    const connected = this.parts.clusterConnected();
    if (connected !== undefined) checks.cluster = connected ? true : 'not connected to NATS';
    return { ready: Object.values(checks).every((c) => c === true), checks };
  }
}

function failureItem(f: ActorFailure): Omit<FeedItem, 'id'> {
  const error = f.error instanceof Error ? `${f.error.name}: ${f.error.message}` : String(f.error);
  return { at: Date.now(), kind: 'failure', subject: String(f.actor), text: `${f.phase}: ${error}` };
}

function crashItem(c: ThreadCrash): Omit<FeedItem, 'id'> {
  const outcome = c.replaced ? 'replaced' : 'not replaced';
  return {
    at: Date.now(),
    kind: 'crash',
    subject: `thread ${c.thread}`,
    text: `${c.reason}: ${outcome} in ${Math.round(c.recoveryMs)} ms, ${c.rehosted} actors back, ${c.lost.length} lost`,
  };
}

function deadLetterItem(d: DeadLetter): Omit<FeedItem, 'id'> {
  const from = d.sender === undefined ? '' : ` from ${d.sender}`;
  return { at: Date.now(), kind: 'dead-letter', subject: String(d.recipient), text: `${d.reason}${from}` };
}
