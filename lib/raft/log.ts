// The in-memory Raft log of one node. There is no snapshotting, so the log
// always starts at index 1 and holds every entry.
//
// Invariants:
//   entries[i].index === i + 1 and terms never decrease along the log;
//   0 <= stableIndex <= lastIndex (entries up to stableIndex are durable, as
//     reported by persisted());
//   unstableFrom is the lowest index changed since the last takeUnstable()
//   (lastIndex + 1 when nothing changed); stableIndex < unstableFrom.

import { assert } from './assert.js';
import type { Entry } from './types.js';

/** Size estimate used for the append byte bound. */
export function entrySizeBytes(e: Entry): number {
  return e.data.length + e.tid.length + 32;
}

export class RaftLog {
  private readonly entries: Entry[] = [];
  private stable = 0;
  private unstableFrom = 1;

  constructor(restored: Entry[]) {
    for (let i = 0; i < restored.length; i++) {
      const e = restored[i]!;
      assert(e.index === i + 1, () => `restored entry ${i} has index ${e.index}`);
      assert(i === 0 || e.term >= restored[i - 1]!.term, `restored terms decrease at ${e.index}`);
      this.entries.push(e);
    }
    this.stable = this.entries.length;
    this.unstableFrom = this.entries.length + 1;
  }

  get lastIndex(): number {
    return this.entries.length;
  }

  get lastTerm(): number {
    return this.entries.length === 0 ? 0 : this.entries[this.entries.length - 1]!.term;
  }

  get stableIndex(): number {
    return this.stable;
  }

  /** Term at index; 0 for index 0; undefined past the end. */
  term(index: number): number | undefined {
    assert(Number.isInteger(index) && index >= 0, `bad index ${index}`);
    if (index === 0) return 0;
    if (index > this.entries.length) return undefined;
    return this.entries[index - 1]!.term;
  }

  matchTerm(index: number, term: number): boolean {
    return this.term(index) === term;
  }

  entry(index: number): Entry {
    assert(index >= 1 && index <= this.entries.length, `no entry at ${index} (last ${this.entries.length})`);
    return this.entries[index - 1]!;
  }

  /** Entries [lo, hi) (hi exclusive). */
  slice(lo: number, hi: number): Entry[] {
    assert(lo >= 1 && lo <= hi && hi <= this.entries.length + 1, `bad slice [${lo}, ${hi})`);
    return this.entries.slice(lo - 1, hi - 1);
  }

  /** Entries from lo, stopping before the byte bound is exceeded (always at least one if any). */
  sliceBytes(lo: number, bytesMax: number): Entry[] {
    const out: Entry[] = [];
    let bytes = 0;
    for (let i = lo; i <= this.entries.length; i++) {
      const e = this.entries[i - 1]!;
      const size = entrySizeBytes(e);
      if (out.length > 0 && bytes + size > bytesMax) break;
      out.push(e);
      bytes += size;
    }
    return out;
  }

  /** Is a log ending at (lastIndex, lastTerm) at least as up to date as ours (§5.4.1)? */
  isUpToDate(lastIndex: number, lastTerm: number): boolean {
    return lastTerm > this.lastTerm || (lastTerm === this.lastTerm && lastIndex >= this.lastIndex);
  }

  /** First index in `ents` whose entry we lack or hold with another term; 0 if all match. */
  findConflict(ents: Entry[]): number {
    for (const e of ents) {
      if (!this.matchTerm(e.index, e.term)) return e.index;
    }
    return 0;
  }

  /** First index of the run of `term` that contains `index`, not going below `floor`. */
  firstIndexOfTermRun(index: number, floor: number): number {
    const t = this.term(index);
    assert(t !== undefined && t > 0, `no term at ${index}`);
    // Terms never decrease along the log: binary search for the first index in
    // [max(floor, 1), index] whose term is t.
    let lo = Math.max(1, Math.min(floor, index));
    let hi = index;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.entries[mid - 1]!.term < t) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Last index holding `term`, or 0 if the log holds no entry of that term. */
  lastIndexOfTerm(term: number): number {
    // Binary search for the last index whose term is <= term.
    let lo = 0;
    let hi = this.entries.length;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (this.entries[mid - 1]!.term <= term) lo = mid;
      else hi = mid - 1;
    }
    return lo > 0 && this.entries[lo - 1]!.term === term ? lo : 0;
  }

  /** Append entries that continue the log directly (leader path). */
  append(ents: Entry[]): void {
    for (const e of ents) {
      assert(e.index === this.entries.length + 1, `append gap: ${e.index} after ${this.entries.length}`);
      assert(e.term >= this.lastTerm, `append term ${e.term} below last term ${this.lastTerm}`);
      this.entries.push(e);
    }
  }

  /**
   * Drop entries from `index` on (the caller has checked this is a real conflict
   * above the commit index) so the leader's entries can replace them.
   */
  truncateFrom(index: number): void {
    assert(index >= 1 && index <= this.entries.length, `truncate at ${index} (last ${this.entries.length})`);
    this.entries.length = index - 1;
    if (this.stable > index - 1) this.stable = index - 1;
    if (this.unstableFrom > index) this.unstableFrom = index;
  }

  /** Entries changed since the last call; storage must cut its log at result[0].index first. */
  takeUnstable(): Entry[] {
    if (this.unstableFrom > this.entries.length) {
      this.unstableFrom = this.entries.length + 1;
      return [];
    }
    const from = this.unstableFrom;
    const out = this.entries.slice(from - 1);
    if (this.stable > from - 1) this.stable = from - 1;
    this.unstableFrom = this.entries.length + 1;
    return out;
  }

  hasUnstable(): boolean {
    return this.unstableFrom <= this.entries.length;
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
