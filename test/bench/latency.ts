// Latency samples of one benchmark row, in milliseconds, and their percentiles.
// Samples are kept whole (a row holds at most a few hundred thousand), so the
// percentiles are exact rather than bucketed.

export interface Percentiles {
  count: number;
  p50Ms: number;
  p99Ms: number;
  p999Ms: number;
  maxMs: number;
}

/** Bound on the samples one recorder keeps: past it, the row is long enough to be representative. */
const SAMPLES_MAX = 4_000_000;

export class LatencyRecorder {
  private samples = new Float64Array(1024);
  private n = 0;

  record(ms: number): void {
    if (this.n === SAMPLES_MAX) return;
    if (this.n === this.samples.length) {
      const grown = new Float64Array(Math.min(SAMPLES_MAX, this.samples.length * 2));
      grown.set(this.samples);
      this.samples = grown;
    }
    this.samples[this.n++] = ms;
  }

  get count(): number {
    return this.n;
  }

  percentiles(): Percentiles {
    return percentilesOf(this.samples.subarray(0, this.n));
  }
}

export function percentilesOf(values: ArrayLike<number>): Percentiles {
  const sorted = Float64Array.from(values).sort();
  const at = (q: number) => (sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!);
  return { count: sorted.length, p50Ms: at(0.5), p99Ms: at(0.99), p999Ms: at(0.999), maxMs: sorted.length === 0 ? 0 : sorted[sorted.length - 1]! };
}
