/**
 * The two ends of a far-side process (remote-ask-rtt, remote-tell): the
 * bench process forks a script of ./far/ (run with tsx), which sets up its
 * side (a runtime, a NATS subscriber, a broker) and tells the parent over
 * IPC `{ ready: true, info }`; the parent stops it with the message `'stop'`
 * and waits for it to exit (SIGKILL after a guard).
 *
 * @example
 * // the far side (a script of ./far/)
 * await serveFar(async () => ({ info: { slot: 3 }, stop: () => rt.shutdown() }));
 * // the near side
 * const far = await startFar<{ slot: number }>(new URL('./far/x.ts', import.meta.url), [servers]);
 * await far.stop();
 */
import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** How long a far side may take to become ready, and to exit once told to stop. */
const startGuardMs = 30_000;
const stopGuardMs = 10_000;

type FromFar = { ready: true; info: unknown } | { failed: string };

export interface FarProcess<Info> {
  /** What the far side sent with `ready`. */
  readonly info: Info;
  readonly child: ChildProcess;
  /** Asks it to stop, waits for it to exit (SIGKILL after a guard). Safe to call twice. */
  stop(): Promise<void>;
}

/** Forks `script` with `args` and resolves once it is ready; rejects with what it printed when it is not. */
export async function startFar<Info>(script: URL, args: string[]): Promise<FarProcess<Info>> {
  const child = fork(fileURLToPath(script), args, { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
  let stderr = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-4_000);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const kill = () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  };
  // A far side outliving the bench (a crash of the run) would hold a core.
  process.once('exit', kill);
  let info: Info;
  try {
    info = await new Promise<Info>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${script.pathname}: not ready within ${startGuardMs} ms`)), startGuardMs);
      child.on('message', (m: FromFar) => {
        clearTimeout(timer);
        if ('ready' in m) resolve(m.info as Info);
        else reject(new Error(`${script.pathname}: ${m.failed}`));
      });
      void exited.then(() => {
        clearTimeout(timer);
        reject(new Error(`${script.pathname} exited (${child.exitCode ?? child.signalCode}) before it was ready: ${stderr}`));
      });
    });
  } catch (error) {
    kill();
    await exited;
    process.off('exit', kill);
    throw error;
  }
  let stopping: Promise<void> | undefined;
  return {
    info,
    child,
    stop() {
      stopping ??= (async () => {
        if (child.connected) child.send('stop');
        const guard = setTimeout(kill, stopGuardMs);
        await exited;
        clearTimeout(guard);
        process.off('exit', kill);
      })();
      return stopping;
    },
  };
}

/**
 * The near side of `far`, set up by `setUp`: closing the peer it returns
 * closes the near side, then stops `far` (even when the near side's close
 * failed); when `setUp` fails, `far` is stopped at once. `setUp` undoes
 * its own partial work.
 */
export async function nearSideOf<Peer extends { close(): Promise<unknown> }>(far: FarProcess<unknown>, setUp: () => Promise<Peer>): Promise<Peer> {
  let peer: Peer;
  try {
    peer = await setUp();
  } catch (error) {
    await far.stop();
    throw error;
  }
  const closeNear = peer.close.bind(peer);
  return {
    ...peer,
    async close() {
      try {
        await closeNear();
      } finally {
        await far.stop();
      }
    },
  };
}

/**
 * The far side's half: runs `setUp`, reports `ready` with its info (or the
 * failure), and on `'stop'` (or when the parent goes away) runs its `stop`
 * and exits.
 */
export async function serveFar(setUp: () => Promise<{ info?: unknown; stop(): Promise<unknown> }>): Promise<void> {
  let side: Awaited<ReturnType<typeof setUp>>;
  try {
    side = await setUp();
  } catch (error) {
    process.send?.({ failed: error instanceof Error ? (error.stack ?? error.message) : String(error) } satisfies FromFar);
    process.exit(1);
  }
  let stopping = false;
  const stop = async (): Promise<void> => {
    if (stopping) return;
    stopping = true;
    await side.stop().catch((error: unknown) => console.error(error));
    process.exit(0);
  };
  process.on('message', (m) => m === 'stop' && void stop());
  process.on('disconnect', () => void stop());
  process.send?.({ ready: true, info: side.info ?? null } satisfies FromFar);
}
