// The few fs calls durability rests on, with their failure modes turned into codes.
//
// An fsync that fails may already have dropped the dirty pages it could not write
// (Linux marks them clean), so a retry can "succeed" over lost data: a failed fsync is
// never retried. It throws RAFTD_FSYNC_FAILED and the caller stops the node.
import * as fs from 'node:fs';
import { RaftdError } from '../util/errors.js';

export function fdatasyncOrStop(fd: number, file: string): void {
  try {
    fs.fdatasyncSync(fd);
  } catch (err) {
    throw new RaftdError('RAFTD_FSYNC_FAILED', `fdatasync ${file}: ${(err as Error).message}`);
  }
}

export function fsyncOrStop(fd: number, file: string): void {
  try {
    fs.fsyncSync(fd);
  } catch (err) {
    throw new RaftdError('RAFTD_FSYNC_FAILED', `fsync ${file}: ${(err as Error).message}`);
  }
}

/** Makes creations, renames and deletions of a directory's entries durable. */
export function fsyncDir(dir: string): void {
  let fd: number;
  try {
    fd = fs.openSync(dir, 'r');
  } catch (err) {
    throw new RaftdError('RAFTD_IO', `open directory ${dir}: ${(err as Error).message}`);
  }
  try {
    fsyncOrStop(fd, dir);
  } finally {
    fs.closeSync(fd);
  }
}

/** Writes all of buf[start, end) at `position`. */
export function writeAllAt(fd: number, file: string, buf: Buffer, start: number, end: number, position: number): void {
  let done = start;
  try {
    while (done < end) {
      done += fs.writeSync(fd, buf, done, end - done, position + (done - start));
    }
  } catch (err) {
    throw new RaftdError('RAFTD_IO', `write ${file} at offset ${position + (done - start)}: ${(err as Error).message}`);
  }
}

export function ftruncateOrStop(fd: number, file: string, bytes: number): void {
  try {
    fs.ftruncateSync(fd, bytes);
  } catch (err) {
    throw new RaftdError('RAFTD_IO', `truncate ${file} to ${bytes} bytes: ${(err as Error).message}`);
  }
}

export function readWholeFile(file: string): Buffer {
  try {
    return fs.readFileSync(file);
  } catch (err) {
    throw new RaftdError('RAFTD_IO', `read ${file}: ${(err as Error).message}`);
  }
}
