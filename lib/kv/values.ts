// The five value types a key can hold, each with its size in bytes kept up to date
// (the per-key byte bound and the store's byte count read it without a walk).
import { copyBytes } from '../util/copy-bytes.js';
import { IndexedSet } from './indexed-set.js';
import { SkipList } from './skiplist.js';

export class Deque {
  private buf: (Buffer | undefined)[] = new Array<Buffer | undefined>(8);
  private head = 0;
  length = 0;

  private grow(): void {
    const next = new Array<Buffer | undefined>(this.buf.length * 2);
    for (let i = 0; i < this.length; i++) next[i] = this.get(i);
    this.buf = next;
    this.head = 0;
  }

  get(i: number): Buffer {
    return this.buf[(this.head + i) % this.buf.length]!;
  }

  set(i: number, v: Buffer): void {
    this.buf[(this.head + i) % this.buf.length] = v;
  }

  pushBack(v: Buffer): void {
    if (this.length === this.buf.length) this.grow();
    this.buf[(this.head + this.length) % this.buf.length] = v;
    this.length++;
  }

  pushFront(v: Buffer): void {
    if (this.length === this.buf.length) this.grow();
    this.head = (this.head - 1 + this.buf.length) % this.buf.length;
    this.buf[this.head] = v;
    this.length++;
  }

  popFront(): Buffer | undefined {
    if (this.length === 0) return undefined;
    const v = this.buf[this.head];
    this.buf[this.head] = undefined;
    this.head = (this.head + 1) % this.buf.length;
    this.length--;
    return v;
  }

  popBack(): Buffer | undefined {
    if (this.length === 0) return undefined;
    const i = (this.head + this.length - 1) % this.buf.length;
    const v = this.buf[i];
    this.buf[i] = undefined;
    this.length--;
    return v;
  }

  toArray(from = 0, to = this.length - 1): Buffer[] {
    const out: Buffer[] = [];
    for (let i = from; i <= to; i++) out.push(this.get(i));
    return out;
  }

  /** Replaces the whole content (the O(n) edits: LINSERT, LREM, LTRIM). */
  reset(items: Buffer[]): void {
    let cap = 8;
    while (cap < items.length) cap *= 2;
    this.buf = new Array<Buffer | undefined>(cap);
    for (let i = 0; i < items.length; i++) this.buf[i] = items[i];
    this.head = 0;
    this.length = items.length;
  }
}

export interface ZSet {
  readonly scores: Map<string, number>;
  readonly order: SkipList;
}

/**
 * What the keyspace keeps about a key beside its content, in the value's own record: one
 * record a key instead of a Map entry per key in each of three Maps (~75 bytes a key in
 * each, 15 MB per 100,000 keys). A value is held by one key at a time.
 */
interface KeyRecord {
  /** The value's size now. */
  bytes: number;
  /** What the keyspace's byte total holds for it. */
  counted: number;
  // Optional for the records snapshot.ts builds, but set where values.ts makes one, so
  // both sit in the object itself, not in a property array added later (~40 bytes more).
  /** The key's version (db.ts): set whenever it is stored, read through KeyVersions. */
  version?: number;
  /** The key's position in the keyspace's key order (key-order.ts), -1 before it has one. */
  at?: number;
}

export type Value =
  | ({ type: 'string'; v: StringBytes } & KeyRecord)
  | ({ type: 'hash'; v: Map<string, Buffer> } & KeyRecord)
  | ({ type: 'list'; v: Deque } & KeyRecord)
  | ({ type: 'set'; v: IndexedSet } & KeyRecord)
  | ({ type: 'zset'; v: ZSet } & KeyRecord);

export type TypeName = Value['type'];

/**
 * A string value's bytes. Up to STRING_INLINE_BYTES_MAX they are a latin1 JS string (one
 * char a byte): ~16 bytes of header in the V8 heap, where a Buffer costs a JS object, an
 * ArrayBuffer and a native backing store (~300 bytes for a 100-byte value), or a slice of
 * one of Node's 8 KiB pool slabs that stays resident as long as any value cut from it
 * lives (with random overwrites, most slabs: 3-4x the live bytes, growing with history).
 * Longer values stay Buffers: V8's strings stop short of 512 MiB. Values are never changed
 * in place, so either form may be shared.
 */
export type StringBytes = string | Buffer;
export const STRING_INLINE_BYTES_MAX = 64 * 1024;

/**
 * The form a string value keeps of these bytes. A long value that fills at least half of
 * its memory is kept as a view of it, not copied: on the main thread that memory is an
 * entry's own (a leader's shared copy, a follower's frame body), which nothing writes
 * again, and the log holds it anyway until compaction. A copy there cost a fresh
 * allocation and its page faults per write on every node. Anything less full is copied,
 * so a value never keeps much more memory alive than its own bytes.
 */
export function stringBytes(b: Uint8Array): StringBytes {
  if (b.length <= STRING_INLINE_BYTES_MAX) return Buffer.from(b.buffer, b.byteOffset, b.length).toString('latin1');
  if (2 * b.length >= b.buffer.byteLength) return Buffer.from(b.buffer, b.byteOffset, b.length);
  const own = Buffer.allocUnsafeSlow(b.length);
  copyBytes(own, 0, b);
  return own;
}

/** A string value's bytes as a Buffer (a new one for the inline form). */
export function bytesOf(v: StringBytes): Buffer {
  return typeof v === 'string' ? Buffer.from(v, 'latin1') : v;
}

export function stringValue(b: Uint8Array): Extract<Value, { type: 'string' }> {
  return stringValueOf(stringBytes(b));
}

/** A string value of bytes already in the form it keeps (stringBytes; a restore decodes them so). */
export function stringValueOf(v: StringBytes): Extract<Value, { type: 'string' }> {
  return { type: 'string', v, bytes: v.length, counted: 0, version: 0, at: -1 };
}

/** A score takes 8 bytes beside its member. */
export const SCORE_BYTES = 8;

export function newValue(type: TypeName): Value {
  switch (type) {
    case 'string':
      return { type, v: '', bytes: 0, counted: 0, version: 0, at: -1 };
    case 'hash':
      return { type, v: new Map(), bytes: 0, counted: 0, version: 0, at: -1 };
    case 'list':
      return { type, v: new Deque(), bytes: 0, counted: 0, version: 0, at: -1 };
    case 'set':
      return { type, v: new IndexedSet(), bytes: 0, counted: 0, version: 0, at: -1 };
    case 'zset':
      return { type, v: { scores: new Map(), order: new SkipList() }, bytes: 0, counted: 0, version: 0, at: -1 };
  }
}

/** Elements of a collection (1 for a string). */
export function elementCount(v: Value): number {
  switch (v.type) {
    case 'string':
      return 1;
    case 'hash':
    case 'set':
      return v.v.size;
    case 'list':
      return v.v.length;
    case 'zset':
      return v.v.scores.size;
  }
}

/** A value's size computed from its content (what `bytes` must always equal). */
export function valueBytes(v: Value): number {
  let n = 0;
  switch (v.type) {
    case 'string':
      return v.v.length;
    case 'hash':
      for (const [f, x] of v.v) n += f.length + x.length;
      return n;
    case 'list':
      for (const x of v.v.toArray()) n += x.length;
      return n;
    case 'set':
      for (const m of v.v) n += m.length;
      return n;
    case 'zset':
      for (const m of v.v.scores.keys()) n += m.length + SCORE_BYTES;
      return n;
  }
}

/** A deep copy (COPY). */
export function cloneValue(src: Value): Value {
  switch (src.type) {
    case 'string':
      return { type: 'string', v: src.v, bytes: src.bytes, counted: 0, version: 0, at: -1 };
    case 'hash':
      return { type: 'hash', v: new Map(src.v), bytes: src.bytes, counted: 0, version: 0, at: -1 };
    case 'list': {
      const d = new Deque();
      d.reset(src.v.toArray());
      return { type: 'list', v: d, bytes: src.bytes, counted: 0, version: 0, at: -1 };
    }
    case 'set':
      return { type: 'set', v: new IndexedSet(src.v), bytes: src.bytes, counted: 0, version: 0, at: -1 };
    case 'zset': {
      const z: ZSet = { scores: new Map(src.v.scores), order: new SkipList() };
      for (const [m, s] of src.v.scores) z.order.insert(s, m);
      return { type: 'zset', v: z, bytes: src.bytes, counted: 0, version: 0, at: -1 };
    }
  }
}
