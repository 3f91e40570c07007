// CPU seconds per thread of a set of processes over a window, from /proc/<pid>/task:
// raftd's actor threads name themselves (lib/metrics/thread-name.ts), the main thread
// is the one whose id is the process's, and everything else (V8's platform workers,
// libuv's pool) is "other". Replicators count together, whatever peer they serve.
import * as fs from 'node:fs';

/** Clock ticks per second of utime and stime (USER_HZ: 100 on Linux). */
const USER_HZ = 100;

export type ThreadCpu = Record<string, number>;

function groupOf(pid: number, tid: number, comm: string): string {
  if (tid === pid) return 'main';
  if (comm.startsWith('replicator')) return 'replicator';
  if (['election-timer', 'log-writer', 'peer-server', 'client-gateway'].includes(comm)) return comm;
  return 'other';
}

/** CPU seconds used so far by each thread of `pid`, by tid (threads gone are absent). */
function threadTimes(pid: number): Map<number, { group: string; cpuSec: number }> {
  const out = new Map<number, { group: string; cpuSec: number }>();
  let tids: string[];
  try {
    tids = fs.readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const t of tids) {
    try {
      const stat = fs.readFileSync(`/proc/${pid}/task/${t}/stat`, 'utf8');
      const comm = fs.readFileSync(`/proc/${pid}/task/${t}/comm`, 'utf8').trim();
      // Fields after the command name (which may hold spaces); utime and stime are fields 14 and 15.
      const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out.set(Number(t), { group: groupOf(pid, Number(t), comm), cpuSec: (Number(rest[11]) + Number(rest[12])) / USER_HZ });
    } catch {
      // The thread ended between the listing and the read.
    }
  }
  return out;
}

/** Follows every thread of a set of processes from start() to stop(). */
export class ThreadWatch {
  private readonly start: Map<number, { group: string; cpuSec: number }>[];

  constructor(private readonly pids: number[]) {
    this.start = pids.map(threadTimes);
  }

  /** Per process: CPU seconds of each thread group over the window. */
  stop(): ThreadCpu[] {
    return this.pids.map((pid, i) => {
      const byGroup: ThreadCpu = {};
      for (const [tid, end] of threadTimes(pid)) {
        const d = end.cpuSec - (this.start[i]!.get(tid)?.cpuSec ?? 0);
        byGroup[end.group] = (byGroup[end.group] ?? 0) + d;
      }
      return byGroup;
    });
  }
}
