// Names the calling worker thread for the OS (Linux: its /proc comm, what `top -H`,
// `ps -L` and the benchmark's per-thread CPU show), so an actor's CPU can be told from
// another's without a profiler. The main thread keeps its name: it is the process's name.
import * as fs from 'node:fs';
import { isMainThread } from 'node:worker_threads';

/** Linux keeps 15 bytes of a thread's name. */
const THREAD_NAME_BYTES_MAX = 15;

export function nameThisThread(name: string): void {
  if (isMainThread) return;
  try {
    fs.writeFileSync('/proc/thread-self/comm', name.slice(0, THREAD_NAME_BYTES_MAX));
  } catch {
    // Not Linux, or /proc not mounted: the thread just keeps its name.
  }
}
