/**
 * Reads one snapshot from a runtime's HTTP server: GET `<url>inspect`, the
 * JSON of `rt.inspect()`. Only HTTP: the command line never loads the
 * runtime. A server that cannot be read is an expected state here (it is
 * starting, or restarting), not an exception: the answer is then a problem
 * told in words a person at the terminal can act on.
 */
import type { TopSnapshot } from './render.js';

/** A snapshot, or why there is none. */
export type SnapshotResult = { snapshot: TopSnapshot; problem?: undefined } | { snapshot?: undefined; problem: string };

/** GETs `<base>inspect` and checks it is a snapshot; gives up after `timeoutMs` or when `signal` aborts. */
export async function fetchSnapshot(base: URL, timeoutMs: number, signal?: AbortSignal): Promise<SnapshotResult> {
  const url = new URL('inspect', base);
  const timeout = AbortSignal.timeout(timeoutMs);
  const notOurs = 'is this the address rt.serve() gave?';
  let body: unknown;
  try {
    const res = await fetch(url, {
      headers: { accept: 'application/json' },
      signal: signal === undefined ? timeout : AbortSignal.any([timeout, signal]),
    });
    if (!res.ok) {
      await res.body?.cancel();
      return { problem: `${url.href} answered ${res.status} ${res.statusText}: ${notOurs}` };
    }
    const text = await res.text();
    try {
      body = JSON.parse(text);
    } catch {
      return { problem: `${url.href} did not answer with JSON: ${notOurs}` };
    }
  } catch (err) {
    return { problem: `cannot reach ${url.href}: ${reason(err, timeoutMs)}` };
  }
  const s = body as TopSnapshot | null;
  if (s === null || typeof s !== 'object' || !Array.isArray(s.threads) || !Array.isArray(s.actors))
    return { problem: `${url.href} did not answer with a microswarm snapshot (no threads and actors): ${notOurs}` };
  return { snapshot: s };
}

/** The useful part of a fetch error: undici puts the socket's error (ECONNREFUSED, ENOTFOUND) in `cause`. */
function reason(err: unknown, timeoutMs: number): string {
  if (err instanceof Error && err.name === 'TimeoutError') return `no answer within ${timeoutMs} ms`;
  const cause = err instanceof Error ? err.cause : undefined;
  if (cause instanceof Error && cause.message !== '') return cause.message;
  return err instanceof Error ? err.message : String(err);
}
