// Worker entry used only when the runtime runs from its TypeScript sources
// (tests, examples, benches). Built code (dist/) uses host.js directly and
// needs none of this.
//
// By default it registers tsx's ESM hooks in this worker and imports host.ts
// as an ES module. Passing `--import tsx` instead would make Piscina's
// `require(filename)` succeed through tsx's CommonJS hook, and the whole
// runtime would run as transpiled CommonJS, where every imported constant is
// a getter call (measured: alloc+free 4x slower).
//
// When MICROSWARM_PREBUILT names a directory of JavaScript copies of this
// source tree (the test suite's global setup, test/setup/prebuild.ts, writes
// one per run), it imports those instead: the runtime from the copy, and each
// TypeScript module under the tree (actor modules, thread setups, function
// tasks) from its copy too, so that the thread loads one copy of the runtime
// and compiles nothing; a TypeScript module it has no copy of is refused
// (test/setup/prebuild.ts lists the folders copied). tsx's hooks cost each
// thread about 0.5 s of start-up on a 2-core machine (its own loader thread,
// a compile or cache lookup per module), three threads per runtime: most of
// the test suite's time went there (measured 2026-12-06: Runtime.start
// 750-860 ms, 250-340 ms this way).
import { existsSync, readFileSync } from 'node:fs';

/** The copy this file belongs to, or undefined (none named, unreadable, or a copy of another tree). */
function prebuiltCopy() {
  const out = process.env.MICROSWARM_PREBUILT;
  if (out === undefined || out === '') return undefined;
  try {
    const { root, folders } = JSON.parse(readFileSync(new URL('prebuilt.json', out), 'utf8'));
    return new URL('src/engine/host-source.mjs', root).href === import.meta.url ? { root, out, folders } : undefined;
  } catch {
    return undefined;
  }
}

async function loadHost() {
  const copy = prebuiltCopy();
  if (copy === undefined) {
    const { register } = await import('tsx/esm/api');
    register();
    return import('./host.ts');
  }
  // Stack traces name the TypeScript sources, as under tsx.
  process.setSourceMapsEnabled(true);
  const { redirectModules } = await import(new URL('src/engine/modules.js', copy.out).href);
  redirectModules((url) => {
    const { pathname } = new URL(url);
    if (!/\.[mc]?tsx?$/.test(pathname)) return undefined;
    const to = url.startsWith(copy.root) ? `${copy.out}${url.slice(copy.root.length).replace(/\.ts(?=$|[?#])/, '.js')}` : undefined;
    if (to !== undefined && to !== url && existsSync(new URL(to))) return to;
    // Through tsx it would import the runtime a second time (its own module
    // state, its own error classes): refused, naming what is copied.
    throw new Error(`it is TypeScript with no JavaScript copy in MICROSWARM_PREBUILT (${copy.out}), which copies ${copy.folders.join(', ')}`);
  });
  return import(new URL('src/engine/host.js', copy.out).href);
}

const host = await loadHost();

export default host.default;
