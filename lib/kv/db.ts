// The keyspace (values, deadlines, per-key versions) and Db, the view one command runs
// against: the keyspace plus the command's effective time, log index and randomness.
//
// Versions are for WATCH: a present key's version is the log index of its last
// modification; an absent key's is the index of its deletion (a tombstone) or, once
// that tombstone has been evicted past TOMBSTONES_MAX, the highest evicted index, so
// an evicted tombstone can only make a transaction abort, never let a stale one through.
// A key that expires keeps the version it had: Redis 7 aborts a transaction whose
// watched key expired only if it was alive when watched (the `alive` flag decides).
import { KeyOrder, KeyVersions } from './key-order.js';
import { ScanIndex } from './scan-index.js';
import { assert } from '../util/assert.js';
import { copyBytes } from '../util/copy-bytes.js';
import { elementCount, newValue, valueBytes, type TypeName, type Value } from './values.js';

export const WRONGTYPE = 'WRONGTYPE Operation against a key holding the wrong kind of value';

/** Bound on remembered deletions (see above). */
export const TOMBSTONES_MAX = 65536;

/** A command's error reply, thrown before anything changed and turned into `-<message>`. */
export class CommandError extends Error {}

export interface KvLimits {
  /** Elements one hash, list, set or sorted set may hold. */
  elementsMax: number;
  /** Bytes one key's value may hold (strings: the string; collections: every element). */
  valueBytesMax: number;
}

/** A snapshot cursor's view of the keyspace (snapshot-cursor.ts). */
export interface KeyspaceReader {
  /** `k` is about to change: keep what it holds now if the cursor still needs it. */
  keep(k: string): void;
  /** FLUSHALL: the keyspace's maps are replaced, the cursor's are no longer changed. */
  detach(): void;
}

export class Keyspace {
  /** Invariant: the scan index holds exactly these keys; deadlines and versions only keys held here. */
  // The maps are replaced, never cleared, by FLUSHALL: an open snapshot cursor keeps the old ones.
  values = new Map<string, Value>();
  deadlines = new Map<string, number>();
  /** Kept in the value records (key-order.ts), like the key order below. */
  versions = new KeyVersions(this.values);
  /** Absent keys' deletion indexes, oldest first. Change it only through tombstone()/untombstone(). */
  tombstones = new Map<string, number>();
  tombstoneFloor = 0;
  /** Snapshot cursors reading `tombstones` as it is: the next change copies it first. */
  private tombstoneReaders = 0;
  /** Open snapshot cursors, told before any key changes (snapshot-cursor.ts). */
  readonly readers = new Set<KeyspaceReader>();
  readonly index = new ScanIndex();
  /** The same keys again, for RANDOMKEY in O(1); its order is part of the state (snapshot.ts keeps it). */
  keyList = new KeyOrder(this.values);
  /** Bytes of keys plus values. */
  bytes = 0;
  /** The greatest time stamp applied: time never goes back. */
  timeMs = 0;

  clear(floor: number): void {
    // The old maps are no longer changed: open cursors read them as they are.
    for (const r of this.readers) r.detach();
    this.readers.clear();
    this.values = new Map();
    this.deadlines = new Map();
    this.versions = new KeyVersions(this.values);
    this.tombstones = new Map();
    this.tombstoneReaders = 0;
    this.index.clear();
    this.keyList = new KeyOrder(this.values);
    this.bytes = 0;
    this.tombstoneFloor = Math.max(this.tombstoneFloor, floor);
  }

  /** Sets the key order (restore): these keys, distinct, each already in `values`; the array is taken. */
  loadKeyOrder(keys: string[]): void {
    this.keyList = KeyOrder.ofDistinct(keys, this.values);
  }

  /** WATCH's view of a key: its version, and whether it is alive at `nowMs`. */
  version(k: string, nowMs: number): { version: number; alive: boolean } {
    const v = this.versions.get(k);
    if (v !== undefined) {
      const d = this.deadlines.get(k);
      return { version: v, alive: d === undefined || d > nowMs };
    }
    return { version: Math.max(this.tombstones.get(k) ?? 0, this.tombstoneFloor), alive: false };
  }

  /** Asserts the invariants above, walking everything (for tests and the simulator). */
  checkInvariants(): void {
    let bytes = 0;
    for (const [k, v] of this.values) {
      assert(this.versions.has(k), `key ${k} has no version`);
      assert(!this.tombstones.has(k), `key ${k} is present and a tombstone`);
      assert(v.counted === v.bytes, `key ${k}: counted ${v.counted} != bytes ${v.bytes}`);
      assert(valueBytes(v) === v.bytes, `key ${k}: bytes ${v.bytes} != its content's ${valueBytes(v)}`);
      assert(v.type === 'string' || elementCount(v) > 0, `key ${k}: an empty ${v.type} is kept`);
      if (v.type === 'zset') assert(v.v.order.length === v.v.scores.size, `key ${k}: skip list and map disagree`);
      bytes += k.length + v.bytes;
    }
    assert(bytes === this.bytes, `byte count ${this.bytes} != ${bytes}`);
    for (const k of this.deadlines.keys()) assert(this.values.has(k), `deadline of absent key ${k}`);
    const indexed = this.index.scan(0, Number.MAX_SAFE_INTEGER).keys;
    assert(indexed.length === this.values.size && indexed.every((k) => this.values.has(k)), 'scan index != keys');
    assert(this.keyList.size === this.values.size && [...this.keyList].every((k) => this.keyList.has(k)), 'key list != keys');
  }

  /** Must be called before `k`'s value, deadline, version or presence changes in any way. */
  willChange(k: string): void {
    if (this.readers.size !== 0) for (const r of this.readers) r.keep(k);
  }

  /** The tombstones as they are now, for a snapshot cursor: they are copied before they next change. */
  shareTombstones(): Map<string, number> {
    this.tombstoneReaders++;
    return this.tombstones;
  }

  releaseTombstones(m: Map<string, number>): void {
    if (m === this.tombstones) this.tombstoneReaders--;
  }

  private writableTombstones(): Map<string, number> {
    if (this.tombstoneReaders > 0) {
      this.tombstones = new Map(this.tombstones);
      this.tombstoneReaders = 0;
    }
    return this.tombstones;
  }

  untombstone(k: string): void {
    if (this.tombstones.has(k)) this.writableTombstones().delete(k);
  }

  tombstone(k: string, index: number): void {
    this.writableTombstones();
    this.tombstones.delete(k);
    this.tombstones.set(k, index);
    while (this.tombstones.size > TOMBSTONES_MAX) {
      const [oldest, i] = this.tombstones.entries().next().value as [string, number];
      this.tombstones.delete(oldest);
      this.tombstoneFloor = Math.max(this.tombstoneFloor, i);
    }
  }
}

export class Db {
  constructor(
    readonly ks: Keyspace,
    /** The command's time: a key whose deadline is <= this is gone. */
    readonly nowMs: number,
    /** The log index being applied (0 for a read). */
    readonly index: number,
    /** False for reads: an expired key is then treated as absent, not deleted. */
    readonly mutable: boolean,
    readonly random: () => number,
    readonly limits: KvLimits,
  ) {}

  private expired(k: string): boolean {
    const d = this.ks.deadlines.get(k);
    return d !== undefined && d <= this.nowMs;
  }

  /** The live value of a key (deleting it first if it expired and this is a write). */
  lookup(k: string): Value | undefined {
    const v = this.ks.values.get(k);
    if (v === undefined) return undefined;
    // A write may change the value in place once it has it, or drop it below.
    if (this.mutable) this.ks.willChange(k);
    if (this.expired(k)) {
      if (this.mutable) this.drop(k, this.ks.versions.get(k)!);
      return undefined;
    }
    return v;
  }

  /** The live value if it has this type; WRONGTYPE if it has another. */
  get<T extends TypeName>(k: string, type: T): Extract<Value, { type: T }> | undefined {
    const v = this.lookup(k);
    if (v === undefined) return undefined;
    if (v.type !== type) throw new CommandError(WRONGTYPE);
    return v as Extract<Value, { type: T }>;
  }

  /** The value to modify: the live one, or a new empty one that store() attaches. */
  getOrNew<T extends TypeName>(k: string, type: T): Extract<Value, { type: T }> {
    return this.get(k, type) ?? (newValue(type) as Extract<Value, { type: T }>);
  }

  /** Elements about to be added must fit the bound. */
  checkElements(v: Value, adding: number): void {
    if (adding > 0 && elementCount(v) + adding > this.limits.elementsMax)
      throw new CommandError(`ERR raftd limit: a key holds at most ${this.limits.elementsMax} elements`);
  }

  checkBytes(bytes: number, isString: boolean): void {
    if (bytes <= this.limits.valueBytesMax) return;
    if (isString) throw new CommandError('ERR string exceeds maximum allowed size (proto-max-bulk-len)');
    throw new CommandError(`ERR raftd limit: a key holds at most ${this.limits.valueBytesMax} bytes`);
  }

  /**
   * Records a modification of `k`, whose value is now `v`: attaches a new value, drops an
   * emptied collection, bumps the version and the byte count.
   */
  store(k: string, v: Value): void {
    this.ks.willChange(k);
    if (v.type !== 'string' && elementCount(v) === 0) {
      if (this.ks.values.get(k) === v) this.delete(k);
      return;
    }
    const cur = this.ks.values.get(k);
    if (cur !== v) {
      if (cur !== undefined) this.unlink(k, cur);
      this.ks.values.set(k, v);
      this.ks.index.add(k);
      this.ks.keyList.add(k);
      this.ks.bytes += k.length;
      this.ks.untombstone(k);
      v.counted = 0;
    }
    this.ks.bytes += v.bytes - v.counted;
    v.counted = v.bytes;
    this.ks.versions.set(k, this.index);
  }

  /**
   * Replaces whatever `k` holds; its deadline goes unless `keepTtl`. A live key is
   * replaced in place, as Redis overwrites a key: it keeps its place in the key order and
   * the scan index. Unlinking and adding it again was half the time of a SET over an
   * existing key, and moved the key to the end of the order RANDOMKEY picks from.
   */
  replace(k: string, v: Value, keepTtl = false): void {
    this.ks.willChange(k);
    const cur = this.lookup(k);
    if (cur !== undefined && cur !== v && (v.type === 'string' || elementCount(v) > 0)) {
      v.at = cur.at;
      this.ks.values.set(k, v);
      if (!keepTtl) this.ks.deadlines.delete(k);
      this.ks.bytes += v.bytes - cur.counted;
      v.counted = v.bytes;
      this.ks.versions.set(k, this.index);
      return;
    }
    const deadline = keepTtl && cur !== undefined ? this.ks.deadlines.get(k) : undefined;
    if (cur !== undefined && cur !== v) this.unlink(k, cur);
    this.store(k, v);
    if (deadline !== undefined) this.ks.deadlines.set(k, deadline);
  }

  /** Deletes a live key (a modification); false if there was none. */
  delete(k: string): boolean {
    if (this.lookup(k) === undefined) return false;
    this.drop(k, this.index);
    return true;
  }

  /** Marks a live key modified without changing its value (e.g. its deadline changed). */
  touch(k: string): void {
    this.ks.willChange(k);
    this.ks.versions.set(k, this.index);
  }

  setDeadline(k: string, ms: number | undefined): void {
    this.ks.willChange(k);
    if (ms === undefined) this.ks.deadlines.delete(k);
    else this.ks.deadlines.set(k, ms);
    this.touch(k);
  }

  deadline(k: string): number | undefined {
    return this.ks.deadlines.get(k);
  }

  private unlink(k: string, cur: Value): void {
    this.ks.willChange(k);
    this.ks.keyList.delete(k); // while its value still holds its position
    this.ks.values.delete(k);
    this.ks.index.delete(k);
    this.ks.deadlines.delete(k);
    this.ks.bytes -= k.length + cur.counted;
  }

  /** Removes a key, leaving a tombstone with this version. */
  private drop(k: string, version: number): void {
    const cur = this.ks.values.get(k)!;
    this.unlink(k, cur); // its version goes with its value
    this.ks.tombstone(k, version);
  }

  /** Every live key (for KEYS, RANDOMKEY, DBSIZE). */
  *liveKeys(): Generator<string> {
    for (const k of this.ks.values.keys()) if (!this.expired(k)) yield k;
  }

  /** A live key at random: O(1) expected while few keys are past their deadline (Redis tries 100 times too). */
  randomLiveKey(): string | null {
    const list = this.ks.keyList;
    for (let tries = 0; tries < 100 && list.size > 0; tries++) {
      const k = list.at(Math.floor(this.random() * list.size));
      if (!this.expired(k)) return k;
    }
    const live = [...this.liveKeys()];
    return live.length === 0 ? null : live[Math.floor(this.random() * live.length)]!;
  }

  isLive(k: string): boolean {
    return this.ks.values.has(k) && !this.expired(k);
  }
}

export function key(b: Buffer): string {
  return b.toString('latin1');
}

export function keyBuf(k: string): Buffer {
  return Buffer.from(k, 'latin1');
}

/** A private copy: never keep a decoder's or a client's buffer. */
export function own(b: Buffer): Buffer {
  const copy = Buffer.allocUnsafe(b.length);
  copyBytes(copy, 0, b);
  return copy;
}
