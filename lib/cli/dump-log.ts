// `raftd --dump-log`: prints a stopped node's hard state and log, read-only.
import { describeEntry } from '../kv/describe.js';
import type { Entry } from '../raft/types.js';
import { loadHardState } from '../storage/hard-state.js';
import { readLog } from '../storage/read-log.js';
import * as fs from 'node:fs';
import { parseSnapshotName, snapshotDirOf } from '../storage/snapshot-format.js';

const CONTROL = /\p{Cc}/u;

/**
 * Prints `# term T vote V` (V is `-` for no vote), `# snapshot index I term T` for each
 * snapshot file (newest last; what they cover is no longer in the log), `# log starts at
 * index F` when the log was compacted, then one line per entry:
 * index TAB term TAB kind TAB tid TAB data. Data is the entry's command as a command
 * line (`SET k "a\x00b"`, lib/kv/describe.ts); ADDENTRY's data, and data that is no
 * encoded command, is printed as text when it is valid UTF-8 without control
 * characters, else as `base64:<...>`. A torn tail is printed as a `# note:` line. Returns the number of entries; corruption throws after the entries
 * before it were printed.
 */
export function dumpLog(dataDir: string, out: (line: string) => void): number {
  const hs = loadHardState(dataDir);
  out(`# term ${hs.term} vote ${hs.vote === null ? '-' : printableField(hs.vote)}`);
  for (const s of snapshotsOf(dataDir)) out(`# snapshot index ${s.index} term ${s.term}`);
  const notes: string[] = [];
  let count = 0;
  for (const e of readLog(dataDir, { onNote: (n) => notes.push(n) })) {
    if (count === 0 && e.index > 1) out(`# log starts at index ${e.index}`);
    out(entryLine(e));
    count++;
  }
  for (const n of notes) out(`# note: ${n}`);
  return count;
}

/** The snapshot files, oldest first, read-only (no verification: --dump-log shows what is there). */
function snapshotsOf(dataDir: string): { index: number; term: number }[] {
  const dir = snapshotDirOf(dataDir);
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir)
    .map(parseSnapshotName)
    .filter((s): s is { index: number; term: number } => s !== null)
    .sort((a, b) => a.index - b.index || a.term - b.term);
}

export function entryLine(e: Entry): string {
  return `${e.index}\t${e.term}\t${e.kind}\t${printableField(e.tid)}\t${describeEntry(e)}`;
}

/** The data as text when that is unambiguous, else base64 (lib/kv/describe.ts). */
export { dataText } from '../kv/describe.js';

/** A tid or node id as is, or JSON-quoted when it holds control characters (tabs, newlines). */
function printableField(s: string): string {
  return CONTROL.test(s) ? JSON.stringify(s) : s;
}
