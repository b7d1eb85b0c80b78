/**
 * vitest global setup: writes a JavaScript copy of the TypeScript the pool
 * threads import (the runtime, the test fixtures, the examples' and the
 * benchmarks' actors), once per run, and names it in MICROSWARM_PREBUILT for
 * the worker entry (src/engine/host-source.mjs says why: tsx in every thread
 * made each Runtime.start cost 750-860 ms). esbuild, which tsx itself uses,
 * strips the types file by file, keeping the tree's layout so that every
 * relative import resolves inside the copy; the source maps keep stack
 * traces pointing at the .ts files, and each file's `import.meta.url` is its
 * source's: a module names its neighbours (`new URL('./child.ts',
 * import.meta.url)`) and packages by where it is in the tree, as it would
 * under tsx, and the worker entry maps those to the copy. The copy lives in node_modules/.cache
 * (package imports resolve from there as from the tree), in a directory of
 * this run's own, removed at teardown.
 */
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build, type Plugin } from 'esbuild';

const root = new URL('../../', import.meta.url);

/** Writes each file's own source URL where it says `import.meta.url`. */
const sourceMetaUrl: Plugin = {
  name: 'source-import-meta-url',
  setup(on) {
    on.onLoad({ filter: /\.ts$/ }, ({ path }) => ({
      contents: readFileSync(path, 'utf8').replace(/\bimport\.meta\.url\b/g, JSON.stringify(pathToFileURL(path).href)),
      loader: 'ts',
    }));
  },
};

export default async function setup(): Promise<() => void> {
  const cache = join(root.pathname, 'node_modules', '.cache');
  mkdirSync(cache, { recursive: true });
  const out = mkdtempSync(join(cache, 'microswarm-prebuilt-'));
  await build({
    absWorkingDir: root.pathname,
    entryPoints: ['src/**/*.ts', 'test/fixtures/**/*.ts', 'examples/**/*.ts', 'bench/**/*.ts'],
    outdir: out,
    outbase: '.',
    format: 'esm',
    platform: 'node',
    target: 'node20',
    sourcemap: 'inline',
    logLevel: 'error',
    plugins: [sourceMetaUrl],
  });
  writeFileSync(join(out, 'package.json'), '{ "type": "module" }\n');
  writeFileSync(join(out, 'prebuilt.json'), `${JSON.stringify({ root: root.href })}\n`);
  process.env.MICROSWARM_PREBUILT = `${pathToFileURL(out).href}/`;
  return () => {
    delete process.env.MICROSWARM_PREBUILT;
    rmSync(out, { recursive: true, force: true });
  };
}
