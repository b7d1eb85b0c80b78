/**
 * `microswarm top`'s screen as a pure function: (snapshot, sort, width,
 * height) -> lines of plain text, each at most `width` characters, at most
 * `height` lines. No escape codes: the terminal part (top.ts) positions
 * them. Everything the server sends is treated as untrusted: control
 * characters in names and modules are replaced, so a crafted actor name
 * cannot move the cursor or change the terminal.
 *
 *   microswarm top  http://127.0.0.1:9464/  up 2m 3s  at 12:03:04 UTC
 *   actors 12/256  handled 1.2M  45.6k msg/s  dead letters 0  failures 1  crashes 0
 *   THREAD STATUS       ACTORS ELU             RING             RATE/s RESP ms
 *   0      running           6 [###     ]  42% [        ]   3%   21.3k    0.41
 *
 *   sort: rate ▼  [m]ailbox [r]ate [p]99, again: reverse  [q]uit  p99: none sent (-)
 *   NAME        MODULE     THR STATUS     MAILBOX RATE/s▼  P99 ms RESTARTS  HANDLED
 *   orders      order-book   0 running        212    9800       -        3   950.6k
 *   ...as many actors as fit, then:
 *   … 40 more actors
 */
import type { ActorInspection, InspectSnapshot, ThreadInspection } from '../runtime/inspect-types.js';

/** What the table can be sorted by; each has a key (`m`, `r`, `p`). */
export type SortKey = 'mailbox' | 'rate' | 'p99';

/** The sort keys in the order the help line shows them. */
export const sortKeys: readonly SortKey[] = ['mailbox', 'rate', 'p99'];

/** The table's order: by `key`, largest first unless `ascending`. */
export interface TopSort {
  /** The column sorted by. */
  key: SortKey;
  /** Smallest first (pressing a sort key twice). */
  ascending: boolean;
}

/** An actor as the renderer reads it: `rt.inspect()`'s fields, any of them possibly missing (an older server's). */
export type TopActor = Partial<ActorInspection>;

/**
 * What the renderer reads of a snapshot: `rt.inspect()`'s shape with every
 * field optional, since an older or newer server may lack some.
 */
export interface TopSnapshot {
  /** `Date.now()` on the server when it was taken. */
  at?: number;
  /** Milliseconds since the runtime started. */
  uptimeMs?: number;
  /** The node's name in its cluster, or `null`. */
  node?: string | null;
  /** Figures for the whole runtime. */
  totals?: Partial<InspectSnapshot['totals']>;
  /** One entry per pool thread. */
  threads?: Array<Partial<ThreadInspection>>;
  /** Listed actors. */
  actors?: TopActor[];
  /** Live actors the server did not list. */
  actorsNotListed?: number;
}

/** What else the screen shows beside the snapshot. */
export interface TopView {
  /** The server's address, as the user gave it. */
  url: string;
  /** The table's order. */
  sort: TopSort;
  /** The last snapshot, or `null` before the first one. */
  snapshot: TopSnapshot | null;
  /** Why the last poll failed (and when it is retried), or `null` when it did not. */
  problem: string | null;
}

/** A table column: its title, width (0: shares what is left), alignment, cell text, and when it is dropped on a narrow terminal (lower first). */
interface Column {
  title: string;
  width: number;
  right: boolean;
  cell: (actor: TopActor) => string;
  /** Columns are dropped lowest first while the row does not fit; Infinity: never. */
  keep: number;
  sort?: SortKey;
}

const kNameMin = 10;
const kModuleMin = 8;
const kModuleMax = 28;
const kBarWidth = 8;
/** The thread table's columns: title, width, right-aligned. */
const threadColumns: Array<[string, number, boolean]> = [
  ['THREAD', 6, false],
  ['STATUS', 12, false],
  ['ACTORS', 6, true],
  ['ELU', 15, false],
  ['RING', 15, false],
  ['RATE/s', 7, true],
  ['RESP ms', 7, true],
];

const columns: Column[] = [
  { title: 'NAME', width: 0, right: false, cell: (a) => clean(a.name ?? a.ref ?? (isNumber(a.slot) ? `#${a.slot}` : undefined)), keep: Infinity },
  { title: 'MODULE', width: 0, right: false, cell: (a) => shortModule(a.module), keep: 2 },
  { title: 'THR', width: 3, right: true, cell: (a) => (isNumber(a.thread) ? String(a.thread) : '-'), keep: 4 },
  { title: 'STATUS', width: 9, right: false, cell: (a) => clean(a.status), keep: 5 },
  { title: 'MAILBOX', width: 8, right: true, cell: (a) => count(a.mailbox), keep: Infinity, sort: 'mailbox' },
  { title: 'RATE/s', width: 7, right: true, cell: (a) => count(a.rate), keep: Infinity, sort: 'rate' },
  { title: 'P99 ms', width: 7, right: true, cell: (a) => decimal(a.p99), keep: Infinity, sort: 'p99' },
  { title: 'RESTARTS', width: 8, right: true, cell: (a) => count(a.restarts), keep: 3 },
  { title: 'HANDLED', width: 8, right: true, cell: (a) => count(a.handled), keep: 1 },
];

/**
 * The screen for `view` on a terminal of `width` x `height` characters:
 * at most `height` lines, none longer than `width`.
 *
 * @example
 * process.stdout.write(renderTop(view, process.stdout.columns, process.stdout.rows).join('\n'));
 */
export function renderTop(view: TopView, width: number, height: number): string[] {
  const w = Math.max(1, Math.floor(width));
  const h = Math.max(1, Math.floor(height));
  const s = view.snapshot;
  const lines: string[] = [title(view.url, s)];
  // A problem gets two lines: the reason first, then when the next attempt is.
  if (view.problem !== null) lines.push(...wrap(`! ${clean(view.problem)}`, w, 2));
  if (s === null) {
    lines.push('waiting for the first snapshot…');
    return lines.slice(0, h).map((line) => clip(line, w));
  }
  lines.push(totalsLine(s));
  const threads = Array.isArray(s.threads) ? s.threads : [];
  // Threads take at most half of what is left, so the table keeps room.
  const threadRoom = Math.max(1, Math.floor((h - lines.length - 5) / 2));
  const shownThreads = threads.length > threadRoom ? Math.max(0, threadRoom - 1) : threads.length;
  lines.push(threadRow(threadColumns.map(([title]) => title)));
  for (const thread of threads.slice(0, shownThreads)) lines.push(threadLine(thread));
  if (shownThreads < threads.length) lines.push(`… ${threads.length - shownThreads} more threads`);
  lines.push('');
  const actors = Array.isArray(s.actors) ? s.actors : [];
  lines.push(helpLine(view.sort, actors));
  const table = tableColumns(w);
  lines.push(row(table, (c) => c.title + (c.sort === view.sort.key ? (view.sort.ascending ? '▲' : '▼') : '')));
  const notListed = isNumber(s.actorsNotListed) ? s.actorsNotListed : 0;
  const room = h - lines.length;
  const sorted = sortActors(actors, view.sort);
  // The last line says how many did not fit, when some did not.
  const fits = sorted.length + notListed <= room ? sorted.length : Math.max(0, room - 1);
  for (const actor of sorted.slice(0, fits)) lines.push(row(table, (c) => c.cell(actor)));
  const more = sorted.length - fits + notListed;
  if (more > 0) lines.push(`… ${more} more actor${more === 1 ? '' : 's'}${notListed > 0 ? ` (${notListed} not listed by the server)` : ''}`);
  if (actors.length === 0 && notListed === 0) lines.push('(no actors)');
  return lines.slice(0, h).map((line) => clip(line, w));
}

/**
 * `actors` in `sort`'s order; a missing value sorts as the smallest, ties
 * go by slot, so rows do not jump between refreshes.
 */
export function sortActors(actors: readonly TopActor[], sort: TopSort): TopActor[] {
  const sign = sort.ascending ? 1 : -1;
  const keyOf = (actor: TopActor): number => {
    const value = actor[sort.key];
    return isNumber(value) ? value : -Infinity;
  };
  const slotOf = (actor: TopActor): number => (isNumber(actor.slot) ? actor.slot : Infinity);
  return [...actors].sort((a, b) => {
    const x = keyOf(a);
    const y = keyOf(b);
    return (x === y ? 0 : x < y ? -sign : sign) || slotOf(a) - slotOf(b);
  });
}

/** Whether any actor carries a handler p99 (none has until handlers were timed: metrics registered). */
function hasP99(actors: readonly TopActor[]): boolean {
  return actors.some((actor) => isNumber(actor.p99));
}

function title(url: string, s: TopSnapshot | null): string {
  const parts = ['microswarm top', clean(url)];
  if (s !== null && typeof s.node === 'string' && s.node !== '') parts.push(`node ${clean(s.node)}`);
  if (s !== null && isNumber(s.uptimeMs)) parts.push(`up ${duration(s.uptimeMs)}`);
  if (s !== null && isNumber(s.at)) parts.push(`at ${new Date(s.at).toISOString().slice(11, 19)} UTC`);
  return parts.join('  ');
}

function totalsLine(s: TopSnapshot): string {
  const t = s.totals ?? {};
  return [
    `actors ${count(t.liveActors)}/${count(t.maxAgents)}`,
    `handled ${count(t.handled)}`,
    `${count(t.rate)} msg/s`,
    `dead letters ${count(t.deadLetters)}`,
    `failures ${count(t.failures)}`,
    `crashes ${count(t.crashes)}`,
  ].join('  ');
}

function threadLine(t: Partial<ThreadInspection>): string {
  return threadRow([
    isNumber(t.thread) ? String(t.thread) : '?',
    clean(t.status),
    count(t.actors),
    bar(t.elu),
    bar(t.ringFill),
    count(t.rate),
    decimal(t.responseMs),
  ]);
}

function threadRow(cells: string[]): string {
  return cells
    .map((cell, i) => {
      const [, width, right] = threadColumns[i];
      return right ? cell.padStart(width) : cell.padEnd(width);
    })
    .join(' ')
    .trimEnd();
}

function helpLine(sort: TopSort, actors: readonly TopActor[]): string {
  const line = `sort: ${sort.key} ${sort.ascending ? '▲' : '▼'}  [m]ailbox [r]ate [p]99, again: reverse  [q]uit`;
  return hasP99(actors) ? line : `${line}  p99: none sent (-)`;
}

/** The columns that fit `width`, with the flexible ones (name, module) sized to fill it. */
function tableColumns(width: number): Array<Column & { size: number }> {
  const chosen = [...columns];
  const fixed = (): number => chosen.reduce((sum, c) => sum + c.width + 1, 0);
  const flexMin = (): number => kNameMin + (chosen.some((c) => c.title === 'MODULE') ? kModuleMin : 0);
  while (fixed() + flexMin() > width) {
    const dropIndex = chosen.reduce((lowest, c, i) => (c.keep < chosen[lowest].keep ? i : lowest), 0);
    if (!Number.isFinite(chosen[dropIndex].keep)) break;
    chosen.splice(dropIndex, 1);
  }
  const left = Math.max(kNameMin, width - fixed());
  const hasModule = chosen.some((c) => c.title === 'MODULE');
  const moduleSize = hasModule ? Math.min(kModuleMax, Math.max(kModuleMin, Math.floor(left / 2))) : 0;
  return chosen.map((c) => ({ ...c, size: c.title === 'NAME' ? left - moduleSize : c.title === 'MODULE' ? moduleSize : c.width }));
}

function row(table: Array<Column & { size: number }>, text: (c: Column) => string): string {
  return table
    .map((c) => {
      const cell = clip(text(c), c.size);
      return c.right ? cell.padStart(c.size) : cell.padEnd(c.size);
    })
    .join(' ')
    .trimEnd();
}

/** `[####      ]  42%` for a fraction 0..1, blanks and `-` when unknown. */
function bar(fraction: number | null | undefined): string {
  if (!isNumber(fraction)) return `[${' '.repeat(kBarWidth)}]    -`;
  const f = Math.min(1, Math.max(0, fraction));
  const filled = Math.round(f * kBarWidth);
  return `[${'#'.repeat(filled)}${' '.repeat(kBarWidth - filled)}] ${`${Math.round(f * 100)}%`.padStart(4)}`;
}

/** A count or rate, short: `950`, `12.5`, `12.3k`, `4.5M`; `-` when unknown. */
function count(n: unknown): string {
  if (!isNumber(n)) return '-';
  const a = Math.abs(n);
  if (a >= 1e9) return `${+(n / 1e9).toFixed(1)}G`;
  if (a >= 1e6) return `${+(n / 1e6).toFixed(1)}M`;
  if (a >= 1e4) return `${+(n / 1e3).toFixed(1)}k`;
  if (a >= 100 || Number.isInteger(n)) return String(Math.round(n));
  return String(+n.toFixed(1));
}

/** A duration in ms with two decimals below 10, `-` when unknown. */
function decimal(n: unknown): string {
  if (!isNumber(n)) return '-';
  return Math.abs(n) < 10 ? n.toFixed(2) : count(n);
}

function duration(ms: number): string {
  const s = Math.floor(ms / 1000);
  const d = Math.floor(s / 86_400);
  const h = Math.floor((s % 86_400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  if (d > 0) return `${d}d ${h}h`;
  if (h > 0) return `${h}h ${m}m`;
  return m > 0 ? `${m}m ${s % 60}s` : `${s % 60}s`;
}

/** The module's file name without its extension (as traces name it): the path is the same for most actors of an app. */
function shortModule(module: unknown): string {
  return clean(typeof module === 'string' ? module.replace(/^.*\//, '').replace(/\.[cm]?[jt]s$/, '') : module);
}

function isNumber(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value);
}

/**
 * A text from the server as shown: `-` when it is not a string; control
 * characters (ESC among them) become `?`, so a name cannot drive the terminal.
 */
function clean(text: unknown): string {
  if (typeof text !== 'string' || text === '') return '-';
  // biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point.
  return text.replace(/[\u0000-\u001f\u007f-\u009f]/g, '?');
}

/** `text` in lines of `width`, broken at spaces where it can, at most `most` lines (the last one cut). */
function wrap(text: string, width: number, most: number): string[] {
  const lines: string[] = [];
  let rest = text;
  while (Array.from(rest).length > width && lines.length < most - 1) {
    const head = Array.from(rest)
      .slice(0, width + 1)
      .join('');
    const at = head.lastIndexOf(' ');
    const cut = at > 0 ? at : Array.from(rest).slice(0, width).join('').length;
    lines.push(rest.slice(0, cut));
    rest = `  ${rest.slice(cut).trimStart()}`;
  }
  return [...lines, clip(rest, width)];
}

/** `text` cut to `width` characters (code points), the last one an ellipsis when cut. */
function clip(text: string, width: number): string {
  const chars = Array.from(text);
  if (chars.length <= width) return text;
  return width <= 1 ? chars.slice(0, width).join('') : `${chars.slice(0, width - 1).join('')}…`;
}
