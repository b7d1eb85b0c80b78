/**
 * Loading actor modules on the thread that hosts them, once per module per
 * thread. TypeScript modules load without a build step through `tsx` (an
 * optional peer dependency), see {@link requireTypeScript}.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { isAbsolute } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { isActorDefinition, type ActorDefinition } from '../actors/define.js';
import { ActorModuleError, InvalidArgumentError, describeValue, toError } from '../base/errors.js';

const cache = new Map<string, Promise<ActorDefinition>>();
/** Definitions already loaded on this thread, for the synchronous spawn path. */
const loaded = new Map<string, ActorDefinition>();

/** The definition of a module this thread has already loaded, or undefined. */
export function loadedModule(url: string): ActorDefinition | undefined {
  return loaded.get(url);
}
let tsLoader: Promise<void> | undefined;
/** Where this thread imports a module from instead of its own URL ({@link redirectModules}); none by default. */
let redirect: ((url: string) => string | undefined) | undefined;

/**
 * For the source-mode worker entry (host-source.mjs) only: `to(url)` names a
 * ready JavaScript copy of a module to import in its place, or undefined for
 * the module itself. The module keeps its own URL everywhere else (caches,
 * errors, migration): only the file imported changes. (@public: imported
 * by URL from host-source.mjs, which knip cannot follow.)
 * @public
 */
export function redirectModules(to: (url: string) => string | undefined): void {
  redirect = to;
}

/** Turns a URL, a URL string or an absolute path into a URL string; anything else is refused. */
export function normalizeModuleUrl(moduleUrl: unknown): string {
  if (moduleUrl instanceof URL) return moduleUrl.href;
  if (typeof moduleUrl === 'string' && moduleUrl.length > 0) {
    if (isAbsolute(moduleUrl)) return pathToFileURL(moduleUrl).href;
    try {
      return new URL(moduleUrl).href;
    } catch {
      // fall through to the error below
    }
  }
  throw new InvalidArgumentError('moduleUrl', 'a URL, a URL string or an absolute path of an actor module', moduleUrl);
}

/** Fails early, on the caller's thread, for a file URL naming no file. */
export function checkModuleExists(url: string): void {
  if (url.startsWith('file:') && !existsSync(fileURLToPath(url))) {
    throw new ActorModuleError(url, 'no such file');
  }
}

function isTypeScript(url: string): boolean {
  return /\.[mc]?tsx?$/.test(new URL(url).pathname);
}

/**
 * Loads a TypeScript module through tsx's CommonJS hook. On Node 20, ESM
 * loader hooks do not apply inside worker threads, but tsx's require hook
 * does, and it compiles ESM-syntax TypeScript; this is how tests and examples
 * run `.ts` actor modules without a build. (Production code ships built .js.)
 */
async function requireTypeScript(url: string): Promise<{ default?: unknown }> {
  const require = createRequire(import.meta.url);
  if (require.extensions['.ts'] === undefined) {
    tsLoader ??= (async () => {
      try {
        const api = (await import('tsx/cjs/api')) as { register: () => unknown };
        api.register();
      } catch (err) {
        tsLoader = undefined;
        throw new ActorModuleError(
          url,
          'it is TypeScript and the optional dependency `tsx` is not installed (npm install tsx, or build the module to .js)',
          { cause: err },
        );
      }
    })();
    await tsLoader;
  }
  return require(fileURLToPath(url)) as { default?: unknown };
}

/**
 * Imports a module (a TypeScript one through tsx when plain `import` refuses
 * it); a failure becomes ActorModuleError naming the URL.
 */
export async function importModule(url: string): Promise<{ default?: unknown }> {
  checkModuleExists(url);
  try {
    return (await import(redirect?.(url) ?? url)) as { default?: unknown };
  } catch (first) {
    const code = (first as { code?: string }).code;
    if (!isTypeScript(url) || code !== 'ERR_UNKNOWN_FILE_EXTENSION') {
      throw new ActorModuleError(url, `importing it failed: ${toError(first).message}`, { cause: first });
    }
    try {
      return await requireTypeScript(url);
    } catch (second) {
      if (second instanceof ActorModuleError) throw second;
      throw new ActorModuleError(url, `importing it failed: ${toError(second).message}`, { cause: second });
    }
  }
}

/** Imports an actor module and checks its default export. Cached per URL. */
export function loadModule(url: string): Promise<ActorDefinition> {
  let loading = cache.get(url);
  if (loading !== undefined) return loading;
  loading = (async () => {
    const mod = await importModule(url);
    if (!isActorDefinition(mod.default)) {
      throw new ActorModuleError(url, `its default export is not an actor made by defineActor (got ${describeValue(mod.default)})`);
    }
    loaded.set(url, mod.default);
    return mod.default;
  })();
  cache.set(url, loading);
  loading.catch(() => cache.delete(url));
  return loading;
}
