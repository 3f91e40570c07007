// The order SCAN walks keys in: by a 32-bit FNV-1a hash of the key's bytes, then by the
// key. The cursor is the next key's hash plus one, so it is a small integer any Redis
// client parses (redis-cli reads it with strtoull), and resuming from it needs no state
// kept between calls. New keys land anywhere in hash order, like Redis' buckets, so a
// scan of a store of bounded size ends even while keys are created as fast as it reads;
// a key present from the first call to the last is returned exactly once. Keys sharing
// a hash are returned in one call (the cursor cannot point between them), so a call may
// return a few more than COUNT. Deterministic: the hash depends only on the bytes.

import { assert } from '../util/assert.js';

/** 2^12 buckets by the hash's top 12 bits: each one a sorted array, so updates move few rows. */
const BUCKET_BITS = 12;
const BUCKETS = 1 << BUCKET_BITS;
const HASH_SPACE = 2 ** 32;
const LOW_MASK = (1 << (32 - BUCKET_BITS)) - 1;

interface Row {
  hash: number;
  key: string;
}

export interface ScanPage {
  keys: string[];
  /** 0 when the scan is complete. */
  next: number;
}

/** FNV-1a over a latin1 string's bytes, unsigned 32-bit. */
export function keyHash(key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

function bucketOf(hash: number): number {
  return hash >>> (32 - BUCKET_BITS);
}

function before(a: Row, hash: number, key: string): boolean {
  return a.hash < hash || (a.hash === hash && a.key < key);
}

export class ScanIndex {
  /** Invariant: each bucket is sorted by (hash, key) and holds no key twice. */
  private buckets: Row[][] = ScanIndex.empty();

  private static empty(): Row[][] {
    return Array.from({ length: BUCKETS }, () => []);
  }

  /** Adds a key not yet present. */
  add(key: string): void {
    const hash = keyHash(key);
    const b = this.buckets[bucketOf(hash)]!;
    const i = lowerBound(b, hash, key);
    assert(!(i < b.length && b[i]!.hash === hash && b[i]!.key === key), 'scan index: a key added twice');
    b.splice(i, 0, { hash, key });
  }

  /** Removes a present key. */
  delete(key: string): void {
    const hash = keyHash(key);
    const b = this.buckets[bucketOf(hash)]!;
    const i = lowerBound(b, hash, key);
    assert(i < b.length && b[i]!.key === key, 'scan index: deleting a key not present');
    b.splice(i, 1);
  }

  clear(): void {
    this.buckets = ScanIndex.empty();
  }

  /**
   * Replaces the content with these distinct keys (restore): each bucket is sorted once by
   * a native numeric sort of (low hash bits, key position) instead of an insertion per key.
   */
  load(keys: readonly string[]): void {
    const n = keys.length;
    assert(n < 2 ** 32, 'scan index: too many keys');
    const hashes = new Uint32Array(n);
    const starts = new Uint32Array(BUCKETS + 1);
    for (let i = 0; i < n; i++) {
      const h = keyHash(keys[i]!);
      hashes[i] = h;
      starts[bucketOf(h) + 1]!++;
    }
    for (let b = 0; b < BUCKETS; b++) starts[b + 1]! += starts[b]!;
    // Within a bucket the top bits are equal: the low ones times 2^32 plus the position is
    // exact in a double (at most 2^52) and sorts by hash.
    const sorted = new Float64Array(n);
    const fill = starts.slice(0, BUCKETS);
    for (let i = 0; i < n; i++) {
      const h = hashes[i]!;
      sorted[fill[bucketOf(h)]!++] = (h & LOW_MASK) * 2 ** 32 + i;
    }
    const buckets: Row[][] = new Array<Row[]>(BUCKETS);
    for (let b = 0; b < BUCKETS; b++) {
      const part = sorted.subarray(starts[b]!, starts[b + 1]!).sort();
      const rows: Row[] = new Array<Row>(part.length);
      let tie = false;
      for (let j = 0; j < part.length; j++) {
        const i = part[j]! % 2 ** 32;
        rows[j] = { hash: hashes[i]!, key: keys[i]! };
        if (j > 0 && rows[j - 1]!.hash === rows[j]!.hash) tie = true;
      }
      if (tie) {
        // Keys sharing a hash go by key; rare.
        rows.sort((x, y) => (x.hash !== y.hash ? x.hash - y.hash : x.key < y.key ? -1 : x.key > y.key ? 1 : 0));
        for (let j = 1; j < rows.length; j++) assert(rows[j - 1]!.key !== rows[j]!.key, 'scan index: a key loaded twice');
      }
      buckets[b] = rows;
    }
    this.buckets = buckets;
  }

  /**
   * At least `count` keys (when there are that many) from `cursor` on, whole hash groups;
   * cursor 0 starts a scan. A cursor past the hash space returns nothing and 0.
   */
  scan(cursor: number, count: number): ScanPage {
    const keys: string[] = [];
    if (cursor > HASH_SPACE) return { keys, next: 0 };
    const from = cursor === 0 ? 0 : cursor - 1;
    let lastHash = -1;
    for (let bi = bucketOf(from); bi < BUCKETS; bi++) {
      const b = this.buckets[bi]!;
      for (let i = bi === bucketOf(from) ? lowerBound(b, from, '') : 0; i < b.length; i++) {
        const row = b[i]!;
        if (keys.length >= count && row.hash !== lastHash) return { keys, next: row.hash + 1 };
        keys.push(row.key);
        lastHash = row.hash;
      }
    }
    return { keys, next: 0 };
  }
}

/** The first row not before (hash, key). */
function lowerBound(b: Row[], hash: number, key: string): number {
  let lo = 0;
  let hi = b.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (before(b[mid]!, hash, key)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
