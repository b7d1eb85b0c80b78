/**
 * What a pool thread loads for an actor module that imports the package
 * root: not the task scheduler's resilience library (cockatiel), which the
 * scheduler loads on first use on the main thread (scheduler/policies.ts).
 * Each thread has its own require cache; the actor reports its own.
 */
import { describe, expect, it } from 'vitest';
import type { LoadedMsg } from './fixtures/loaded.js';
import { useRuntime } from './fixtures/helpers.js';

const loadedUrl = new URL('./fixtures/loaded.ts', import.meta.url);

describe('a pool thread running an actor that imports the package root', () => {
  const start = useRuntime({ threads: 1 });

  it('has not loaded cockatiel; the check sees it once the actor imports it', async () => {
    const rt = await start();
    const actor = await rt.spawn<LoadedMsg, boolean>(loadedUrl);
    expect(await actor.ask({ type: 'loaded', pkg: 'cockatiel' })).toBe(false);
    expect(await actor.ask({ type: 'import', pkg: 'cockatiel' })).toBe(true);
  });
});
