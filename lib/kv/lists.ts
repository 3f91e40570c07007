// List commands on a ring-buffer deque: pushes and pops at either end are O(1), an
// index is O(1), the edits in the middle (LINSERT, LREM, LTRIM, LSET) O(n) as in Redis.
import * as w from '../util/resp-writer.js';
import { bulkArray, fail, indexRange, intArg, lowerArg, type KvCommand } from './command.js';
import { key, own, type Db } from './db.js';
import { ERR_NO_SUCH_KEY, ERR_OUT_OF_RANGE_POSITIVE, ERR_SYNTAX } from './syntax.js';
import type { Value } from './values.js';

type List = Extract<Value, { type: 'list' }>;

function push(left: boolean, onlyIfExists: boolean) {
  return (db: Db, a: Buffer[]): Buffer => {
    const k = key(a[1]!);
    const existing = db.get(k, 'list');
    if (onlyIfExists && existing === undefined) return w.ZERO;
    const l = existing ?? db.getOrNew(k, 'list');
    const items = a.slice(2);
    db.checkElements(l, items.length);
    db.checkBytes(l.bytes + items.reduce((n, b) => n + b.length, 0), false);
    for (const it of items) {
      if (left) l.v.pushFront(own(it));
      else l.v.pushBack(own(it));
      l.bytes += it.length;
    }
    db.store(k, l);
    return w.integer(l.v.length);
  };
}

function popOne(l: List, left: boolean): Buffer {
  const v = (left ? l.v.popFront() : l.v.popBack())!;
  l.bytes -= v.length;
  return v;
}

function pop(left: boolean) {
  return (db: Db, a: Buffer[]): Buffer => {
    if (a.length > 3) fail(ERR_SYNTAX);
    let count: number | null = null;
    if (a.length === 3) {
      count = intArg(a[2]!, ERR_OUT_OF_RANGE_POSITIVE);
      if (count < 0) fail(ERR_OUT_OF_RANGE_POSITIVE);
    }
    const k = key(a[1]!);
    const l = db.get(k, 'list');
    if (l === undefined) return count === null ? w.NULL_BULK : w.NULL_ARRAY;
    if (count === null) {
      const v = popOne(l, left);
      db.store(k, l);
      return w.bulk(v);
    }
    if (count === 0) return w.EMPTY_ARRAY;
    const out: Buffer[] = [];
    while (out.length < count && l.v.length > 0) out.push(popOne(l, left));
    db.store(k, l);
    return bulkArray(out);
  };
}

function lrange(db: Db, a: Buffer[]): Buffer {
  const start = intArg(a[2]!);
  const stop = intArg(a[3]!);
  const l = db.get(key(a[1]!), 'list');
  if (l === undefined) return w.EMPTY_ARRAY;
  const r = indexRange(start, stop, l.v.length);
  return r === null ? w.EMPTY_ARRAY : bulkArray(l.v.toArray(r[0], r[1]));
}

function lindex(db: Db, a: Buffer[]): Buffer {
  const i = intArg(a[2]!);
  const l = db.get(key(a[1]!), 'list');
  if (l === undefined) return w.NULL_BULK;
  const j = i < 0 ? l.v.length + i : i;
  return j < 0 || j >= l.v.length ? w.NULL_BULK : w.bulk(l.v.get(j));
}

function lset(db: Db, a: Buffer[]): Buffer {
  const i = intArg(a[2]!);
  const k = key(a[1]!);
  const l = db.get(k, 'list');
  if (l === undefined) fail(ERR_NO_SUCH_KEY);
  const j = i < 0 ? l.v.length + i : i;
  if (j < 0 || j >= l.v.length) fail('ERR index out of range');
  const old = l.v.get(j);
  db.checkBytes(l.bytes - old.length + a[3]!.length, false);
  l.v.set(j, own(a[3]!));
  l.bytes += a[3]!.length - old.length;
  db.store(k, l);
  return w.OK;
}

function linsert(db: Db, a: Buffer[]): Buffer {
  const where = lowerArg(a[2]!);
  if (where !== 'before' && where !== 'after') fail(ERR_SYNTAX);
  const k = key(a[1]!);
  const l = db.get(k, 'list');
  if (l === undefined) return w.ZERO;
  const items = l.v.toArray();
  const at = items.findIndex((b) => b.equals(a[3]!));
  if (at < 0) return w.integer(-1);
  db.checkElements(l, 1);
  db.checkBytes(l.bytes + a[4]!.length, false);
  items.splice(where === 'before' ? at : at + 1, 0, own(a[4]!));
  l.v.reset(items);
  l.bytes += a[4]!.length;
  db.store(k, l);
  return w.integer(items.length);
}

function lrem(db: Db, a: Buffer[]): Buffer {
  const count = intArg(a[2]!);
  const k = key(a[1]!);
  const l = db.get(k, 'list');
  if (l === undefined) return w.ZERO;
  const items = l.v.toArray();
  const limit = count === 0 ? Infinity : Math.abs(count);
  const removeAt = new Set<number>();
  if (count >= 0) {
    for (let i = 0; i < items.length && removeAt.size < limit; i++) if (items[i]!.equals(a[3]!)) removeAt.add(i);
  } else {
    for (let i = items.length - 1; i >= 0 && removeAt.size < limit; i--) if (items[i]!.equals(a[3]!)) removeAt.add(i);
  }
  if (removeAt.size === 0) return w.ZERO;
  l.v.reset(items.filter((_, i) => !removeAt.has(i)));
  l.bytes -= removeAt.size * a[3]!.length;
  db.store(k, l);
  return w.integer(removeAt.size);
}

function ltrim(db: Db, a: Buffer[]): Buffer {
  const start = intArg(a[2]!);
  const stop = intArg(a[3]!);
  const k = key(a[1]!);
  const l = db.get(k, 'list');
  if (l === undefined) return w.OK;
  const r = indexRange(start, stop, l.v.length);
  const kept = r === null ? [] : l.v.toArray(r[0], r[1]);
  l.v.reset(kept);
  l.bytes = kept.reduce((n, b) => n + b.length, 0);
  db.store(k, l);
  return w.OK;
}

/** LPOS key element [RANK rank] [COUNT num-matches] [MAXLEN len]. */
function lpos(db: Db, a: Buffer[]): Buffer {
  let rank = 1;
  let count: number | null = null;
  let maxlen = 0;
  for (let i = 3; i < a.length; i++) {
    const opt = lowerArg(a[i]!);
    if (i + 1 >= a.length || !['rank', 'count', 'maxlen'].includes(opt)) fail(ERR_SYNTAX);
    const v = a[++i]!;
    const n = intArg(v, opt === 'count' ? "ERR COUNT can't be negative" : opt === 'maxlen' ? "ERR MAXLEN can't be negative" : undefined);
    if (opt === 'rank') {
      if (n === 0 || n <= -Number.MAX_SAFE_INTEGER)
        fail("ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list");
      rank = n;
    } else if (opt === 'count') {
      if (n < 0) fail("ERR COUNT can't be negative");
      count = n;
    } else if (opt === 'maxlen') {
      if (n < 0) fail("ERR MAXLEN can't be negative");
      maxlen = n;
    } else fail(ERR_SYNTAX);
  }
  const l = db.get(key(a[1]!), 'list');
  if (l === undefined) return count === null ? w.NULL_BULK : w.EMPTY_ARRAY;
  const len = l.v.length;
  const want = count === null ? 1 : count === 0 ? Infinity : count;
  const found: number[] = [];
  let skip = Math.abs(rank) - 1;
  for (let step = 0; step < len && (maxlen === 0 || step < maxlen) && found.length < want; step++) {
    const i = rank > 0 ? step : len - 1 - step;
    if (!l.v.get(i).equals(a[2]!)) continue;
    if (skip > 0) skip--;
    else found.push(i);
  }
  if (count === null) return found.length === 0 ? w.NULL_BULK : w.integer(found[0]!);
  return w.array(found.map((i) => w.integer(i)));
}

function lmoveArgs(a: readonly Buffer[], at: number): [boolean, boolean] {
  const from = lowerArg(a[at]!);
  const to = lowerArg(a[at + 1]!);
  if ((from !== 'left' && from !== 'right') || (to !== 'left' && to !== 'right')) fail(ERR_SYNTAX);
  return [from === 'left', to === 'left'];
}

function move(db: Db, src: string, dst: string, fromLeft: boolean, toLeft: boolean): Buffer {
  const s = db.get(src, 'list');
  if (s === undefined) return w.NULL_BULK;
  const d = db.get(dst, 'list') ?? (src === dst ? s : db.getOrNew(dst, 'list'));
  const peek = fromLeft ? s.v.get(0) : s.v.get(s.v.length - 1);
  if (d !== s) {
    db.checkElements(d, 1);
    db.checkBytes(d.bytes + peek.length, false);
  }
  const v = popOne(s, fromLeft);
  if (toLeft) d.v.pushFront(v);
  else d.v.pushBack(v);
  d.bytes += v.length;
  db.store(src, s);
  db.store(dst, d);
  return w.bulk(v);
}

export const LIST_COMMANDS: KvCommand[] = [
  { name: 'lpush', arity: -3, kind: 'write', run: push(true, false) },
  { name: 'rpush', arity: -3, kind: 'write', run: push(false, false) },
  { name: 'lpushx', arity: -3, kind: 'write', run: push(true, true) },
  { name: 'rpushx', arity: -3, kind: 'write', run: push(false, true) },
  { name: 'lpop', arity: -2, kind: 'write', run: pop(true) },
  { name: 'rpop', arity: -2, kind: 'write', run: pop(false) },
  { name: 'lrange', arity: 4, kind: 'read', run: lrange },
  { name: 'llen', arity: 2, kind: 'read', run: (db, a) => w.integer(db.get(key(a[1]!), 'list')?.v.length ?? 0) },
  { name: 'lindex', arity: 3, kind: 'read', run: lindex },
  { name: 'lset', arity: 4, kind: 'write', run: lset },
  { name: 'linsert', arity: 5, kind: 'write', run: linsert },
  { name: 'lrem', arity: 4, kind: 'write', run: lrem },
  { name: 'ltrim', arity: 4, kind: 'write', run: ltrim },
  { name: 'lpos', arity: -3, kind: 'read', run: lpos },
  {
    name: 'lmove',
    arity: 5,
    kind: 'write',
    run(db, a) {
      const [fromLeft, toLeft] = lmoveArgs(a, 3);
      return move(db, key(a[1]!), key(a[2]!), fromLeft, toLeft);
    },
  },
  { name: 'rpoplpush', arity: 3, kind: 'write', run: (db, a) => move(db, key(a[1]!), key(a[2]!), false, true) },
];
