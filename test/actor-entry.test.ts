/**
 * microswarm/actor (src/actor.ts), the actor side of the API: every name it
 * exports is the package root's own object (an error thrown by the runtime
 * is `instanceof` the class from either), and it has what an actor module
 * uses. That it loads nothing of the main thread's API is the dependency
 * rules' job (.dependency-cruiser.cjs, actor-entry-actor-side-only). The
 * actor modules this repository ships as examples and runs in its
 * benchmarks import it, not the package root, all the way down (README,
 * "Example"): checked by following relative imports from each module.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import * as actorSide from '../src/actor.js';
import * as root from '../src/index.js';

describe('microswarm/actor', () => {
  it('exports only names of the package root, each the same object (the root re-exports it whole)', () => {
    const names = Object.keys(actorSide);
    expect(names.length).toBeGreaterThan(20);
    for (const name of names) expect((root as Record<string, unknown>)[name], name).toBe((actorSide as Record<string, unknown>)[name]);
  });

  it('has what actor modules use, and none of the main thread API', () => {
    for (const name of [
      'defineActor',
      'ActorRef',
      'ActorContext',
      'MemoryContext',
      'RegionHandle',
      'Task',
      'Proposal',
      'fenced',
      'EntityRef',
      'ActorStoppedError',
    ]) {
      expect(actorSide, name).toHaveProperty(name);
    }
    for (const name of ['Runtime', 'TaskScheduler', 'Swarm', 'Topic', 'solveAssignment', 'EventSource']) expect(actorSide, name).not.toHaveProperty(name);
  });
});

const repo = fileURLToPath(new URL('..', import.meta.url));
const packageRoot = join(repo, 'src/index.ts');
/** Static imports and re-exports with a relative specifier, type-only ones aside (they are erased). */
const importPattern = /^\s*(?:import|export)\s+(?!type\s)(?:[^'"]*?\s+from\s+)?['"](\.[^'"]+)['"]/gm;

/** The files `file` loads through relative value imports, itself included, as paths from the repository root. */
function reached(file: string, seen = new Set<string>()): Set<string> {
  if (seen.has(file)) return seen;
  seen.add(file);
  if (!file.startsWith(repo) || file.includes('/node_modules/')) return seen;
  for (const match of readFileSync(file, 'utf8').matchAll(importPattern)) {
    const target = resolve(dirname(file), match[1].replace(/\.js$/, '.ts'));
    if (target.endsWith('.ts')) reached(target, seen);
  }
  return seen;
}

const modules = ['examples/actors', 'bench/actors'].flatMap((folder) =>
  readdirSync(join(repo, folder))
    .filter((name) => name.endsWith('.ts'))
    .map((name) => join(folder, name)),
);

describe('the actor modules of examples/ and bench/', () => {
  it('are found, and the check follows imports to the package root or the actor entry', () => {
    expect(modules.length).toBeGreaterThan(20);
    expect(reached(join(repo, 'examples/aco/colony.ts')).has(packageRoot)).toBe(true); // a main-thread file
    expect(reached(join(repo, 'examples/actors/aco-ant.ts')).has(join(repo, 'src/actor.ts'))).toBe(true); // through ../aco/tsplib.ts too
  });

  it.each(modules)('%s does not load the package root', (module) => {
    const files = [...reached(join(repo, module))].map((file) => relative(repo, file));
    expect(files).not.toContain('src/index.ts');
  });
});
