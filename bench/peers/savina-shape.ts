/**
 * What every implementation of the Savina cases shares (bench/savina.bench.ts):
 * the sizes, the work a message does, the seeded random numbers of Big, and
 * the answer each run must give.
 *
 * The benchmarks are those of the Savina actor suite (Imam & Sarkar, AGERE
 * 2014, github.com/shamsimam/savina, the Akka versions), their default sizes
 * read from its `*Config.java`. Each implementation (microswarm, nact, plain)
 * builds its actors anew in every run, as Savina's `runIteration` does, and
 * answers with a string the case checks against {@link expectedAnswer}.
 */

/** Savina's `*Config.java` defaults. */
export const savinaDefaults = {
  /** PingPongConfig: N = 40000 pings. */
  pingpong: { pings: 40_000 },
  /** ThreadRingConfig: N = 100 actors, R = 100000 hops. */
  threadring: { actors: 100, hops: 100_000 },
  /** CountingConfig: N = 1000000 messages. */
  counting: { messages: 1_000_000 },
  /** ThroughputConfig: N = 10000 messages per actor, A = 60 actors. */
  fjthroughput: { actors: 60, messages: 10_000 },
  /** ForkJoinConfig (fjcreate): N = 40000 actors. */
  fjcreation: { actors: 40_000 },
  /** FibonacciConfig: N = 25. */
  fib: { n: 25 },
  /** BigConfig: N = 20000 pings per actor, W = 120 actors. */
  big: { actors: 120, pings: 20_000 },
} as const;

export type SavinaCase = keyof typeof savinaDefaults;
export type SavinaSizes = { [K in SavinaCase]: { [P in keyof (typeof savinaDefaults)[K]]: number } };

/** The smoke run's sizes (`BENCH_QUICK=1`): about a tenth. */
export const savinaQuick: SavinaSizes = {
  pingpong: { pings: 4_000 },
  threadring: { actors: 100, hops: 10_000 },
  counting: { messages: 100_000 },
  fjthroughput: { actors: 60, messages: 1_000 },
  fjcreation: { actors: 4_000 },
  fib: { n: 18 },
  big: { actors: 120, pings: 2_000 },
};

/** ThroughputConfig/ForkJoinConfig `performComputation(37.2)`: one sine, squared, kept alive by a check. */
export function performComputation(theta: number): number {
  const sint = Math.sin(theta);
  const res = sint * sint;
  if (res <= 0) throw new Error(`unrealistic res value ${res}`);
  return res;
}

/**
 * Big's per-actor random numbers (Savina's `PseudoRandom(id)` stands behind
 * the same call): a 32-bit linear congruential generator, so that every impl
 * picks the same targets in the same order.
 */
export class SeededRandom {
  private state: number;
  constructor(seed: number) {
    this.state = (seed * 2_654_435_761 + 1) >>> 0;
  }
  /** An integer in [0, bound). */
  nextInt(bound: number): number {
    this.state = (Math.imul(this.state, 1_664_525) + 1_013_904_223) >>> 0;
    return this.state % bound;
  }
}

function fibonacci(n: number): number {
  let a = 0;
  let b = 1;
  for (let i = 0; i < n; i++) [a, b] = [b, a + b];
  return a;
}

/**
 * The answer a correct run gives, per case:
 * - pingpong: pongs the pong actor sent;
 * - threadring: `zero/exits`, the actor where the hop count reached 0 (hops mod actors) and the exit messages handled (one per actor);
 * - counting: the counter's count;
 * - fjthroughput: `actors x messages` handled, each actor counting its own;
 * - fjcreation: actors that handled their message;
 * - fib: fib(n) (fib(25) = 75025);
 * - big: `exits/pings/errors`: actors that finished, pings sent, pongs from an unexpected actor (0).
 */
export function expectedAnswer(caseName: SavinaCase, sizes: SavinaSizes): string {
  switch (caseName) {
    case 'pingpong':
      return String(sizes.pingpong.pings);
    case 'threadring':
      return `${sizes.threadring.hops % sizes.threadring.actors}/${sizes.threadring.actors}`;
    case 'counting':
      return String(sizes.counting.messages);
    case 'fjthroughput':
      return `${sizes.fjthroughput.actors}x${sizes.fjthroughput.messages}`;
    case 'fjcreation':
      return String(sizes.fjcreation.actors);
    case 'fib':
      return String(fibonacci(sizes.fib.n));
    case 'big':
      return `${sizes.big.actors}/${sizes.big.actors * sizes.big.pings}/0`;
  }
}

/** The sizes of a case, printed in its note. */
export function describeSizes(caseName: SavinaCase, sizes: SavinaSizes): string {
  return Object.entries(sizes[caseName])
    .map(([key, value]) => `${key}=${value.toLocaleString('en')}`)
    .join(' ');
}

/** One implementation: `run(case, sizes)` builds the case's actors, runs it once and answers (see {@link expectedAnswer}). */
export interface SavinaPeer {
  run(caseName: SavinaCase, sizes: SavinaSizes): Promise<string>;
  close(): Promise<void>;
}
