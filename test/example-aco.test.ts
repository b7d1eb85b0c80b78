/**
 * `npm run example:aco` (examples/aco.ts): the TSPLIB reader on the format's
 * variants and on bad input; the colony of actors in its synchronous mode
 * makes exactly the plain run's tours; a short seeded run of the script
 * prints a tour that visits every city once, whose length, computed here from
 * the file alone, is the best it reports; bad arguments exit 2 with a message;
 * the colony publishes its pheromone to the ants' shared matrix when forced
 * and otherwise at most so often.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runColony } from '../examples/aco/colony.js';
import { runPlain } from '../examples/aco/plain.js';
import { PheromonePublisher, kPublishMinMs } from '../examples/aco/publish.js';
import { TsplibError, euc2d, parseTsplib, readTsplib } from '../examples/aco/tsplib.js';
import { userEnv } from './fixtures/prebuilt.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const eil51 = `${root}examples/data/eil51.tsp`;

/** Runs the example as `npm run example:aco -- ...args` does; resolves with its exit code and output. */
function runExample(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'examples/aco.ts', ...args], {
    cwd: root,
    env: userEnv(),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve) => child.once('close', (code) => resolve({ code, stdout, stderr })));
}

/** The cities of a TSPLIB file, read here with nothing from the example: number -> [x, y]. */
function citiesOf(path: string): Map<number, [number, number]> {
  const text = readFileSync(path, 'utf8');
  const section = text.slice(text.indexOf('NODE_COORD_SECTION') + 'NODE_COORD_SECTION'.length);
  const cities = new Map<number, [number, number]>();
  for (const line of section.split('\n')) {
    const fields = line.trim().split(/\s+/).map(Number);
    if (fields.length === 3) cities.set(fields[0], [fields[1], fields[2]]);
  }
  return cities;
}

const small = (header: string, coords = '1 0 0\n2 3 4\n3 6 0\n4 3 -4\n') => `${header}\nNODE_COORD_SECTION\n${coords}EOF\n`;
const header = 'NAME: small\nTYPE: TSP\nDIMENSION: 4\nEDGE_WEIGHT_TYPE: EUC_2D';

describe('the TSPLIB reader', () => {
  it('reads `KEY: v` and `KEY : v`, real coordinates, stray spaces, tabs, CRLF and a missing EOF alike', () => {
    const plain = parseTsplib(small(header));
    const variant = parseTsplib(
      ' NAME : small \r\nTYPE :TSP\r\nCOMMENT : a: comment with colons\r\n\r\nDIMENSION :  4\r\nEDGE_WEIGHT_TYPE\t:\tEUC_2D\r\nNODE_COORD_SECTION  \r\n' +
        '  1   0.0\t0e0 \r\n2 3.0 4\r\n 3 6 0.000\r\n4 3 -4.0',
    );
    expect(variant.name).toBe('small');
    expect(variant.comment).toBe('a: comment with colons');
    expect(Array.from(variant.x)).toEqual(Array.from(plain.x));
    expect(Array.from(variant.y)).toEqual([0, 4, 0, -4]);
    expect(euc2d(variant, 0, 1)).toBe(5);
  });

  it('rounds distances to the nearest integer (nint) and names an instance by its file without NAME', () => {
    const instance = parseTsplib(small('TYPE: TSP\nDIMENSION: 4\nEDGE_WEIGHT_TYPE: EUC_2D', '1 0 0\n2 1 1\n3 1.5 2\n4 0 2.6\n'), '/some/where/tiny.tsp');
    expect(instance.name).toBe('tiny');
    expect(euc2d(instance, 0, 1)).toBe(1); // 1.414
    expect(euc2d(instance, 0, 2)).toBe(3); // 2.5
    expect(euc2d(instance, 0, 3)).toBe(3); // 2.6
  });

  it('reads the shipped instances', () => {
    expect(readTsplib(eil51).x.length).toBe(51);
    expect(readTsplib(`${root}examples/data/berlin52.tsp`).name).toBe('berlin52');
    expect(readTsplib(`${root}examples/data/eil76.tsp`).y.length).toBe(76);
  });

  it.each([
    ['another TYPE', header.replace('TYPE: TSP', 'TYPE: ATSP'), undefined, /expected TYPE: TSP .*got `"ATSP"`/],
    ['another EDGE_WEIGHT_TYPE', header.replace('EUC_2D', 'GEO'), undefined, /expected EDGE_WEIGHT_TYPE: EUC_2D, got `"GEO"`/],
    ['no EDGE_WEIGHT_TYPE', header.replace('EDGE_WEIGHT_TYPE: EUC_2D', ''), undefined, /EUC_2D, got `undefined`/],
    ['a bad DIMENSION', header.replace('DIMENSION: 4', 'DIMENSION: four'), undefined, /DIMENSION .* got `"four"`/],
    ['a coordinate that is not a number', header, '1 0 0\n2 3 x\n3 6 0\n4 3 -4\n', /:7: expected `city x y` .*got `"2 3 x"`/],
    ['a city out of range', header, '1 0 0\n2 3 4\n3 6 0\n5 3 -4\n', /:9: expected a city number from 1 to 4, got `5`/],
    ['a city twice', header, '1 0 0\n2 3 4\n2 6 0\n4 3 -4\n', /:8: city 2 appears twice/],
    ['fewer cities than DIMENSION', header, '1 0 0\n2 3 4\n3 6 0\n', /DIMENSION is 4 but NODE_COORD_SECTION has 3 cities/],
    ['a section it does not read', `${header}\nEDGE_WEIGHT_SECTION`, undefined, /only NODE_COORD_SECTION is read, got `"EDGE_WEIGHT_SECTION"`/],
    ['a line that is not KEY: value', `${header}\nthis is not a header`, undefined, /:5: expected `KEY : value`.*got `"this is not a header"`/],
  ])('refuses %s with a TsplibError naming the value', (_, head, coords, message) => {
    const parse = () => parseTsplib(small(head, coords), 'bad.tsp');
    expect(parse).toThrow(TsplibError);
    expect(parse).toThrow(message);
  });

  it('refuses a file it cannot read, naming it', () => {
    expect(() => readTsplib('/no/such/file.tsp')).toThrow(/\/no\/such\/file\.tsp: cannot read the file \(ENOENT\)/);
  });
});

describe('the colony of actors', () => {
  it('in its synchronous mode makes exactly the tours of the plain run, on two threads', async () => {
    const instance = readTsplib(eil51);
    const budget = { ants: 6, seconds: 60, iterations: 15, seed: 42 };
    const colony = await runColony(instance, budget, 2, true);
    const plain = runPlain(instance, budget);
    expect(colony.iterations).toBe(15);
    expect(colony.tours).toBe(90);
    expect(colony.perThread?.reduce((a, b) => a + b, 0)).toBe(90);
    expect(colony.curve.map((point) => [point.iteration, point.best])).toEqual(plain.curve.map((point) => [point.iteration, point.best]));
    expect(colony.tour).toEqual(plain.tour);
  });
});

describe('npm run example:aco', () => {
  it('prints, last, a JSON result whose tour visits every city once and whose length is the reported best', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'aco-'));
    const { code, stdout, stderr } = await runExample([
      eil51,
      '--seconds',
      '1',
      '--seed',
      '3',
      '--json',
      '--svg',
      join(dir, 't.svg'),
      '--curve',
      join(dir, 'c.svg'),
    ]);
    expect(code, stderr).toBe(0);
    let tourSvg: string;
    let curveSvg: string;
    try {
      tourSvg = readFileSync(join(dir, 't.svg'), 'utf8');
      curveSvg = readFileSync(join(dir, 'c.svg'), 'utf8');
    } finally {
      rmSync(dir, { recursive: true });
    }
    expect(tourSvg.match(/<circle /g)).toHaveLength(51);
    expect(tourSvg).toMatch(/<polygon points="(\S+,\S+ ){50}\S+,\S+"/);
    expect(curveSvg).toMatch(/^<svg [\s\S]*<polyline points="[^"]+"[\s\S]*optimum 426[\s\S]*<\/svg>\n$/s);
    const lines = stdout.trim().split('\n');
    const result = JSON.parse(lines[lines.length - 1]);
    expect(result).toMatchObject({ instance: 'eil51', cities: 51, optimum: 426, threads: 2, seed: 3, localSearch: '2-opt' });
    const cities = citiesOf(eil51);
    expect([...result.tour].sort((a: number, b: number) => a - b)).toEqual([...cities.keys()].sort((a, b) => a - b));
    let length = 0;
    result.tour.forEach((city: number, i: number) => {
      const [x1, y1] = cities.get(city)!;
      const [x2, y2] = cities.get(result.tour[(i + 1) % result.tour.length])!;
      length += Math.round(Math.hypot(x1 - x2, y1 - y2));
    });
    expect(result.best).toBe(length);
    expect(result.gapPercent).toBeCloseTo(((length - 426) / 426) * 100, 2);
    expect(result.iterations).toBeGreaterThan(0);
    expect(result.toursPerSecond).toBeGreaterThan(0);
    expect(stdout).toMatch(/^speed-up in tours\/s: \d+\.\d\dx$/m);
  }, 30_000);

  it('exits 2 with one line naming a bad argument or a bad file, and no stack', async () => {
    const badAnts = await runExample([eil51, '--ants', 'many']);
    expect(badAnts.code).toBe(2);
    expect(badAnts.stderr.trim()).toBe('example:aco: Expected `--ants` to be an integer from 1 to 1024, got `"many"` (string)');
    const badFile = await runExample([`${root}package.json`]);
    expect(badFile.code).toBe(2);
    expect(badFile.stderr).toMatch(/^example:aco: .*package\.json:1: expected `KEY : value` or a section name, got `"\{"`/);
    expect(badFile.stderr).not.toMatch(/^\s+at /m);
  }, 30_000);
});

/** A clock for the publisher that stands still, except that its reading after a copy is `copyMs` later (then `copyMs` is 0 again). */
function fakeClock(start: number) {
  const clock = {
    now: start,
    copyMs: 0,
    read: () => {
      const at = clock.now;
      clock.now += clock.copyMs;
      clock.copyMs = 0;
      return at;
    },
  };
  return clock;
}

describe('the colony publishing its pheromone (examples/aco/publish.ts)', () => {
  it('copies when forced, then not until kPublishMinMs and twenty times its fastest copy have passed', () => {
    const clock = fakeClock(100);
    const working = new Float32Array([1, 2, 3]);
    const shared = new Float32Array(4);
    const publisher = new PheromonePublisher(working, () => shared, clock.read);
    expect(publisher.publish(true)).toBe(true); // takes no time: the next waits kPublishMinMs
    expect([...shared]).toEqual([1, 2, 3, 0]);
    working[0] = 7;
    expect(publisher.publish(false)).toBe(false); // no time has passed
    expect(shared[0]).toBe(1);
    clock.now += kPublishMinMs;
    expect(publisher.publish(false)).toBe(true);
    expect([...shared]).toEqual([7, 2, 3, 0]);
    working[1] = 8;
    clock.now += kPublishMinMs / 2;
    expect(publisher.publish(false)).toBe(false);
    expect(publisher.publish(true)).toBe(true); // forced: at once
    expect(shared[1]).toBe(8);
  });

  it('waits twenty times the fastest copy between copies, so a copy paused by the OS or a GC does not hold the next one back', () => {
    // Times in binary fractions, exact in floating point.
    const clock = fakeClock(0);
    const working = new Float32Array([1]);
    const shared = new Float32Array(1);
    const publisher = new PheromonePublisher(working, () => shared, clock.read);
    clock.copyMs = 0.125;
    publisher.publish(true); // 0.125 ms: the next waits 2.5 ms
    working[0] = 2;
    clock.now += 2.25;
    expect(publisher.publish(false)).toBe(false);
    clock.now += 0.25;
    clock.copyMs = 5; // a paused copy
    expect(publisher.publish(false)).toBe(true);
    expect(shared[0]).toBe(2);
    working[0] = 3;
    clock.now += 2.5; // still 20 times the fastest copy, 0.125 ms, not the paused one
    expect(publisher.publish(false)).toBe(true);
    expect(shared[0]).toBe(3);
  });
});
