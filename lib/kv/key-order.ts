// The keyspace's bookkeeping kept in the value records (values.ts, KeyRecord) instead of
// Maps of their own: the key order RANDOMKEY picks from and the snapshot keeps, and each
// key's version for WATCH. Both are bound to one `values` Map: FLUSHALL makes new ones
// with the new Map, and an open snapshot cursor goes on reading the old ones.
import { assert } from '../util/assert.js';
import type { Value } from './values.js';

/**
 * The keys in an order with O(1) add, delete and pick-by-position: an array, each key's
 * position in its value's `at`. A delete moves the last key into the hole (IndexedSet's
 * order, so the state and its snapshots are the same as with one). A key is added once
 * its value is in `values`, and deleted while it still is.
 */
export class KeyOrder implements Iterable<string> {
  private items: string[] = [];

  constructor(private readonly values: Map<string, Value>) {}

  /** These keys, distinct, all in `values`, in this order (the array is taken, not copied). */
  static ofDistinct(items: string[], values: Map<string, Value>): KeyOrder {
    const o = new KeyOrder(values);
    for (let i = 0; i < items.length; i++) o.record(items[i]!).at = i;
    o.items = items;
    return o;
  }

  private record(k: string): Value {
    const v = this.values.get(k);
    assert(v !== undefined, 'key order: a key without a value');
    return v;
  }

  get size(): number {
    return this.items.length;
  }

  has(k: string): boolean {
    const at = this.values.get(k)?.at;
    return at !== undefined && this.items[at] === k;
  }

  /** False if it was there already. */
  add(k: string): boolean {
    const v = this.record(k);
    if (v.at !== undefined && this.items[v.at] === k) return false;
    v.at = this.items.length;
    this.items.push(k);
    return true;
  }

  delete(k: string): boolean {
    const i = this.values.get(k)?.at;
    if (i === undefined || this.items[i] !== k) return false;
    const last = this.items.pop()!;
    if (last !== k) {
      this.items[i] = last;
      this.record(last).at = i;
    }
    return true;
  }

  /** The key at position i (0 <= i < size). */
  at(i: number): string {
    return this.items[i]!;
  }

  /** The keys in order, copied. */
  toArray(): string[] {
    return this.items.slice();
  }

  [Symbol.iterator](): Iterator<string> {
    return this.items[Symbol.iterator]();
  }
}

/** Each present key's version, read from and written to its value's record. */
export class KeyVersions {
  constructor(private readonly values: Map<string, Value>) {}

  get(k: string): number | undefined {
    return this.values.get(k)?.version;
  }

  has(k: string): boolean {
    return this.get(k) !== undefined;
  }

  /** The key must be present: a version goes with its value. */
  set(k: string, version: number): void {
    const v = this.values.get(k);
    assert(v !== undefined, 'a version for an absent key');
    v.version = version;
  }
}
