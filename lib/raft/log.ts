// The in-memory Raft log of one node: the entries after its latest snapshot (or after
// a compaction point), so memory follows the live tail, not the history.
//
// Invariants:
//   entries[i].index === snapIndex + 1 + i, and terms never decrease along the log;
//   term(snapIndex) === snapTerm: the last entry a snapshot covers is still known by
//     index and term, so appends after it can be matched;
//   snapIndex <= stableIndex <= lastIndex (entries up to stableIndex are durable, as
//     reported by persisted(); a snapshot is durable by definition);
//   unstableFrom is the lowest index changed since the last takeUnstable()
//   (lastIndex + 1 when nothing changed); stableIndex < unstableFrom.

import { assert } from './assert.js';
import type { Entry, SnapshotMeta } from './types.js';

/** Size estimate used for the append byte bound. */
export function entrySizeBytes(e: Entry): number {
  return e.data.length + e.tid.length + 32;
}

export class RaftLog {
  private entries: Entry[] = [];
  private snapIndex = 0;
  private snapTerm = 0;
  private stable = 0;
  private unstableFrom = 1;

  constructor(restored: Entry[], snapshot: SnapshotMeta | null = null) {
    if (snapshot !== null) {
      assert(Number.isInteger(snapshot.index) && snapshot.index >= 0 && snapshot.term >= 0, `bad snapshot ${snapshot.index}/${snapshot.term}`);
      this.snapIndex = snapshot.index;
      this.snapTerm = snapshot.term;
    }
    for (let i = 0; i < restored.length; i++) {
      const e = restored[i]!;
      assert(e.index === this.snapIndex + 1 + i, () => `restored entry ${i} has index ${e.index} (log starts after ${this.snapIndex})`);
      assert(e.term >= (i === 0 ? this.snapTerm : restored[i - 1]!.term), `restored terms decrease at ${e.index}`);
      this.entries.push(e);
    }
    this.stable = this.lastIndex;
    this.unstableFrom = this.lastIndex + 1;
  }

  get lastIndex(): number {
    return this.snapIndex + this.entries.length;
  }

  get lastTerm(): number {
    return this.entries.length === 0 ? this.snapTerm : this.entries[this.entries.length - 1]!.term;
  }

  /** The last index the log no longer holds (0 before any compaction). */
  get snapshotIndex(): number {
    return this.snapIndex;
  }

  get snapshotTerm(): number {
    return this.snapTerm;
  }

  /** The first index the log holds an entry for. */
  get firstIndex(): number {
    return this.snapIndex + 1;
  }

  get stableIndex(): number {
    return this.stable;
  }

  /** Term at index; the snapshot's term at its index; undefined when compacted away or past the end. */
  term(index: number): number | undefined {
    assert(Number.isInteger(index) && index >= 0, `bad index ${index}`);
    if (index === this.snapIndex) return this.snapTerm;
    if (index < this.snapIndex || index > this.lastIndex) return undefined;
    return this.entries[index - this.snapIndex - 1]!.term;
  }

  matchTerm(index: number, term: number): boolean {
    return this.term(index) === term;
  }

  entry(index: number): Entry {
    assert(index > this.snapIndex && index <= this.lastIndex, `no entry at ${index} (log holds ${this.firstIndex}..${this.lastIndex})`);
    return this.entries[index - this.snapIndex - 1]!;
  }

  /** Entries [lo, hi) (hi exclusive), all held by the log. */
  slice(lo: number, hi: number): Entry[] {
    assert(lo > this.snapIndex && lo <= hi && hi <= this.lastIndex + 1, `bad slice [${lo}, ${hi}) of ${this.firstIndex}..${this.lastIndex}`);
    return this.entries.slice(lo - this.snapIndex - 1, hi - this.snapIndex - 1);
  }

  /** Entries from lo, stopping before the byte bound is exceeded (always at least one if any). */
  sliceBytes(lo: number, bytesMax: number): Entry[] {
    assert(lo > this.snapIndex, `slice from ${lo}, compacted through ${this.snapIndex}`);
    const out: Entry[] = [];
    let bytes = 0;
    for (let i = lo; i <= this.lastIndex; i++) {
      const e = this.entries[i - this.snapIndex - 1]!;
      const size = entrySizeBytes(e);
      if (out.length > 0 && bytes + size > bytesMax) break;
      out.push(e);
      bytes += size;
    }
    return out;
  }

  /**
   * The first index of the longest run of entries ending at `upTo` whose sizes add up to
   * at most `bytesMax` (upTo + 1 when even entry upTo alone is larger).
   */
  firstIndexWithinBytes(upTo: number, bytesMax: number): number {
    assert(upTo <= this.lastIndex, `bytes back from ${upTo}, log ends at ${this.lastIndex}`);
    let bytes = 0;
    let i = upTo;
    for (; i > this.snapIndex; i--) {
      bytes += entrySizeBytes(this.entries[i - this.snapIndex - 1]!);
      if (bytes > bytesMax) break;
    }
    return i + 1;
  }

  /** Is a log ending at (lastIndex, lastTerm) at least as up to date as ours (§5.4.1)? */
  isUpToDate(lastIndex: number, lastTerm: number): boolean {
    return lastTerm > this.lastTerm || (lastTerm === this.lastTerm && lastIndex >= this.lastIndex);
  }

  /** First index in `ents` whose entry we lack or hold with another term; 0 if all match. Compacted indexes match. */
  findConflict(ents: Entry[]): number {
    for (const e of ents) {
      if (e.index <= this.snapIndex) continue; // covered by the snapshot: committed, so it matches
      if (!this.matchTerm(e.index, e.term)) return e.index;
    }
    return 0;
  }

  /** First index of the run of `term` that contains `index`, not going below `floor` (nor the log's first index). */
  firstIndexOfTermRun(index: number, floor: number): number {
    const t = this.term(index);
    assert(t !== undefined && t > 0, `no term at ${index}`);
    // Terms never decrease along the log: binary search for the first index in
    // [max(floor, firstIndex), index] whose term is t.
    let lo = Math.max(this.firstIndex, Math.min(floor, index));
    let hi = index;
    if (lo > hi) return index;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.entries[mid - this.snapIndex - 1]!.term < t) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Last index holding `term`, or 0 if the log holds no entry of that term. */
  lastIndexOfTerm(term: number): number {
    // Binary search over the held entries for the last index whose term is <= term.
    let lo = 0;
    let hi = this.entries.length;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (this.entries[mid - 1]!.term <= term) lo = mid;
      else hi = mid - 1;
    }
    if (lo > 0) return this.entries[lo - 1]!.term === term ? this.snapIndex + lo : 0;
    return this.snapIndex > 0 && this.snapTerm === term ? this.snapIndex : 0;
  }

  /** Append entries that continue the log directly (leader path). */
  append(ents: Entry[]): void {
    for (const e of ents) {
      assert(e.index === this.lastIndex + 1, `append gap: ${e.index} after ${this.lastIndex}`);
      assert(e.term >= this.lastTerm, `append term ${e.term} below last term ${this.lastTerm}`);
      this.entries.push(e);
    }
  }

  /**
   * Drop entries from `index` on (the caller has checked this is a real conflict
   * above the commit index) so the leader's entries can replace them.
   */
  truncateFrom(index: number): void {
    assert(index > this.snapIndex && index <= this.lastIndex, `truncate at ${index} (log holds ${this.firstIndex}..${this.lastIndex})`);
    this.entries.length = index - this.snapIndex - 1;
    if (this.stable > index - 1) this.stable = index - 1;
    if (this.unstableFrom > index) this.unstableFrom = index;
  }

  /** Forget entries through `index` (durable, applied and covered by a snapshot). */
  compactTo(index: number): void {
    if (index <= this.snapIndex) return;
    assert(index <= this.stable, `compact through ${index} past the durable ${this.stable}`);
    const term = this.term(index)!;
    this.entries = this.entries.slice(index - this.snapIndex);
    this.snapIndex = index;
    this.snapTerm = term;
  }

  /** A snapshot covers the log through `index`, which the log holds: forget what it covers, keep what follows. */
  compactAround(index: number): void {
    assert(index > this.snapIndex && index <= this.lastIndex, `compact around ${index} of ${this.firstIndex}..${this.lastIndex}`);
    const term = this.term(index)!;
    this.entries = this.entries.slice(index - this.snapIndex);
    this.snapIndex = index;
    this.snapTerm = term;
    // What the snapshot covers is durable with it.
    if (this.stable < index) this.stable = index;
    if (this.unstableFrom <= index) this.unstableFrom = index + 1;
  }

  /** Replace the whole log with a snapshot taken by another node (the log had no matching entry). */
  restore(snapshot: SnapshotMeta): void {
    assert(snapshot.index > this.snapIndex, `restore to ${snapshot.index}, already through ${this.snapIndex}`);
    this.entries = [];
    this.snapIndex = snapshot.index;
    this.snapTerm = snapshot.term;
    // The snapshot is durable (the driver installed it before telling the core).
    this.stable = snapshot.index;
    this.unstableFrom = snapshot.index + 1;
  }

  /** Entries changed since the last call; storage must cut its log at result[0].index first. */
  takeUnstable(): Entry[] {
    if (this.unstableFrom > this.lastIndex) {
      this.unstableFrom = this.lastIndex + 1;
      return [];
    }
    const from = this.unstableFrom;
    const out = this.entries.slice(from - this.snapIndex - 1);
    if (this.stable > from - 1) this.stable = from - 1;
    this.unstableFrom = this.lastIndex + 1;
    return out;
  }

  hasUnstable(): boolean {
    return this.unstableFrom <= this.lastIndex;
  }

  /** Storage made entries up to index durable; ignored unless the log still has `term` there. */
  stableTo(index: number, term: number): boolean {
    if (index <= this.stable) return false;
    if (index >= this.unstableFrom) return false; // not handed out yet (or changed since)
    if (!this.matchTerm(index, term)) return false;
    this.stable = index;
    return true;
  }
}
