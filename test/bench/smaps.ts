// Where a process's resident memory sits, read from /proc/<pid>/smaps: the mappings of
// files (Node's binary and libraries), glibc's main arena ([heap]), thread stacks, and
// anonymous mappings by size (V8 allocates its heap in 256 KiB pages and large objects
// on their own; glibc's other arenas are 64 MiB reservations; big buffers are their own
// mmap). For bench/memory-breakdown.ts and the README's account of a node.
import * as fs from 'node:fs';

export interface SmapsSummary {
  rssBytes: number;
  /** Resident bytes of mappings backed by a file (shared with every Node process). */
  fileBytes: number;
  /** glibc's main arena. */
  brkHeapBytes: number;
  /** Anonymous mappings by size class of the mapping (not of what is resident in it). */
  anonBySize: Record<string, { mappings: number; rssBytes: number }>;
  anonBytes: number;
}

const SIZE_CLASSES: [string, number][] = [
  ['<=256K', 256 * 1024],
  ['<=1M', 1 << 20],
  ['<=8M', 8 << 20],
  ['<=64M', 64 << 20],
  ['>64M', Number.MAX_SAFE_INTEGER],
];

/** The summary of one process, or null when it is gone. */
export function smapsSummary(pid: number): SmapsSummary | null {
  let text: string;
  try {
    text = fs.readFileSync(`/proc/${pid}/smaps`, 'utf8');
  } catch {
    return null;
  }
  const out: SmapsSummary = { rssBytes: 0, fileBytes: 0, brkHeapBytes: 0, anonBySize: {}, anonBytes: 0 };
  for (const [name] of SIZE_CLASSES) out.anonBySize[name] = { mappings: 0, rssBytes: 0 };
  let size = 0;
  let path = '';
  for (const line of text.split('\n')) {
    const head = /^([0-9a-f]+)-([0-9a-f]+) \S+ \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (head) {
      size = parseInt(head[2]!, 16) - parseInt(head[1]!, 16);
      path = head[3]!;
      continue;
    }
    const rss = /^Rss:\s+(\d+) kB/.exec(line);
    if (!rss) continue;
    const b = Number(rss[1]) * 1024;
    out.rssBytes += b;
    if (path.startsWith('/')) out.fileBytes += b;
    else if (path === '[heap]') out.brkHeapBytes += b;
    else {
      out.anonBytes += b;
      const cls = SIZE_CLASSES.find(([, max]) => size <= max)![0];
      out.anonBySize[cls]!.mappings++;
      out.anonBySize[cls]!.rssBytes += b;
    }
  }
  return out;
}
