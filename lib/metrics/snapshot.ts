// What an actor thread answers to a `metrics` request: its metric families in the
// shape prom-client's Registry.getMetricsAsJSON() produces, so the main thread can
// merge every thread's families with AggregatorRegistry.aggregate. Plain data: it
// crosses a worker port by structured clone.

export type MetricKind = 'counter' | 'gauge' | 'histogram';
export type Labels = Record<string, string>;

export interface MetricSample {
  value: number;
  labels: Labels;
  /** Histogram series: `<name>_bucket` (with an `le` label), `<name>_sum`, `<name>_count`. */
  metricName?: string;
}

export interface MetricFamily {
  name: string;
  help: string;
  type: MetricKind;
  /** How samples with equal labels from several threads combine (always a sum here). */
  aggregator: 'sum';
  values: MetricSample[];
}

export interface MetricsSnapshot {
  thread: string;
  families: MetricFamily[];
}

/** main -> actor: answer with a snapshot carrying the same id. */
export interface MetricsRequest {
  type: 'metrics';
  id: number;
}
export interface MetricsReply {
  type: 'metrics';
  id: number;
  snapshot: MetricsSnapshot;
}

/** Bucket bounds in seconds shared by every latency histogram, so that threads' series merge. */
export const LATENCY_BUCKETS_S = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** One histogram fed by two threads (the gateway's stages and main's), so one name and help. */
export const STAGE_HISTOGRAM = {
  name: 'raftd_client_request_stage_seconds',
  help: 'Time a client write or read spends in each stage: gateway_queued (in the gateway, waiting for a leader or its turn), node (gateway to main and back), proposed_committed and committed_applied (per entry, measured by main), reply_written (answered to written, in pipeline order)',
} as const;
