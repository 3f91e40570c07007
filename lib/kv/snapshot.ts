// The whole key-value state as a sequence of chunks (for Raft snapshots, issue 9) and
// back: keys with their values, deadlines and versions, in the key list's order
// (RANDOMKEY inside a transaction depends on it; a hash's field order shows in HGETALL,
// a set's in SMEMBERS: each is kept too), then the tombstones, then the request-id table.
// Each chunk is a msgpack array [tag, ...], at most about SNAPSHOT_CHUNK_BYTES (one value
// is never split), so a sender never holds the whole state as one buffer. Each has
// CHUNK_HEADROOM_BYTES free in front of it in its buffer: the taker writes its length
// prefix there, with no copy (lib/replica/snapshots.ts frame()).
//
// Format 2 (written): ['head', 'raftd-kv-2', lastIndex, timeMs, tombstoneFloor, keyCount],
// then ['keys2', n, records] chunks, ['tombstones2', n, records], ['dedup2', n, records],
// ['end']. `records` is one binary buffer of n records (records.ts), so a chunk of
// thousands of keys is packed and unpacked without thousands of small objects:
//   key record:  key, flags (u8: type, has a deadline, small version), deadline (f64, if any),
//                version (u32 if small, else f64), then the value:
//                string: bytes; hash: u32 n, n x (field, bytes); list: u32 n, n x bytes;
//                set: u32 n, n x member; zset: u32 n, n x (member, f64 score)
//   tombstone:   key, index (f64)
//   request id:  tid (utf8), index (f64), reply (bytes)
// Format 1 (the first snapshots: one msgpack row per key) is still restored.
// Chunks are written by a cursor (snapshot-cursor.ts) and read here.
import { Packr } from 'msgpackr';
import { assert } from '../util/assert.js';
import { RaftdError } from '../util/errors.js';
import { Keyspace } from './db.js';
import { IndexedSet } from './indexed-set.js';
import { RecordReader, type RecordWriter } from './records.js';
import { SkipList } from './skiplist.js';
import { Deque, SCORE_BYTES, STRING_INLINE_BYTES_MAX, stringValue, stringValueOf, type Value, type ZSet } from './values.js';

const packr = new Packr({ useRecords: false, moreTypes: false });

export const SNAPSHOT_CHUNK_BYTES = 256 * 1024;
const FORMAT_1 = 'raftd-kv-1';
const FORMAT = 'raftd-kv-2';

export interface DedupRecord {
  index: number;
  reply: Buffer;
}

export interface SnapshotState {
  ks: Keyspace;
  dedup: Map<string, DedupRecord>;
  lastIndex: number;
}

function bad(what: string): never {
  throw new RaftdError('RAFTD_FRAME_MALFORMED', `bad snapshot: ${what}`);
}

// ------------------------------------------------------------ writing (format 2)

const TYPE_CODES = { string: 0, hash: 1, list: 2, set: 3, zset: 4 } as const;
const TYPES = ['string', 'hash', 'list', 'set', 'zset'] as const;
// A key record's flags byte: the type in the low bits, then what follows.
const TYPE_MASK = 0x0f;
const HAS_DEADLINE = 0x10;
/** The version is a u32, not a float64. */
const SMALL_VERSION = 0x20;

/** Free bytes in front of every chunk in its ArrayBuffer (a 4-byte length prefix fits). */
export const CHUNK_HEADROOM_BYTES = 4;

/**
 * Memory for a chunk of `bytes` bytes with CHUNK_HEADROOM_BYTES free in front of it in the
 * same buffer: by default an ArrayBuffer of its own; a taker may hand out reused shared
 * slots instead (lib/replica/chunk-slots.ts).
 */
export type ChunkAlloc = (bytes: number) => Uint8Array;

/** A new ArrayBuffer of its own: one allocation, not zeroed (every byte is written before it is read). */
export const ownChunk: ChunkAlloc = (bytes) => Buffer.allocUnsafeSlow(CHUNK_HEADROOM_BYTES + bytes).subarray(CHUNK_HEADROOM_BYTES);

function owned(b: Uint8Array): Uint8Array {
  const out = ownChunk(b.length);
  out.set(b);
  return out;
}

export function encodeHead(lastIndex: number, timeMs: number, tombstoneFloor: number, keyCount: number): Uint8Array {
  return owned(packr.pack(['head', FORMAT, lastIndex, timeMs, tombstoneFloor, keyCount]));
}

export function encodeEnd(): Uint8Array {
  return owned(packr.pack(['end']));
}

// A records chunk's msgpack header, written by hand so the body is copied once, straight
// into the chunk (msgpackr's pack copied it into its own buffer, and framing copied that
// again: on 100 KB values, two fresh 256 KiB buffers a chunk on the main thread):
// fixarray(3), fixstr tag, uint32 n, bin32 body. Any msgpack reader reads it.
const MP_FIXARRAY_3 = 0x93;
const MP_FIXSTR = 0xa0;
const MP_UINT32 = 0xce;
const MP_BIN32 = 0xc6;

/** Records of one kind, packed as one chunk once about SNAPSHOT_CHUNK_BYTES are written. */
export class ChunkBuilder {
  private n = 0;

  /** `w` is scratch space, reset here: its bytes are copied into the chunk by take(). */
  constructor(
    private readonly tag: 'keys2' | 'tombstones2' | 'dedup2',
    private readonly w: RecordWriter,
    private readonly chunkBytes: number,
  ) {
    w.reset();
  }

  get full(): boolean {
    return this.w.length >= this.chunkBytes;
  }

  get empty(): boolean {
    return this.n === 0;
  }

  key(k: string, v: Value, deadline: number | undefined, version: number): void {
    const w = this.w;
    w.latin1(k);
    const small = version <= 0xffffffff;
    w.u8(TYPE_CODES[v.type] | (deadline !== undefined ? HAS_DEADLINE : 0) | (small ? SMALL_VERSION : 0));
    if (deadline !== undefined) w.f64(deadline);
    if (small) w.u32(version);
    else w.f64(version);
    switch (v.type) {
      case 'string':
        // The same layout either way: a length, then the bytes.
        if (typeof v.v === 'string') w.latin1(v.v);
        else w.bytes(v.v);
        break;
      case 'hash':
        w.u32(v.v.size);
        for (const [f, x] of v.v) {
          w.latin1(f);
          w.bytes(x);
        }
        break;
      case 'list':
        w.u32(v.v.length);
        for (let i = 0; i < v.v.length; i++) w.bytes(v.v.get(i));
        break;
      case 'set':
        w.u32(v.v.size);
        for (const m of v.v) w.latin1(m);
        break;
      case 'zset':
        w.u32(v.v.scores.size);
        for (const [m, score] of v.v.scores) {
          w.latin1(m);
          w.f64(score);
        }
        break;
    }
    this.n++;
  }

  tombstone(k: string, index: number): void {
    this.w.latin1(k);
    this.w.f64(index);
    this.n++;
  }

  dedup(tid: string, r: DedupRecord): void {
    this.w.utf8(tid);
    this.w.f64(r.index);
    this.w.bytes(r.reply);
    this.n++;
  }

  /** The chunk, in memory from `alloc` (behind CHUNK_HEADROOM_BYTES); the builder is not used after. */
  take(alloc: ChunkAlloc = ownChunk): Uint8Array {
    const body = this.w.done();
    const tag = this.tag;
    const headBytes = 1 + 1 + tag.length + 5 + 5;
    const mem = alloc(headBytes + body.length);
    assert(mem.length === headBytes + body.length && mem.byteOffset >= CHUNK_HEADROOM_BYTES, 'chunk memory');
    const out = Buffer.from(mem.buffer, mem.byteOffset, mem.length);
    let at = 0;
    out[at++] = MP_FIXARRAY_3;
    out[at++] = MP_FIXSTR | tag.length;
    at += out.write(tag, at, 'latin1');
    out[at++] = MP_UINT32;
    at = out.writeUInt32BE(this.n, at);
    out[at++] = MP_BIN32;
    at = out.writeUInt32BE(body.length, at);
    assert(at === headBytes, 'chunk header size');
    out.set(body, at);
    return out;
  }
}

// ------------------------------------------------------------ reading

function readValue(r: RecordReader, code: number): Value {
  const type = TYPES[code];
  switch (type) {
    case 'string':
      return stringValueOf(r.stringBytes(STRING_INLINE_BYTES_MAX));
    case 'hash': {
      const m = new Map<string, Buffer>();
      let bytes = 0;
      for (let i = r.u32(); i > 0; i--) {
        const f = r.latin1();
        const x = r.bytes();
        m.set(f, x);
        bytes += f.length + x.length;
      }
      return { type, v: m, bytes, counted: 0 };
    }
    case 'list': {
      const items: Buffer[] = [];
      let bytes = 0;
      for (let i = r.u32(); i > 0; i--) {
        const x = r.bytes();
        items.push(x);
        bytes += x.length;
      }
      const d = new Deque();
      d.reset(items);
      return { type, v: d, bytes, counted: 0 };
    }
    case 'set': {
      const members: string[] = [];
      let bytes = 0;
      for (let i = r.u32(); i > 0; i--) {
        const m = r.latin1();
        members.push(m);
        bytes += m.length;
      }
      const set = IndexedSet.ofDistinct(members);
      if (set.size !== members.length) bad('a set member twice');
      return { type, v: set, bytes, counted: 0 };
    }
    case 'zset': {
      const z: ZSet = { scores: new Map(), order: new SkipList() };
      let bytes = 0;
      for (let i = r.u32(); i > 0; i--) {
        const m = r.latin1();
        const score = r.f64();
        if (Number.isNaN(score)) bad('score');
        if (z.scores.has(m)) bad('a sorted set member twice');
        z.scores.set(m, score);
        z.order.insert(score, m);
        bytes += m.length + SCORE_BYTES;
      }
      return { type, v: z, bytes, counted: 0 };
    }
    default:
      bad(`type ${code}`);
  }
}

/** Format 1's value payload: a msgpack array. */
function valueOf1(type: unknown, p: unknown): Value {
  if (!Array.isArray(p)) bad('payload');
  const s = (x: unknown): string => {
    if (!(x instanceof Uint8Array)) bad('expected bytes');
    return Buffer.from(x).toString('latin1');
  };
  switch (type) {
    case 'string':
      if (!(p[0] instanceof Uint8Array)) bad('expected bytes');
      return stringValue(p[0]);
    case 'hash': {
      const m = new Map<string, Buffer>();
      let bytes = 0;
      for (let i = 0; i + 1 < p.length; i += 2) {
        const f = s(p[i]);
        const x = Buffer.from(p[i + 1] as Uint8Array);
        m.set(f, x);
        bytes += f.length + x.length;
      }
      return { type, v: m, bytes, counted: 0 };
    }
    case 'list': {
      const items = p.map((x) => Buffer.from(x as Uint8Array));
      const d = new Deque();
      d.reset(items);
      return { type, v: d, bytes: items.reduce((n, x) => n + x.length, 0), counted: 0 };
    }
    case 'set': {
      const set = new IndexedSet(p.map(s));
      let bytes = 0;
      for (const m of set) bytes += m.length;
      return { type, v: set, bytes, counted: 0 };
    }
    case 'zset': {
      const z: ZSet = { scores: new Map(), order: new SkipList() };
      let bytes = 0;
      for (let i = 0; i + 1 < p.length; i += 2) {
        const m = s(p[i]);
        const score = p[i + 1];
        if (typeof score !== 'number' || Number.isNaN(score)) bad('score');
        z.scores.set(m, score);
        z.order.insert(score, m);
        bytes += m.length + SCORE_BYTES;
      }
      return { type, v: z, bytes, counted: 0 };
    }
    default:
      bad(`type ${String(type)}`);
  }
}

/** The records of a format 2 chunk, checked to hold exactly `n` records. */
function records(c: unknown[], each: (r: RecordReader) => void): void {
  const n = c[1];
  const body = c[2];
  if (typeof n !== 'number' || !(body instanceof Uint8Array)) bad(`${String(c[0])} chunk`);
  const r = new RecordReader(Buffer.from(body.buffer, body.byteOffset, body.byteLength));
  for (let i = 0; i < n; i++) each(r);
  if (!r.atEnd) bad(`${String(c[0])} chunk: bytes after its records`);
}

/** Rebuilds a state from chunks made by a snapshot cursor (either format). */
export function restoreChunks(chunks: Iterable<Uint8Array>): SnapshotState {
  const ks = new Keyspace();
  const dedup = new Map<string, DedupRecord>();
  // The key list's order; the key list and the scan index are built from it at the end, in one go.
  const order: string[] = [];
  let lastIndex = -1;
  let format = '';
  let ended = false;
  let bytes = 0;
  const addKey = (k: string, v: Value, deadline: number | null, version: number): void => {
    if (!Number.isFinite(version)) bad('version');
    ks.values.set(k, v); // a key twice shows in the count at the end
    order.push(k);
    v.counted = v.bytes;
    bytes += k.length + v.bytes;
    if (deadline !== null) ks.deadlines.set(k, deadline);
    ks.versions.set(k, version);
  };
  const tombstones = new Map<string, number>();
  for (const chunk of chunks) {
    if (ended) bad('data after the end');
    const c = packr.unpack(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength)) as unknown;
    if (!Array.isArray(c)) bad('chunk');
    if (c[0] !== 'head' && format === '') bad('no head');
    switch (c[0]) {
      case 'head':
        if (format !== '') bad('two heads');
        if (c[1] !== FORMAT && c[1] !== FORMAT_1) bad(`format ${String(c[1])}`);
        format = c[1];
        lastIndex = c[2] as number;
        ks.timeMs = c[3] as number;
        ks.tombstoneFloor = c[4] as number;
        break;
      case 'keys2':
        records(c, (r) => {
          const k = r.latin1();
          const flags = r.u8();
          const deadline = (flags & HAS_DEADLINE) !== 0 ? r.f64() : null;
          const version = (flags & SMALL_VERSION) !== 0 ? r.u32() : r.f64();
          addKey(k, readValue(r, flags & TYPE_MASK), deadline, version);
        });
        break;
      case 'tombstones2':
        records(c, (r) => {
          const k = r.latin1();
          tombstones.set(k, r.f64());
        });
        break;
      case 'dedup2': {
        // One copy of the chunk's bytes for all its replies: records are forgotten oldest
        // first, so a chunk's copy is freed soon after its last record.
        const body = c[2];
        if (!(body instanceof Uint8Array)) bad('dedup chunk');
        const own = Buffer.from(body);
        let prev: Buffer | null = null;
        records([c[0], c[1], own], (r) => {
          const tid = r.utf8();
          const index = r.f64();
          const reply = r.viewOr(prev);
          prev = reply;
          dedup.set(tid, { index, reply });
        });
        break;
      }
      case 'keys':
        for (const row of c[1] as unknown[][]) {
          if (!(row[0] instanceof Uint8Array)) bad('key');
          addKey(Buffer.from(row[0]).toString('latin1'), valueOf1(row[1], row[4]), row[2] as number | null, row[3] as number);
        }
        break;
      case 'tombstones':
        for (const [k, i] of c[1] as [Uint8Array, number][]) tombstones.set(Buffer.from(k).toString('latin1'), i);
        break;
      case 'dedup':
        for (const [tid, index, reply] of c[1] as [string, number, Uint8Array][]) dedup.set(tid, { index, reply: Buffer.from(reply) });
        break;
      case 'end':
        ended = true;
        break;
      default:
        bad(`tag ${String(c[0])}`);
    }
  }
  if (!ended || lastIndex < 0) bad('incomplete');
  if (ks.values.size !== order.length) bad('a key twice');
  for (const [k, i] of tombstones) {
    if (ks.values.has(k)) bad('a key present and a tombstone');
    ks.tombstones.set(k, i);
  }
  ks.loadKeyOrder(order);
  ks.index.load(order);
  ks.bytes = bytes;
  return { ks, dedup, lastIndex };
}

