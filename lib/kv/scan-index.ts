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

/** Whether `a` (whose hash is `ah`) sorts before (hash, key). */
function before(a: string, ah: number, hash: number, key: string): boolean {
  return ah < hash || (ah === hash && a < key);
}

export class ScanIndex {
  /**
   * Invariant: each bucket is sorted by (hash, key) and holds no key twice. A bucket holds
   * the keys alone, their hashes computed again when compared (a few per operation, each
   * O(key length)): a row object per key was ~50 bytes of heap, with a boxed number for
   * every hash past 2^31, about 5 MB per 100,000 keys.
   */
  private buckets: string[][] = ScanIndex.empty();

  private static empty(): string[][] {
    return Array.from({ length: BUCKETS }, () => []);
  }

  /** Adds a key not yet present. */
  add(key: string): void {
    const hash = keyHash(key);
    const b = this.buckets[bucketOf(hash)]!;
    const i = lowerBound(b, hash, key);
    assert(!(i < b.length && b[i] === key), 'scan index: a key added twice');
    b.splice(i, 0, key);
  }

  /** Removes a present key. */
  delete(key: string): void {
    const hash = keyHash(key);
    const b = this.buckets[bucketOf(hash)]!;
    const i = lowerBound(b, hash, key);
    assert(i < b.length && b[i] === key, 'scan index: deleting a key not present');
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
    const buckets: string[][] = new Array<string[]>(BUCKETS);
    for (let b = 0; b < BUCKETS; b++) {
      const part = sorted.subarray(starts[b]!, starts[b + 1]!).sort();
      const rows: string[] = new Array<string>(part.length);
      let tie = false;
      for (let j = 0; j < part.length; j++) {
        const i = part[j]! % 2 ** 32;
        rows[j] = keys[i]!;
        if (j > 0 && hashes[part[j - 1]! % 2 ** 32] === hashes[i]) tie = true;
      }
      if (tie) {
        // Keys sharing a hash go by key; rare.
        rows.sort((x, y) => {
          const hx = keyHash(x);
          const hy = keyHash(y);
          return hx !== hy ? hx - hy : x < y ? -1 : x > y ? 1 : 0;
        });
        for (let j = 1; j < rows.length; j++) assert(rows[j - 1] !== rows[j], 'scan index: a key loaded twice');
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
        const key = b[i]!;
        const hash = keyHash(key);
        if (keys.length >= count && hash !== lastHash) return { keys, next: hash + 1 };
        keys.push(key);
        lastHash = hash;
      }
    }
    return { keys, next: 0 };
  }
}

/** The first row not before (hash, key). */
function lowerBound(b: string[], hash: number, key: string): number {
  let lo = 0;
  let hi = b.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const k = b[mid]!;
    if (before(k, keyHash(k), hash, key)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
