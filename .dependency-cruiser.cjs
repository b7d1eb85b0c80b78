/**
 * dependency-cruiser rules for src/ (`npm run lint` runs `depcruise src`).
 *
 * The folders are layered; each may import only the folders below it:
 *
 *   base/       -> nothing
 *   memory/     -> base
 *   transport/  -> base
 *   actors/     -> base, memory
 *   scheduler/  -> base, actors
 *   swarm/      -> base, actors
 *   engine/     -> base, memory, transport, actors, swarm
 *   cluster/    -> base, memory, transport, actors, engine (loaded by runtime/ only through a dynamic import)
 *   observe/    -> base, memory, transport, actors, scheduler, swarm, engine, cluster (types only; the HTTP routes, the dashboard and
 *                  the metrics: loaded by runtime/ only through a dynamic import)
 *   runtime/    -> everything above this line
 *   index.ts    -> anything (the public API)
 *   actor.ts    -> base, memory, actors (anything else in src/ as types only): the actor-side API (microswarm/actor),
 *                  which pool threads load with every actor module that imports it
 *   cli/        -> base, and the snapshot's types (runtime/inspect-types.ts, types only): the `microswarm` command talks
 *                  to a runtime over HTTP and never loads it; nothing in src/ imports cli/
 *
 * Each layer rule is written as "may import nothing in src/ but its allowed
 * folders", so a folder added later (cluster/, observe/) is out of reach of
 * every existing layer until a rule says otherwise. Type-only imports count
 * (tsPreCompilationDeps): a cycle through types is still a cycle a reader has
 * to untangle, and an upward `import type` still couples a layer to the one
 * above it.
 */

/** A layer rule: files under `src/<folder>/` may import in src/ only from `allowed` (and their own folder). */
function layer(folder, allowed) {
  const ok = [folder, ...allowed].join('|');
  return {
    name: `layer-${folder}`,
    comment: `src/${folder}/ may import only ${allowed.length ? allowed.map((f) => `src/${f}/`).join(', ') : 'nothing else in src/'} (and itself): anything else points up the layers or sideways.`,
    severity: 'error',
    from: { path: `^src/${folder}/` },
    to: { path: '^src/', pathNot: `^src/(${ok})/` },
  };
}

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'No import cycles between files, type-only imports included: a cycle means neither file can be read (or moved) without the other.',
      severity: 'error',
      from: {},
      to: { circular: true },
    },

    layer('base', []),
    layer('memory', ['base']),
    layer('transport', ['base']),
    layer('actors', ['base', 'memory']),
    layer('scheduler', ['base', 'actors']),
    layer('swarm', ['base', 'actors']),
    layer('engine', ['base', 'memory', 'transport', 'actors', 'swarm']),
    layer('cluster', ['base', 'memory', 'transport', 'actors', 'engine']),
    layer('observe', ['base', 'memory', 'transport', 'actors', 'scheduler', 'swarm', 'engine', 'cluster']),
    layer('runtime', ['base', 'memory', 'transport', 'actors', 'scheduler', 'swarm', 'engine', 'cluster', 'observe']),
    {
      name: 'actor-entry-actor-side-only',
      comment:
        'src/actor.ts (microswarm/actor) is what actor modules import on the pool threads: it may load only src/base/, src/memory/ and ' +
        'src/actors/ (whose own layers keep them off everything above); anything else in src/ only as types.',
      severity: 'error',
      from: { path: '^src/actor\\.ts$' },
      to: { path: '^src/', pathNot: '^src/(base|memory|actors)/', dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'cli-talks-http-only',
      comment:
        'The `microswarm` command (src/cli/) reads a runtime over HTTP and must not load it: it may import src/base/ and, as types ' +
        'only, the snapshot types (src/runtime/inspect-types.ts).',
      severity: 'error',
      from: { path: '^src/cli/' },
      to: { path: '^src/', pathNot: ['^src/(cli|base)/', '^src/runtime/inspect-types\\.ts$'] },
    },
    {
      name: 'cli-snapshot-types-only',
      comment: 'The snapshot types the `microswarm` command reads are imported as types only: importing them for real would load the runtime.',
      severity: 'error',
      from: { path: '^src/cli/' },
      to: { path: '^src/runtime/inspect-types\\.ts$', dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'nothing-imports-cli',
      comment: 'src/cli/ is the `microswarm` command, an entry point of its own (package.json bin): the library does not import it.',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/cli/' },
      to: { path: '^src/cli/' },
    },

    {
      name: 'no-orphans',
      comment:
        'A file in src/ that nothing imports is dead code, or an entry point that belongs in this list: src/index.ts (the public API) and ' +
        'src/engine/host-source.mjs (the worker entry when running from sources, loaded by URL from runtime.ts), src/cli/microswarm.ts ' +
        "(the `microswarm` command, package.json's bin), and the dashboard " +
        "page's browser script (src/observe/dashboard/, served as a file by observe/assets.ts).",
      severity: 'error',
      from: {
        orphan: true,
        path: '^src/',
        pathNot: [
          '^src/index\\.ts$',
          '^src/actor\\.ts$',
          '^src/cli/microswarm\\.ts$',
          '^src/engine/host-source\\.mjs$',
          '^src/observe/dashboard/',
          '\\.d\\.ts$',
        ],
      },
      to: {},
    },
    {
      name: 'not-to-dev-dep',
      comment:
        "src/ is what users install: it may not import a devDependency (absent from a user's node_modules). " +
        'A devDependency also declared as a peer (tsx, optional, loaded only for TypeScript actor modules) is a deliberate optional import.',
      severity: 'error',
      from: { path: '^src/' },
      to: { dependencyTypes: ['npm-dev'], dependencyTypesNot: ['npm-peer'] },
    },
    {
      name: 'no-nats-outside-cluster',
      comment:
        'Only src/cluster/ may talk NATS: the single-process runtime must not load the cluster transport. ' +
        'Matches the package whether installed (node_modules/@nats-io/...) or not (left unresolved as @nats-io/...).',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/cluster/' },
      to: { path: '(^|/node_modules/|^node_modules/)@nats-io/' },
    },
    {
      name: 'cluster-only-by-dynamic-import',
      comment:
        'The single-process runtime must not load cluster code: outside src/cluster/, files may import it only as types or ' +
        'through a dynamic import (Runtime.start does, when options.cluster is given).',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/cluster/' },
      to: { path: '^src/cluster/', dependencyTypesNot: ['type-only', 'dynamic-import'] },
    },
    {
      name: 'observe-only-by-dynamic-import',
      comment:
        'The single-process runtime must stay lean: outside src/observe/, files may import it only as types or through a dynamic ' +
        'import (rt.metrics(), rt.serve() and rt.observeHandler() do), so prom-client, the HTTP server and the dashboard load only when asked for.',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/observe/' },
      to: { path: '^src/observe/', dependencyTypesNot: ['type-only', 'dynamic-import'] },
    },
    {
      name: 'prom-client-only-in-observe',
      comment: 'prom-client is loaded only by src/observe/ (itself loaded by a dynamic import); anywhere else it may be imported only as types.',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/observe/' },
      to: { path: '(^|/node_modules/|^node_modules/)prom-client/', dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'no-browser-test-code',
      comment: 'Browser-test code (playwright) belongs in test/, never in the package: no file in src/ may load it, src/cluster/ included.',
      severity: 'error',
      from: { path: '^src/' },
      to: { path: '(^|/node_modules/|^node_modules/)(playwright|playwright-core|@playwright/[^/]+)(/|$)' },
    },
    {
      name: 'not-to-unresolvable',
      comment: 'An import that does not resolve: a missing package or a wrong relative path.',
      severity: 'error',
      from: {},
      to: { couldNotResolve: true },
    },
    {
      name: 'no-non-package-json',
      comment: 'A package imported from src/ must be in package.json (not reached only because another package brought it in).',
      severity: 'error',
      from: { path: '^src/' },
      // dependency-cruiser also tags tsx's subpath imports npm-no-pkg beside npm-dev/npm-peer: a declared type wins.
      to: { dependencyTypes: ['npm-no-pkg', 'npm-unknown'], dependencyTypesNot: ['npm', 'npm-dev', 'npm-peer', 'npm-optional'] },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    // Type-only imports are dependencies too (see the top of this file).
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      // No 'types': a package's runtime file is the dependency (tsx lists `types` first in its exports map).
      conditionNames: ['import', 'require', 'node', 'default'],
      mainFields: ['module', 'main', 'types', 'typings'],
      extensions: ['.ts', '.mts', '.js', '.mjs', '.cjs', '.d.ts'],
    },
    reporterOptions: {
      text: { highlightFocused: true },
    },
  },
};
