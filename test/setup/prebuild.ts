/**
 * vitest global setup: writes a JavaScript copy of the TypeScript the pool
 * threads import (the runtime, the test fixtures, the examples' and the
 * benchmarks' actors) and names it in MICROSWARM_PREBUILT for the worker
 * entry (src/engine/host-source.mjs says why: tsx in every thread made each
 * Runtime.start cost 750-860 ms). esbuild, which tsx itself uses, strips the
 * types file by file, keeping the tree's layout so that every relative
 * import resolves inside the copy; the source maps keep stack traces
 * pointing at the .ts files, and each file's `import.meta.url` is its
 * source's: a module names its neighbours (`new URL('./child.ts',
 * import.meta.url)`) and packages by where it is in the tree, as it would
 * under tsx, and the worker entry maps those to the copy. The copy lives in
 * node_modules/.cache (package imports resolve from there as from the tree),
 * in a directory of this run's own (runs in parallel do not share one),
 * removed at teardown, and written again before each rerun in watch mode.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build, type Plugin } from 'esbuild';
import type { TestProject } from 'vitest/node';

const root = new URL('../../', import.meta.url);
const folders = ['src', 'test/fixtures', 'examples', 'bench'];
const kPrefix = 'microswarm-prebuilt-';
/** A copy this old was left by a run that did not reach its teardown (killed): removed. */
const kStaleMs = 24 * 60 * 60 * 1000;

/**
 * Writes each file's own source URL where it says `import.meta.url`. A
 * textual replacement: one inside a string literal would break the file's
 * syntax (the build fails, naming it), and any other use of `import.meta`
 * is refused after the build (see {@link checkNoImportMeta}).
 */
const sourceMetaUrl: Plugin = {
  name: 'source-import-meta-url',
  setup(on) {
    on.onLoad({ filter: /\.ts$/ }, ({ path }) => ({
      contents: readFileSync(path, 'utf8').replace(/\bimport\.meta\.url\b/g, JSON.stringify(pathToFileURL(path).href)),
      loader: 'ts',
    }));
  },
};

async function write(out: string): Promise<void> {
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  await build({
    absWorkingDir: fileURLToPath(root),
    entryPoints: folders.map((folder) => `${folder}/**/*.ts`),
    outdir: out,
    outbase: '.',
    format: 'esm',
    platform: 'node',
    target: 'node20',
    // Mappings only: every thread parses the maps of what it loads, and the
    // sources' text in them made a test's runtime start and first spawn
    // about 20% slower (534-570 ms against 421-503 ms).
    sourcemap: 'inline',
    sourcesContent: false,
    logLevel: 'error',
    plugins: [sourceMetaUrl],
  });
  checkNoImportMeta(out);
  writeFileSync(join(out, 'package.json'), '{ "type": "module" }\n');
  writeFileSync(join(out, 'prebuilt.json'), `${JSON.stringify({ root: root.href, folders })}\n`);
}

/** A copy still using `import.meta` (in a form the replacement missed) would name the copy, not the source: refused. */
function checkNoImportMeta(dir: string): void {
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile() || !entry.name.endsWith('.js')) continue;
    const file = join(entry.parentPath, entry.name);
    const code = readFileSync(file, 'utf8').split('\n//# sourceMappingURL=')[0];
    if (/\bimport\.meta\b/.test(code)) {
      throw new Error(`test/setup/prebuild.ts: ${file} uses import.meta other than as import.meta.url; the copy would name itself, not its source`);
    }
  }
}

/** Removes copies that runs killed before their teardown left behind. */
function removeStale(cache: string): void {
  for (const name of readdirSync(cache)) {
    const dir = join(cache, name);
    if (name.startsWith(kPrefix) && Date.now() - statSync(dir).mtimeMs > kStaleMs) rmSync(dir, { recursive: true, force: true });
  }
}

export default async function setup(project: TestProject): Promise<() => void> {
  const cache = join(fileURLToPath(root), 'node_modules', '.cache');
  mkdirSync(cache, { recursive: true });
  removeStale(cache);
  const out = mkdtempSync(join(cache, kPrefix));
  await write(out);
  // Watch mode: the test's thread imports the edited sources, so the threads must too.
  project.onTestsRerun(() => write(out));
  process.env.MICROSWARM_PREBUILT = `${pathToFileURL(out).href}/`;
  return () => {
    delete process.env.MICROSWARM_PREBUILT;
    rmSync(out, { recursive: true, force: true });
  };
}
