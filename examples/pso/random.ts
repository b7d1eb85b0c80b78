/**
 * A seeded random generator for the PSO example's particles: xoshiro128**
 * (Blackman and Vigna), its 128-bit state filled by splitmix32 from the
 * seed words. Each particle has its own, seeded from (seed, run, particle),
 * so a run gives the same result whatever thread a particle is on and in
 * whatever order the threads run.
 */

/** splitmix32's output function: a well-mixed 32-bit word from a counter. */
function mix(value: number): number {
  let z = value >>> 0;
  z = Math.imul(z ^ (z >>> 16), 0x21f0aaad);
  z = Math.imul(z ^ (z >>> 15), 0x735a2d97);
  return (z ^ (z >>> 15)) >>> 0;
}

/** A generator of uniform numbers in [0, 1), seeded by a list of integers. */
export class Random {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;

  constructor(...seeds: number[]) {
    let h = 0x9e3779b9;
    for (const seed of seeds) h = mix(h ^ mix(seed + 0x7f4a7c15));
    this.s0 = mix((h += 0x9e3779b9));
    this.s1 = mix((h += 0x9e3779b9));
    this.s2 = mix((h += 0x9e3779b9));
    this.s3 = mix((h += 0x9e3779b9));
    // An all-zero state would stay zero.
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1;
  }

  /** Uniform in [0, 1), 32 bits of resolution. */
  next(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9) >>> 0;
    const t = this.s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return result / 4294967296;
  }

  /** Uniform in [a, b). */
  between(a: number, b: number): number {
    return a + this.next() * (b - a);
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}
