// What a process cost, read from /proc: CPU seconds (user + system, every thread of
// the process, so a raftd node's worker threads count) and resident memory.
import * as fs from 'node:fs';

/** Clock ticks per second of /proc/<pid>/stat's utime and stime (USER_HZ: 100 on Linux). */
const USER_HZ = 100;

/** CPU seconds the process has used so far, or null when it is gone. */
export function cpuSeconds(pid: number): number | null {
  let stat: string;
  try {
    stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  // The command name (field 2) may hold spaces: the fields after it start past the last ')'.
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // rest[0] is field 3 (state); utime and stime are fields 14 and 15.
  const utime = Number(rest[11]);
  const stime = Number(rest[12]);
  return (utime + stime) / USER_HZ;
}

/** A field of /proc/<pid>/status in bytes (VmRSS, VmHWM), or null when the process is gone. */
export function statusBytes(pid: number, field: 'VmRSS' | 'VmHWM'): number | null {
  let status: string;
  try {
    status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return null;
  }
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status);
  return m ? Number(m[1]) * 1024 : null;
}

/**
 * Follows a set of processes through one measured window: CPU used between start()
 * and stop(), and the peak RSS of each (sampled, and the kernel's high-water mark).
 */
export class ProcWatch {
  private readonly cpuStart: (number | null)[];
  private readonly rssPeak: number[];
  private readonly sampler: NodeJS.Timeout;

  constructor(
    private readonly pids: number[],
    sampleMs = 200,
  ) {
    this.cpuStart = pids.map(cpuSeconds);
    this.rssPeak = pids.map(() => 0);
    this.sample();
    this.sampler = setInterval(() => this.sample(), sampleMs);
    this.sampler.unref();
  }

  private sample(): void {
    this.pids.forEach((pid, i) => {
      const rss = statusBytes(pid, 'VmRSS');
      if (rss !== null && rss > this.rssPeak[i]!) this.rssPeak[i] = rss;
    });
  }

  /** CPU seconds of each process over the window, and each one's peak RSS in MiB. */
  stop(): { cpuSec: number[]; rssPeakMiB: number[] } {
    clearInterval(this.sampler);
    this.sample();
    const cpuSec = this.pids.map((pid, i) => {
      const end = cpuSeconds(pid);
      const start = this.cpuStart[i];
      return end === null || start === null || start === undefined ? 0 : end - start;
    });
    const rssPeakMiB = this.pids.map((pid, i) => Math.max(this.rssPeak[i]!, statusBytes(pid, 'VmHWM') ?? 0) / (1024 * 1024));
    return { cpuSec, rssPeakMiB };
  }
}
