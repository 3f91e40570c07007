// Reading a /metrics page back: the Prometheus text format parsed by
// parse-prometheus-text-format, with lookups by name and labels. Used by
// `raft-cluster metrics` and the tests.
import parsePrometheusTextFormat from 'parse-prometheus-text-format';

export interface Sample {
  labels: Record<string, string>;
  value: number;
}

export interface Histogram {
  /** Cumulative counts by upper bound, ascending, +Inf last. */
  buckets: { le: number; count: number }[];
  count: number;
  sum: number;
}

export class Exposition {
  private readonly families = new Map<string, { type: string; help: string; samples: Sample[]; histogram: Histogram | null }>();

  constructor(readonly text: string) {
    for (const f of parsePrometheusTextFormat(text)) {
      const samples: Sample[] = [];
      let histogram: Histogram | null = null;
      for (const m of f.metrics) {
        if (m.value !== undefined) samples.push({ labels: m.labels ?? {}, value: Number(m.value) });
        if (m.buckets) {
          const buckets = Object.entries(m.buckets)
            .map(([le, c]) => ({ le: le === '+Inf' ? Infinity : Number(le), count: Number(c) }))
            .sort((a, b) => a.le - b.le);
          histogram = { buckets, count: Number(m.count ?? buckets.at(-1)?.count ?? 0), sum: Number(m.sum ?? 0) };
        }
      }
      this.families.set(f.name, { type: f.type, help: f.help, samples, histogram });
    }
  }

  names(): string[] {
    return [...this.families.keys()];
  }

  type(name: string): string | null {
    return this.families.get(name)?.type ?? null;
  }

  samples(name: string): Sample[] {
    return this.families.get(name)?.samples ?? [];
  }

  /** The one sample whose labels include `labels`; null when there is none. */
  value(name: string, labels: Record<string, string> = {}): number | null {
    const s = this.samples(name).find((x) => Object.entries(labels).every(([k, v]) => x.labels[k] === v));
    return s ? s.value : null;
  }

  /** Sum over every sample of the family whose labels include `labels`. */
  sum(name: string, labels: Record<string, string> = {}): number {
    return this.samples(name)
      .filter((x) => Object.entries(labels).every(([k, v]) => x.labels[k] === v))
      .reduce((a, x) => a + x.value, 0);
  }

  /** A histogram without labels (the parser folds labelled histograms into one). */
  histogram(name: string): Histogram | null {
    return this.families.get(name)?.histogram ?? null;
  }
}

/**
 * The q-quantile (0..1) of the observations between two readings of a histogram,
 * interpolated linearly inside its bucket as Prometheus' histogram_quantile does
 * (Infinity when it falls in the +Inf bucket).
 */
export function quantileBetween(before: Histogram | null, after: Histogram, q: number): number | null {
  const counts = after.buckets.map((b, i) => ({ le: b.le, count: b.count - (before?.buckets[i]?.count ?? 0) }));
  const total = counts.at(-1)?.count ?? 0;
  if (total <= 0) return null;
  const rank = q * total;
  let prevLe = 0;
  let prevCount = 0;
  for (const b of counts) {
    if (b.count >= rank) {
      if (b.le === Infinity) return Infinity;
      const inBucket = b.count - prevCount;
      return inBucket <= 0 ? b.le : prevLe + ((b.le - prevLe) * (rank - prevCount)) / inBucket;
    }
    prevLe = b.le;
    prevCount = b.count;
  }
  return Infinity;
}
