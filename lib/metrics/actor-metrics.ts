// A tiny metrics registry for one thread: counters, gauges and fixed-bucket
// histograms, plus what every thread reports about itself (event-loop delay, heap in
// use, GC pauses). Recording is a field update on a cell resolved once per label set;
// snapshot() builds the serialisable families only when main asks (on a scrape).
import { monitorEventLoopDelay, performance, PerformanceObserver, type IntervalHistogram } from 'node:perf_hooks';
import * as v8 from 'node:v8';
import { assert } from '../util/assert.js';
import { nameThisThread } from './thread-name.js';
import { LATENCY_BUCKETS_S, type Labels, type MetricFamily, type MetricKind, type MetricSample, type MetricsSnapshot } from './snapshot.js';

/** Bound on label sets per family: a label fed from input can never grow a family without limit. */
const SERIES_PER_FAMILY_MAX = 256;
/**
 * Event-loop delay sampling resolution: each thread wakes this often for it. At 20 ms the
 * samplers of a node's 8 threads were 400 of its ~600 wake-ups a second when idle; at
 * 100 ms a stall of 100 ms or more is still always seen, a shorter one in proportion.
 */
export const LOOP_DELAY_RESOLUTION_MS = 100;
/** Event-loop delay percentiles cover at least this long: a scrape resets the window only once it is this old. */
const LOOP_DELAY_WINDOW_MIN_MS = 5000;
const GC_BUCKETS_S = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1];

export interface CounterCell {
  inc(by?: number): void;
}
export interface HistogramCell {
  /** Records `value` once, or `times` times. */
  observe(value: number, times?: number): void;
}

interface Family {
  name: string;
  help: string;
  type: MetricKind;
  buckets: readonly number[];
  series: Map<string, Series>;
  /** Gauges read at snapshot time. */
  collect: (() => { labels: Labels; value: number }[]) | null;
}

interface Series {
  labels: Labels;
  value: number;
  /** Histograms: per-bucket (non-cumulative) counts, the last one for +Inf. */
  counts: number[];
  sum: number;
}

function keyOf(labels: Labels): string {
  const keys = Object.keys(labels).sort();
  return keys.map((k) => `${k}=${labels[k]}`).join(',');
}

export class ActorMetrics {
  private readonly families = new Map<string, Family>();
  private readonly loopDelay: IntervalHistogram;
  private readonly gc: PerformanceObserver;
  private readonly gcPause: (kind: string) => HistogramCell;

  constructor(readonly thread: string) {
    nameThisThread(thread);
    const t = { thread };
    // Sampling starts with the first scrape (a snapshot): every sample is a wake-up of the
    // thread, wasted on a node nobody scrapes. That first scrape has no delay yet.
    this.loopDelay = monitorEventLoopDelay({ resolution: LOOP_DELAY_RESOLUTION_MS });
    let sampling = false;
    let windowStart = performance.now();
    this.gauge('raftd_thread_event_loop_delay_seconds', 'Event-loop delay of the thread, by quantile (0.5, 0.99, 1 = max), over the time since the previous scrape (at least 5 s)', () => {
      const h = this.loopDelay;
      if (!sampling) {
        sampling = true;
        h.enable();
        windowStart = performance.now();
      }
      // The histogram includes the sampling interval itself; what is above it is delay.
      const s = (ns: number) => Math.max(0, ns / 1e9 - LOOP_DELAY_RESOLUTION_MS / 1000);
      const out = h.count === 0 ? [] : [
        { labels: { ...t, quantile: '0.5' }, value: s(h.percentile(50)) },
        { labels: { ...t, quantile: '0.99' }, value: s(h.percentile(99)) },
        { labels: { ...t, quantile: '1' }, value: s(h.max) },
      ];
      if (performance.now() - windowStart >= LOOP_DELAY_WINDOW_MIN_MS) {
        h.reset();
        windowStart = performance.now();
      }
      return out;
    });
    this.gauge('raftd_thread_heap_used_bytes', 'V8 heap in use by the thread', () => [{ labels: t, value: v8.getHeapStatistics().used_heap_size }]);
    // Where a node's memory goes, per thread (test/bench/memory-breakdown.ts reads them).
    this.gauge('raftd_thread_heap_resident_bytes', 'V8 heap of the thread held in memory (in use, garbage not yet collected, and free room)', () => [{ labels: t, value: v8.getHeapStatistics().total_physical_size }]);
    this.gauge('raftd_thread_external_bytes', 'Memory outside the V8 heap that the thread\'s objects hold (buffers, array buffers)', () => [{ labels: t, value: v8.getHeapStatistics().external_memory }]);
    const gcHist = this.histogram('raftd_thread_gc_pause_seconds', 'Garbage-collection pauses of the thread', GC_BUCKETS_S);
    this.gcPause = (kind) => gcHist({ ...t, kind });
    this.gc = new PerformanceObserver((list) => {
      for (const e of list.getEntries()) this.gcPause(gcKind((e as { detail?: { kind?: number } }).detail?.kind)).observe(e.duration / 1000);
    });
    this.gc.observe({ entryTypes: ['gc'] });
  }

  /** A counter; returns the cell for a label set (resolve it once, keep it). */
  counter(name: string, help: string): (labels?: Labels) => CounterCell {
    const f = this.family(name, help, 'counter', []);
    return (labels = {}) => {
      const s = this.series(f, labels);
      return {
        inc(by = 1) {
          s.value += by;
        },
      };
    };
  }

  /** A gauge whose samples are read at snapshot time. */
  gauge(name: string, help: string, collect: () => { labels: Labels; value: number }[]): void {
    const f = this.family(name, help, 'gauge', []);
    f.collect = collect;
  }

  histogram(name: string, help: string, buckets: readonly number[] = LATENCY_BUCKETS_S): (labels?: Labels) => HistogramCell {
    for (let i = 1; i < buckets.length; i++) assert(buckets[i]! > buckets[i - 1]!, `${name}: buckets must increase`);
    const f = this.family(name, help, 'histogram', buckets);
    return (labels = {}) => {
      const s = this.series(f, labels);
      return {
        observe(v: number, times = 1) {
          let i = 0;
          while (i < buckets.length && v > buckets[i]!) i++;
          s.counts[i]! += times;
          s.value += times;
          s.sum += v * times;
        },
      };
    };
  }

  snapshot(): MetricsSnapshot {
    const families: MetricFamily[] = [];
    for (const f of this.families.values()) {
      const values: MetricSample[] = [];
      if (f.collect) {
        for (const v of f.collect()) values.push({ value: v.value, labels: v.labels });
      } else if (f.type === 'histogram') {
        for (const s of f.series.values()) {
          let cum = 0;
          f.buckets.forEach((le, i) => {
            cum += s.counts[i]!;
            values.push({ value: cum, labels: { ...s.labels, le: String(le) }, metricName: `${f.name}_bucket` });
          });
          values.push({ value: s.value, labels: { ...s.labels, le: '+Inf' }, metricName: `${f.name}_bucket` });
          values.push({ value: s.sum, labels: s.labels, metricName: `${f.name}_sum` });
          values.push({ value: s.value, labels: s.labels, metricName: `${f.name}_count` });
        }
      } else {
        for (const s of f.series.values()) values.push({ value: s.value, labels: s.labels });
      }
      families.push({ name: f.name, help: f.help, type: f.type, aggregator: 'sum', values });
    }
    return { thread: this.thread, families };
  }

  private family(name: string, help: string, type: MetricKind, buckets: readonly number[]): Family {
    assert(/^[a-zA-Z_:][a-zA-Z0-9_:]*$/.test(name), `bad metric name ${name}`);
    assert(!this.families.has(name), `metric ${name} registered twice`);
    const f: Family = { name, help, type, buckets, series: new Map(), collect: null };
    this.families.set(name, f);
    return f;
  }

  private series(f: Family, labels: Labels): Series {
    let key = keyOf(labels);
    let s = f.series.get(key);
    if (!s && f.series.size >= SERIES_PER_FAMILY_MAX) {
      // Metrics never take a node down: past the bound, new label sets share one series.
      labels = Object.fromEntries(Object.keys(labels).map((k) => [k, 'other']));
      key = keyOf(labels);
      s = f.series.get(key);
    }
    if (!s) {
      s = { labels: { ...labels }, value: 0, counts: new Array<number>(f.buckets.length + 1).fill(0), sum: 0 };
      f.series.set(key, s);
    }
    return s;
  }
}

/** perf_hooks' NODE_PERFORMANCE_GC_* kinds. */
function gcKind(kind: number | undefined): string {
  switch (kind) {
    case 1:
      return 'major';
    case 2:
      return 'minor';
    case 4:
      return 'incremental';
    case 8:
      return 'weakcb';
    default:
      return 'other';
  }
}
