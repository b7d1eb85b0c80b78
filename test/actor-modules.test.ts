/**
 * The actor modules this repository ships as examples and runs in its
 * benchmarks import microswarm/actor, not the package root, all the way
 * down: a pool thread loading one of them must not load the main thread's
 * API (README, "Example"). Follows relative imports from each module.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));
const packageRoot = join(root, 'src/index.ts');
/** Static imports and re-exports with a relative specifier, type-only ones aside (they are erased). */
const importPattern = /^\s*(?:import|export)\s+(?!type\s)(?:[^'"]*?\s+from\s+)?['"](\.[^'"]+)['"]/gm;

/** The files `file` loads through relative value imports, itself included, as paths from the repository root. */
function reached(file: string, seen = new Set<string>()): Set<string> {
  if (seen.has(file)) return seen;
  seen.add(file);
  if (!file.startsWith(root) || file.includes('/node_modules/')) return seen;
  for (const match of readFileSync(file, 'utf8').matchAll(importPattern)) {
    const target = resolve(dirname(file), match[1].replace(/\.js$/, '.ts'));
    if (target.endsWith('.ts')) reached(target, seen);
  }
  return seen;
}

const modules = ['examples/actors', 'bench/actors'].flatMap((folder) =>
  readdirSync(join(root, folder))
    .filter((name) => name.endsWith('.ts'))
    .map((name) => join(folder, name)),
);

describe('the actor modules of examples/ and bench/', () => {
  it('are found, and the check follows imports to the package root or the actor entry', () => {
    expect(modules.length).toBeGreaterThan(20);
    expect(reached(join(root, 'examples/aco/colony.ts')).has(packageRoot)).toBe(true); // a main-thread file
    expect(reached(join(root, 'examples/actors/aco-ant.ts')).has(join(root, 'src/actor.ts'))).toBe(true); // through ../aco/tsplib.ts too
  });

  it.each(modules)('%s does not load the package root', (module) => {
    const files = [...reached(join(root, module))].map((file) => relative(root, file));
    expect(files).not.toContain('src/index.ts');
  });
});
