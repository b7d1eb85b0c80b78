/**
 * `microswarm top`: polls a runtime's `/inspect` and redraws the screen
 * render.ts computes, until `q` or Ctrl-C.
 *
 * - The screen is the terminal's alternate screen (as top and less use), so
 *   the user's scrollback is left as it was; the cursor is hidden while it
 *   runs. Both are restored on every way out (q, Ctrl-C, SIGINT, SIGTERM).
 * - Keys come through node:readline's keypress events with stdin in raw
 *   mode; with raw mode Ctrl-C arrives as a key, not as SIGINT.
 * - A server that cannot be read is shown as a problem line and tried again,
 *   with a backoff from the interval up to 5 s; the last snapshot stays on
 *   screen meanwhile. It never ends the program: only the user does.
 */
import { emitKeypressEvents } from 'node:readline';
import type { TopOptions } from './args.js';
import { fetchSnapshot } from './client.js';
import { renderTop, type SortKey, type TopView } from './render.js';

/** The terminal `top` draws on and reads keys from (process.stdin and process.stdout, or a test's). */
export interface Terminal {
  stdin: NodeJS.ReadStream;
  stdout: NodeJS.WriteStream;
}

const kMaxRetryMs = 5000;
const kEnterScreen = '\x1b[?1049h\x1b[?25l';
const kLeaveScreen = '\x1b[?25h\x1b[?1049l';
const sortByKey: Record<string, SortKey> = { m: 'mailbox', r: 'rate', p: 'p99' };

/** Runs the view until the user quits; resolves to the exit code (0). */
export function runTop(options: TopOptions, terminal: Terminal = { stdin: process.stdin, stdout: process.stdout }): Promise<number> {
  const { stdin, stdout } = terminal;
  const view: TopView = { url: options.url.href, sort: { key: options.sort, ascending: false }, snapshot: null, problem: null };
  const stopping = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  let wake: (() => void) | undefined;
  let finish: (code: number) => void = () => {};
  const done = new Promise<number>((resolve) => (finish = resolve));

  const draw = (): void => {
    const lines = renderTop(view, stdout.columns || 80, stdout.rows || 24);
    // Home, each line then clear to its end, then clear below: no flicker from clearing the whole screen first.
    stdout.write(`\x1b[H${lines.map((line) => `${line}\x1b[K`).join('\r\n')}\x1b[J`);
  };

  const onKey = (_text: string | undefined, key: { name?: string; ctrl?: boolean } | undefined): void => {
    if (key === undefined) return;
    if (key.name === 'q' || (key.ctrl && key.name === 'c')) {
      quit();
      return;
    }
    const sort = key.name === undefined ? undefined : sortByKey[key.name];
    if (sort === undefined) return;
    view.sort = { key: sort, ascending: view.sort.key === sort ? !view.sort.ascending : false };
    draw();
  };
  const onSignal = (): void => quit();

  const quit = (): void => {
    if (stopping.signal.aborted) return;
    stopping.abort();
    clearTimeout(timer);
    wake?.();
    stdin.off('keypress', onKey);
    stdout.off('resize', draw);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    if (stdin.isTTY) stdin.setRawMode(false);
    stdin.pause();
    stdout.write(kLeaveScreen);
    finish(0);
  };

  emitKeypressEvents(stdin);
  if (stdin.isTTY) stdin.setRawMode(true);
  stdin.on('keypress', onKey);
  stdin.resume();
  stdout.on('resize', draw);
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  stdout.write(kEnterScreen);
  draw();

  void (async () => {
    let failures = 0;
    while (!stopping.signal.aborted) {
      const result = await fetchSnapshot(options.url, Math.max(5000, options.intervalMs), stopping.signal);
      if (stopping.signal.aborted) break;
      let waitMs = options.intervalMs;
      if (result.snapshot !== undefined) {
        failures = 0;
        view.snapshot = result.snapshot;
        view.problem = null;
      } else {
        failures++;
        waitMs = Math.min(kMaxRetryMs, Math.max(options.intervalMs, 1000 * 2 ** (failures - 1)));
        view.problem = `${result.problem}; retrying in ${(waitMs / 1000).toFixed(1)} s (attempt ${failures})`;
      }
      draw();
      await new Promise<void>((resolve) => {
        wake = resolve;
        timer = setTimeout(resolve, waitMs);
      });
    }
  })().catch((err: unknown) => {
    // Not expected (fetchSnapshot answers every failure with a problem): leave the terminal usable and say what it was.
    quit();
    process.stderr.write(`microswarm top: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    finish(1);
  });
  return done;
}
