/**
 * How `rt.tasks` (the task scheduler) reaches the runtime: its TaskExecutor.
 */
import { kUntimedAsk, type Endpoint } from '../engine/endpoint.js';
import { checkModuleExists, normalizeModuleUrl } from '../engine/modules.js';
import type { TaskExecutor } from '../scheduler/scheduler.js';
import type { Directory } from '../transport/directory.js';
import type { ControlPlane } from './control.js';

/** Function task modules remembered as existing, at most (a program names a few). */
const kKnownModules = 1024;

/**
 * @internal
 * A task goes to its agent as an ask carrying a Task (the agent's `task`
 * handler answers it; no ask timeout: the scheduler's own timeouts apply,
 * and a crash or stop settles it); a cancellation as a control message to
 * the agent's thread, so it reaches the handler while it runs rather than
 * queueing behind it; a function task as a control request on the ring of
 * the pool thread running the fewest (see ControlPlane.runFunction).
 */
export function taskExecutor(control: ControlPlane, endpoint: Endpoint, dir: Directory, functionConcurrency: number): TaskExecutor {
  /** Function task modules found to exist: what was given (a URL's href, or the string) -> its normalised URL. */
  const modules = new Map<string, string>();
  return {
    runOnAgent: (ref, task) => endpoint.ask(ref, task, kUntimedAsk, undefined),
    cancelOnAgent: (ref, id, attempt, reason) => {
      const thread = Atomics.load(dir.thread, ref.slot);
      if (dir.isLive(ref.slot, ref.gen) && thread > 0 && !control.down.has(thread)) endpoint.notify(thread, 'cancelTask', { id, attempt, reason });
    },
    runFunction: (module, payload) => control.runFunction(module, payload),
    // Function tasks the pool runs at once: running threads x functionConcurrency.
    functionSlots: () => control.runningThreads() * functionConcurrency,
    isAlive: (ref) => dir.isLive(ref.slot, ref.gen),
    depth: (ref) => (dir.capacity[ref.slot] > 0 ? Math.max(0, Atomics.load(dir.depth, ref.slot)) : 0),
    elu: (ref) => control.eluOf(Atomics.load(dir.thread, ref.slot)),
    moduleUrl: (module) => {
      // A module seen to exist is not looked up on disk again (a file system
      // call per submit was a tenth of a function task's main-thread time).
      // Only URLs and their strings are remembered, and a bounded number.
      const key = module instanceof URL ? module.href : typeof module === 'string' ? module : undefined;
      const known = key === undefined ? undefined : modules.get(key);
      if (known !== undefined) return known;
      const url = normalizeModuleUrl(module);
      checkModuleExists(url);
      if (key !== undefined) {
        if (modules.size >= kKnownModules) modules.clear();
        modules.set(key, url);
      }
      return url;
    },
  };
}
