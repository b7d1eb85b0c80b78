/**
 * The observability routes as one request handler, for `rt.serve`'s own
 * server or mounted in an existing node:http, express or fastify server:
 *
 *   /           the dashboard page (and its scripts and styles)
 *   /inspect    the snapshot as JSON
 *   /events     server-sent events: `snapshot` every interval, `feed` batches
 *   /metrics    Prometheus text (501 when no metrics are registered)
 *   /healthz    200 while the process answers
 *   /readyz     200 when every check passes, else 503; the checks as JSON
 *
 * Only GET and HEAD; a path that is none of these goes to `next` when
 * there is one (express), else answers 404.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { InvalidOptionError } from '../base/errors.js';
import { asset, isAsset } from './assets.js';
import { EventStream } from './feed.js';
import type { ObserveSource } from './source.js';

/** Options of `rt.observeHandler()`. */
export interface HandlerOptions {
  /**
   * A path prefix the handler strips before routing (`'/observe'`), for a
   * server that passes the full URL (node:http, fastify's raw request).
   * Express's `app.use('/observe', handler)` strips it already: leave it out there.
   */
  prefix?: string;
  /** How often `/events` pushes a snapshot, ms. Default 1000. */
  intervalMs?: number;
}

/** A request handler for node:http and express (`next` is called for paths it does not serve); `close()` ends its event streams. */
export interface ObserveHandler {
  (req: IncomingMessage, res: ServerResponse, next?: (err?: unknown) => void): void;
  /** Ends the open `/events` streams and stops following the runtime's events. */
  close(): void;
}

const kPrometheusType = 'text/plain; version=0.0.4; charset=utf-8';
const kSecurityHeaders = {
  'x-content-type-options': 'nosniff',
  'content-security-policy': "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:",
};

/** @internal Checks the handler's options (also `rt.serve`'s `intervalMs`). */
export function checkHandlerOptions(options: unknown, allowed: readonly string[]): Required<Pick<HandlerOptions, 'intervalMs'>> & HandlerOptions {
  if (options === undefined) return { intervalMs: 1000 };
  if (options === null || typeof options !== 'object' || Array.isArray(options))
    throw new InvalidOptionError('options', `an object { ${allowed.join(', ')} }`, options);
  const o = options as Record<string, unknown>;
  for (const key of Object.keys(o)) if (!allowed.includes(key)) throw new InvalidOptionError(key, `one of ${allowed.join(', ')}`, o[key]);
  const intervalMs = o.intervalMs ?? 1000;
  if (typeof intervalMs !== 'number' || !Number.isFinite(intervalMs) || intervalMs < 100 || intervalMs > 60_000)
    throw new InvalidOptionError('intervalMs', 'a number of milliseconds from 100 to 60000', intervalMs);
  const prefix = o.prefix;
  if (prefix !== undefined && (typeof prefix !== 'string' || !/^\/[^?#]*[^/?#]$/.test(prefix)))
    throw new InvalidOptionError('prefix', "a path starting with '/', not ending with '/' (e.g. '/observe')", prefix);
  return { intervalMs, prefix: prefix as string | undefined };
}

/** @internal The routes over `source`. */
export function createHandler(source: ObserveSource, options: HandlerOptions & { intervalMs: number }): ObserveHandler {
  const events = new EventStream(source, options.intervalMs);
  const prefix = options.prefix;
  const handler = (req: IncomingMessage, res: ServerResponse, next?: (err?: unknown) => void): void => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    let path = url.pathname;
    if (prefix !== undefined) {
      if (path !== prefix && !path.startsWith(`${prefix}/`)) {
        pass(res, next);
        return;
      }
      path = path.slice(prefix.length);
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      if (routeNames.has(path) || isAsset(path)) reply(res, 405, 'text/plain; charset=utf-8', 'Only GET and HEAD\n', { allow: 'GET, HEAD' });
      else pass(res, next);
      return;
    }
    route(path, req, res, source, events, next).catch((err: unknown) => {
      if (!res.headersSent) reply(res, 500, 'text/plain; charset=utf-8', `${err instanceof Error ? err.message : String(err)}\n`);
      else res.end();
    });
  };
  return Object.assign(handler, { close: () => events.close() });
}

const routeNames = new Set(['', '/inspect', '/events', '/metrics', '/healthz', '/readyz']);

async function route(
  path: string,
  req: IncomingMessage,
  res: ServerResponse,
  source: ObserveSource,
  events: EventStream,
  next: ((err?: unknown) => void) | undefined,
): Promise<void> {
  switch (path) {
    case '':
      // The page's links are relative: mounted at /observe it must be read as /observe/.
      return reply(res, 308, 'text/plain; charset=utf-8', '', { location: `${pathOf((req as { originalUrl?: string }).originalUrl ?? req.url)}/` });
    case '/inspect':
      return reply(res, 200, 'application/json; charset=utf-8', JSON.stringify(await source.inspect()), { 'cache-control': 'no-store' });
    case '/events':
      return events.attach(res);
    case '/metrics':
      if (source.metrics === undefined)
        return reply(
          res,
          501,
          'text/plain; charset=utf-8',
          'No metrics: this runtime has no rt.metrics() (prom-client metrics are not part of this build).\n',
        );
      return reply(res, 200, kPrometheusType, await source.metrics(), { 'cache-control': 'no-store' });
    case '/healthz':
      return reply(res, 200, 'text/plain; charset=utf-8', 'ok\n', { 'cache-control': 'no-store' });
    case '/readyz': {
      const readiness = source.ready();
      return reply(res, readiness.ready ? 200 : 503, 'application/json; charset=utf-8', JSON.stringify(readiness), { 'cache-control': 'no-store' });
    }
  }
  // Express strips the mount path from req.url, not from originalUrl: `/observe` arrives as `/`.
  const original = (req as { originalUrl?: string }).originalUrl;
  if (path === '/' && original !== undefined && !pathOf(original).endsWith('/')) return route('', req, res, source, events, next);
  const file = asset(path);
  if (file === undefined) return pass(res, next);
  const { body, type } = await file;
  reply(res, 200, type, body, { ...kSecurityHeaders, 'cache-control': 'no-cache' });
}

function pathOf(url: string | undefined): string {
  return new URL(url ?? '/', 'http://localhost').pathname;
}

function reply(res: ServerResponse, status: number, type: string, body: string | Buffer, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body), ...headers });
  res.end(res.req?.method === 'HEAD' ? undefined : body);
}

function pass(res: ServerResponse, next: ((err?: unknown) => void) | undefined): void {
  if (next !== undefined) next();
  else reply(res, 404, 'text/plain; charset=utf-8', 'Not found\n');
}
