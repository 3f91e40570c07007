// Set commands. Members are latin1 strings in an IndexedSet (O(1) random picks). SPOP is a
// write: its randomness is Db.random, seeded by the proposer and carried in the entry,
// so every replica pops the same members.
import * as w from '../util/resp-writer.js';
import { fail, intArg, type KvCommand } from './command.js';
import { checkCollectionScan, scanCollection } from './collection-scan.js';
import { key, keyBuf, type Db } from './db.js';
import { IndexedSet } from './indexed-set.js';
import { ERR_OUT_OF_RANGE_POSITIVE, ERR_SYNTAX } from './syntax.js';
import type { Value } from './values.js';

type SetV = Extract<Value, { type: 'set' }>;

const members = (s: Iterable<string>): Buffer => w.array([...s].map((m) => w.bulk(keyBuf(m))));

function add(db: Db, k: string, s: SetV, ms: string[]): number {
  const fresh = new Set(ms.filter((m) => !s.v.has(m)));
  db.checkElements(s, fresh.size);
  let bytes = s.bytes;
  for (const m of fresh) bytes += m.length;
  db.checkBytes(bytes, false);
  for (const m of fresh) s.v.add(m);
  s.bytes = bytes;
  if (fresh.size > 0) db.store(k, s);
  return fresh.size;
}

function remove(s: SetV, m: string): boolean {
  if (!s.v.delete(m)) return false;
  s.bytes -= m.length;
  return true;
}

/** The sets named by args[from..] (WRONGTYPE checked for all first); a missing key is null. */
function sets(db: Db, a: Buffer[], from: number): (SetV | null)[] {
  return a.slice(from).map((k) => db.get(key(k), 'set') ?? null);
}

function combine(op: 'inter' | 'union' | 'diff', all: (SetV | null)[]): Set<string> {
  if (op === 'union') {
    const out = new Set<string>();
    for (const s of all) if (s) for (const m of s.v) out.add(m);
    return out;
  }
  const [first, ...rest] = all;
  if (!first) return new Set();
  if (op === 'inter') {
    if (rest.some((s) => s === null)) return new Set();
    const ordered = [...rest].sort((x, y) => x!.v.size - y!.v.size);
    return new Set([...first.v].filter((m) => ordered.every((s) => s!.v.has(m))));
  }
  return new Set([...first.v].filter((m) => rest.every((s) => s === null || !s.v.has(m))));
}

function store(op: 'inter' | 'union' | 'diff') {
  return (db: Db, a: Buffer[]): Buffer => {
    const result = combine(op, sets(db, a, 2));
    const dst = key(a[1]!);
    const s: SetV = { type: 'set', v: new IndexedSet(result), bytes: 0, counted: 0, version: 0, at: -1 };
    for (const m of result) s.bytes += m.length;
    db.checkElements({ type: 'set', v: new IndexedSet(), bytes: 0, counted: 0 }, result.size);
    db.checkBytes(s.bytes, false);
    db.delete(dst);
    if (result.size > 0) db.replace(dst, s);
    return w.integer(result.size);
  };
}

/**
 * Picks `n` distinct members at random (n <= size): O(n) by position, with a partial
 * Fisher-Yates over the positions drawn (only those are remembered).
 */
function pick(db: Db, s: SetV, n: number): string[] {
  const size = s.v.size;
  const swapped = new Map<number, number>();
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const j = i + Math.floor(db.random() * (size - i));
    const pj = swapped.get(j) ?? j;
    swapped.set(j, swapped.get(i) ?? i);
    out.push(s.v.at(pj));
  }
  return out;
}

function spop(db: Db, a: Buffer[]): Buffer {
  if (a.length > 3) fail(ERR_SYNTAX);
  let count: number | null = null;
  if (a.length === 3) {
    count = intArg(a[2]!, ERR_OUT_OF_RANGE_POSITIVE);
    if (count < 0) fail(ERR_OUT_OF_RANGE_POSITIVE);
  }
  const k = key(a[1]!);
  const s = db.get(k, 'set');
  if (s === undefined) return count === null ? w.NULL_BULK : w.EMPTY_ARRAY;
  if (count === 0) return w.EMPTY_ARRAY;
  const popped = pick(db, s, Math.min(count ?? 1, s.v.size));
  for (const m of popped) remove(s, m);
  db.store(k, s);
  return count === null ? w.bulk(keyBuf(popped[0]!)) : members(popped);
}

function srandmember(db: Db, a: Buffer[]): Buffer {
  if (a.length > 3) fail(ERR_SYNTAX);
  let count: number | null = null;
  if (a.length === 3) {
    count = intArg(a[2]!);
    if (count <= -Number.MAX_SAFE_INTEGER) fail('ERR value is out of range');
  }
  const s = db.get(key(a[1]!), 'set');
  if (s === undefined) return count === null ? w.NULL_BULK : w.EMPTY_ARRAY;
  if (count === null) return w.bulk(keyBuf(pick(db, s, 1)[0]!));
  if (count >= 0) return members(pick(db, s, Math.min(count, s.v.size)));
  if (-count > db.limits.elementsMax) fail(`ERR raftd limit: a reply holds at most ${db.limits.elementsMax} elements`);
  const out: string[] = [];
  for (let i = 0; i < -count; i++) out.push(s.v.at(Math.floor(db.random() * s.v.size)));
  return members(out);
}

function smove(db: Db, a: Buffer[]): Buffer {
  const src = key(a[1]!);
  const dst = key(a[2]!);
  const m = key(a[3]!);
  if (db.lookup(src) === undefined) return w.ZERO; // Before either type check, as Redis.
  const s = db.get(src, 'set')!;
  const d = db.get(dst, 'set');
  if (src === dst) return s.v.has(m) ? w.ONE : w.ZERO;
  if (!s.v.has(m)) return w.ZERO;
  const target = d ?? db.getOrNew(dst, 'set');
  if (!target.v.has(m)) {
    db.checkElements(target, 1);
    db.checkBytes(target.bytes + m.length, false);
  }
  remove(s, m);
  db.store(src, s);
  add(db, dst, target, [m]);
  return w.ONE;
}

export const SET_COMMANDS: KvCommand[] = [
  {
    name: 'sadd',
    arity: -3,
    kind: 'write',
    run(db, a) {
      const k = key(a[1]!);
      return w.integer(add(db, k, db.getOrNew(k, 'set'), a.slice(2).map(key)));
    },
  },
  {
    name: 'srem',
    arity: -3,
    kind: 'write',
    run(db, a) {
      const k = key(a[1]!);
      const s = db.get(k, 'set');
      if (s === undefined) return w.ZERO;
      let n = 0;
      for (let i = 2; i < a.length; i++) if (remove(s, key(a[i]!))) n++;
      if (n > 0) db.store(k, s);
      return w.integer(n);
    },
  },
  { name: 'smembers', arity: 2, kind: 'read', run: (db, a) => members(db.get(key(a[1]!), 'set')?.v ?? []) },
  { name: 'sismember', arity: 3, kind: 'read', run: (db, a) => (db.get(key(a[1]!), 'set')?.v.has(key(a[2]!)) ? w.ONE : w.ZERO) },
  {
    name: 'smismember',
    arity: -3,
    kind: 'read',
    run(db, a) {
      const s = db.get(key(a[1]!), 'set');
      return w.array(a.slice(2).map((m) => (s?.v.has(key(m)) ? w.ONE : w.ZERO)));
    },
  },
  { name: 'scard', arity: 2, kind: 'read', run: (db, a) => w.integer(db.get(key(a[1]!), 'set')?.v.size ?? 0) },
  { name: 'sinter', arity: -2, kind: 'read', run: (db, a) => members(combine('inter', sets(db, a, 1))) },
  { name: 'sunion', arity: -2, kind: 'read', run: (db, a) => members(combine('union', sets(db, a, 1))) },
  { name: 'sdiff', arity: -2, kind: 'read', run: (db, a) => members(combine('diff', sets(db, a, 1))) },
  { name: 'sinterstore', arity: -3, kind: 'write', run: store('inter') },
  { name: 'sunionstore', arity: -3, kind: 'write', run: store('union') },
  { name: 'sdiffstore', arity: -3, kind: 'write', run: store('diff') },
  { name: 'smove', arity: 4, kind: 'write', run: smove },
  { name: 'spop', arity: -2, kind: 'write', run: spop },
  { name: 'srandmember', arity: -2, kind: 'read', run: srandmember },
  {
    name: 'sscan',
    arity: -3,
    kind: 'read',
    check: checkCollectionScan,
    run(db, a) {
      const lookup = () => {
        const s = db.get(key(a[1]!), 'set');
        return s && { members: s.v, size: s.v.size };
      };
      return scanCollection(a, lookup, (m) => [w.bulk(keyBuf(m))]);
    },
  },
];
