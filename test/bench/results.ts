// The whole run's results, as written to JSON, and the machine they were measured on.
import * as os from 'node:os';
import type { FailoverResult } from './failover.js';
import type { IdleRow } from './idle.js';
import type { LargeValuesRow } from './large-values.js';
import type { BenchOptions } from './options.js';
import type { ThroughputRow } from './throughput.js';

export interface Machine {
  cpuModel: string;
  cpus: number;
  memGiB: number;
  kernel: string;
  node: string;
  /** 1-minute load average when the run started and ended: other work on the machine skews every number. */
  loadAvg1m: { start: number; end: number };
}

export interface BenchResults {
  startedAt: string;
  finishedAt: string;
  machine: Machine;
  /** etcd's version, or why it was not run. */
  etcd: { version: string } | { skipped: string };
  options: BenchOptions;
  throughput: ThroughputRow[];
  large: LargeValuesRow[];
  failover: { system: 'raftd' | 'etcd'; result: FailoverResult }[];
  /** Sections or parts left out, and why (no etcd, not root for iptables). */
  skipped: string[];
  idle: IdleRow[];
}

export function machine(): Machine {
  return {
    cpuModel: os.cpus()[0]?.model ?? 'unknown',
    cpus: os.cpus().length,
    memGiB: Math.round(os.totalmem() / 1024 ** 3),
    kernel: `${os.type()} ${os.release()}`,
    node: process.version,
    loadAvg1m: { start: os.loadavg()[0]!, end: 0 },
  };
}
