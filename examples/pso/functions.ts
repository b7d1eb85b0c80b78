/**
 * The five test functions of the PSO example, with the search domains and
 * the published SPSO-2006 results they are compared with.
 *
 * Definitions and domains are those of Clerc's "Standard PSO 2006" C
 * program (Particle Swarm Central), whose header lists the results at
 * D = 30, 30,000 evaluations, 50 runs, error = |f - 0|. Every function has
 * its minimum 0: at the origin, Rosenbrock's at (1, ..., 1).
 */

/** A benchmark function: its value at `x`, its domain [lo, hi]^D, and the published result. */
export interface TestFunction {
  /** The function's name on the command line. */
  name: FunctionName;
  /** f(x). */
  value(x: Float64Array): number;
  /** Lower bound of every coordinate. */
  lo: number;
  /** Upper bound of every coordinate. */
  hi: number;
  /** SPSO-2006's mean and standard deviation of the best value at D = 30, 30,000 evaluations, 50 runs. */
  published: { mean: number; std: number };
}

export const functionNames = ['sphere', 'rosenbrock', 'rastrigin', 'griewank', 'ackley'] as const;
/** One of the five functions. */
export type FunctionName = (typeof functionNames)[number];

/** Sphere (Parabola): sum x_i^2 on [-100, 100]. */
export function sphere(x: Float64Array): number {
  let sum = 0;
  for (let i = 0; i < x.length; i++) sum += x[i] * x[i];
  return sum;
}

/** Rosenbrock (Banana): sum 100 (x_{i+1} - x_i^2)^2 + (x_i - 1)^2 on [-30, 30]; 0 at (1, ..., 1). */
export function rosenbrock(x: Float64Array): number {
  let sum = 0;
  for (let i = 0; i + 1 < x.length; i++) {
    const a = x[i + 1] - x[i] * x[i];
    const b = x[i] - 1;
    sum += 100 * a * a + b * b;
  }
  return sum;
}

/** Rastrigin: 10 D + sum x_i^2 - 10 cos(2 pi x_i) on [-5.12, 5.12]. */
export function rastrigin(x: Float64Array): number {
  let sum = 10 * x.length;
  for (let i = 0; i < x.length; i++) sum += x[i] * x[i] - 10 * Math.cos(2 * Math.PI * x[i]);
  return sum;
}

/** Griewank: 1 + sum x_i^2 / 4000 - prod cos(x_i / sqrt(i)) (i from 1) on [-600, 600]. */
export function griewank(x: Float64Array): number {
  let sum = 0;
  let product = 1;
  for (let i = 0; i < x.length; i++) {
    sum += x[i] * x[i];
    product *= Math.cos(x[i] / Math.sqrt(i + 1));
  }
  return 1 + sum / 4000 - product;
}

/** Ackley: 20 + e - 20 exp(-0.2 sqrt(mean x_i^2)) - exp(mean cos(2 pi x_i)) on [-32, 32]. */
export function ackley(x: Float64Array): number {
  let squares = 0;
  let cosines = 0;
  for (let i = 0; i < x.length; i++) {
    squares += x[i] * x[i];
    cosines += Math.cos(2 * Math.PI * x[i]);
  }
  const n = x.length;
  return 20 + Math.E - 20 * Math.exp(-0.2 * Math.sqrt(squares / n)) - Math.exp(cosines / n);
}

/** The functions by name, with their domains and SPSO-2006's published results. */
export const testFunctions: Readonly<Record<FunctionName, TestFunction>> = {
  sphere: { name: 'sphere', value: sphere, lo: -100, hi: 100, published: { mean: 0, std: 0 } },
  rosenbrock: { name: 'rosenbrock', value: rosenbrock, lo: -30, hi: 30, published: { mean: 50.16, std: 36.9 } },
  rastrigin: { name: 'rastrigin', value: rastrigin, lo: -5.12, hi: 5.12, published: { mean: 48.35, std: 14.43 } },
  griewank: { name: 'griewank', value: griewank, lo: -600, hi: 600, published: { mean: 0.018, std: 0.024 } },
  ackley: { name: 'ackley', value: ackley, lo: -32, hi: 32, published: { mean: 1.12, std: 0.85 } },
};
