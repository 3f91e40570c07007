// The on-disk record of one log entry. Pure encoding: no I/O.
//
//   record = bodyBytes (u32 LE) | crc32(body) (u32 LE) | body
//   body   = index (u64 LE) | term (u64 LE) | kind (u8) | tidBytes (u16 LE) | tid (utf8) | data (the rest)
//
// The CRC covers the body only; the length is checked for range instead (and a wrong
// length makes the CRC fail on the wrong bytes).
import { crc32 } from 'node:zlib';
import type { Entry, EntryKind } from '../raft/types.js';
import { assert, AssertionError } from '../util/assert.js';
import { copyBytes } from '../util/copy-bytes.js';
import { readU64, writeU64 } from './u64.js';

export const RECORD_HEADER_BYTES = 8;
/** index + term + kind + tid length. */
export const RECORD_BODY_BYTES_MIN = 8 + 8 + 1 + 2;
/** Bound on one record body (entry data + tid + fixed fields). */
export const RECORD_BODY_BYTES_MAX = 64 * 1024 * 1024;
export const TID_BYTES_MAX = 0xffff;

const KIND_OF_CODE: readonly EntryKind[] = ['normal', 'noop', 'config'];

/** Encoded size of one entry's record, header included. */
export function recordBytes(entry: Entry): number {
  return RECORD_HEADER_BYTES + RECORD_BODY_BYTES_MIN + Buffer.byteLength(entry.tid, 'utf8') + entry.data.byteLength;
}

export interface EncodedBatch {
  buf: Buffer;
  /** offsets[k] is where entry k's record starts in buf; offsets[n] === buf.length. */
  offsets: number[];
}

/**
 * Encodes a batch of entries into one buffer, so the batch is one write. With `scratch`
 * the records go to its start if they fit (the result views it: valid until the next
 * use of that scratch), else into a new buffer.
 */
export function encodeEntries(entries: readonly Entry[], scratch?: Buffer): EncodedBatch {
  const offsets: number[] = new Array<number>(entries.length + 1);
  let total = 0;
  for (let k = 0; k < entries.length; k++) {
    offsets[k] = total;
    total += recordBytes(entries[k]!);
  }
  offsets[entries.length] = total;
  const buf = scratch !== undefined && scratch.length >= total ? scratch.subarray(0, total) : Buffer.allocUnsafe(total);
  for (let k = 0; k < entries.length; k++) encodeInto(buf, offsets[k]!, offsets[k + 1]!, entries[k]!);
  return { buf, offsets };
}

function encodeInto(buf: Buffer, start: number, end: number, e: Entry): void {
  // Hot path: messages are only built when a check fails.
  if (!(Number.isSafeInteger(e.index) && e.index >= 1)) fail(`entry index must be a positive safe integer: ${e.index}`);
  if (!(Number.isSafeInteger(e.term) && e.term >= 0)) fail(`entry ${e.index}: term must be a safe integer >= 0: ${e.term}`);
  const kindCode = KIND_OF_CODE.indexOf(e.kind);
  if (kindCode < 0) fail(`entry ${e.index}: unknown kind ${String(e.kind)}`);
  const bodyBytes = end - start - RECORD_HEADER_BYTES;
  if (bodyBytes > RECORD_BODY_BYTES_MAX) fail(`entry ${e.index}: record body ${bodyBytes} B > ${RECORD_BODY_BYTES_MAX} B`);
  let p = start + RECORD_HEADER_BYTES;
  p = writeU64(buf, p, e.index);
  p = writeU64(buf, p, e.term);
  p = buf.writeUInt8(kindCode, p);
  const tidBytes = buf.write(e.tid, p + 2, 'utf8');
  if (tidBytes > TID_BYTES_MAX) fail(`entry ${e.index}: tid is ${tidBytes} B > ${TID_BYTES_MAX} B`);
  p = buf.writeUInt16LE(tidBytes, p) + tidBytes;
  copyBytes(buf, p, e.data);
  if (p + e.data.byteLength !== end) fail(`entry ${e.index}: record size mismatch`);
  buf.writeUInt32LE(bodyBytes, start);
  buf.writeUInt32LE(crc32(buf.subarray(start + RECORD_HEADER_BYTES, end)), start + 4);
}

function fail(message: string): never {
  throw new AssertionError(message);
}

/** What the record at an offset holds, fixed fields only (data is decoded on demand). */
export interface RecordMeta {
  offset: number;
  /** Offset just past the record. */
  end: number;
  index: number;
  term: number;
}

export type RecordCheck =
  | { ok: true; meta: RecordMeta }
  /** `end`: where the record claims to end (offset + 8 when the header itself is cut). */
  | { ok: false; end: number; problem: string };

/** Verifies the record at `offset` of `buf` (whose length is the end of the file). */
export function checkRecord(buf: Buffer, offset: number): RecordCheck {
  if (buf.length - offset < RECORD_HEADER_BYTES) {
    return { ok: false, end: offset + RECORD_HEADER_BYTES, problem: `header cut short (${buf.length - offset} of 8 bytes)` };
  }
  const bodyBytes = buf.readUInt32LE(offset);
  const end = offset + RECORD_HEADER_BYTES + bodyBytes;
  if (bodyBytes < RECORD_BODY_BYTES_MIN || bodyBytes > RECORD_BODY_BYTES_MAX) {
    return { ok: false, end, problem: `body length ${bodyBytes} out of range` };
  }
  if (end > buf.length) {
    return { ok: false, end, problem: `record cut short (${buf.length - offset} of ${end - offset} bytes)` };
  }
  const bodyStart = offset + RECORD_HEADER_BYTES;
  const crcStored = buf.readUInt32LE(offset + 4);
  const crcActual = crc32(buf.subarray(bodyStart, end));
  if (crcStored !== crcActual) {
    return { ok: false, end, problem: `crc mismatch (stored ${hex(crcStored)}, computed ${hex(crcActual)})` };
  }
  // The CRC matched, so anything wrong below was written that way: still corrupt.
  const index = readU64(buf, bodyStart);
  const term = readU64(buf, bodyStart + 8);
  if (!(index >= 1) || !(term >= 0)) return { ok: false, end, problem: 'index or term out of range' };
  const kind = buf.readUInt8(bodyStart + 16);
  if (kind >= KIND_OF_CODE.length) return { ok: false, end, problem: `unknown entry kind ${kind}` };
  const tidBytes = buf.readUInt16LE(bodyStart + 17);
  if (bodyStart + RECORD_BODY_BYTES_MIN + tidBytes > end) {
    return { ok: false, end, problem: `tid length ${tidBytes} past the body` };
  }
  return { ok: true, meta: { offset, end, index, term } };
}

/**
 * Decodes a record checkRecord accepted. `data` is a copy with its own ArrayBuffer, so
 * posting an entry to another thread never clones the whole file buffer.
 */
export function decodeEntry(buf: Buffer, meta: RecordMeta): Entry {
  const bodyStart = meta.offset + RECORD_HEADER_BYTES;
  const kind = KIND_OF_CODE[buf.readUInt8(bodyStart + 16)];
  assert(kind, 'decodeEntry on an unchecked record');
  const tidBytes = buf.readUInt16LE(bodyStart + 17);
  const tidStart = bodyStart + RECORD_BODY_BYTES_MIN;
  const tid = buf.toString('utf8', tidStart, tidStart + tidBytes);
  const data = new Uint8Array(buf.subarray(tidStart + tidBytes, meta.end));
  return { index: meta.index, term: meta.term, kind, tid, data };
}

function hex(n: number): string {
  return '0x' + n.toString(16).padStart(8, '0');
}
