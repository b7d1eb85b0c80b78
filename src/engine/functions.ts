/**
 * Plain function tasks of `rt.tasks` on a pool thread: the main thread sends
 * each as a control request ('fn') through this thread's ring, and the
 * answer goes back as its REPLY frame (see Inbound.onSystem), one encode
 * and one decode each way. The module is imported once per thread; after
 * that a call is synchronous up to the function itself, so a function that
 * returns a plain value is answered in the same turn, with no promise.
 */
import { InvalidArgumentError } from '../base/errors.js';
import { importModule } from './modules.js';

type TaskFunction = (payload: unknown) => unknown;

/** Modules being imported (or that were), by URL. */
const loading = new Map<string, Promise<TaskFunction>>();
/** Modules imported, by URL: their default export, called without waiting. */
const loaded = new Map<string, TaskFunction>();

/** A function task's module, imported once per thread; its default export must be a function. */
function functionModule(url: string): Promise<TaskFunction> {
  let pending = loading.get(url);
  if (pending === undefined) {
    pending = importModule(url).then((mod) => {
      if (typeof mod.default !== 'function') {
        throw new InvalidArgumentError('module', 'a module whose default export is a function (payload) => result', mod.default);
      }
      const fn = mod.default as TaskFunction;
      loaded.set(url, fn);
      return fn;
    });
    pending.catch(() => loading.delete(url));
    loading.set(url, pending);
  }
  return pending;
}

/**
 * @internal Calls the default export of `url` with `payload`: its value (or
 * its promise) is the answer; what it throws fails the task. The first call
 * on a thread waits for the import.
 */
export function callFunction(url: string, payload: unknown): unknown {
  const fn = loaded.get(url);
  if (fn !== undefined) return fn(payload);
  return functionModule(url).then((f) => f(payload));
}
