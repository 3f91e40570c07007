import { seededRandom } from '../../lib/node/random.js';
// Seeded PRNG for the simulator (mulberry32): fast, 32-bit state, good enough to
// explore schedules. Everything random in a simulation run comes from one seed.

export class Prng {
  /** Uniform in [0, 1). */
  readonly next: () => number;

  constructor(seed: number) {
    this.next = seededRandom(seed);
  }

  /** Uniform integer in [lo, hi] (inclusive). */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(xs: readonly T[]): T {
    if (xs.length === 0) throw new Error('pick from empty array');
    return xs[Math.floor(this.next() * xs.length)]!;
  }

  shuffle<T>(xs: T[]): T[] {
    for (let i = xs.length - 1; i > 0; i--) {
      const j = Math.floor(this.next() * (i + 1));
      const t = xs[i]!;
      xs[i] = xs[j]!;
      xs[j] = t;
    }
    return xs;
  }

  /** An independent stream derived from this one (e.g. one per node). */
  fork(): Prng {
    return new Prng(Math.floor(this.next() * 4294967296) ^ 0x9e3779b9);
  }
}
