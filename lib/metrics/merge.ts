// Merges the metric families of several threads into one list: samples with the same
// name and labels are summed, and the samples of one series (a histogram's buckets,
// sum and count for one label set) stay together, in the order the first thread gave
// them, as text-format parsers expect.
import type { Labels, MetricFamily, MetricSample } from './snapshot.js';

function seriesKey(labels: Labels): string {
  return Object.keys(labels)
    .filter((k) => k !== 'le')
    .sort()
    .map((k) => `${k}=${labels[k]}`)
    .join(',');
}

/** Families as prom-client's getMetricsAsJSON gives them (its `type` is a string at run time). */
export interface FamilyLike {
  name: string;
  help: string;
  type: unknown;
  values: { value: number; labels: Partial<Record<string, string | number>>; metricName?: string }[];
}

export function mergeFamilies(lists: readonly (readonly FamilyLike[])[]): MetricFamily[] {
  const byName = new Map<string, { family: MetricFamily; series: Map<string, Map<string, MetricSample>> }>();
  for (const list of lists) {
    for (const f of list) {
      let m = byName.get(f.name);
      if (!m) {
        m = { family: { name: f.name, help: f.help, type: f.type as MetricFamily['type'], aggregator: 'sum', values: [] }, series: new Map() };
        byName.set(f.name, m);
      }
      for (const v of f.values) {
        const labels: Labels = {};
        for (const [k, x] of Object.entries(v.labels)) if (x !== undefined) labels[k] = String(x);
        const sk = seriesKey(labels);
        let samples = m.series.get(sk);
        if (!samples) m.series.set(sk, (samples = new Map()));
        const key = `${v.metricName ?? ''} ${labels.le ?? ''}`;
        const prev = samples.get(key);
        if (prev) prev.value += v.value;
        else samples.set(key, { value: v.value, labels, ...(v.metricName ? { metricName: v.metricName } : {}) });
      }
    }
  }
  const out: MetricFamily[] = [];
  for (const { family, series } of byName.values()) {
    for (const samples of series.values()) family.values.push(...samples.values());
    out.push(family);
  }
  return out;
}
