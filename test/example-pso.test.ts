/**
 * `npm run example:pso` (examples/pso.ts): the test functions at their known
 * values, SPSO-2006's swarm size and budget split, the particle agents
 * computing exactly what the same algorithm computes in a plain loop (ring
 * and star, particles dealt over two threads so their bests cross threads),
 * a seeded run whose answer lies in the domain and improves on the initial
 * best, a neighbour's best kept when it arrives before the run order, the
 * --json line, and bad arguments refused with exit code 2.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { InvalidArgumentError, InvalidOptionError } from '../src/index.js';
import type { ParticleMsg, ParticleResult } from '../examples/actors/particle.js';
import { parsePsoArgs } from '../examples/pso/args.js';
import { ackley, functionNames, griewank, rastrigin, rosenbrock, sphere, testFunctions } from '../examples/pso/functions.js';
import { loopRun } from '../examples/pso/loop.js';
import { Random } from '../examples/pso/random.js';
import { PsoSwarms, type PsoTopology } from '../examples/pso/run.js';
import { kAcceleration, kInertia, lastIteration, Particle, swarmSize } from '../examples/pso/spso.js';
import { useRuntime } from './fixtures/helpers.js';
import { userEnv } from './fixtures/prebuilt.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const start = useRuntime({ threads: 2, standbyThreads: 0, maxAgents: 256 }, { timeoutMs: 1000 });

/** Runs the example as `npm run example:pso` does; resolves with its exit code, stdout and stderr. */
function runExample(args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'examples/pso.ts', ...args], {
    cwd: root,
    env: userEnv(),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
  return new Promise((resolve) => child.once('close', (code) => resolve({ code, out, err })));
}

const at = (...x: number[]) => Float64Array.from(x);
const filled = (n: number, value: number) => new Float64Array(n).fill(value);

describe('test functions', () => {
  it('are 0 at their minimum: the origin, Rosenbrock at (1, ..., 1)', () => {
    for (const f of [sphere, rastrigin, griewank]) expect(f(filled(30, 0))).toBe(0);
    expect(ackley(filled(30, 0))).toBeCloseTo(0, 12);
    expect(rosenbrock(filled(30, 1))).toBe(0);
  });

  it('have their textbook values away from it', () => {
    expect(sphere(at(1, -2, 3))).toBe(14);
    expect(rosenbrock(at(0, 0))).toBe(1);
    expect(rosenbrock(at(-1, 1))).toBe(4);
    // cos(2 pi k) = 1 at integers: each coordinate adds k^2.
    expect(rastrigin(at(1, 2))).toBeCloseTo(5, 12);
    expect(rastrigin(at(0.5))).toBeCloseTo(20.25, 12);
    expect(griewank(at(Math.PI, 0))).toBeCloseTo(1 + (Math.PI * Math.PI) / 4000 + 1, 12);
    expect(ackley(at(1, 1))).toBeCloseTo(20 + Math.E - 20 * Math.exp(-0.2) - Math.E, 12);
  });

  it("have SPSO-2006's domains", () => {
    const domains = functionNames.map((name) => [testFunctions[name].lo, testFunctions[name].hi]);
    expect(domains).toEqual([
      [-100, 100],
      [-30, 30],
      [-5.12, 5.12],
      [-600, 600],
      [-32, 32],
    ]);
  });
});

describe('SPSO-2006 pieces', () => {
  it('swarm size 10 + floor(2 sqrt(D)); the evaluations split over iterations add up to the budget', () => {
    expect([1, 10, 30, 100].map(swarmSize)).toEqual([12, 16, 20, 30]);
    for (const [evals, size] of [
      [30_000, 20],
      [1007, 16],
      [20, 20],
    ]) {
      const total = Array.from({ length: size }, (_, i) => lastIteration(evals, size, i) + 1).reduce((a, b) => a + b, 0);
      expect(total).toBe(evals);
    }
  });

  it('a particle keeps w v when at its bests, and is confined: a coordinate past a bound sits on it with velocity 0', () => {
    const particle = new Particle('sphere', 3, [1]);
    expect(kInertia).toBeCloseTo(0.7213, 4);
    expect(kAcceleration).toBeCloseTo(1.1931, 4);
    particle.evaluate();
    const v = Float64Array.from(particle.v);
    particle.p = Float64Array.from(particle.x);
    particle.move(Float64Array.from(particle.x));
    expect(Array.from(particle.v)).toEqual(Array.from(v, (u) => kInertia * u));
    // Pulled far past the upper bound (100) on the first coordinate, below the lower one on the second.
    particle.move(at(1e9, -1e9, particle.x[2]));
    expect([particle.x[0], particle.x[1]]).toEqual([100, -100]);
    expect([particle.v[0], particle.v[1]]).toEqual([0, 0]);
  });

  it('a seeded generator replays, and differs by seed', () => {
    const draw = (...seeds: number[]) => {
      const random = new Random(...seeds);
      return Array.from({ length: 1000 }, () => random.next());
    };
    const a = draw(1, 0, 3);
    expect(draw(1, 0, 3)).toEqual(a);
    expect(draw(1, 0, 4)).not.toEqual(a);
    expect(Math.min(...a)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...a)).toBeLessThan(1);
    expect(a.reduce((s, v) => s + v, 0) / a.length).toBeCloseTo(0.5, 1);
  });
});

describe('particle agents', () => {
  for (const topology of ['ring', 'star'] as PsoTopology[]) {
    it(`${topology}: equal the plain loop to the last bit, lie in the domain and improve on the initial best`, async () => {
      const rt = await start();
      const shape = { runs: 3, dim: 4, topology, placement: 'spread' as const };
      const swarms = await PsoSwarms.spawn(rt, shape);
      // Two functions on the same agents: the second run resets them.
      for (const fn of ['rastrigin', 'rosenbrock'] as const) {
        // 419 is not a multiple of the swarm size (14): the last iteration is cut short.
        const summary = await swarms.solve(fn, 419, 7);
        const { lo, hi } = testFunctions[fn];
        summary.results.forEach((result, run) => {
          expect(result.evaluations).toBe(419);
          expect(result).toMatchObject(loopRun(topology, fn, 4, 419, [7, run]));
          expect(result.best).toBe(testFunctions[fn].value(Float64Array.from(result.position)));
          expect(result.best).toBeLessThan(result.initial);
          for (const x of result.position) expect(x >= lo && x <= hi, `${x} in [${lo}, ${hi}]`).toBe(true);
        });
        expect(summary.messages).toBeGreaterThan(0);
      }
      await swarms.stop();
    });
  }
});

describe('a particle agent', () => {
  it("keeps a neighbour's best that arrives before its own run order, and moves with it", async () => {
    const rt = await start();
    const url = new URL('../examples/actors/particle.ts', import.meta.url);
    const [particle, neighbour] = await Promise.all([0, 1].map(() => rt.spawn<ParticleMsg, unknown>(url, undefined, { thread: 0 })));
    // A swarm of 12 (D = 1) of which only these two exist; the test speaks for the neighbour.
    await particle.ask({ type: 'link', index: 0, size: 12, neighbors: [neighbour], neighborIndices: [1], relay: false });
    await neighbour.ask({ type: 'link', index: 1, size: 12, neighbors: [particle], neighborIndices: [0], relay: false });
    particle.tell({ type: 'best', epoch: 1, from: 1, iteration: 0, f: 0, x: at(0) });
    // 24 evaluations: the particle evaluates at iterations 0 and 1; it needs the neighbour's iteration 0 to move.
    const result = (await particle.ask({ type: 'run', epoch: 1, fn: 'sphere', dim: 1, evals: 24, seeds: [5] }, { timeoutMs: 5000 })) as ParticleResult;
    expect(result.evaluations).toBe(2);
    expect(result.sent).toBe(1);
  });
});

describe('npm run example:pso', () => {
  it('--json: the last line is the result, in the domain, better than the initial swarm', async () => {
    const { code, out, err } = await runExample([
      '--fn',
      'sphere',
      '--dim',
      '5',
      '--evals',
      '600',
      '--runs',
      '2',
      '--threads',
      '1',
      '--seed',
      '3',
      '--json',
    ]);
    expect(code, err).toBe(0);
    const lines = out.trim().split('\n');
    expect(lines[1]).toMatch(/^function +agents \(ring\)/);
    const result = JSON.parse(lines.at(-1)!) as Record<string, unknown> & { position: number[]; results: Array<{ best: number; initial: number }> };
    expect(result).toMatchObject({ fn: 'sphere', dim: 5, evals: 600, runs: 2, topology: 'ring', threads: 1, seed: 3 });
    for (const key of ['mean', 'std', 'best', 'ms']) expect(typeof result[key], key).toBe('number');
    expect(result.position).toHaveLength(5);
    for (const x of result.position) expect(Math.abs(x)).toBeLessThanOrEqual(100);
    expect(result.best).toBe(sphere(Float64Array.from(result.position)));
    for (const run of result.results) expect(run.best).toBeLessThan(run.initial);
  });

  it('a bad argument: exit code 2 and one line naming it, no stack', async () => {
    const { code, out, err } = await runExample(['--dim', 'thirty']);
    expect(code).toBe(2);
    expect(out).toBe('');
    expect(err).toContain('Expected `--dim` to be an integer from 1 to 1000, got `"thirty"` (string)');
    expect(err).not.toMatch(/^\s+at /m);
  });

  it('parsePsoArgs: typed errors naming the option and the value', () => {
    const error = (argv: string[]) => {
      try {
        parsePsoArgs(argv);
      } catch (e) {
        return e;
      }
      return undefined;
    };
    expect(error(['--fn', 'bohachevsky'])).toMatchObject({ option: '--fn', value: 'bohachevsky' });
    expect(error(['--fn', 'bohachevsky'])).toBeInstanceOf(InvalidOptionError);
    expect(error(['--topology', 'mesh'])).toMatchObject({ option: '--topology', value: 'mesh' });
    // Fewer evaluations than one swarm's first evaluation (20 particles at D = 30).
    expect(error(['--evals', '19'])).toMatchObject({ option: '--evals', value: '19' });
    // parseArgs reads `--runs -1` as a missing value; `--runs=-1` reaches the range check.
    expect(error(['--runs', '-1'])).toMatchObject({ option: '--runs', value: '-1' });
    expect(error(['--runs=-1'])).toMatchObject({ option: '--runs', value: '-1', message: expect.stringContaining('an integer from 1 to 1000') });
    expect(error(['--json=yes'])).toMatchObject({ option: '--json', value: 'yes' });
    expect(error(['--seed', '1.5'])).toMatchObject({ option: '--seed', value: '1.5' });
    expect(error(['--colour'])).toBeInstanceOf(InvalidArgumentError);
    expect(error(['--colour'])).toMatchObject({ value: '--colour' });
    expect(error(['rastrigin'])).toMatchObject({ value: 'rastrigin' });
    expect(parsePsoArgs(['--fn', 'all', '--topology', 'star', '--evals', '20'])).toMatchObject({
      fns: functionNames,
      topology: 'star',
      evals: 20,
      dim: 30,
    });
  });
});
