/**
 * The command line of `microswarm`: the command, then its options as
 * `--name value` or `--name=value`. A mistake throws a typed error naming the
 * argument and the value received (`InvalidArgumentError` for a command or an
 * option that does not exist, `InvalidOptionError` for a bad value); the
 * entry point prints it with the usage and exits with code 2.
 */
import { InvalidArgumentError, InvalidOptionError } from '../base/errors.js';
import { type SortKey, sortKeys } from './render.js';

/** What `microswarm top` was asked for. */
export interface TopOptions {
  /** The runtime's server (`rt.serve()`'s `url`, or where `rt.observeHandler()` is mounted), ending with `/`. */
  url: URL;
  /** How often to ask for a snapshot, ms. */
  intervalMs: number;
  /** The column sorted by first. */
  sort: SortKey;
}

/** A parsed command line: help, or a command and its options. */
export type Command = { command: 'help' } | { command: 'top'; options: TopOptions };

/** `microswarm --help`. */
export const usage = `Usage: microswarm top --url <url> [--interval <ms>] [--sort mailbox|rate|p99]

Commands:
  top        a live view of a runtime's threads and busiest actors, read from
             its HTTP server (rt.serve() or rt.observeHandler())

Options of top:
  --url, -u       the server's address, e.g. http://127.0.0.1:9464/ (required)
  --interval, -i  milliseconds between snapshots, 100 to 60000 (default 1000)
  --sort, -s      first sort column: mailbox, rate or p99 (default rate)
  --help, -h      this text

Keys: m, r, p sort by mailbox, rate, p99 (again: reverse); q or Ctrl-C quits.`;

const topFlags: Record<string, 'url' | 'interval' | 'sort' | 'help'> = {
  '--url': 'url',
  '-u': 'url',
  '--interval': 'interval',
  '-i': 'interval',
  '--sort': 'sort',
  '-s': 'sort',
  '--help': 'help',
  '-h': 'help',
};

/** Parses `argv` (without node and the script): `['top', '--url', 'http://…']`. */
export function parseCommandLine(argv: readonly string[]): Command {
  const [command, ...rest] = argv;
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') return { command: 'help' };
  if (command !== 'top') throw new InvalidArgumentError('command', "'top' (or --help)", command);
  const given: Partial<Record<'url' | 'interval' | 'sort', string>> = {};
  for (let i = 0; i < rest.length; i++) {
    const arg = rest[i];
    const eq = arg.startsWith('--') ? arg.indexOf('=') : -1;
    const flag = eq > 0 ? arg.slice(0, eq) : arg;
    const name = topFlags[flag];
    if (name === undefined) throw new InvalidArgumentError('top', `an option among ${Object.keys(topFlags).join(', ')}`, arg);
    if (name === 'help') return { command: 'help' };
    const value = eq > 0 ? arg.slice(eq + 1) : rest[++i];
    if (value === undefined) throw new InvalidOptionError(`--${name}`, 'given a value', value);
    given[name] = value;
  }
  return { command: 'top', options: { url: parseUrl(given.url), intervalMs: parseInterval(given.interval), sort: parseSort(given.sort) } };
}

function parseUrl(value: string | undefined): URL {
  const expected = "an http:// or https:// address such as 'http://127.0.0.1:9464/'";
  let url: URL;
  try {
    url = new URL(value ?? '');
  } catch {
    throw new InvalidOptionError('--url', expected, value);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new InvalidOptionError('--url', expected, value);
  // The routes are relative to the address: /observe means /observe/inspect.
  url.search = '';
  url.hash = '';
  if (!url.pathname.endsWith('/')) url.pathname += '/';
  return url;
}

function parseInterval(value: string | undefined): number {
  if (value === undefined) return 1000;
  const ms = /^\d+$/.test(value) ? Number(value) : Number.NaN;
  if (!(ms >= 100 && ms <= 60_000)) throw new InvalidOptionError('--interval', 'a whole number of milliseconds from 100 to 60000', value);
  return ms;
}

function parseSort(value: string | undefined): SortKey {
  if (value === undefined) return 'rate';
  if (!(sortKeys as readonly string[]).includes(value)) throw new InvalidOptionError('--sort', `one of ${sortKeys.join(', ')}`, value);
  return value as SortKey;
}
