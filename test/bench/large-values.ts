// Large values: 100 KB SETs from 50 clients on the leader of 5 members. What matters
// is steadiness: MB/s, the longest gap between acknowledged writes, seconds without
// one, and elections (the term's rise) during the run.
import { performance } from 'node:perf_hooks';
import { runClosedLoop } from './closed-loop.js';
import type { Percentiles } from './latency.js';
import { withSystem } from './launch.js';
import type { BenchOptions } from './options.js';
import { ProcWatch } from './proc-stats.js';
import { perOpByThread, ThreadWatch } from './thread-stats.js';
import type { Progress } from './progress.js';
import type { KvClient, SystemName } from './system.js';

export interface LargeValuesRow {
  system: SystemName;
  nodes: number;
  clients: number;
  valueBytes: number;
  seconds: number;
  writesPerSec: number;
  mbPerSec: number;
  /** Longest time without an acknowledged write, window edges included. */
  longestGapMs: number;
  /** Whole seconds of the window in which no write was acknowledged. */
  secondsWithoutAck: number;
  elections: number;
  errors: number;
  write: Percentiles;
  cpuSecPerMember: number[];
  rssPeakMiBPerMember: number[];
  /** raftd only: CPU µs per write by thread group, the leader's and the followers' summed. */
  cpuUsPerOpByThread?: Record<string, number>;
}

export async function runLargeValues(opts: BenchOptions, systems: SystemName[], progress: Progress): Promise<LargeValuesRow[]> {
  const rows: LargeValuesRow[] = [];
  for (const name of systems) {
    progress.show(`${name} large values`);
    const row = await withSystem(name, opts.largeNodes, 'large-values', async (sys) => {
      const leader = await sys.waitForLeader(60_000);
      const conns: KvClient[] = [];
      try {
        const connCount = name === 'etcd' ? Math.min(opts.largeClients, 16) : opts.largeClients;
        for (let i = 0; i < connCount; i++) conns.push(await sys.connect(leader));
        const termBefore = await sys.term();
        let watch: ProcWatch | null = null;
        let threads: ThreadWatch | null = null;
        let windowStart = 0;
        const res = await runClosedLoop(
          conns,
          { clients: opts.largeClients, workload: 'write', valueBytes: opts.largeValueBytes, keys: opts.keys, warmupMs: Math.min(500, opts.warmupMs), durationMs: opts.largeDurationMs },
          {
            keepWriteAcks: true,
            onWindowStart: () => {
              watch = new ProcWatch(sys.pids());
              if (name === 'raftd') threads = new ThreadWatch(sys.pids());
              windowStart = performance.now();
            },
          },
        );
        const cost = (watch as ProcWatch | null)?.stop() ?? { cpuSec: [], rssPeakMiB: [] };
        const byThread = (threads as ThreadWatch | null)?.stop();
        const termAfter = await sys.term();
        const windowEnd = windowStart + res.seconds * 1000;
        const { longestGapMs, secondsWithoutAck } = gaps(res.writeAcks, windowStart, windowEnd);
        return {
          system: name,
          nodes: sys.size,
          clients: opts.largeClients,
          valueBytes: opts.largeValueBytes,
          seconds: res.seconds,
          writesPerSec: res.writes / res.seconds,
          mbPerSec: (res.writes * opts.largeValueBytes) / res.seconds / 1e6,
          longestGapMs,
          secondsWithoutAck,
          elections: Math.max(0, termAfter - termBefore),
          errors: res.errors,
          write: res.write,
          cpuSecPerMember: cost.cpuSec,
          rssPeakMiBPerMember: cost.rssPeakMiB,
          ...(byThread && res.writes > 0 ? { cpuUsPerOpByThread: perOpByThread(byThread.map((m) => m.cpuSec), leader, res.writes) } : {}),
        };
      } finally {
        for (const c of conns) c.close();
      }
    });
    rows.push(row);
    progress.step(`${name} large values: ${row.mbPerSec.toFixed(1)} MB/s, longest gap ${Math.round(row.longestGapMs)} ms`);
  }
  return rows;
}

/** The longest stretch without an acknowledgement in [start, end], and the empty whole seconds. */
export function gaps(acks: number[], start: number, end: number): { longestGapMs: number; secondsWithoutAck: number } {
  let longest = 0;
  let prev = start;
  for (const t of acks) {
    if (t < start || t > end) continue;
    longest = Math.max(longest, t - prev);
    prev = t;
  }
  longest = Math.max(longest, end - prev);
  const buckets = new Array<number>(Math.max(1, Math.floor((end - start) / 1000))).fill(0);
  for (const t of acks) {
    const b = Math.floor((t - start) / 1000);
    if (b >= 0 && b < buckets.length) buckets[b]!++;
  }
  return { longestGapMs: longest, secondsWithoutAck: buckets.filter((n) => n === 0).length };
}
