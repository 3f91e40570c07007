// The whole key-value state as a sequence of chunks (for Raft snapshots, issue 9) and
// back: keys with their values, deadlines and versions, in the key list's order
// (RANDOMKEY inside a transaction depends on it; a hash's field order shows in HGETALL,
// a set's in SMEMBERS: each is kept too), then the tombstones, then the request-id table. Each chunk is a msgpack
// array [tag, ...], at most about SNAPSHOT_CHUNK_BYTES, so a sender never holds the whole
// state as one buffer.
import { Packr } from 'msgpackr';
import { RaftdError } from '../util/errors.js';
import { Keyspace } from './db.js';
import { IndexedSet } from './indexed-set.js';
import { SkipList } from './skiplist.js';
import { Deque, SCORE_BYTES, type Value, type ZSet } from './values.js';

const packr = new Packr({ useRecords: false, moreTypes: false });

export const SNAPSHOT_CHUNK_BYTES = 256 * 1024;
const FORMAT = 'raftd-kv-1';

export interface DedupRecord {
  index: number;
  reply: Buffer;
}

export interface SnapshotState {
  ks: Keyspace;
  dedup: Map<string, DedupRecord>;
  lastIndex: number;
}

const b = (k: string): Buffer => Buffer.from(k, 'latin1');
const s = (x: unknown): string => {
  if (!(x instanceof Uint8Array)) bad('expected bytes');
  return Buffer.from(x).toString('latin1');
};

function bad(what: string): never {
  throw new RaftdError('RAFTD_FRAME_MALFORMED', `bad snapshot: ${what}`);
}

function payload(v: Value): unknown[] {
  switch (v.type) {
    case 'string':
      return [v.v];
    case 'hash':
      return [...v.v].flatMap(([f, x]) => [b(f), x]);
    case 'list':
      return v.v.toArray();
    case 'set':
      return [...v.v].map(b);
    case 'zset':
      return [...v.v.scores].flatMap(([m, score]) => [b(m), score]);
  }
}

/** The state as chunks; the state must not change while they are taken. */
export function* snapshotChunks(st: SnapshotState): Generator<Uint8Array> {
  const { ks } = st;
  yield packr.pack(['head', FORMAT, st.lastIndex, ks.timeMs, ks.tombstoneFloor, ks.values.size]);
  let rows: unknown[] = [];
  let bytes = 0;
  // In the key list's order: RANDOMKEY inside a transaction depends on it.
  for (const k of ks.keyList) {
    const v = ks.values.get(k)!;
    rows.push([b(k), v.type, ks.deadlines.get(k) ?? null, ks.versions.get(k)!, payload(v)]);
    bytes += k.length + v.bytes + 32;
    if (bytes >= SNAPSHOT_CHUNK_BYTES) {
      yield packr.pack(['keys', rows]);
      rows = [];
      bytes = 0;
    }
  }
  if (rows.length > 0) yield packr.pack(['keys', rows]);
  yield packr.pack(['tombstones', [...ks.tombstones].map(([k, i]) => [b(k), i])]);
  yield packr.pack(['dedup', [...st.dedup].map(([tid, r]) => [tid, r.index, r.reply])]);
  yield packr.pack(['end']);
}

function valueOf(type: unknown, p: unknown): Value {
  if (!Array.isArray(p)) bad('payload');
  switch (type) {
    case 'string': {
      const v = Buffer.from(p[0] as Uint8Array);
      return { type, v, bytes: v.length, counted: 0 };
    }
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

/** Rebuilds a state from chunks made by snapshotChunks. */
export function restoreChunks(chunks: Iterable<Uint8Array>): SnapshotState {
  const ks = new Keyspace();
  const dedup = new Map<string, DedupRecord>();
  let lastIndex = -1;
  let ended = false;
  for (const chunk of chunks) {
    if (ended) bad('data after the end');
    const c = packr.unpack(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength)) as unknown;
    if (!Array.isArray(c)) bad('chunk');
    switch (c[0]) {
      case 'head':
        if (c[1] !== FORMAT) bad(`format ${String(c[1])}`);
        lastIndex = c[2] as number;
        ks.timeMs = c[3] as number;
        ks.tombstoneFloor = c[4] as number;
        break;
      case 'keys':
        for (const row of c[1] as unknown[][]) {
          const k = s(row[0]);
          const v = valueOf(row[1], row[4]);
          ks.values.set(k, v);
          ks.index.add(k);
          ks.keyList.add(k);
          v.counted = v.bytes;
          ks.bytes += k.length + v.bytes;
          if (row[2] !== null) ks.deadlines.set(k, row[2] as number);
          ks.versions.set(k, row[3] as number);
        }
        break;
      case 'tombstones':
        for (const [k, i] of c[1] as [Uint8Array, number][]) ks.tombstones.set(s(k), i);
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
  return { ks, dedup, lastIndex };
}
