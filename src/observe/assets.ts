/**
 * The dashboard's static files: its own (`dashboard/`, beside this file in
 * `src/` and, copied by the build, in `dist/`) and uPlot's, read from the
 * installed `uplot` package. Read once, on the first request, and kept.
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';

/** @internal One static file: its bytes and content type. */
export interface Asset {
  body: Buffer;
  type: string;
}

const own: Record<string, string> = {
  '/': 'index.html',
  '/dashboard.js': 'dashboard.js',
  '/dashboard.css': 'dashboard.css',
};
const uplot: Record<string, string> = {
  '/uplot.js': 'uplot/dist/uPlot.iife.min.js',
  '/uplot.css': 'uplot/dist/uPlot.min.css',
};

function typeOf(file: string): string {
  if (file.endsWith('.html')) return 'text/html; charset=utf-8';
  if (file.endsWith('.css')) return 'text/css; charset=utf-8';
  return 'text/javascript; charset=utf-8';
}

/** @internal True when `path` names an asset. */
export function isAsset(path: string): boolean {
  return Object.hasOwn(own, path) || Object.hasOwn(uplot, path);
}

const cache = new Map<string, Promise<Asset>>();

/** @internal The asset served at `path`, or undefined for a path that is not one. */
export function asset(path: string): Promise<Asset> | undefined {
  if (!isAsset(path)) return undefined;
  const file = Object.hasOwn(own, path) ? new URL(`./dashboard/${own[path]}`, import.meta.url) : uplot[path];
  let loading = cache.get(path);
  if (loading === undefined) {
    const where = typeof file === 'string' ? createRequire(import.meta.url).resolve(file) : file;
    loading = readFile(where).then((body) => ({ body, type: typeOf(String(where)) }));
    // A failed read (a package installed without its files) is tried again next time.
    loading.catch(() => cache.delete(path));
    cache.set(path, loading);
  }
  return loading;
}
