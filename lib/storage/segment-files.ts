// Where the log lives: <dataDir>/log/<20-digit first index>.seg, append-only.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { assert } from '../util/assert.js';
import { RaftdError } from '../util/errors.js';

const SEGMENT_NAME = /^(\d{20})\.seg$/;

export function logDirOf(dataDir: string): string {
  return path.join(dataDir, 'log');
}

export function segmentName(firstIndex: number): string {
  assert(Number.isSafeInteger(firstIndex) && firstIndex >= 1, `segment first index ${firstIndex}`);
  return `${String(firstIndex).padStart(20, '0')}.seg`;
}

export interface SegmentFile {
  /** The index its name says the segment starts at. */
  firstIndex: number;
  path: string;
}

/** Segment files of a log directory in index order; [] when the directory does not exist. */
export function listSegments(logDir: string): SegmentFile[] {
  let names: string[];
  try {
    names = fs.readdirSync(logDir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw new RaftdError('RAFTD_IO', `cannot list ${logDir}: ${(err as Error).message}`);
  }
  const segments: SegmentFile[] = [];
  for (const name of names.sort()) {
    const m = SEGMENT_NAME.exec(name);
    if (!m) continue;
    const firstIndex = Number(m[1]);
    if (!Number.isSafeInteger(firstIndex) || firstIndex < 1) {
      throw new RaftdError('RAFTD_LOG_CORRUPT', `${path.join(logDir, name)}: segment name is not a valid first index`);
    }
    segments.push({ firstIndex, path: path.join(logDir, name) });
  }
  return segments;
}
