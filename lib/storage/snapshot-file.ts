// One snapshot file on disk: verifying it (streamed, bounded memory), reading it in
// chunks, and the temporary file a snapshot is written or received into before the
// rename that publishes it.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { assert } from '../util/assert.js';
import { diskError, fdatasyncOrStop, fsyncDir, renameOrStop, unlinkOrStop, writeAllAt } from './durable-fs.js';
import { decodeSnapshotHeader, SNAPSHOT_CHUNK_BYTES_MAX, SNAPSHOT_FIXED_BYTES, snapshotHeaderBytes, type SnapshotHeader } from './snapshot-format.js';

/** A verified snapshot file. */
export interface SnapshotMeta extends SnapshotHeader {
  path: string;
  /** headerBytes + contentBytes: what a follower receives. */
  fileBytes: number;
}

/** Reads up to `bytes` at `position`; fewer only at end of file. */
function readAt(fd: number, file: string, buf: Buffer, bytes: number, position: number): number {
  let done = 0;
  try {
    while (done < bytes) {
      const n = fs.readSync(fd, buf, done, bytes - done, position + done);
      if (n === 0) break;
      done += n;
    }
  } catch (err) {
    throw diskError(err, 'RAFTD_IO', `read ${file} at offset ${position + done}`);
  }
  return done;
}

function openRead(file: string): number {
  try {
    return fs.openSync(file, 'r');
  } catch (err) {
    throw diskError(err, 'RAFTD_IO', `open ${file}`);
  }
}

/**
 * Checks a snapshot file whole: header, length, and the sha256 of its content, read
 * SNAPSHOT_CHUNK_BYTES_MAX at a time. Returns the metadata, or a problem string for a
 * damaged or half-written file. An I/O error throws (that is not a bad snapshot).
 */
export function verifySnapshotFile(file: string): SnapshotMeta | string {
  const fd = openRead(file);
  try {
    const size = fs.fstatSync(fd).size;
    const fixed = Buffer.alloc(SNAPSHOT_FIXED_BYTES);
    const got = readAt(fd, file, fixed, fixed.length, 0);
    const headerBytes = snapshotHeaderBytes(fixed.subarray(0, got));
    if (typeof headerBytes === 'string') return headerBytes;
    if (size < headerBytes) return `file of ${size} B is shorter than its ${headerBytes} B header`;
    const headerBuf = Buffer.alloc(headerBytes);
    readAt(fd, file, headerBuf, headerBytes, 0);
    const header = decodeSnapshotHeader(headerBuf);
    if (typeof header === 'string') return header;
    const fileBytes = header.headerBytes + header.contentBytes;
    if (size !== fileBytes) return `file is ${size} B, its header says ${fileBytes} B`;
    const hash = createHash('sha256');
    const chunk = Buffer.allocUnsafe(Math.min(SNAPSHOT_CHUNK_BYTES_MAX, Math.max(1, header.contentBytes)));
    for (let pos = header.headerBytes; pos < fileBytes; ) {
      const n = readAt(fd, file, chunk, Math.min(chunk.length, fileBytes - pos), pos);
      if (n === 0) return `file ended at ${pos} B`;
      hash.update(chunk.subarray(0, n));
      pos += n;
    }
    if (!hash.digest().equals(header.digest)) return 'content sha256 mismatch';
    return { ...header, path: file, fileBytes };
  } finally {
    fs.closeSync(fd);
  }
}

function assertChunk(bytesMax: number): void {
  assert(Number.isSafeInteger(bytesMax) && bytesMax >= 1 && bytesMax <= SNAPSHOT_CHUNK_BYTES_MAX, `read of ${bytesMax} B: 1 to at most ${SNAPSHOT_CHUNK_BYTES_MAX} B a chunk`);
}

/** Reads a verified snapshot in bounded chunks, by content offset or by file offset. */
export class SnapshotReader {
  private fd: number | null;

  constructor(readonly meta: SnapshotMeta) {
    this.fd = openRead(meta.path);
  }

  /** Up to bytesMax content bytes from `offset` (0 = the first content byte); empty at the end. */
  readContent(offset: number, bytesMax: number): Buffer {
    assertChunk(bytesMax);
    assert(offset >= 0 && offset <= this.meta.contentBytes, `content offset ${offset} outside [0, ${this.meta.contentBytes}]`);
    return this.read(this.meta.headerBytes + offset, Math.min(bytesMax, this.meta.contentBytes - offset));
  }

  /** Up to bytesMax raw file bytes from `offset`: what InstallSnapshot sends. */
  readFile(offset: number, bytesMax: number): Buffer {
    assertChunk(bytesMax);
    assert(offset >= 0 && offset <= this.meta.fileBytes, `file offset ${offset} outside [0, ${this.meta.fileBytes}]`);
    return this.read(offset, Math.min(bytesMax, this.meta.fileBytes - offset));
  }

  /** The whole content, chunk by chunk. */
  *chunks(chunkBytes = SNAPSHOT_CHUNK_BYTES_MAX): Generator<Buffer, void, void> {
    for (let off = 0; off < this.meta.contentBytes; ) {
      const c = this.readContent(off, chunkBytes);
      assert(c.length > 0, 'snapshot shrank while read');
      off += c.length;
      yield c;
    }
  }

  close(): void {
    if (this.fd !== null) fs.closeSync(this.fd);
    this.fd = null;
  }

  private read(position: number, bytes: number): Buffer {
    assert(this.fd !== null, 'snapshot reader is closed');
    const buf = Buffer.allocUnsafe(bytes);
    const n = readAt(this.fd, this.meta.path, buf, bytes, position);
    if (n !== bytes) throw diskError(new Error(`short read: ${n} of ${bytes} B`), 'RAFTD_IO', `read ${this.meta.path} at offset ${position}`);
    return buf;
  }
}

/**
 * The file a snapshot is written or received into. publish() makes it durable and
 * gives it its final name: fdatasync, close, rename, directory fsync.
 */
export class SnapshotTemp {
  private fd: number | null;

  constructor(
    readonly path: string,
    readonly finalPath: string,
  ) {
    assert(path !== finalPath && path.startsWith(finalPath), 'temp name extends the final name');
    try {
      this.fd = fs.openSync(path, 'w');
    } catch (err) {
      throw diskError(err, 'RAFTD_IO', `create ${path}`);
    }
  }

  get open(): boolean {
    return this.fd !== null;
  }

  writeAt(buf: Buffer, position: number): void {
    assert(this.fd !== null, 'snapshot temp file is closed');
    writeAllAt(this.fd, this.path, buf, 0, buf.length, position);
  }

  /** fdatasync and close; the file keeps its temporary name. */
  seal(): void {
    assert(this.fd !== null, 'snapshot temp file is closed');
    const fd = this.fd;
    this.fd = null;
    try {
      fdatasyncOrStop(fd, this.path);
    } finally {
      fs.closeSync(fd);
    }
  }

  /** Renames a sealed file to its final name, durably. */
  publish(): void {
    assert(this.fd === null, 'publish before seal');
    renameOrStop(this.path, this.finalPath);
    fsyncDir(path.dirname(this.finalPath));
  }

  /** Closes and deletes the temporary file (what a crash would leave is cleaned on open). */
  discard(): void {
    if (this.fd !== null) fs.closeSync(this.fd);
    this.fd = null;
    if (fs.existsSync(this.path)) unlinkOrStop(this.path);
  }
}
