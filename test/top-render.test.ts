/**
 * `microswarm top`'s screen (src/cli/render.ts) as a pure function, and its
 * command line (src/cli/args.ts): the order of the actor table, the screen
 * cut to the terminal's width and height, snapshots with fields missing,
 * text from the server that tries to drive the terminal, and bad arguments.
 */
import { describe, expect, it } from 'vitest';
import { InvalidArgumentError, InvalidOptionError } from '../src/base/errors.js';
import { parseCommandLine } from '../src/cli/args.js';
import { renderTop, sortActors, type TopActor, type TopSnapshot, type TopSort, type TopView } from '../src/cli/render.js';

function actor(slot: number, fields: Partial<TopActor> = {}): TopActor {
  return {
    ref: `Actor(a${slot}#${slot}.1)`,
    slot,
    gen: 1,
    name: `a${slot}`,
    module: `file:///app/actors/worker-${slot}.js`,
    thread: slot % 2,
    status: 'idle',
    mailbox: 0,
    handled: 0,
    rate: 0,
    restarts: 0,
    parent: null,
    ...fields,
  };
}

function snapshot(actors: TopActor[], more: Partial<TopSnapshot> = {}): TopSnapshot {
  return {
    at: Date.UTC(2026, 0, 2, 3, 4, 5),
    uptimeMs: 125_000,
    node: null,
    totals: { liveActors: actors.length, maxAgents: 256, handled: 1_234_567, rate: 45_600, deadLetters: 2, failures: 1, crashes: 0 },
    threads: [
      { thread: 0, status: 'running', actors: 2, elu: 0.42, ringFill: 0, handled: 10, rate: 1200, responseMs: 0.4 },
      { thread: 1, status: 'down', actors: 0, elu: null, ringFill: 0.5, handled: 0, rate: 0, responseMs: null },
    ],
    actors,
    actorsNotListed: 0,
    ...more,
  };
}

function view(s: TopSnapshot | null, sort: TopSort = { key: 'rate', ascending: false }, problem: string | null = null): TopView {
  return { url: 'http://127.0.0.1:9464/', sort, snapshot: s, problem };
}

/** The names in the table, top to bottom (rows follow the NAME header). */
function names(lines: string[]): string[] {
  const header = lines.findIndex((line) => line.startsWith('NAME'));
  return lines
    .slice(header + 1)
    .filter((line) => !line.startsWith('…') && !line.startsWith('('))
    .map((line) => line.split(/\s+/)[0]);
}

describe('the top screen', () => {
  const actors = [
    actor(0, { mailbox: 5, rate: 10, p99: 0.5 }),
    actor(1, { mailbox: 50, rate: 1, p99: 7 }),
    actor(2, { mailbox: 0, rate: 300, p99: 2.25 }),
    actor(3, { mailbox: 20, rate: 300 }),
  ];

  it('sorts by mailbox, rate or p99, largest first, ties by slot, missing values last; ascending reverses', () => {
    const by = (key: TopSort['key'], ascending = false) => names(renderTop(view(snapshot(actors), { key, ascending }), 120, 40));
    expect(by('mailbox')).toEqual(['a1', 'a3', 'a0', 'a2']);
    expect(by('rate')).toEqual(['a2', 'a3', 'a0', 'a1']);
    expect(by('p99')).toEqual(['a1', 'a2', 'a0', 'a3']);
    expect(by('mailbox', true)).toEqual(['a2', 'a0', 'a3', 'a1']);
    expect(sortActors(actors, { key: 'rate', ascending: true }).map((a) => a.slot)).toEqual([1, 0, 2, 3]);
  });

  it('marks the sorted column and shows the snapshot: totals, threads, rows', () => {
    const lines = renderTop(view(snapshot(actors), { key: 'mailbox', ascending: false }), 120, 40);
    expect(lines[0]).toBe('microswarm top  http://127.0.0.1:9464/  up 2m 5s  at 03:04:05 UTC');
    expect(lines[1]).toBe('actors 4/256  handled 1.2M  45.6k msg/s  dead letters 2  failures 1  crashes 0');
    expect(lines.slice(2, 5)).toEqual([
      'THREAD STATUS       ACTORS ELU             RING             RATE/s RESP ms',
      '0      running           2 [###     ]  42% [        ]   0%    1200    0.40',
      '1      down              0 [        ]    - [####    ]  50%       0       -',
    ]);
    expect(lines[6]).toContain('sort: mailbox ▼');
    expect(lines[6]).not.toContain('p99: none');
    const header = lines[7];
    expect(header).toMatch(/^NAME +MODULE +THR STATUS +MAILBOX▼ +RATE\/s +P99 ms RESTARTS +HANDLED$/);
    const row = lines[8];
    expect(row).toMatch(/^a1 +worker-1 +1 idle +50 +1 +7\.00 +0 +0$/);
    // Numbers line up under their (right-aligned) titles.
    expect(row.indexOf('50') + 2).toBe(header.indexOf('MAILBOX▼') + 'MAILBOX▼'.length);
  });

  it('shows - for p99 and says so when no actor has one', () => {
    const lines = renderTop(view(snapshot([actor(0, { rate: 3 }), actor(1, { rate: 9 })]), { key: 'p99', ascending: false }), 140, 40);
    expect(lines.find((line) => line.startsWith('sort:'))).toContain('p99: none sent (-)');
    expect(lines.find((line) => line.startsWith('a0'))).toMatch(/ 3 +- +0 +0$/);
    // All missing: slot order.
    expect(names(lines)).toEqual(['a0', 'a1']);
  });

  it('fits any width: long lines are cut with an ellipsis, narrow terminals drop the least needed columns', () => {
    const long = [actor(0, { name: 'x'.repeat(200), mailbox: 3 })];
    for (const width of [20, 40, 60, 80, 100, 200]) {
      const lines = renderTop(view(snapshot(long)), width, 30);
      for (const line of lines) expect(Array.from(line).length, `${width}: ${line}`).toBeLessThanOrEqual(width);
    }
    const wide = renderTop(view(snapshot(long)), 200, 30);
    expect(wide.find((line) => line.startsWith('NAME'))).toContain('HANDLED');
    const header = (width: number) => renderTop(view(snapshot(long)), width, 30).find((line) => line.startsWith('NAME'));
    expect(header(50)).toMatch(/^NAME +THR STATUS +MAILBOX +RATE\/s▼ +P99 ms$/);
    const narrow = renderTop(view(snapshot(long)), 36, 30);
    expect(narrow.find((line) => line.startsWith('NAME'))).toMatch(/^NAME +MAILBOX +RATE\/s▼ +P99 ms$/);
    expect(narrow.find((line) => line.startsWith('xxx'))).toMatch(/^x{9}… +3 +0 +-$/);
  });

  it('fits any height: as many rows as fit, then how many more', () => {
    const many = Array.from({ length: 50 }, (_, i) => actor(i, { rate: i }));
    for (const height of [1, 3, 8, 12, 20, 60]) expect(renderTop(view(snapshot(many)), 100, height).length).toBeLessThanOrEqual(height);
    const lines = renderTop(view(snapshot(many, { actorsNotListed: 7 })), 100, 15);
    expect(lines).toHaveLength(15);
    expect(names(lines)).toEqual(['a49', 'a48', 'a47', 'a46', 'a45', 'a44']);
    expect(lines[14]).toBe('… 51 more actors (7 not listed by the server)');
    // Everything fits: no "more" line.
    const all = renderTop(view(snapshot(many.slice(0, 3))), 100, 15);
    expect(all.at(-1)).toMatch(/^a0 /);
  });

  it('keeps room for the table when there are many threads', () => {
    const threads = Array.from({ length: 16 }, (_, i) => ({
      thread: i,
      status: 'running' as const,
      actors: 1,
      elu: 0.1,
      ringFill: 0,
      handled: 0,
      rate: 0,
      responseMs: 1,
    }));
    const lines = renderTop(view(snapshot([actor(0), actor(1), actor(2)], { threads })), 120, 20);
    expect(lines.filter((line) => /^\d+ +running/.test(line))).toHaveLength(5);
    expect(lines).toContain('… 11 more threads');
    expect(names(lines)).toEqual(['a0', 'a1', 'a2']);
  });

  it('shows a snapshot with fields missing or of the wrong type as -', () => {
    const odd = { slot: 4, name: null, ref: undefined, rate: 'fast', mailbox: Number.NaN } as unknown as TopActor;
    const lines = renderTop(view({ threads: [{}], actors: [odd, {}] } as TopSnapshot), 120, 20);
    expect(lines[0]).toBe('microswarm top  http://127.0.0.1:9464/');
    expect(lines[1]).toBe('actors -/-  handled -  - msg/s  dead letters -  failures -  crashes -');
    expect(lines[3]).toBe('?      -                 - [        ]    - [        ]    -       -       -');
    const rows = lines.slice(lines.findIndex((line) => line.startsWith('NAME')) + 1);
    expect(rows[0]).toMatch(/^#4 +- +- +- +- +- +- +- +-$/);
    expect(rows[1]).toMatch(/^- +- +- +- +- +- +- +- +-$/);
    expect(renderTop(view({} as TopSnapshot), 80, 20)).toContain('(no actors)');
  });

  it('shows the problem, and waits for the first snapshot', () => {
    const lines = renderTop(view(null, undefined, 'cannot reach http://127.0.0.1:9/inspect: connect ECONNREFUSED'), 80, 20);
    expect(lines).toEqual([
      'microswarm top  http://127.0.0.1:9464/',
      '! cannot reach http://127.0.0.1:9/inspect: connect ECONNREFUSED',
      'waiting for the first snapshot…',
    ]);
    // A long one takes two lines, broken at a space, the second one cut.
    const long = renderTop(view(null, undefined, 'cannot reach http://h:1/inspect: connect ECONNREFUSED; retrying in 2.0 s (attempt 3)'), 40, 20);
    expect(long).toEqual([
      'microswarm top  http://127.0.0.1:9464/',
      '! cannot reach http://h:1/inspect:',
      '  connect ECONNREFUSED; retrying in 2.0…',
      'waiting for the first snapshot…',
    ]);
    const stale = renderTop(view(snapshot([actor(0)]), undefined, 'gone'), 80, 20);
    expect(stale[1]).toBe('! gone');
    expect(names(stale)).toEqual(['a0']);
  });

  it('replaces control characters from the server, so a name cannot drive the terminal', () => {
    const evil = actor(0, { name: 'a\x1b[2J\x1b]0;pwned\x07b', module: 'file:///x/\x9bm.js', status: '\n' as TopActor['status'] });
    const lines = renderTop(view(snapshot([evil], { node: 'n\r1' })), 120, 20);
    const text = lines.join('\n');
    // biome-ignore lint/suspicious/noControlCharactersInRegex: looking for them is the point.
    expect(text.split('\n').some((line) => /[\u0000-\u001f\u007f-\u009f]/.test(line))).toBe(false);
    expect(lines[0]).toContain('node n?1');
    expect(text).toContain('a?[2J?]0;pwned?b');
    expect(text).toMatch(/ \?m +0 /);
  });
});

describe('the command line', () => {
  it('parses top and its options', () => {
    expect(parseCommandLine(['top', '--url', 'http://127.0.0.1:9464'])).toEqual({
      command: 'top',
      options: { url: new URL('http://127.0.0.1:9464/'), intervalMs: 1000, sort: 'rate' },
    });
    const parsed = parseCommandLine(['top', '-u', 'https://h:1/observe?x=1#y', '--interval=250', '-s', 'p99']);
    expect(parsed).toEqual({ command: 'top', options: { url: new URL('https://h:1/observe/'), intervalMs: 250, sort: 'p99' } });
    expect(parseCommandLine([])).toEqual({ command: 'help' });
    expect(parseCommandLine(['--help'])).toEqual({ command: 'help' });
    expect(parseCommandLine(['top', '--url', 'nope', '-h'])).toEqual({ command: 'help' });
  });

  it('refuses bad arguments with a typed error naming the argument and the value', () => {
    const cases: Array<[string[], typeof InvalidOptionError, RegExp]> = [
      [['tpo'], InvalidArgumentError, /Expected `command` to be 'top' \(or --help\), got `"tpo"` \(string\)/],
      [['top'], InvalidOptionError, /Expected `--url` to be an http:\/\/ or https:\/\/ address .*, got `undefined` \(undefined\)/],
      [['top', '--url', 'ftp://h/'], InvalidOptionError, /`--url`.*got `"ftp:\/\/h\/"` \(string\)/],
      [['top', '--url', 'localhost 9464'], InvalidOptionError, /`--url`.*got `"localhost 9464"` \(string\)/],
      [['top', '--url'], InvalidOptionError, /Expected `--url` to be given a value, got `undefined`/],
      [['top', '--url', 'http://h/', '--interval', '50'], InvalidOptionError, /`--interval`.*from 100 to 60000, got `"50"` \(string\)/],
      [['top', '--url', 'http://h/', '-i', '1e3'], InvalidOptionError, /`--interval`.*got `"1e3"`/],
      [['top', '--url', 'http://h/', '--sort', 'cpu'], InvalidOptionError, /Expected `--sort` to be one of mailbox, rate, p99, got `"cpu"`/],
      [['top', '--url', 'http://h/', '--colour'], InvalidArgumentError, /Expected `top` to be an option among --url, .*, got `"--colour"`/],
      [['top', 'http://h/'], InvalidArgumentError, /got `"http:\/\/h\/"`/],
    ];
    for (const [argv, type, message] of cases) {
      let thrown: unknown;
      try {
        parseCommandLine(argv);
      } catch (err) {
        thrown = err;
      }
      expect(thrown, argv.join(' ')).toBeInstanceOf(type);
      expect((thrown as Error).message, argv.join(' ')).toMatch(message);
    }
  });
});
