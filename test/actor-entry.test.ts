/**
 * microswarm/actor (src/actor.ts), the actor side of the API: every name it
 * exports is the package root's own object (an error thrown by the runtime
 * is `instanceof` the class from either), and it has what an actor module
 * uses. That it loads nothing of the main thread's API is the dependency
 * rules' job (.dependency-cruiser.cjs, actor-entry-actor-side-only).
 */
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
