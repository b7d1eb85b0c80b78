/**
 * Observability served over HTTP: the routes (`/metrics`, `/healthz`,
 * `/readyz`, `/inspect`, `/events`) and the live dashboard. The runtime
 * loads this folder only through a dynamic import, when `rt.serve()` or
 * `rt.observeHandler()` is called: a runtime that never serves loads no
 * HTTP server.
 */
export { serve, type ServeOptions, type ObserveServer } from './serve.js';
export { createHandler, checkHandlerOptions, type HandlerOptions, type ObserveHandler } from './routes.js';
export type { FeedItem, ObserveSource, Readiness } from './source.js';
