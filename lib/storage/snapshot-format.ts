// A snapshot file: a header, then the state machine's bytes as the caller streamed them.
//
//   header  = magic "RAFTSNAP" | version (u32 LE, 1) | headerBytes (u32 LE) | headerCrc (u32 LE)
//             | index (u64 LE) | term (u64 LE) | contentBytes (u64 LE) | sha256(content) (32 B)
//             | configBytes (u32 LE) | config (msgpack, opaque to storage)
//   file    = header | content
//
// headerCrc is crc32 of the header with its own field zeroed. The header is written
// twice: a placeholder first, the final length and digest once the content is written.
// Files are named <dir>/<20-digit index>-<20-digit term>.snap, so names sort by
// index then term; a temporary file ends in .tmp (being written) or .recv (being
// received) and is never read as a snapshot.
import * as path from 'node:path';
import { crc32 } from 'node:zlib';
import { Packr, Unpackr } from 'msgpackr';
import { assert } from '../util/assert.js';
import { readU64, writeU64 } from './u64.js';

export const SNAPSHOT_MAGIC = Buffer.from('RAFTSNAP', 'latin1');
export const SNAPSHOT_VERSION = 1;
/** Bytes of the header before the config. */
export const SNAPSHOT_FIXED_BYTES = 8 + 4 + 4 + 4 + 8 + 8 + 8 + 32 + 4;
/** Bound on the encoded cluster configuration. */
export const SNAPSHOT_CONFIG_BYTES_MAX = 1024 * 1024;
/** Bound on one chunk written, read or received: what a writer or reader holds at a time. */
export const SNAPSHOT_CHUNK_BYTES_MAX = 4 * 1024 * 1024;
export const SNAPSHOT_DIGEST_BYTES = 32;

const CRC_OFFSET = 16;
const NAME = /^(\d{20})-(\d{20})\.snap$/;
const TEMP = /^\d{20}-\d{20}\.snap\.(tmp|recv)$/;

const packr = new Packr({ useRecords: false, structuredClone: false, moreTypes: false, bundleStrings: false });
const unpackr = new Unpackr({ useRecords: false, mapsAsObjects: true, structuredClone: false });

export interface SnapshotHeader {
  index: number;
  term: number;
  /** The cluster configuration as of `index`: any msgpack value; storage does not look inside. */
  config: unknown;
  contentBytes: number;
  /** sha256 of the content. */
  digest: Buffer;
  /** Where the content starts in the file. */
  headerBytes: number;
}

export function snapshotDirOf(dataDir: string): string {
  return path.join(dataDir, 'snapshot');
}

export function snapshotName(index: number, term: number): string {
  assert(Number.isSafeInteger(index) && index >= 1, `snapshot index ${index}`);
  assert(Number.isSafeInteger(term) && term >= 1, `snapshot term ${term}`);
  return `${String(index).padStart(20, '0')}-${String(term).padStart(20, '0')}.snap`;
}

/** index and term a snapshot file's name says, or null for any other name. */
export function parseSnapshotName(name: string): { index: number; term: number } | null {
  const m = NAME.exec(name);
  if (!m) return null;
  const index = Number(m[1]);
  const term = Number(m[2]);
  if (!Number.isSafeInteger(index) || index < 1 || !Number.isSafeInteger(term) || term < 1) return null;
  return { index, term };
}

export function isSnapshotTemp(name: string): boolean {
  return TEMP.test(name);
}

/** The encoded config, checked against its bound once, at the start of a write. */
export function encodeSnapshotConfig(config: unknown): Buffer {
  const buf = packr.pack(config);
  assert(buf.length <= SNAPSHOT_CONFIG_BYTES_MAX, `snapshot config is ${buf.length} B > ${SNAPSHOT_CONFIG_BYTES_MAX} B`);
  return buf;
}

export function encodeSnapshotHeader(index: number, term: number, config: Buffer, contentBytes: number, digest: Buffer): Buffer {
  assert(digest.length === SNAPSHOT_DIGEST_BYTES, 'sha256 digest');
  assert(Number.isSafeInteger(contentBytes) && contentBytes >= 0, `contentBytes ${contentBytes}`);
  const buf = Buffer.alloc(SNAPSHOT_FIXED_BYTES + config.length);
  SNAPSHOT_MAGIC.copy(buf, 0);
  let p = 8;
  p = buf.writeUInt32LE(SNAPSHOT_VERSION, p);
  p = buf.writeUInt32LE(buf.length, p);
  p += 4; // crc, below
  p = writeU64(buf, p, index);
  p = writeU64(buf, p, term);
  p = writeU64(buf, p, contentBytes);
  p += digest.copy(buf, p);
  p = buf.writeUInt32LE(config.length, p);
  config.copy(buf, p);
  buf.writeUInt32LE(crc32(buf), CRC_OFFSET);
  return buf;
}

/** How long the whole header is, from its fixed part; a problem string when that is not a header. */
export function snapshotHeaderBytes(fixed: Buffer): number | string {
  if (fixed.length < SNAPSHOT_FIXED_BYTES) return `file too short for a header (${fixed.length} B)`;
  if (!fixed.subarray(0, 8).equals(SNAPSHOT_MAGIC)) return 'not a snapshot (bad magic)';
  const version = fixed.readUInt32LE(8);
  if (version !== SNAPSHOT_VERSION) return `unknown snapshot version ${version}`;
  const headerBytes = fixed.readUInt32LE(12);
  if (headerBytes < SNAPSHOT_FIXED_BYTES || headerBytes > SNAPSHOT_FIXED_BYTES + SNAPSHOT_CONFIG_BYTES_MAX) {
    return `header length ${headerBytes} out of range`;
  }
  return headerBytes;
}

/** Parses a whole header; a problem string when it is damaged. */
export function decodeSnapshotHeader(buf: Buffer): SnapshotHeader | string {
  const headerBytes = snapshotHeaderBytes(buf);
  if (typeof headerBytes === 'string') return headerBytes;
  if (buf.length !== headerBytes) return `header is ${headerBytes} B, got ${buf.length} B`;
  const copy = Buffer.from(buf);
  copy.writeUInt32LE(0, CRC_OFFSET);
  if (crc32(copy) !== buf.readUInt32LE(CRC_OFFSET)) return 'header crc mismatch';
  let p = 20;
  const index = readU64(buf, p);
  const term = readU64(buf, (p += 8));
  const contentBytes = readU64(buf, (p += 8));
  const digest = Buffer.from(buf.subarray((p += 8), p + SNAPSHOT_DIGEST_BYTES));
  p += SNAPSHOT_DIGEST_BYTES;
  const configBytes = buf.readUInt32LE(p);
  p += 4;
  if (!(index >= 1) || !(term >= 1) || !(contentBytes >= 0)) return 'index, term or length out of range';
  if (p + configBytes !== headerBytes) return `config length ${configBytes} does not match the header length`;
  let config: unknown;
  try {
    config = unpackr.unpack(buf.subarray(p, headerBytes));
  } catch (err) {
    return `undecodable config: ${(err as Error).message}`.slice(0, 200);
  }
  return { index, term, config, contentBytes, digest, headerBytes };
}
