// Sorted set commands over a member->score map plus a skip list ordered by
// (score, member) (skiplist.ts): ZADD, ZRANK and the start of any range are O(log n).
import * as w from '../util/resp-writer.js';
import { checkOf, fail, indexRange, intArg, lowerArg, type KvCommand } from './command.js';
import { checkCollectionScan, scanCollection } from './collection-scan.js';
import { key, keyBuf, type Db } from './db.js';
import { formatScore, parseDouble } from './numbers.js';
import type { SlNode } from './skiplist.js';
import { ERR_NOT_FLOAT, ERR_OUT_OF_RANGE_POSITIVE, ERR_SYNTAX } from './syntax.js';
import { SCORE_BYTES, type Value } from './values.js';

type Zset = Extract<Value, { type: 'zset' }>;

const ERR_NAN_SCORE = 'ERR resulting score is not a number (NaN)';
const ERR_RANGE_FLOAT = 'ERR min or max is not a float';
const ERR_RANGE_LEX = 'ERR min or max not valid string range item';

const scoreBulk = (s: number): Buffer => w.bulk(formatScore(s));

function zset(db: Db, a: Buffer[]): Zset | undefined {
  return db.get(key(a[1]!), 'zset');
}

/** Sets a member's score (adding it if new); the caller checked bounds. */
function put(z: Zset, m: string, score: number): void {
  const cur = z.v.scores.get(m);
  if (cur !== undefined) {
    if (cur === score) return;
    z.v.order.delete(cur, m);
  } else {
    z.bytes += m.length + SCORE_BYTES;
  }
  z.v.scores.set(m, score);
  z.v.order.insert(score, m);
}

function removeMember(z: Zset, m: string): boolean {
  const cur = z.v.scores.get(m);
  if (cur === undefined) return false;
  z.v.scores.delete(m);
  z.v.order.delete(cur, m);
  z.bytes -= m.length + SCORE_BYTES;
  return true;
}

interface ZaddFlags {
  nx: boolean;
  xx: boolean;
  gt: boolean;
  lt: boolean;
  ch: boolean;
  incr: boolean;
}

/** ZADD's flags and score/member pairs, checked as Redis' zaddGenericCommand does. */
function parseZadd(a: readonly Buffer[]): { f: ZaddFlags; pairs: [number, string][] } {
  const f: ZaddFlags = { nx: false, xx: false, gt: false, lt: false, ch: false, incr: false };
  let i = 2;
  for (; i < a.length; i++) {
    const o = lowerArg(a[i]!);
    if (Object.hasOwn(f, o)) f[o as keyof ZaddFlags] = true;
    else break;
  }
  const n = a.length - i;
  if (n === 0 || n % 2 !== 0) fail(ERR_SYNTAX);
  if (f.nx && f.xx) fail('ERR XX and NX options at the same time are not compatible');
  if ((f.gt && f.nx) || (f.lt && f.nx) || (f.gt && f.lt)) fail('ERR GT, LT, and/or NX options at the same time are not compatible');
  if (f.incr && n > 2) fail('ERR INCR option supports a single increment-element pair');
  const pairs: [number, string][] = [];
  for (; i < a.length; i += 2) {
    const s = parseDouble(a[i]!);
    if (s === null) fail(ERR_NOT_FLOAT);
    pairs.push([s, key(a[i + 1]!)]);
  }
  return { f, pairs };
}

function zadd(db: Db, k: string, f: ZaddFlags, pairs: [number, string][]): Buffer {
  const existing = db.get(k, 'zset');
  if (existing === undefined && f.xx) return f.incr ? w.NULL_BULK : w.ZERO;
  const z = existing ?? db.getOrNew(k, 'zset');
  const fresh = new Set<string>();
  let bytes = z.bytes;
  for (const [, m] of pairs) {
    if (!z.v.scores.has(m) && !fresh.has(m) && !f.xx) {
      fresh.add(m);
      bytes += m.length + SCORE_BYTES;
    }
  }
  db.checkElements(z, fresh.size);
  db.checkBytes(bytes, false);
  let added = 0;
  let updated = 0;
  let result: number | null = null;
  for (const [score, m] of pairs) {
    const cur = z.v.scores.get(m);
    if (cur !== undefined) {
      if (f.nx) continue;
      let next = score;
      if (f.incr) {
        next = cur + score;
        if (Number.isNaN(next)) fail(ERR_NAN_SCORE);
      }
      if ((f.gt && next <= cur) || (f.lt && next >= cur)) continue;
      result = next;
      if (next !== cur) {
        put(z, m, next);
        updated++;
      }
    } else {
      if (f.xx) continue;
      put(z, m, score);
      result = score;
      added++;
    }
  }
  if (added + updated > 0) db.store(k, z);
  if (f.incr) return result === null ? w.NULL_BULK : scoreBulk(result);
  return w.integer(f.ch ? added + updated : added);
}

// ---------------------------------------------------------------- ranges

interface ScoreRange {
  min: number;
  minEx: boolean;
  max: number;
  maxEx: boolean;
}

function scoreBound(b: Buffer): [number, boolean] {
  const ex = b[0] === 0x28; // '('
  const v = parseDouble(ex ? b.subarray(1) : b);
  if (v === null) fail(ERR_RANGE_FLOAT);
  return [v, ex];
}

function scoreRange(min: Buffer, max: Buffer): ScoreRange {
  const [lo, loEx] = scoreBound(min);
  const [hi, hiEx] = scoreBound(max);
  return { min: lo, minEx: loEx, max: hi, maxEx: hiEx };
}

const aboveMin = (r: ScoreRange) => (n: SlNode) => (r.minEx ? n.score > r.min : n.score >= r.min);
const belowMax = (r: ScoreRange) => (n: SlNode) => (r.maxEx ? n.score < r.max : n.score <= r.max);

/** A lex bound: -inf / +inf as null with a side, else the member and exclusivity. */
type LexBound = { inf: -1 | 1 } | { m: string; ex: boolean };

function lexBound(b: Buffer): LexBound {
  if (b.length === 1 && b[0] === 0x2d) return { inf: -1 };
  if (b.length === 1 && b[0] === 0x2b) return { inf: 1 };
  if (b[0] === 0x28) return { m: key(b.subarray(1)), ex: true };
  if (b[0] === 0x5b) return { m: key(b.subarray(1)), ex: false };
  fail(ERR_RANGE_LEX);
}

function lexAboveMin(b: LexBound): (n: SlNode) => boolean {
  if ('inf' in b) return () => b.inf < 0;
  return (n) => (b.ex ? n.member > b.m : n.member >= b.m);
}

function lexBelowMax(b: LexBound): (n: SlNode) => boolean {
  if ('inf' in b) return () => b.inf > 0;
  return (n) => (b.ex ? n.member < b.m : n.member <= b.m);
}

/** Redis' zslIsInLexRange: the range is not empty and overlaps [first, last] (a lex range assumes equal scores). */
function lexInRange(z: Zset, min: LexBound, max: LexBound): boolean {
  if ('inf' in min ? min.inf > 0 : 'inf' in max ? max.inf < 0 : min.m > max.m || (min.m === max.m && (min.ex || max.ex))) return false;
  const first = z.v.order.first();
  const last = z.v.order.last();
  return first !== null && last !== null && lexAboveMin(min)(last) && lexBelowMax(max)(first);
}

/** The first (or, reversed, last) member of a lex range as Redis finds it, or null. */
function lexStart(z: Zset, min: LexBound, max: LexBound, rev: boolean): SlNode | null {
  if (!lexInRange(z, min, max)) return null;
  if (rev) {
    const n = z.v.order.lastWhere(lexBelowMax(max));
    return n !== null && lexAboveMin(min)(n) ? n : null;
  }
  const n = z.v.order.firstWhere(lexAboveMin(min));
  return n !== null && lexBelowMax(max)(n) ? n : null;
}

/** Members from `start` stepping forward or back while `inside` holds, skipping `offset`, at most `count` (< 0: all). */
function walk(start: SlNode | null, rev: boolean, inside: (n: SlNode) => boolean, offset: number, count: number): SlNode[] {
  const out: SlNode[] = [];
  let n = start;
  const next = (x: SlNode): SlNode | null => (rev ? x.backward : x.forward[0]!);
  while (n !== null && offset > 0 && inside(n)) {
    n = next(n);
    offset--;
  }
  while (n !== null && (count < 0 || out.length < count) && inside(n)) {
    out.push(n);
    n = next(n);
  }
  return out;
}

function rangeReply(nodes: SlNode[], withScores: boolean): Buffer {
  const out: Buffer[] = [];
  for (const n of nodes) {
    out.push(w.bulk(keyBuf(n.member)));
    if (withScores) out.push(scoreBulk(n.score));
  }
  return w.array(out);
}

type RangeBy = 'rank' | 'score' | 'lex';

/**
 * ZRANGE and its older forms. `fixed` is the form's own mode (null for ZRANGE, which
 * reads BYSCORE/BYLEX/REV); the options start at argv[4] as in zrangeGenericCommand.
 */
function zrange(fixed: { by: RangeBy; rev: boolean } | null) {
  return (db: Db, a: Buffer[]): Buffer => {
    let by: RangeBy = fixed?.by ?? 'rank';
    let rev = fixed?.rev ?? false;
    let withScores = false;
    let limit: [number, number] | null = null;
    for (let i = 4; i < a.length; i++) {
      const o = lowerArg(a[i]!);
      if (o === 'withscores') withScores = true;
      else if (o === 'limit' && i + 2 < a.length) {
        limit = [intArg(a[i + 1]!), intArg(a[i + 2]!)];
        i += 2;
      } else if (fixed === null && o === 'byscore') by = 'score';
      else if (fixed === null && o === 'bylex') by = 'lex';
      else if (fixed === null && o === 'rev') rev = true;
      else fail(ERR_SYNTAX);
    }
    if (limit !== null && by === 'rank') fail('ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX');
    if (withScores && by === 'lex') fail('ERR syntax error, WITHSCORES not supported in combination with BYLEX');
    // The reversed forms take max before min.
    const lo = rev && by !== 'rank' ? a[3]! : a[2]!;
    const hi = rev && by !== 'rank' ? a[2]! : a[3]!;
    const [offset, count] = limit ?? [0, -1];
    if (by === 'rank') {
      const start = intArg(lo);
      const stop = intArg(hi);
      const z = zset(db, a);
      if (z === undefined) return w.EMPTY_ARRAY;
      const len = z.v.order.length;
      const r = indexRange(start, stop, len);
      if (r === null) return w.EMPTY_ARRAY;
      const first = z.v.order.at(rev ? len - 1 - r[0] : r[0]);
      return rangeReply(walk(first, rev, () => true, 0, r[1] - r[0] + 1), withScores);
    }
    if (by === 'score') {
      const range = scoreRange(lo, hi);
      const z = zset(db, a);
      if (z === undefined || offset < 0) return w.EMPTY_ARRAY;
      const start = rev ? z.v.order.lastWhere(belowMax(range)) : z.v.order.firstWhere(aboveMin(range));
      const inside = rev ? aboveMin(range) : belowMax(range);
      return rangeReply(walk(start, rev, inside, offset, count), withScores);
    }
    const min = lexBound(lo);
    const max = lexBound(hi);
    const z = zset(db, a);
    if (z === undefined || offset < 0) return w.EMPTY_ARRAY;
    const start = lexStart(z, min, max, rev);
    const inside = rev ? lexAboveMin(min) : lexBelowMax(max);
    return rangeReply(walk(start, rev, inside, offset, count), false);
  };
}

/** How many members lie within [first, last] found by the two searches: O(log n). */
function countBetween(z: Zset, first: SlNode | null, last: SlNode | null): number {
  if (first === null || last === null) return 0;
  const a = z.v.order.rank(first.score, first.member);
  const b = z.v.order.rank(last.score, last.member);
  return b >= a ? b - a + 1 : 0;
}

function zrank(rev: boolean) {
  return (db: Db, a: Buffer[]): Buffer => {
    if (a.length > 4 || (a.length === 4 && lowerArg(a[3]!) !== 'withscore')) fail(ERR_SYNTAX);
    const withScore = a.length === 4;
    const z = zset(db, a);
    const m = key(a[2]!);
    const s = z?.v.scores.get(m);
    if (z === undefined || s === undefined) return withScore ? w.NULL_ARRAY : w.NULL_BULK;
    const r = z.v.order.rank(s, m);
    const rank = w.integer(rev ? z.v.order.length - 1 - r : r);
    return withScore ? w.array([rank, scoreBulk(s)]) : rank;
  };
}

function zpop(max: boolean) {
  return (db: Db, a: Buffer[]): Buffer => {
    if (a.length > 3) fail(ERR_SYNTAX);
    let count = 1;
    if (a.length === 3) {
      count = intArg(a[2]!, ERR_OUT_OF_RANGE_POSITIVE);
      if (count < 0) fail(ERR_OUT_OF_RANGE_POSITIVE);
    }
    const k = key(a[1]!);
    const z = db.get(k, 'zset');
    if (z === undefined || count === 0) return w.EMPTY_ARRAY;
    const out: Buffer[] = [];
    while (out.length < count * 2) {
      const n = max ? z.v.order.last() : z.v.order.first();
      if (n === null) break;
      out.push(w.bulk(keyBuf(n.member)), scoreBulk(n.score));
      removeMember(z, n.member);
    }
    db.store(k, z);
    return w.array(out);
  };
}

function* inOrder(z: Zset): Generator<string> {
  for (let n = z.v.order.first(); n !== null; n = n.forward[0]!) yield n.member;
}

export const ZSET_COMMANDS: KvCommand[] = [
  {
    name: 'zadd',
    arity: -4,
    kind: 'write',
    check: checkOf(parseZadd),
    run(db, a) {
      const { f, pairs } = parseZadd(a);
      return zadd(db, key(a[1]!), f, pairs);
    },
  },
  {
    name: 'zincrby',
    arity: 4,
    kind: 'write',
    run(db, a) {
      const by = parseDouble(a[2]!);
      if (by === null) fail(ERR_NOT_FLOAT);
      return zadd(db, key(a[1]!), { nx: false, xx: false, gt: false, lt: false, ch: false, incr: true }, [[by, key(a[3]!)]]);
    },
  },
  {
    name: 'zrem',
    arity: -3,
    kind: 'write',
    run(db, a) {
      const k = key(a[1]!);
      const z = db.get(k, 'zset');
      if (z === undefined) return w.ZERO;
      let n = 0;
      for (let i = 2; i < a.length; i++) if (removeMember(z, key(a[i]!))) n++;
      if (n > 0) db.store(k, z);
      return w.integer(n);
    },
  },
  {
    name: 'zscore',
    arity: 3,
    kind: 'read',
    run(db, a) {
      const s = zset(db, a)?.v.scores.get(key(a[2]!));
      return s === undefined ? w.NULL_BULK : scoreBulk(s);
    },
  },
  {
    name: 'zmscore',
    arity: -3,
    kind: 'read',
    run(db, a) {
      const z = zset(db, a);
      return w.array(
        a.slice(2).map((m) => {
          const s = z?.v.scores.get(key(m));
          return s === undefined ? w.NULL_BULK : scoreBulk(s);
        }),
      );
    },
  },
  { name: 'zcard', arity: 2, kind: 'read', run: (db, a) => w.integer(zset(db, a)?.v.scores.size ?? 0) },
  {
    name: 'zcount',
    arity: 4,
    kind: 'read',
    run(db, a) {
      const r = scoreRange(a[2]!, a[3]!);
      const z = zset(db, a);
      if (z === undefined) return w.ZERO;
      return w.integer(countBetween(z, z.v.order.firstWhere(aboveMin(r)), z.v.order.lastWhere(belowMax(r))));
    },
  },
  {
    name: 'zlexcount',
    arity: 4,
    kind: 'read',
    run(db, a) {
      const min = lexBound(a[2]!);
      const max = lexBound(a[3]!);
      const z = zset(db, a);
      if (z === undefined) return w.ZERO;
      return w.integer(countBetween(z, lexStart(z, min, max, false), lexStart(z, min, max, true)));
    },
  },
  { name: 'zrank', arity: -3, kind: 'read', run: zrank(false) },
  { name: 'zrevrank', arity: -3, kind: 'read', run: zrank(true) },
  { name: 'zrange', arity: -4, kind: 'read', run: zrange(null) },
  { name: 'zrevrange', arity: -4, kind: 'read', run: zrange({ by: 'rank', rev: true }) },
  { name: 'zrangebyscore', arity: -4, kind: 'read', run: zrange({ by: 'score', rev: false }) },
  { name: 'zrevrangebyscore', arity: -4, kind: 'read', run: zrange({ by: 'score', rev: true }) },
  { name: 'zrangebylex', arity: -4, kind: 'read', run: zrange({ by: 'lex', rev: false }) },
  { name: 'zrevrangebylex', arity: -4, kind: 'read', run: zrange({ by: 'lex', rev: true }) },
  { name: 'zpopmin', arity: -2, kind: 'write', run: zpop(false) },
  { name: 'zpopmax', arity: -2, kind: 'write', run: zpop(true) },
  {
    name: 'zscan',
    arity: -3,
    kind: 'read',
    check: checkCollectionScan,
    run(db, a) {
      let scores = new Map<string, number>();
      const lookup = () => {
        const z = zset(db, a);
        if (z !== undefined) scores = z.v.scores;
        return z && { members: inOrder(z), size: scores.size }; // Score order, like Redis' listpack.
      };
      return scanCollection(a, lookup, (m) => [w.bulk(keyBuf(m)), scoreBulk(scores.get(m)!)]);
    },
  },
];
