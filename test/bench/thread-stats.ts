// What each thread of a set of processes did over a window, from /proc/<pid>/task:
// raftd's actor threads name themselves (lib/metrics/thread-name.ts), the main thread
// is the one whose id is the process's, and everything else (V8's platform workers,
// libuv's pool) is "other". Replicators count together, whatever peer they serve.
//
// Per thread group it gives CPU seconds, runs and run-queue wait, from the scheduler's
// own accounting (/proc/<pid>/task/<tid>/schedstat: nanoseconds on a CPU, nanoseconds
// runnable but waiting for one, timeslices run):
// - CPU in ns, not in the 10 ms ticks of utime and stime: an idle thread that runs
//   ~100 µs a few times a second was 0 or 10 ms per window there, at random;
// - runs: every wake-up of the thread is one (a preemption that resumes is one too), so
//   runs per operation count the thread crossings a request costs;
// - wait: how long threads sat ready while both cores were busy, the queueing a crossing
//   adds on a loaded machine beyond its own CPU.
// Without schedstat (a kernel built without CONFIG_SCHED_INFO) CPU falls back to the
// ticks of stat, and runs and wait are absent.
import * as fs from 'node:fs';

/** Clock ticks per second of utime and stime (USER_HZ: 100 on Linux). */
const USER_HZ = 100;

/** A value per thread group. */
export type ThreadCpu = Record<string, number>;

/** One process's thread groups over a window. */
export interface ThreadSample {
  /** CPU seconds. */
  cpuSec: ThreadCpu;
  /** Times scheduled onto a CPU (absent without schedstat). */
  runs: ThreadCpu | null;
  /** Seconds runnable but waiting for a CPU (absent without schedstat). */
  waitSec: ThreadCpu | null;
}

interface ThreadTimes {
  group: string;
  cpuSec: number;
  runs: number | null;
  waitSec: number | null;
}

function groupOf(pid: number, tid: number, comm: string): string {
  if (tid === pid) return 'main';
  if (comm.startsWith('replicator')) return 'replicator';
  if (['election-timer', 'log-writer', 'peer-server', 'client-gateway'].includes(comm)) return comm;
  return 'other';
}

/** `cpu_ns wait_ns timeslices` of /proc/.../schedstat, or null when the file is absent or malformed. */
export function parseSchedstat(text: string): { cpuSec: number; waitSec: number; runs: number } | null {
  const f = text.trim().split(/\s+/).map(Number);
  if (f.length < 3 || !f.slice(0, 3).every((x) => Number.isFinite(x) && x >= 0)) return null;
  return { cpuSec: f[0]! / 1e9, waitSec: f[1]! / 1e9, runs: f[2]! };
}

/** utime + stime of /proc/.../stat, in seconds. */
export function parseStatCpuSec(stat: string): number {
  // Fields after the command name (which may hold spaces); utime and stime are fields 14 and 15.
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(rest[11]) + Number(rest[12])) / USER_HZ;
}

function readOrNull(file: string): string | null {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return null;
  }
}

/** What each thread of `pid` used so far, by tid (threads gone are absent). */
function threadTimes(pid: number): Map<number, ThreadTimes> {
  const out = new Map<number, ThreadTimes>();
  let tids: string[];
  try {
    tids = fs.readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const t of tids) {
    const dir = `/proc/${pid}/task/${t}`;
    const comm = readOrNull(`${dir}/comm`);
    if (comm === null) continue; // the thread ended between the listing and the read
    const group = groupOf(pid, Number(t), comm.trim());
    const sched = parseSchedstat(readOrNull(`${dir}/schedstat`) ?? '');
    if (sched !== null) {
      out.set(Number(t), { group, ...sched });
      continue;
    }
    const stat = readOrNull(`${dir}/stat`);
    if (stat !== null) out.set(Number(t), { group, cpuSec: parseStatCpuSec(stat), runs: null, waitSec: null });
  }
  return out;
}

function add(to: ThreadCpu, group: string, v: number): void {
  to[group] = (to[group] ?? 0) + v;
}

/** Follows every thread of a set of processes from start() to stop(). */
export class ThreadWatch {
  private readonly start: Map<number, ThreadTimes>[];

  constructor(private readonly pids: number[]) {
    this.start = pids.map(threadTimes);
  }

  /** Per process: each thread group over the window (a thread that started meanwhile counts from 0). */
  stop(): ThreadSample[] {
    return this.pids.map((pid, i) => {
      const cpuSec: ThreadCpu = {};
      const runs: ThreadCpu = {};
      const waitSec: ThreadCpu = {};
      let scheduled = true;
      for (const [tid, end] of threadTimes(pid)) {
        const begin = this.start[i]!.get(tid);
        add(cpuSec, end.group, end.cpuSec - (begin?.cpuSec ?? 0));
        if (end.runs === null || end.waitSec === null) {
          scheduled = false;
          continue;
        }
        add(runs, end.group, end.runs - (begin?.runs ?? 0));
        add(waitSec, end.group, end.waitSec - (begin?.waitSec ?? 0));
      }
      return { cpuSec, runs: scheduled ? runs : null, waitSec: scheduled ? waitSec : null };
    });
  }
}

/** Per member and thread group, `value * scale / ops`: the leader's own, the followers' summed. */
export function perOpByThread(byMember: ThreadCpu[], leader: number, ops: number, scale = 1e6): Record<string, number> {
  const out: Record<string, number> = {};
  byMember.forEach((member, i) => {
    const role = i === leader ? 'leader' : 'followers';
    for (const [group, v] of Object.entries(member)) add(out, `${role}.${group}`, (v * scale) / ops);
  });
  return out;
}

/** Sum over every member and group. */
export function totalOf(byMember: ThreadCpu[]): number {
  let s = 0;
  for (const m of byMember) for (const v of Object.values(m)) s += v;
  return s;
}
