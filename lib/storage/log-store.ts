// The durable Raft log: append-only segment files plus an in-memory table of where
// each entry's record starts, so truncating a suffix is an ftruncate and some unlinks.
// Synchronous on purpose: it runs on the log writer's own thread, and offline tools use
// it the same way.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Entry } from '../raft/types.js';
import { assert } from '../util/assert.js';
import { RaftdError } from '../util/errors.js';
import { diskError, ensureDirDurable, fdatasyncFile, fdatasyncOrStop, fsyncDir, ftruncateOrStop, readWholeFile, unlinkOrStop, writeAllAt } from './durable-fs.js';
import { checkRecord, decodeEntry, encodeEntries } from './record.js';
import { listSegments, logDirOf, segmentName } from './segment-files.js';
import { scanSegment, type LogPosition, type SegmentScan, type TornTail } from './segment-scan.js';

/** Where the store reports what it did; a Logger fits. */
export interface StorageLog {
  info(event: string, fields?: Record<string, unknown>): void;
  warn(event: string, fields?: Record<string, unknown>): void;
}

export interface LogStoreOptions {
  dataDir: string;
  /** A segment is closed and a new one started before a record would take it past this. */
  segmentBytesMax: number;
  log?: StorageLog;
  /**
   * The latest snapshot, if any: the log may start anywhere up to just after it. A log
   * that does not hold the snapshot's last entry (ends before it, or holds another term
   * there) is discarded whole and the log restarts after the snapshot.
   */
  snapshot?: LogPosition | null;
}

interface Segment {
  firstIndex: number;
  path: string;
  /** offsets[k]: where the record of index firstIndex + k starts. Invariant: offsets.length === terms.length. */
  offsets: number[];
  terms: number[];
  /** Bytes of records in the file. */
  bytes: number;
  /** The file's size. Invariant: fileBytes >= bytes, and the bytes between are zeros written ahead. */
  fileBytes: number;
}

// An fdatasync after an append that grows the file must also commit the new size to the
// file system's journal; one after an append into blocks already written only writes the
// data. Measured here with three processes syncing 150-byte appends on one disk: 210 µs
// a sync when growing, 133 µs with room written ahead (p99 420 against 250). So the open
// segment gets zeros written past its records in steps of PREALLOC_STEP_BYTES, once a
// small append finds no room left; closing the segment cuts them off. Large appends are
// left to grow the file: writing zeros ahead of them would double their bytes to disk.
const PREALLOC_STEP_BYTES = 1024 * 1024;
const PREALLOC_APPEND_BYTES_MAX = 64 * 1024;
const ZEROS = Buffer.alloc(PREALLOC_STEP_BYTES);
/**
 * Records are encoded into one buffer that every write reuses, up to this size (a
 * follower's batch of large values is about appendBytesMax, 1 MiB): a fresh buffer per
 * write was fresh memory, and on this VM its page faults cost more than the copy into it.
 */
const SCRATCH_BYTES_MAX = 4 * 1024 * 1024;

export interface AppendResult {
  bytes: number;
  /** Entries of the stored suffix dropped before appending. */
  truncated: number;
  /** Segments started by this append. */
  rolled: number;
}

export class LogStore {
  private readonly logDir: string;
  /** Invariant: segments are contiguous; only the last one may be empty; fd is the last one's. */
  private readonly segments: Segment[] = [];
  private fd: number | null = null;
  /** Invariant: first <= last + 1; the log holds [first, last]. */
  private first = 1;
  private last = 0;
  /**
   * Term of entry first - 1 (the snapshot's last entry, or the last one compacted away);
   * 0 at the start; null when the log was opened starting inside a snapshot (not needed:
   * entries covered by a snapshot are committed and never replaced).
   */
  private baseTerm: number | null = 0;
  /** Bytes written to the open segment since its last fdatasync. */
  private dataDirty = false;
  /** Segment files created since the log directory's last fsync. */
  private dirDirty = false;
  /** Set by any failure: in-memory tables may no longer match the files. */
  private broken = false;
  private closed = false;
  /** The torn tail cut off while opening, if any. */
  readonly repairedTail: TornTail | null;
  /** Where write() encodes its records (SCRATCH_BYTES_MAX). */
  private scratch = Buffer.alloc(0);

  private constructor(
    private readonly opts: LogStoreOptions,
    repairedTail: TornTail | null,
  ) {
    assert(opts.segmentBytesMax >= 1, `segmentBytesMax ${opts.segmentBytesMax}`);
    this.logDir = logDirOf(opts.dataDir);
    this.repairedTail = repairedTail;
  }

  /**
   * Opens the log, verifying every record. A torn tail of the last segment is cut off
   * (durably) and reported; any other damage throws RAFTD_LOG_CORRUPT.
   *
   * Before it returns, every segment is fdatasynced and the log directory, the data
   * directory and its parent are fsynced: after a process crash the page cache may still
   * show writes that were never synced, and the node must not count them as durable.
   */
  static open(opts: LogStoreOptions): LogStore {
    const logDir = logDirOf(opts.dataDir);
    const files = listSegments(logDir);
    let repaired: TornTail | null = null;
    const segments: Segment[] = [];
    let prev: LogPosition | null = null;
    for (let i = 0; i < files.length; i++) {
      const file = files[i]!;
      const buf = readWholeFile(file.path);
      const seg: Segment = { firstIndex: file.firstIndex, path: file.path, offsets: [], terms: [], bytes: 0, fileBytes: 0 };
      const scan = scanSegment(buf, file, prev, i === files.length - 1);
      let step = scan.next();
      while (!step.done) {
        seg.offsets.push(step.value.offset);
        seg.terms.push(step.value.term);
        step = scan.next();
      }
      const result: SegmentScan = step.value;
      seg.bytes = result.validBytes;
      // A zero tail (only the last segment may have one) stays as room for appends.
      seg.fileBytes = result.validBytes + result.zeroTailBytes;
      if (result.torn) {
        cutTornTail(file.path, result.validBytes);
        repaired = result.torn;
        opts.log?.warn('torn tail repaired', {
          file: result.torn.file,
          offset: result.torn.offset,
          bytesDropped: result.torn.bytesDropped,
          problem: result.torn.problem,
        });
      } else {
        fdatasyncFile(file.path);
      }
      if (seg.offsets.length > 0) prev = { index: seg.firstIndex + seg.offsets.length - 1, term: seg.terms.at(-1)! };
      segments.push(seg);
    }
    ensureDirDurable(logDir);
    const store = new LogStore(opts, repaired);
    store.segments.push(...segments);
    if (segments.length > 0) {
      store.first = segments[0]!.firstIndex;
      store.last = prev ? prev.index : store.first - 1;
      store.fd = openForAppend(segments.at(-1)!.path);
    }
    store.fitToSnapshot(opts.snapshot ?? null);
    opts.log?.info('opened', {
      firstIndex: store.first,
      lastIndex: store.last,
      segments: store.segments.length,
      repairedTail: repaired !== null,
      snapshotIndex: opts.snapshot?.index ?? 0,
    });
    return store;
  }

  /**
   * Fits the log to a snapshot just installed: kept when it holds the snapshot's last
   * entry (same index and term), else dropped whole and restarted after it. Returns
   * whether the log was kept.
   */
  adoptSnapshot(snap: LogPosition): boolean {
    this.assertUsable();
    assert(snap.index >= 1, `adoptSnapshot(${snap.index})`);
    const holds = snap.index >= this.first && snap.index <= this.last ? this.term(snap.index) === snap.term : snap.index === this.first - 1 && this.baseTerm === snap.term;
    if (holds) return true;
    this.opts.log?.info('log discarded for installed snapshot', { snapshotIndex: snap.index, snapshotTerm: snap.term, firstIndex: this.first, lastIndex: this.last });
    this.restartAfter(snap.index, snap.term);
    return false;
  }

  /** Checks the log against the snapshot it follows; see LogStoreOptions.snapshot. */
  private fitToSnapshot(snap: LogPosition | null): void {
    if (snap === null || snap.index === 0) {
      if (this.first > 1) {
        throw new RaftdError('RAFTD_LOG_CORRUPT', `${this.logDir}: the log starts at index ${this.first} and no snapshot covers the entries before it`);
      }
      return;
    }
    if (this.first > snap.index + 1) {
      throw new RaftdError(
        'RAFTD_LOG_CORRUPT',
        `${this.logDir}: the log starts at index ${this.first} but the snapshot ends at ${snap.index}: entries ${snap.index + 1}..${this.first - 1} are missing`,
      );
    }
    if (this.last >= snap.index && (snap.index < this.first || this.term(snap.index) === snap.term)) {
      this.baseTerm = snap.index === this.first - 1 ? snap.term : null;
      return;
    }
    // The snapshot is newer than the whole log, or the log disagrees with it there.
    this.opts.log?.warn('log discarded for snapshot', { snapshotIndex: snap.index, snapshotTerm: snap.term, firstIndex: this.first, lastIndex: this.last });
    this.restartAfter(snap.index, snap.term);
  }

  firstIndex(): number {
    return this.first;
  }

  lastIndex(): number {
    return this.last;
  }

  segmentCount(): number {
    return this.segments.length;
  }

  /** Term of a stored entry, or of entry firstIndex - 1; 0 for index 0. */
  term(index: number): number {
    if (index === 0) return 0;
    if (index === this.first - 1 && this.baseTerm !== null) return this.baseTerm;
    assert(index >= this.first && index <= this.last, `term(${index}) outside [${this.first}, ${this.last}]`);
    const seg = this.segments[this.segmentOf(index)]!;
    return seg.terms[index - seg.firstIndex]!;
  }

  /**
   * Writes entries after the stored log, first dropping the stored suffix from
   * entries[0].index when that is at or below the last index. Not durable until sync().
   */
  append(entries: readonly Entry[]): AppendResult {
    this.assertUsable();
    if (entries.length === 0) return { bytes: 0, truncated: 0, rolled: 0 };
    const from = entries[0]!.index;
    assert(
      from >= this.first && from <= this.last + 1,
      `append from index ${from} to a log holding [${this.first}, ${this.last}]: must be in [${this.first}, ${this.last + 1}]`,
    );
    for (let k = 1; k < entries.length; k++) {
      // Messages built only on failure: this loop runs per entry.
      if (entries[k]!.index !== from + k) assert(false, `append: entry ${k} has index ${entries[k]!.index}, expected ${from + k}`);
      if (entries[k]!.term < entries[k - 1]!.term) assert(false, `append: term goes backwards at index ${entries[k]!.index}`);
    }
    // Checked before anything is dropped: a bad append must not cost stored entries.
    const prevTerm = from === this.first ? (this.baseTerm ?? 0) : this.term(from - 1);
    assert(entries[0]!.term >= prevTerm, `append: index ${from} has term ${entries[0]!.term} < previous term ${prevTerm}`);
    try {
      const truncated = from <= this.last ? this.truncateFrom(from) : 0;
      const written = this.write(entries);
      return { bytes: written.bytes, truncated, rolled: written.rolled };
    } catch (err) {
      this.broken = true;
      throw err;
    }
  }

  /**
   * Makes every append so far durable: fdatasync of the open segment, then an fsync of
   * the log directory if segment files were created. Returns the number of fsync calls.
   */
  sync(): number {
    this.assertUsable();
    let calls = 0;
    try {
      if (this.fd !== null && this.dataDirty) {
        fdatasyncOrStop(this.fd, this.segments.at(-1)!.path);
        this.dataDirty = false;
        calls++;
      }
      if (this.dirDirty) {
        fsyncDir(this.logDir);
        this.dirDirty = false;
        calls++;
      }
    } catch (err) {
      this.broken = true;
      throw err;
    }
    return calls;
  }

  /** Stored entries in [from, to], read back from the files (and verified again). */
  *entries(from = this.first, to = this.last): Generator<Entry, void, void> {
    this.assertUsable();
    if (from > to) return;
    assert(from >= this.first && to <= this.last, `entries(${from}, ${to}) outside [${this.first}, ${this.last}]`);
    for (let si = this.segmentOf(from); si < this.segments.length; si++) {
      const seg = this.segments[si]!;
      if (seg.firstIndex > to) return;
      const buf = readWholeFile(seg.path);
      const kFirst = Math.max(from - seg.firstIndex, 0);
      const kEnd = Math.min(to - seg.firstIndex + 1, seg.offsets.length);
      for (let k = kFirst; k < kEnd; k++) {
        const check = checkRecord(buf, seg.offsets[k]!);
        const index = seg.firstIndex + k;
        if (!check.ok || check.meta.index !== index) {
          throw new RaftdError(
            'RAFTD_LOG_CORRUPT',
            `${seg.path} at byte offset ${seg.offsets[k]}: record of index ${index} changed since the log was opened` +
              (check.ok ? ` (holds index ${check.meta.index})` : ` (${check.problem})`),
          );
        }
        yield decodeEntry(buf, check.meta);
      }
    }
  }

  /**
   * Deletes the segment files whose entries are all at or below `throughIndex` (the
   * caller passes the snapshot's index minus the tail it keeps for lagging followers).
   * The open segment is never deleted. Oldest first, then one directory fsync: a crash
   * part way leaves a log that starts later, which the snapshot covers.
   */
  compact(throughIndex: number): { segmentsDeleted: number; firstIndex: number } {
    this.assertUsable();
    assert(throughIndex <= this.last, `compact(${throughIndex}) past the last index ${this.last}`);
    let n = 0;
    while (n < this.segments.length - 1 && this.segments[n + 1]!.firstIndex - 1 <= throughIndex) n++;
    if (n === 0) return { segmentsDeleted: 0, firstIndex: this.first };
    try {
      for (let j = 0; j < n; j++) unlinkOrStop(this.segments[j]!.path);
      fsyncDir(this.logDir);
    } catch (err) {
      this.broken = true;
      throw err;
    }
    const lastGone = this.segments[n - 1]!;
    this.baseTerm = lastGone.terms.at(-1)!;
    this.segments.splice(0, n);
    this.first = this.segments[0]!.firstIndex;
    this.opts.log?.info('compacted', { throughIndex, segmentsDeleted: n, firstIndex: this.first });
    return { segmentsDeleted: n, firstIndex: this.first };
  }

  /**
   * Drops the whole log, durably, and continues after a snapshot's last entry: for an
   * installed snapshot the log does not agree with, or one newer than the whole log.
   * Newest first, so a crash part way leaves a prefix of the old log.
   */
  restartAfter(index: number, term: number): void {
    this.assertUsable();
    assert(Number.isSafeInteger(index) && index >= 0 && term >= 0, `restartAfter(${index}, ${term})`);
    try {
      if (this.fd !== null) fs.closeSync(this.fd);
      this.fd = null;
      this.dataDirty = false;
      for (let j = this.segments.length - 1; j >= 0; j--) unlinkOrStop(this.segments[j]!.path);
      if (this.segments.length > 0) fsyncDir(this.logDir);
    } catch (err) {
      this.broken = true;
      throw err;
    }
    const deleted = this.segments.length;
    this.segments.length = 0;
    this.first = index + 1;
    this.last = index;
    this.baseTerm = term;
    this.opts.log?.info('restarted after snapshot', { index, term, segmentsDeleted: deleted });
  }

  /**
   * Closes the open segment, cut to its records if it can be (the zeros written ahead are
   * only room, read as room again when the cut fails or is lost); does not sync.
   */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    const seg = this.segments.at(-1);
    if (this.fd !== null && seg !== undefined && seg.fileBytes > seg.bytes && !this.broken) {
      try {
        fs.ftruncateSync(this.fd, seg.bytes);
        seg.fileBytes = seg.bytes;
      } catch {
        // Best effort, see above.
      }
    }
    if (this.fd !== null) fs.closeSync(this.fd);
    this.fd = null;
  }

  private assertUsable(): void {
    assert(!this.closed, 'log store is closed');
    assert(!this.broken, 'log store failed earlier; the node must stop');
  }

  /** Position in `segments` of the segment holding `index` (first <= index <= last + 1). */
  private segmentOf(index: number): number {
    let lo = 0;
    let hi = this.segments.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.segments[mid]!.firstIndex <= index) lo = mid;
      else hi = mid - 1;
    }
    assert(this.segments[lo] && this.segments[lo].firstIndex <= index, `no segment holds index ${index}`);
    return lo;
  }

  /**
   * Drops [from, last], durably before returning: later segments are unlinked newest
   * first, the segment holding `from` is cut (or unlinked when `from` is its first
   * entry), then fdatasync and a directory fsync. Durable at once so new records never
   * land next to stale bytes a crash could bring back. A crash part way leaves a prefix
   * of the old log at least `from - 1` long. Returns the number of entries dropped.
   */
  private truncateFrom(from: number): number {
    assert(from >= this.first && from <= this.last, `truncateFrom(${from}) outside [${this.first}, ${this.last}]`);
    const dropped = this.last - from + 1;
    const si = this.segmentOf(from);
    const seg = this.segments[si]!;
    const k = from - seg.firstIndex;
    if (this.fd !== null) fs.closeSync(this.fd);
    this.fd = null;
    this.dataDirty = false;
    let unlinked = 0;
    for (let j = this.segments.length - 1; j > si; j--) {
      unlinkSegment(this.segments[j]!.path);
      unlinked++;
    }
    this.segments.length = si + 1;
    let cutAt = seg.path;
    if (k === 0) {
      unlinkSegment(seg.path);
      unlinked++;
      this.segments.pop();
      cutAt = '(whole segment)';
    } else {
      const offset = seg.offsets[k]!;
      const fd = openForAppend(seg.path);
      this.fd = fd;
      ftruncateOrStop(fd, seg.path, offset);
      fdatasyncOrStop(fd, seg.path);
      seg.offsets.length = k;
      seg.terms.length = k;
      seg.bytes = offset;
      seg.fileBytes = offset;
    }
    if (unlinked > 0) fsyncDir(this.logDir);
    this.last = from - 1;
    if (this.fd === null && this.segments.length > 0) this.fd = openForAppend(this.segments.at(-1)!.path);
    this.opts.log?.info('truncated', { fromIndex: from, entriesDropped: dropped, segmentsDeleted: unlinked, cut: cutAt });
    return dropped;
  }

  /** Writes records after the last one, one write per segment touched. */
  private write(entries: readonly Entry[]): { bytes: number; rolled: number } {
    const { buf, offsets } = encodeEntries(entries, this.scratch);
    // Written synchronously below and not kept: the next write may take the same memory.
    if (buf.buffer !== this.scratch.buffer && buf.length <= SCRATCH_BYTES_MAX) this.scratch = Buffer.allocUnsafeSlow(Math.min(SCRATCH_BYTES_MAX, Math.max(buf.length, 2 * this.scratch.length)));
    const max = this.opts.segmentBytesMax;
    let seg = this.segments.at(-1) ?? null;
    let rolled = 0;
    let chunkStart = 0;
    let chunkPos = seg ? seg.bytes : 0;
    for (let k = 0; k < entries.length; k++) {
      const len = offsets[k + 1]! - offsets[k]!;
      if (seg === null || (seg.bytes > 0 && seg.bytes + len > max)) {
        if (seg !== null) {
          this.writeChunk(seg, buf, chunkStart, offsets[k]!, chunkPos);
          this.closeForRoll(seg);
        }
        seg = this.createSegment(entries[k]!.index);
        rolled++;
        chunkStart = offsets[k]!;
        chunkPos = 0;
      }
      if (seg.firstIndex + seg.offsets.length !== entries[k]!.index) {
        assert(false, `segment ${seg.path} does not end before index ${entries[k]!.index}`);
      }
      seg.offsets.push(seg.bytes);
      seg.terms.push(entries[k]!.term);
      seg.bytes += len;
    }
    this.writeChunk(seg!, buf, chunkStart, buf.length, chunkPos);
    this.last = entries.at(-1)!.index;
    if (buf.length <= PREALLOC_APPEND_BYTES_MAX) this.writeAhead(seg!);
    return { bytes: buf.length, rolled };
  }

  private writeChunk(seg: Segment, buf: Buffer, start: number, end: number, position: number): void {
    if (end === start) return;
    assert(this.fd !== null, 'no open segment');
    writeAllAt(this.fd, seg.path, buf, start, end, position);
    this.dataDirty = true;
    seg.fileBytes = Math.max(seg.fileBytes, position + (end - start));
  }

  /** Writes zeros past the open segment's records when no room is left (see PREALLOC_STEP_BYTES). */
  private writeAhead(seg: Segment): void {
    if (seg.fileBytes > seg.bytes) return;
    const target = Math.min(seg.bytes + PREALLOC_STEP_BYTES, this.opts.segmentBytesMax);
    if (target <= seg.fileBytes) return;
    assert(this.fd !== null, 'no open segment');
    writeAllAt(this.fd, seg.path, ZEROS, 0, target - seg.fileBytes, seg.fileBytes);
    seg.fileBytes = target;
    this.dataDirty = true;
  }

  /**
   * A full segment is cut to its records and made durable before any record goes to the
   * next one: only the last segment may end in zeros.
   */
  private closeForRoll(seg: Segment): void {
    assert(this.fd !== null, 'no open segment');
    if (seg.fileBytes > seg.bytes) {
      ftruncateOrStop(this.fd, seg.path, seg.bytes);
      seg.fileBytes = seg.bytes;
      this.dataDirty = true;
    }
    if (this.dataDirty) fdatasyncOrStop(this.fd, seg.path);
    this.dataDirty = false;
    fs.closeSync(this.fd);
    this.fd = null;
  }

  private createSegment(firstIndex: number): Segment {
    assert(this.fd === null, 'createSegment with a segment open');
    const file = path.join(this.logDir, segmentName(firstIndex));
    try {
      this.fd = fs.openSync(file, 'wx');
    } catch (err) {
      throw diskError(err, 'RAFTD_IO', `create ${file}`);
    }
    this.dirDirty = true;
    const seg: Segment = { firstIndex, path: file, offsets: [], terms: [], bytes: 0, fileBytes: 0 };
    const previous = this.segments.at(-1);
    this.segments.push(seg);
    this.opts.log?.info('segment rolled', {
      file,
      firstIndex,
      previous: previous ? { file: previous.path, bytes: previous.bytes, entries: previous.offsets.length } : null,
    });
    return seg;
  }
}

function openForAppend(file: string): number {
  try {
    return fs.openSync(file, 'r+');
  } catch (err) {
    throw diskError(err, 'RAFTD_IO', `open ${file}`);
  }
}

function unlinkSegment(file: string): void {
  unlinkOrStop(file);
}

/** Cuts a torn tail off durably, so a later append never lands next to its bytes. */
function cutTornTail(file: string, validBytes: number): void {
  const fd = openForAppend(file);
  try {
    ftruncateOrStop(fd, file, validBytes);
    fdatasyncOrStop(fd, file);
  } finally {
    fs.closeSync(fd);
  }
}
