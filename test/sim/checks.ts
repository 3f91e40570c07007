// Safety checks run by the simulator while it runs a cluster. Each throws a
// SimCheckError naming the property and the evidence.

import type { Entry, NodeId } from '../../lib/raft/types.js';

export class SimCheckError extends Error {
  readonly code = 'SIM_CHECK';
  constructor(
    readonly property: string,
    detail: string,
  ) {
    super(`${property}: ${detail}`);
    this.name = 'SimCheckError';
  }
}

export function check(cond: boolean, property: string, detail: () => string): asserts cond {
  if (!cond) throw new SimCheckError(property, detail());
}

const keyCache = new WeakMap<Entry, string>();
const hashCache = new WeakMap<Entry, number>();

/** Identity of an entry's content (entries are shared, immutable objects in the simulator). */
export function entryKey(e: Entry): string {
  let k = keyCache.get(e);
  if (k === undefined) {
    let data = '';
    for (const b of e.data) data += String.fromCharCode(b);
    k = `${e.index}/${e.term}/${e.kind}/${e.tid}/${data}`;
    keyCache.set(e, k);
  }
  return k;
}

function entryHash(e: Entry): number {
  let h = hashCache.get(e);
  if (h === undefined) {
    h = fnv(2166136261, entryKey(e));
    hashCache.set(e, h);
  }
  return h;
}

/** Election safety: at most one leader per term, ever. */
export class LeaderHistory {
  private readonly byTerm = new Map<number, NodeId>();

  /** Returns true when this is the first time we see `id` lead `term`. */
  observe(term: number, id: NodeId): boolean {
    const prev = this.byTerm.get(term);
    check(prev === undefined || prev === id, 'election safety', () => `term ${term} has leaders ${prev} and ${id}`);
    if (prev === undefined) {
      this.byTerm.set(term, id);
      return true;
    }
    return false;
  }

  get terms(): number {
    return this.byTerm.size;
  }
}

/**
 * State machine safety: every node applies the same entry at each index. Also the
 * record of what is known committed, for leader completeness.
 */
export class AppliedHistory {
  readonly byIndex: string[] = [''];
  readonly entries: Entry[] = [];

  get maxIndex(): number {
    return this.byIndex.length - 1;
  }

  apply(node: NodeId, e: Entry): void {
    const key = entryKey(e);
    if (e.index < this.byIndex.length) {
      const prev = this.byIndex[e.index]!;
      check(prev === key, 'state machine safety', () => `${node} applied ${key} at ${e.index}, another node ${prev}`);
      return;
    }
    check(e.index === this.byIndex.length, 'state machine safety', () => `${node} applied ${e.index} with a gap`);
    this.byIndex.push(key);
    this.entries.push(e);
  }
}

/** Leader completeness: a new leader's log holds every entry known committed. */
export function checkLeaderCompleteness(id: NodeId, term: number, log: readonly Entry[], applied: AppliedHistory): void {
  check(log.length >= applied.maxIndex, 'leader completeness', () =>
    `leader ${id} of term ${term} has ${log.length} entries, ${applied.maxIndex} are committed`,
  );
  for (let i = 1; i <= applied.maxIndex; i++) {
    const key = entryKey(log[i - 1]!);
    check(key === applied.byIndex[i], 'leader completeness', () =>
      `leader ${id} of term ${term} has ${key} at ${i}, committed was ${applied.byIndex[i]}`,
    );
  }
}

function fnv(h: number, s: string): number {
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 16777619) >>> 0;
  }
  return h;
}

/**
 * Log matching: if two logs hold an entry with the same index and term, the logs
 * are identical up to that index. Checked with a hash chain over each log.
 */
export function checkLogMatching(logs: { id: NodeId; log: readonly Entry[] }[]): void {
  const seen = new Map<string, { id: NodeId; hash: number }>();
  for (const { id, log } of logs) {
    let h = 2166136261;
    for (let i = 0; i < log.length; i++) {
      const e = log[i]!;
      check(e.index === i + 1, 'log shape', () => `${id} holds index ${e.index} at position ${i + 1}`);
      check(i === 0 || e.term >= log[i - 1]!.term, 'log shape', () => `${id} terms decrease at ${e.index}`);
      h = Math.imul(h ^ entryHash(e), 16777619) >>> 0;
      h = (h ^ (h >>> 13)) >>> 0;
      const k = `${e.index}:${e.term}`;
      const prev = seen.get(k);
      if (prev === undefined) seen.set(k, { id, hash: h });
      else
        check(prev.hash === h, 'log matching', () => `${prev.id} and ${id} agree on ${k} but differ in the prefix`);
    }
  }
}
