/**
 * `rt.serve`: a node:http server for the observability routes (routes.ts).
 * It listens on `host` (default 127.0.0.1: the dashboard and `/inspect` show
 * actor names, module paths and error messages, so exposing them is the
 * user's decision) and `port` (0: any free port, read back from the result).
 */
import { createServer } from 'node:http';
import { InvalidOptionError, ServeError } from '../base/errors.js';
import { checkHandlerOptions, createHandler } from './routes.js';
import type { ObserveSource } from './source.js';

/** Options of `rt.serve()`. */
export interface ServeOptions {
  /** The TCP port, 0 to 65535; 0 (the default) takes any free port. */
  port?: number;
  /** The address to listen on. Default `'127.0.0.1'`; `'0.0.0.0'` or `'::'` for every interface. */
  host?: string;
  /** How often `/events` pushes a snapshot to the dashboard, ms. Default 1000. */
  intervalMs?: number;
}

/** A running observability server, from `rt.serve()`. */
export interface ObserveServer {
  /** The port it listens on (the one chosen, for `port: 0`). */
  readonly port: number;
  /** Its base URL, `http://host:port/` (the dashboard). */
  readonly url: string;
  /** Stops it: ends the event streams and open connections, frees the port. Resolves once it is closed; calling it again does nothing more. */
  close(): Promise<void>;
}

/** @internal Starts a server for `source`; rejects with ServeError when it cannot listen. */
export async function serve(source: ObserveSource, options: unknown): Promise<ObserveServer> {
  const checked = checkHandlerOptions(options, ['port', 'host', 'intervalMs']);
  const o = (options ?? {}) as ServeOptions;
  const port = o.port ?? 0;
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 0 || port > 65535)
    throw new InvalidOptionError('port', 'an integer from 0 to 65535', port);
  const host = o.host ?? '127.0.0.1';
  if (typeof host !== 'string' || host.length === 0) throw new InvalidOptionError('host', 'a non-empty host name or address', host);
  const handler = createHandler(source, checked);
  const server = createServer((req, res) => handler(req, res));
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (err) {
    handler.close();
    throw new ServeError(host, port, { cause: err });
  }
  const address = server.address();
  const bound = typeof address === 'object' && address !== null ? address.port : port;
  const shown = host.includes(':') ? `[${host}]` : host;
  let closing: Promise<void> | undefined;
  return {
    port: bound,
    url: `http://${shown}:${bound}/`,
    close: () => {
      closing ??= new Promise<void>((resolve) => {
        handler.close();
        server.close(() => resolve());
        // Keep-alive sockets and event streams would hold the port.
        server.closeAllConnections();
      });
      return closing;
    },
  };
}
