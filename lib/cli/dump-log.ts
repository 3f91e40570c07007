// `raftd --dump-log`: prints a stopped node's hard state and log, read-only.
import { describeEntry } from '../kv/describe.js';
import type { Entry } from '../raft/types.js';
import { loadHardState } from '../storage/hard-state.js';
import { readLog } from '../storage/read-log.js';

const CONTROL = /\p{Cc}/u;

/**
 * Prints `# term T vote V` (V is `-` for no vote), then one line per entry:
 * index TAB term TAB kind TAB tid TAB data. Data is the entry's command as a command
 * line (`SET k "a\x00b"`, lib/kv/describe.ts); ADDENTRY's data, and data that is no
 * encoded command, is printed as text when it is valid UTF-8 without control
 * characters, else as `base64:<...>`. A torn tail is printed as a `# note:` line. Returns the number of entries; corruption throws after the entries
 * before it were printed.
 */
export function dumpLog(dataDir: string, out: (line: string) => void): number {
  const hs = loadHardState(dataDir);
  out(`# term ${hs.term} vote ${hs.vote === null ? '-' : printableField(hs.vote)}`);
  const notes: string[] = [];
  let count = 0;
  for (const e of readLog(dataDir, { onNote: (n) => notes.push(n) })) {
    out(entryLine(e));
    count++;
  }
  for (const n of notes) out(`# note: ${n}`);
  return count;
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
