// <dataDir>/hardstate: term and vote, replaced atomically (write a temp file, fsync it,
// rename it over, fsync the directory), so a reader sees the old or the new state whole.
//
//   file = bodyBytes (u32 LE) | crc32(body) (u32 LE) | body
//   body = version (u8, 1) | term (u64 LE) | voteBytes (u16 LE, 0xffff = no vote) | vote (utf8)
import * as fs from 'node:fs';
import * as path from 'node:path';
import { crc32 } from 'node:zlib';
import type { HardState } from '../raft/types.js';
import { assert } from '../util/assert.js';
import { RaftdError } from '../util/errors.js';
import { diskError, fdatasyncFile, fsyncDir, fsyncOrStop, renameOrStop, writeAllAt } from './durable-fs.js';

const VERSION = 1;
const NO_VOTE = 0xffff;
const VOTE_BYTES_MAX = 0xfffe;
const HEADER_BYTES = 8;
const BODY_BYTES_MIN = 1 + 8 + 2;
const U32 = 0x1_0000_0000;

export const HARD_STATE_EMPTY: HardState = Object.freeze({ term: 0, vote: null }) as HardState;

export function hardStatePath(dataDir: string): string {
  return path.join(dataDir, 'hardstate');
}

export function encodeHardState(hs: HardState): Buffer {
  assert(Number.isSafeInteger(hs.term) && hs.term >= 0, `hard state term ${hs.term}`);
  const voteBytes = hs.vote === null ? 0 : Buffer.byteLength(hs.vote, 'utf8');
  assert(voteBytes <= VOTE_BYTES_MAX, `vote id is ${voteBytes} B`);
  const bodyBytes = BODY_BYTES_MIN + voteBytes;
  const buf = Buffer.alloc(HEADER_BYTES + bodyBytes);
  let p = HEADER_BYTES;
  p = buf.writeUInt8(VERSION, p);
  p = buf.writeUInt32LE(hs.term % U32, p);
  p = buf.writeUInt32LE(Math.floor(hs.term / U32), p);
  p = buf.writeUInt16LE(hs.vote === null ? NO_VOTE : voteBytes, p);
  if (hs.vote !== null) buf.write(hs.vote, p, 'utf8');
  buf.writeUInt32LE(bodyBytes, 0);
  buf.writeUInt32LE(crc32(buf.subarray(HEADER_BYTES)), 4);
  return buf;
}

/** Parses a hardstate file's bytes; `file` only names it in the error. */
export function decodeHardState(buf: Buffer, file: string): HardState {
  const corrupt = (what: string) => new RaftdError('RAFTD_HARDSTATE_CORRUPT', `${file}: ${what}`);
  if (buf.length < HEADER_BYTES + BODY_BYTES_MIN) throw corrupt(`only ${buf.length} bytes`);
  const bodyBytes = buf.readUInt32LE(0);
  if (bodyBytes !== buf.length - HEADER_BYTES) {
    throw corrupt(`length field says ${bodyBytes} body bytes, file has ${buf.length - HEADER_BYTES}`);
  }
  const body = buf.subarray(HEADER_BYTES);
  if (crc32(body) !== buf.readUInt32LE(4)) throw corrupt('crc mismatch');
  if (body.readUInt8(0) !== VERSION) throw corrupt(`unknown version ${body.readUInt8(0)}`);
  const hi = body.readUInt32LE(5);
  if (hi >= 0x20_0000) throw corrupt('term out of range');
  const term = hi * U32 + body.readUInt32LE(1);
  const voteBytes = body.readUInt16LE(9);
  if (voteBytes === NO_VOTE) {
    if (body.length !== BODY_BYTES_MIN) throw corrupt('bytes after an empty vote');
    return { term, vote: null };
  }
  if (body.length !== BODY_BYTES_MIN + voteBytes) throw corrupt(`vote length ${voteBytes} does not match the body`);
  return { term, vote: body.toString('utf8', BODY_BYTES_MIN) };
}

/** The stored hard state; {term: 0, vote: null} when there is none yet. Read-only. */
export function loadHardState(dataDir: string): HardState {
  const file = hardStatePath(dataDir);
  let buf: Buffer;
  try {
    buf = fs.readFileSync(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { ...HARD_STATE_EMPTY };
    throw diskError(err, 'RAFTD_IO', `read ${file}`);
  }
  return decodeHardState(buf, file);
}

/**
 * The hard state a starting node may act on. A crash between the rename and the
 * directory fsync of saveHardState leaves a rename that the page cache shows but a
 * power loss could undo; voting on it could vote twice in one term. So the file and
 * the directory are made durable before the state is used.
 */
export function recoverHardState(dataDir: string): HardState {
  const file = hardStatePath(dataDir);
  if (fs.existsSync(file)) fdatasyncFile(file);
  fsyncDir(dataDir);
  return loadHardState(dataDir);
}

/** Replaces the hard state durably: when this returns, a crash leaves exactly `hs`. */
export function saveHardState(dataDir: string, hs: HardState): void {
  const file = hardStatePath(dataDir);
  const tmp = file + '.tmp';
  const buf = encodeHardState(hs);
  let fd: number;
  try {
    fd = fs.openSync(tmp, 'w');
  } catch (err) {
    throw diskError(err, 'RAFTD_IO', `create ${tmp}`);
  }
  try {
    writeAllAt(fd, tmp, buf, 0, buf.length, 0);
    fsyncOrStop(fd, tmp);
  } finally {
    fs.closeSync(fd);
  }
  renameOrStop(tmp, file);
  fsyncDir(dataDir);
}
