/**
 * The coordinator of the PSO example: a swarm of particle agents per run,
 * all runs at once, and the statistics over the runs.
 *
 * Each run has its own `rt.swarm` of S = 10 + floor(2 sqrt(D)) particle
 * agents with the chosen topology (`ring`: lbest; `star`: gbest through the
 * hub). A particle learns its neighbours from `swarm.neighbors` once; the
 * bests then flow between particles by message (examples/actors/particle.ts).
 * The coordinator only starts a run and collects its end with
 * `swarm.gather`: it takes no part in the iterations. The runs' swarms run
 * side by side, so a pool thread always has particles ready while others
 * wait for their neighbours; the agents are spawned once and reused for
 * every function (a `run` order resets a particle).
 */
import type { Runtime, Swarm } from '../../src/index.js';
import type { ActorRef } from '../../src/index.js';
import type { ParticleMsg, ParticleResult } from '../actors/particle.js';
import type { FunctionName } from './functions.js';
import { swarmSize } from './spso.js';

const particleUrl = new URL('../actors/particle.ts', import.meta.url);

/** The swarm topologies the example runs: lbest on a ring, gbest on a star. */
export const psoTopologies = ['ring', 'star'] as const;
export type PsoTopology = (typeof psoTopologies)[number];

/**
 * Where the particles live: `run` puts each run's swarm on one thread (its
 * messages stay on the heap), `spread` deals the particles of every swarm
 * over the threads (neighbours on different threads: the messages cross
 * through the rings).
 */
export const placements = ['run', 'spread'] as const;
export type Placement = (typeof placements)[number];

/** The shape of the swarms: fixed when they are spawned. */
export interface SwarmsShape {
  runs: number;
  dim: number;
  topology: PsoTopology;
  placement: Placement;
}

/** One run's result. */
interface RunResult {
  /** The best value found. */
  best: number;
  /** Where (inside the domain). */
  position: number[];
  /** The best value of the initial swarm. */
  initial: number;
  /** Evaluations made by the swarm. */
  evaluations: number;
  /** Messages between particles. */
  messages: number;
}

/** The results of `runs` runs of one function. */
export interface Summary {
  fn: FunctionName;
  dim: number;
  evals: number;
  runs: number;
  topology: PsoTopology;
  /** Mean of the runs' best values. */
  mean: number;
  /** Their standard deviation (population: divided by the number of runs, as SPSO-2006's program does). */
  std: number;
  /** The best value of all runs. */
  best: number;
  /** Wall time of the runs, ms. */
  ms: number;
  /** Where the best of all was found. */
  position: number[];
  /** Mean of the initial swarms' best values. */
  initialMean: number;
  /** Messages between particles, all runs. */
  messages: number;
  /** Those messages per second of wall time. */
  messagesPerSecond: number;
  seed: number;
  results: RunResult[];
}

/** Mean and population standard deviation. */
export function meanStd(values: readonly number[]): { mean: number; std: number } {
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  const variance = values.reduce((a, b) => a + (b - mean) * (b - mean), 0) / values.length;
  return { mean, std: Math.sqrt(variance) };
}

/** The swarms of one experiment: spawned once, run once per function. */
export class PsoSwarms {
  readonly shape: SwarmsShape;
  /** Particles per swarm. */
  readonly size: number;
  private readonly rt: Runtime;
  private readonly swarms: Swarm[];
  private epoch = 0;

  private constructor(rt: Runtime, shape: SwarmsShape, swarms: Swarm[]) {
    this.rt = rt;
    this.shape = shape;
    this.size = swarmSize(shape.dim);
    this.swarms = swarms;
  }

  /** Spawns `runs` swarms of particles and tells each particle its neighbours. */
  static async spawn(rt: Runtime, shape: SwarmsShape): Promise<PsoSwarms> {
    const size = swarmSize(shape.dim);
    const swarms: Swarm[] = [];
    for (let run = 0; run < shape.runs; run++) {
      const thread = (i: number) => (shape.placement === 'run' ? run : run * size + i) % rt.threads;
      const members = await Promise.all(
        Array.from({ length: size }, (_, i) => rt.spawn<ParticleMsg, unknown>(particleUrl, undefined, { thread: thread(i) })),
      );
      const swarm = rt.swarm({ name: `pso-${run}`, members, topology: shape.topology, leader: false });
      await Promise.all(
        members.map((member, index) => {
          const neighbors = swarm.neighbors(member) as Array<ActorRef<ParticleMsg>>;
          const neighborIndices = neighbors.map((n) => members.findIndex((m) => m.equals(n)));
          // The star's hub (its first member) relays the best of all to the leaves.
          return member.ask({ type: 'link', index, size, neighbors, neighborIndices, relay: shape.topology === 'star' && index === 0 });
        }),
      );
      swarms.push(swarm);
    }
    return new PsoSwarms(rt, shape, swarms);
  }

  /** Runs every swarm on `fn` with `evals` evaluations each; run r seeds its particles with (seed, r, index). */
  async solve(fn: FunctionName, evals: number, seed: number): Promise<Summary> {
    const epoch = ++this.epoch;
    const { dim, runs, topology } = this.shape;
    const started = performance.now();
    const results = await Promise.all(
      this.swarms.map(async (swarm, run): Promise<RunResult> => {
        const gathered = await swarm.gather<ParticleResult>({ type: 'run', epoch, fn, dim, evals, seeds: [seed, run] } satisfies ParticleMsg, {
          timeoutMs: 3_600_000,
        });
        const failed =
          gathered.errors[0]?.error ??
          (gathered.silent.length > 0 ? new Error(`${gathered.silent.length} particles of run ${run} were silent`) : undefined);
        if (failed !== undefined) throw failed;
        const replies = gathered.replies.map((r) => r.value);
        const best = replies.reduce((a, b) => (b.best < a.best ? b : a));
        return {
          best: best.best,
          position: Array.from(best.position),
          initial: Math.min(...replies.map((r) => r.initial)),
          evaluations: replies.reduce((a, r) => a + r.evaluations, 0),
          messages: replies.reduce((a, r) => a + r.sent, 0),
        };
      }),
    );
    const ms = performance.now() - started;
    const { mean, std } = meanStd(results.map((r) => r.best));
    const bestRun = results.reduce((a, b) => (b.best < a.best ? b : a));
    const messages = results.reduce((a, r) => a + r.messages, 0);
    return {
      fn,
      dim,
      evals,
      runs,
      topology,
      mean,
      std,
      best: bestRun.best,
      ms,
      position: bestRun.position,
      initialMean: meanStd(results.map((r) => r.initial)).mean,
      messages,
      messagesPerSecond: messages / (ms / 1000),
      seed,
      results,
    };
  }

  /** Stops the particles and dissolves the swarms. */
  async stop(): Promise<void> {
    for (const swarm of this.swarms) {
      swarm.dissolve();
      await Promise.all(swarm.members().map((m) => this.rt.stop(m)));
    }
  }
}
