// The few fs calls durability rests on, with their failure modes turned into codes.
//
// An fsync that fails may already have dropped the dirty pages it could not write
// (Linux marks them clean), so a retry can "succeed" over lost data: a failed fsync is
// never retried. It throws RAFTD_FSYNC_FAILED and the caller stops the node. A full disk
// (ENOSPC, EDQUOT) is RAFTD_DISK_FULL wherever it shows up, so the operator reads why.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { RaftdError, type ErrorCode } from '../util/errors.js';

export type SyncKind = 'fdatasync' | 'fsync' | 'fsyncDir';

/**
 * Told about every sync before it is made; it may throw an errno-style error to stand
 * for a failing device. Tests use it to see which syncs happen in which order.
 */
export type SyncProbe = (kind: SyncKind, file: string) => void;

let probe: SyncProbe | null = null;

/** Installs a probe for this thread; returns the function that removes it. */
export function probeSyncs(p: SyncProbe): () => void {
  probe = p;
  return () => {
    if (probe === p) probe = null;
  };
}

const DISK_FULL_ERRNOS = new Set(['ENOSPC', 'EDQUOT']);

/** The error for a failed fs call: RAFTD_DISK_FULL for a full disk, else `code`. */
export function diskError(err: unknown, code: ErrorCode, what: string): RaftdError {
  const errno = (err as NodeJS.ErrnoException).code;
  const full = errno !== undefined && DISK_FULL_ERRNOS.has(errno);
  return new RaftdError(full ? 'RAFTD_DISK_FULL' : code, `${what}: ${(err as Error).message}`);
}

function sync(kind: SyncKind, fd: number, file: string): void {
  try {
    probe?.(kind, file);
    if (kind === 'fdatasync') fs.fdatasyncSync(fd);
    else fs.fsyncSync(fd);
  } catch (err) {
    throw diskError(err, 'RAFTD_FSYNC_FAILED', `${kind === 'fdatasync' ? 'fdatasync' : 'fsync'} ${file}`);
  }
}

export function fdatasyncOrStop(fd: number, file: string): void {
  sync('fdatasync', fd, file);
}

export function fsyncOrStop(fd: number, file: string): void {
  sync('fsync', fd, file);
}

/** Makes creations, renames and deletions of a directory's entries durable. */
export function fsyncDir(dir: string): void {
  let fd: number;
  try {
    fd = fs.openSync(dir, 'r');
  } catch (err) {
    throw diskError(err, 'RAFTD_IO', `open directory ${dir}`);
  }
  try {
    sync('fsyncDir', fd, dir);
  } finally {
    fs.closeSync(fd);
  }
}

/** fdatasync of a file by name (opened read-only: enough for Linux to flush it). */
export function fdatasyncFile(file: string): void {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch (err) {
    throw diskError(err, 'RAFTD_IO', `open ${file}`);
  }
  try {
    fdatasyncOrStop(fd, file);
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Makes `dir` exist durably: creates what is missing of it and fsyncs `dir`, its parent
 * and its grandparent, created or not. Cheap when nothing changed, and it covers a
 * directory another part of the process created without syncing (mkdir -p does not).
 */
export function ensureDirDurable(dir: string): void {
  try {
    fs.mkdirSync(dir, { recursive: true });
  } catch (err) {
    throw diskError(err, 'RAFTD_IO', `create ${dir}`);
  }
  const parent = path.dirname(dir);
  fsyncDir(dir);
  fsyncDir(parent);
  if (path.dirname(parent) !== parent) fsyncDir(path.dirname(parent));
}

/** Writes all of buf[start, end) at `position`. */
export function writeAllAt(fd: number, file: string, buf: Buffer, start: number, end: number, position: number): void {
  let done = start;
  try {
    while (done < end) {
      done += fs.writeSync(fd, buf, done, end - done, position + (done - start));
    }
  } catch (err) {
    throw diskError(err, 'RAFTD_IO', `write ${file} at offset ${position + (done - start)}`);
  }
}

export function ftruncateOrStop(fd: number, file: string, bytes: number): void {
  try {
    fs.ftruncateSync(fd, bytes);
  } catch (err) {
    throw diskError(err, 'RAFTD_IO', `truncate ${file} to ${bytes} bytes`);
  }
}

export function readWholeFile(file: string): Buffer {
  try {
    return fs.readFileSync(file);
  } catch (err) {
    throw diskError(err, 'RAFTD_IO', `read ${file}`);
  }
}

export function unlinkOrStop(file: string): void {
  try {
    fs.unlinkSync(file);
  } catch (err) {
    throw diskError(err, 'RAFTD_IO', `delete ${file}`);
  }
}

export function renameOrStop(from: string, to: string): void {
  try {
    fs.renameSync(from, to);
  } catch (err) {
    throw diskError(err, 'RAFTD_IO', `rename ${from} to ${to}`);
  }
}

/**
 * The error a node stops with after a storage failure, saying why in words an operator
 * acts on. Keeps the code; nothing after it is acknowledged.
 */
export function stopError(err: unknown, dataDir: string): unknown {
  if (!(err instanceof RaftdError)) return err;
  switch (err.code) {
    case 'RAFTD_DISK_FULL':
      return new RaftdError(err.code, `disk full under ${dataDir}, stopping: ${err.message}. Every acknowledged write is on disk; free space and restart`);
    case 'RAFTD_FSYNC_FAILED':
      return new RaftdError(err.code, `fsync failed, stopping (a failed fsync is never retried): ${err.message}`);
    case 'RAFTD_IO':
      return new RaftdError(err.code, `disk I/O error, stopping: ${err.message}`);
    default:
      return err;
  }
}

/** A small file's text, or null when it does not exist (any other failure is RAFTD_IO). */
export function readTextIfExists(file: string): string | null {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new RaftdError('RAFTD_IO', `cannot read ${file}: ${(err as Error).message}`);
  }
}

/** Replaces `dir/name` with `text` atomically and durably: temp file, fdatasync, rename, fsync of the directory. */
export function writeTextDurable(dir: string, name: string, text: string): void {
  ensureDirDurable(dir);
  const file = path.join(dir, name);
  const tmp = `${file}.tmp`;
  try {
    fs.writeFileSync(tmp, text);
  } catch (err) {
    throw new RaftdError('RAFTD_IO', `cannot write ${tmp}: ${(err as Error).message}`);
  }
  fdatasyncFile(tmp);
  renameOrStop(tmp, file);
  fsyncDir(dir);
}
