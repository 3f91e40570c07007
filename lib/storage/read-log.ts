// Reading a node's log offline (the node stopped): read-only, never repairs anything.
import * as fs from 'node:fs';
import type { Entry } from '../raft/types.js';
import { RaftdError } from '../util/errors.js';
import { readWholeFile } from './durable-fs.js';
import { decodeEntry } from './record.js';
import { listSegments, logDirOf } from './segment-files.js';
import { scanSegment, type LogPosition, type TornTail } from './segment-scan.js';

export interface ReadLogOptions {
  /** Told about things a reader should know that are not errors, e.g. a torn tail. */
  onNote?: (note: string) => void;
}

export interface ReadLogSummary {
  segments: number;
  entries: number;
  /** A torn tail the node would cut off on its next start. */
  tornTail: TornTail | null;
}

/**
 * Yields the stored entries in index order, verifying them as recovery does. A torn
 * tail is reported (onNote and the summary) instead of repaired; any other damage
 * throws RAFTD_LOG_CORRUPT after the entries before it were yielded.
 */
export function* readLog(dataDir: string, opts: ReadLogOptions = {}): Generator<Entry, ReadLogSummary, void> {
  if (!fs.existsSync(dataDir)) throw new RaftdError('RAFTD_IO', `no data directory ${dataDir}`);
  const files = listSegments(logDirOf(dataDir));
  let prev: LogPosition | null = null;
  let count = 0;
  let tornTail: TornTail | null = null;
  for (let i = 0; i < files.length; i++) {
    const file = files[i]!;
    const buf = readWholeFile(file.path);
    const scan = scanSegment(buf, file, prev, i === files.length - 1);
    let step = scan.next();
    while (!step.done) {
      yield decodeEntry(buf, step.value);
      count++;
      prev = { index: step.value.index, term: step.value.term };
      step = scan.next();
    }
    const torn = step.value.torn;
    if (torn) {
      tornTail = torn;
      opts.onNote?.(
        `torn tail in ${torn.file} at byte offset ${torn.offset}: ${torn.bytesDropped} bytes (${torn.problem}) ` +
          'would be cut off when the node starts',
      );
    }
  }
  return { segments: files.length, entries: count, tornTail };
}
