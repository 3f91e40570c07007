// Throughput rows: for each client count and workload, a fresh cluster of raftd and
// then one of etcd (the pair back to back, so machine noise hits both), closed-loop
// clients on the leader, and what it cost: CPU per 1,000 operations, peak RSS.
import { runClosedLoop, type LoadResult, type Workload } from './closed-loop.js';
import type { Percentiles } from './latency.js';
import { withSystem } from './launch.js';
import type { BenchOptions } from './options.js';
import { ProcWatch } from './proc-stats.js';
import { perOpByThread, ThreadWatch, totalOf, type ThreadCpu, type ThreadSample } from './thread-stats.js';
import type { Progress } from './progress.js';
import type { BenchSystem, KvClient, SystemName } from './system.js';

export interface ThroughputRow {
  system: SystemName;
  workload: Workload;
  clients: number;
  nodes: number;
  valueBytes: number;
  seconds: number;
  writesPerSec: number;
  readsPerSec: number;
  errors: number;
  failedClients: number;
  write: Percentiles;
  read: Percentiles;
  /** CPU seconds of all members per 1,000 acknowledged operations (writes and reads). */
  cpuSecPer1kOps: number;
  cpuSecPerMember: number[];
  rssPeakMiBPerMember: number[];
  /** CPU the load generator itself used in the window (it shares the machine). */
  driverCpuSec: number;
  /**
   * raftd: CPU microseconds per acknowledged operation by thread group, on the leader
   * and summed over the followers (`leader.main`, `followers.log-writer`, ...): where
   * an operation's cost goes, as a count that moves less with machine noise than ops/s.
   */
  cpuUsPerOpByThread?: Record<string, number>;
  /**
   * raftd: times each thread group was scheduled onto a CPU per operation, grouped as
   * cpuUsPerOpByThread: at one client, the thread crossings a request costs.
   */
  runsPerOpByThread?: Record<string, number>;
  /** raftd: microseconds per operation that the members' threads sat ready waiting for a CPU, all summed. */
  runQueueWaitUsPerOp?: number;
}

/** Connections made for `clients` closed-loop clients: one each for RESP; gRPC multiplexes, so etcd shares up to this many. */
const ETCD_CONNS_MAX = 16;

export async function runThroughput(opts: BenchOptions, systems: SystemName[], progress: Progress): Promise<ThroughputRow[]> {
  const rows: ThroughputRow[] = [];
  for (const clients of opts.clients) {
    for (const workload of opts.workloads) {
      for (const name of systems) {
        progress.show(`${name} ${workload} ${clients} clients`);
        const row = await withSystem(name, opts.nodes, `${workload}-${clients}c`, (sys) => measureRow(sys, opts, workload, clients));
        rows.push(row);
        progress.step(`${name} ${workload} ${clients} clients: ${Math.round(row.writesPerSec + row.readsPerSec)} ops/s`);
      }
    }
  }
  return rows;
}

async function measureRow(sys: BenchSystem, opts: BenchOptions, workload: Workload, clients: number): Promise<ThroughputRow> {
  const leader = await sys.waitForLeader(60_000);
  const connCount = sys.name === 'etcd' ? Math.min(clients, ETCD_CONNS_MAX) : clients;
  const conns: KvClient[] = [];
  try {
    for (let i = 0; i < connCount; i++) conns.push(await sys.connect(leader));
    if (workload !== 'write') await preload(conns, opts);
    let watch: ProcWatch | null = null;
    let threads: ThreadWatch | null = null;
    let driverStart = process.cpuUsage();
    const res: LoadResult = await runClosedLoop(
      conns,
      { clients, workload, valueBytes: opts.valueBytes, keys: opts.keys, warmupMs: opts.warmupMs, durationMs: opts.durationMs, minOk: opts.smoke ? 1 : 0 },
      {
        onWindowStart: () => {
          watch = new ProcWatch(sys.pids());
          if (sys.name === 'raftd') threads = new ThreadWatch(sys.pids());
          driverStart = process.cpuUsage();
        },
      },
    );
    const driver = process.cpuUsage(driverStart);
    const cost = (watch as ProcWatch | null)?.stop() ?? { cpuSec: [], rssPeakMiB: [] };
    const byThread = (threads as ThreadWatch | null)?.stop();
    const ops = res.writes + res.reads;
    const cpu = cost.cpuSec.reduce((a, b) => a + b, 0);
    return {
      system: sys.name,
      workload,
      clients,
      nodes: sys.size,
      valueBytes: opts.valueBytes,
      seconds: res.seconds,
      writesPerSec: res.writes / res.seconds,
      readsPerSec: res.reads / res.seconds,
      errors: res.errors,
      failedClients: res.failedClients,
      write: res.write,
      read: res.read,
      cpuSecPer1kOps: ops === 0 ? 0 : (cpu / ops) * 1000,
      cpuSecPerMember: cost.cpuSec,
      rssPeakMiBPerMember: cost.rssPeakMiB,
      driverCpuSec: (driver.user + driver.system) / 1e6,
      ...(byThread && ops > 0 ? threadColumns(byThread, leader, ops) : {}),
    };
  } finally {
    for (const c of conns) c.close();
  }
}

/** The thread columns of a row: CPU µs, runs and run-queue wait per operation. */
export function threadColumns(byThread: ThreadSample[], leader: number, ops: number): Pick<ThroughputRow, 'cpuUsPerOpByThread' | 'runsPerOpByThread' | 'runQueueWaitUsPerOp'> {
  const runs = byThread.map((m) => m.runs);
  const wait = byThread.map((m) => m.waitSec);
  const scheduled = runs.every((r): r is ThreadCpu => r !== null) && wait.every((w): w is ThreadCpu => w !== null);
  return {
    cpuUsPerOpByThread: perOpByThread(byThread.map((m) => m.cpuSec), leader, ops),
    ...(scheduled ? { runsPerOpByThread: perOpByThread(runs as ThreadCpu[], leader, ops, 1), runQueueWaitUsPerOp: (totalOf(wait as ThreadCpu[]) * 1e6) / ops } : {}),
  };
}

/** Writes every key once so reads find values of the row's size. */
async function preload(conns: KvClient[], opts: BenchOptions): Promise<void> {
  const value = Buffer.alloc(opts.valueBytes, 0x61);
  let next = 0;
  await Promise.all(
    conns.map(async (c) => {
      while (next < opts.keys) {
        const k = next++;
        await c.write(`key:${k}`, value);
      }
    }),
  );
}
