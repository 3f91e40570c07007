// The configurations a node's log holds, so the one in effect can be found again when
// entries are truncated (a config entry cut from the log takes its configuration with
// it) or compacted (the snapshot keeps the configuration as of its index).
//
// Invariants: inLog is in ascending index order, every index > base.index, and every
// one is the index of a config entry the log holds; current() is the last of them, or
// base when there is none.
import type { Membership } from '../replica/membership-types.js';
import { assert } from './assert.js';
import { decodeConfig } from './config-entry.js';
import type { Entry } from './types.js';

export class ConfigHistory {
  private base: Membership;
  private inLog: Membership[] = [];

  constructor(base: Membership) {
    this.base = base;
  }

  current(): Membership {
    return this.inLog.length > 0 ? this.inLog[this.inLog.length - 1]! : this.base;
  }

  /** The configuration in effect once the log is applied through `index`. */
  at(index: number): Membership {
    for (let i = this.inLog.length - 1; i >= 0; i--) if (this.inLog[i]!.index <= index) return this.inLog[i]!;
    return this.base;
  }

  /** The log took these entries (in index order, after any truncation); true if the configuration changed. */
  appended(entries: readonly Entry[]): boolean {
    let changed = false;
    for (const e of entries) {
      if (e.kind !== 'config') continue;
      const last = this.current();
      assert(e.index > last.index, `config entry ${e.index} at or below the current one ${last.index}`);
      this.inLog.push(decodeConfig(e.data, e.index));
      changed = true;
    }
    return changed;
  }

  /** Entries from `index` on left the log; true if the configuration changed. */
  truncatedFrom(index: number): boolean {
    const before = this.inLog.length;
    while (this.inLog.length > 0 && this.inLog[this.inLog.length - 1]!.index >= index) this.inLog.pop();
    return this.inLog.length !== before;
  }

  /** Entries through `index` are compacted away: their configuration becomes the base. */
  compactedTo(index: number): void {
    let k = 0;
    while (k < this.inLog.length && this.inLog[k]!.index <= index) k++;
    if (k === 0) return;
    this.base = this.inLog[k - 1]!;
    this.inLog = this.inLog.slice(k);
  }

  /**
   * A snapshot through `index` was installed. `config`: the one it carries (null: an
   * older snapshot without one; the log's view at `index` stands). `keptLog`: the log
   * kept the entries after it. True if the configuration changed.
   */
  installed(index: number, config: Membership | null, keptLog: boolean): boolean {
    const before = this.current();
    const base = config ?? this.at(index);
    assert(base.index <= index, `snapshot ${index} carries config ${base.index}`);
    this.base = base;
    this.inLog = keptLog ? this.inLog.filter((c) => c.index > index) : [];
    return this.current() !== before;
  }
}
