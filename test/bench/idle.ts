// Idle cost: CPU seconds a settled 3-member cluster uses per 10 s with no clients.
import { performance } from 'node:perf_hooks';
import { withSystem } from './launch.js';
import type { BenchOptions } from './options.js';
import { ProcWatch } from './proc-stats.js';
import { ThreadWatch } from './thread-stats.js';
import type { Progress } from './progress.js';
import type { SystemName } from './system.js';

export interface IdleRow {
  system: SystemName;
  nodes: number;
  measuredMs: number;
  /** CPU seconds of all members together, scaled to 10 s. */
  cpuSecPer10s: number;
  cpuSecPer10sPerMember: number[];
  /** Per thread group (main, peer-server, replicator, ...; 'other' for V8's and libuv's), all members together, scaled to 10 s. */
  cpuSecPer10sByThread: Record<string, number>;
  /** raftd: times each thread group was scheduled onto a CPU per second, all members together (its wake-ups); absent without schedstat. */
  runsPerSecByThread?: Record<string, number>;
  rssMiBPerMember: number[];
}

/*
 * After the election, heartbeats and connections settle, and V8 finishes warming up
 * before the window opens (`--idle-settle-ms`, 30 s). For the first ~30 s after a start
 * V8's background threads still compile the idle paths and its memory reducer runs full
 * collections of every isolate that allocated at start-up (the idle gateway and log
 * writer included): measured in 10 s windows from the election (3 members, CPU s per
 * 10 s): 1.05, 0.67, 0.42, 0.42, 0.35, 0.43, 0.38, 0.35, 0.37 ("other", V8's threads,
 * 0.38, 0.19, then 0.02-0.04). The window that opened 10 s after the election measured
 * that warm-up, not what an idle cluster costs for as long as it idles.
 */

export async function runIdle(opts: BenchOptions, systems: SystemName[], progress: Progress): Promise<IdleRow[]> {
  const rows: IdleRow[] = [];
  for (const name of systems) {
    progress.show(`${name} idle`);
    const row = await withSystem(name, opts.nodes, 'idle', async (sys) => {
      await sys.waitForLeader(60_000);
      await new Promise((r) => setTimeout(r, opts.idleSettleMs));
      const watch = new ProcWatch(sys.pids(), 1000);
      const threads = name === 'raftd' ? new ThreadWatch(sys.pids()) : null;
      const t0 = performance.now();
      await new Promise((r) => setTimeout(r, opts.idleMs));
      const cost = watch.stop();
      const byThread = threads?.stop() ?? [];
      const ms = performance.now() - t0;
      const scale = 10_000 / ms;
      const cpuSecPer10sByThread: Record<string, number> = {};
      const runsPerSecByThread: Record<string, number> = {};
      let scheduled = byThread.length > 0;
      for (const member of byThread) {
        for (const [group, sec] of Object.entries(member.cpuSec)) cpuSecPer10sByThread[group] = (cpuSecPer10sByThread[group] ?? 0) + sec * scale;
        if (member.runs === null) scheduled = false;
        else for (const [group, n] of Object.entries(member.runs)) runsPerSecByThread[group] = (runsPerSecByThread[group] ?? 0) + (n * 1000) / ms;
      }
      return {
        system: name,
        nodes: sys.size,
        measuredMs: ms,
        cpuSecPer10s: cost.cpuSec.reduce((a, b) => a + b, 0) * scale,
        cpuSecPer10sPerMember: cost.cpuSec.map((c) => c * scale),
        cpuSecPer10sByThread,
        ...(scheduled ? { runsPerSecByThread } : {}),
        rssMiBPerMember: cost.rssPeakMiB,
      };
    });
    rows.push(row);
    progress.step(`${name} idle: ${row.cpuSecPer10s.toFixed(2)} CPU s per 10 s`);
  }
  return rows;
}
