// Verifying a segment's records, shared by recovery (which may repair a torn tail) and
// the offline reader (which only reports it).
//
// The rule for a record that fails its checks:
// - in the last segment, when no valid record follows it anywhere in the file, it is a
//   torn write (the process or machine died during an append that was never synced
//   and so never acknowledged): the tail from there may be cut off. This covers a
//   record cut short by end of file as well as an unsynced tail the file system left
//   zero-filled or holding garbage;
// - anywhere else (a valid record follows it, or it is in a segment that is not the
//   last) acknowledged entries may be behind it: RAFTD_LOG_CORRUPT, the node stops.
// A record that verifies but breaks the sequence (index not the next one, term going
// backwards) is corrupt wherever it is: no torn write produces one.
// Zero bytes from the end of the records to the end of the last segment are room the
// log store wrote ahead (log-store.ts, preallocation), not damage: the scan ends there
// cleanly. An unsynced tail the file system left zero-filled looks the same, and is
// dropped the same way.
import { RaftdError } from '../util/errors.js';
import { checkRecord, RECORD_BODY_BYTES_MAX, RECORD_BODY_BYTES_MIN, RECORD_HEADER_BYTES, type RecordMeta } from './record.js';
import type { SegmentFile } from './segment-files.js';

export interface TornTail {
  file: string;
  offset: number;
  bytesDropped: number;
  problem: string;
}

export interface SegmentScan {
  /** Bytes of verified records from the start of the file. */
  validBytes: number;
  torn: TornTail | null;
  /** Zero bytes after the records, to the end of the file (the last segment only). */
  zeroTailBytes: number;
}

/** The last entry of the previous segment, if any. */
export interface LogPosition {
  index: number;
  term: number;
}

/** Yields each verified record of the segment in order; returns where the valid part ends. */
export function* scanSegment(
  buf: Buffer,
  seg: SegmentFile,
  prev: LogPosition | null,
  isLast: boolean,
): Generator<RecordMeta, SegmentScan, void> {
  const corrupt = (offset: number, what: string) =>
    new RaftdError('RAFTD_LOG_CORRUPT', `${seg.path} at byte offset ${offset}: ${what}`);
  if (prev && seg.firstIndex !== prev.index + 1) {
    throw corrupt(0, `segment is named for index ${seg.firstIndex} but the previous segment ends at index ${prev.index}`);
  }
  if (!isLast && buf.length === 0) throw corrupt(0, 'empty segment that is not the last one');
  let expected = seg.firstIndex;
  let prevTerm = prev ? prev.term : 0;
  let offset = 0;
  while (offset < buf.length) {
    const check = checkRecord(buf, offset);
    if (!check.ok) {
      if (!isLast) throw corrupt(offset, `bad record for index ${expected} (${check.problem}) in a segment that is not the last`);
      if (zerosFrom(buf, offset)) return { validBytes: offset, torn: null, zeroTailBytes: buf.length - offset };
      const after = validRecordAfter(buf, offset, expected);
      if (after !== null) {
        throw corrupt(offset, `bad record for index ${expected} (${check.problem}); a valid record follows at offset ${after}`);
      }
      return {
        validBytes: offset,
        torn: { file: seg.path, offset, bytesDropped: buf.length - offset, problem: check.problem },
        zeroTailBytes: 0,
      };
    }
    const meta = check.meta;
    if (meta.index !== expected) throw corrupt(offset, `record holds index ${meta.index} where ${expected} was expected`);
    if (meta.term < prevTerm) throw corrupt(offset, `index ${meta.index} has term ${meta.term} below the previous entry's ${prevTerm}`);
    yield meta;
    expected++;
    prevTerm = meta.term;
    offset = meta.end;
  }
  return { validBytes: offset, torn: null, zeroTailBytes: 0 };
}

/** Whether buf holds only zero bytes from `from` to its end. */
function zerosFrom(buf: Buffer, from: number): boolean {
  for (let p = from; p < buf.length; p++) if (buf[p] !== 0) return false;
  return true;
}

/**
 * The offset of a valid record later in buf than a bad one at `badOffset` for index
 * `badIndex`, or null. A cheap filter (length in range, fits in the file, plausible
 * index) runs before the CRC, so scanning a zero-filled or garbage tail stays linear.
 */
function validRecordAfter(buf: Buffer, badOffset: number, badIndex: number): number | null {
  const recordBytesMin = RECORD_HEADER_BYTES + RECORD_BODY_BYTES_MIN;
  const indexMax = badIndex + Math.floor((buf.length - badOffset) / recordBytesMin);
  for (let p = badOffset + 1; p + recordBytesMin <= buf.length; p++) {
    const bodyBytes = buf.readUInt32LE(p);
    if (bodyBytes < RECORD_BODY_BYTES_MIN || bodyBytes > RECORD_BODY_BYTES_MAX) continue;
    if (p + RECORD_HEADER_BYTES + bodyBytes > buf.length) continue;
    const index = buf.readUInt32LE(p + RECORD_HEADER_BYTES + 4) * 0x1_0000_0000 + buf.readUInt32LE(p + RECORD_HEADER_BYTES);
    if (index <= badIndex || index > indexMax) continue;
    if (checkRecord(buf, p).ok) return p;
  }
  return null;
}
