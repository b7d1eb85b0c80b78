/**
 * cockatiel, loaded the first time a scheduler needs a policy, not when
 * this folder is imported. The package root re-exports the scheduler, and
 * every actor module that imports the package root runs in a pool thread,
 * which never schedules: importing cockatiel there cost each thread about
 * 20-35 ms of its start (measured in a worker after the runtime's own
 * modules, 2 cores). cockatiel's package has no `exports`: Node loads its
 * CommonJS build (`main`) for `import 'cockatiel'` as for `require`, so a
 * user's `instanceof BrokenCircuitError` (a task whose agent's breaker stayed
 * open past its re-placements rejects with it) sees the same classes. Its
 * `module` field (an ESM build) is for bundlers, which would bundle that
 * build for a user's import and leave this require to run time.
 */
import { createRequire } from 'node:module';

type Cockatiel = typeof import('cockatiel');

let loaded: Cockatiel | undefined;

/** The cockatiel module (loaded once, then cached here). */
export function cockatiel(): Cockatiel {
  loaded ??= createRequire(import.meta.url)('cockatiel') as Cockatiel;
  return loaded;
}

/** A circuit breaker that is open or a full bulkhead refused the call (the agent could not take it; nothing ran). */
export function isPolicyRejection(error: unknown): boolean {
  // No policy made yet, so none refused anything: no need to load cockatiel to say so.
  if (loaded === undefined || error === undefined) return false;
  const { BrokenCircuitError, BulkheadRejectedError } = loaded;
  return error instanceof BrokenCircuitError || error instanceof BulkheadRejectedError;
}
