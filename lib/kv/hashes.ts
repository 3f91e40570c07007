// Hash commands. A hash is a Map of field to value in insertion order (what Redis'
// listpack encoding of a small hash shows).
import * as w from '../util/resp-writer.js';
import { fail, int64, type KvCommand } from './command.js';
import { checkCollectionScan, scanCollection } from './collection-scan.js';
import { key, keyBuf, own, type Db } from './db.js';
import { formatHuman, parseDouble } from './numbers.js';
import { ERR_NAN_OR_INF, ERR_NOT_FLOAT, ERR_OVERFLOW, INT64_MAX, INT64_MIN, parseInt64, wrongArity } from './syntax.js';
import type { Value } from './values.js';

type Hash = Extract<Value, { type: 'hash' }>;

/** Sets fields; returns how many were new. Bounds are checked before anything changes. */
function setFields(db: Db, k: string, h: Hash, pairs: Buffer[]): number {
  let added = 0;
  let bytes = h.bytes;
  const fresh = new Set<string>();
  for (let i = 0; i < pairs.length; i += 2) {
    const f = key(pairs[i]!);
    const old = h.v.get(f);
    if (old === undefined && !fresh.has(f)) {
      fresh.add(f);
      added++;
      bytes += f.length + pairs[i + 1]!.length;
    } else {
      bytes += pairs[i + 1]!.length - (old?.length ?? 0);
    }
  }
  db.checkElements(h, added);
  db.checkBytes(bytes, false);
  for (let i = 0; i < pairs.length; i += 2) {
    const f = key(pairs[i]!);
    const old = h.v.get(f);
    h.bytes += pairs[i + 1]!.length - (old === undefined ? -f.length : old.length);
    h.v.set(f, own(pairs[i + 1]!));
  }
  db.store(k, h);
  return added;
}

function hset(name: string) {
  return (db: Db, a: Buffer[]): Buffer => {
    if (a.length % 2 !== 0) fail(wrongArity(name));
    const k = key(a[1]!);
    const added = setFields(db, k, db.getOrNew(k, 'hash'), a.slice(2));
    return name === 'hmset' ? w.OK : w.integer(added);
  };
}

function hincrby(db: Db, a: Buffer[]): Buffer {
  const by = int64(a[3]!);
  const k = key(a[1]!);
  const h = db.getOrNew(k, 'hash');
  const cur = h.v.get(key(a[2]!));
  let value = 0n;
  if (cur !== undefined) {
    const v = parseInt64(cur);
    if (v === null) fail('ERR hash value is not an integer');
    value = v;
  }
  const next = value + by;
  if (next < INT64_MIN || next > INT64_MAX) fail(ERR_OVERFLOW);
  setFields(db, k, h, [a[2]!, Buffer.from(next.toString(), 'latin1')]);
  return w.integer(next);
}

function hincrbyfloat(db: Db, a: Buffer[]): Buffer {
  const by = parseDouble(a[3]!);
  if (by === null) fail(ERR_NOT_FLOAT);
  if (!Number.isFinite(by)) fail('ERR value is NaN or Infinity');
  const k = key(a[1]!);
  const h = db.getOrNew(k, 'hash');
  const cur = h.v.get(key(a[2]!));
  let value = 0;
  if (cur !== undefined) {
    const v = parseDouble(cur);
    if (v === null) fail('ERR hash value is not a float');
    value = v;
  }
  const next = value + by;
  if (!Number.isFinite(next)) fail(ERR_NAN_OR_INF);
  const text = Buffer.from(formatHuman(next), 'latin1');
  setFields(db, k, h, [a[2]!, text]);
  return w.bulk(text);
}

function hdel(db: Db, a: Buffer[]): Buffer {
  const k = key(a[1]!);
  const h = db.get(k, 'hash');
  if (h === undefined) return w.ZERO;
  let n = 0;
  for (let i = 2; i < a.length; i++) {
    const f = key(a[i]!);
    const old = h.v.get(f);
    if (old === undefined) continue;
    h.v.delete(f);
    h.bytes -= f.length + old.length;
    n++;
  }
  if (n > 0) db.store(k, h);
  return w.integer(n);
}

function all(db: Db, a: Buffer[], what: 'keys' | 'vals' | 'both'): Buffer {
  const h = db.get(key(a[1]!), 'hash');
  if (h === undefined) return w.EMPTY_ARRAY;
  const out: Buffer[] = [];
  for (const [f, v] of h.v) {
    if (what !== 'vals') out.push(w.bulk(keyBuf(f)));
    if (what !== 'keys') out.push(w.bulk(v));
  }
  return w.array(out);
}

export const HASH_COMMANDS: KvCommand[] = [
  { name: 'hset', arity: -4, kind: 'write', check: (a) => (a.length % 2 !== 0 ? wrongArity('hset') : null), run: hset('hset') },
  { name: 'hmset', arity: -4, kind: 'write', check: (a) => (a.length % 2 !== 0 ? wrongArity('hmset') : null), run: hset('hmset') },
  {
    name: 'hsetnx',
    arity: 4,
    kind: 'write',
    run(db, a) {
      const k = key(a[1]!);
      const h = db.getOrNew(k, 'hash');
      if (h.v.has(key(a[2]!))) return w.ZERO;
      setFields(db, k, h, [a[2]!, a[3]!]);
      return w.ONE;
    },
  },
  { name: 'hget', arity: 3, kind: 'read', run: (db, a) => w.bulk(db.get(key(a[1]!), 'hash')?.v.get(key(a[2]!)) ?? null) },
  {
    name: 'hmget',
    arity: -3,
    kind: 'read',
    run(db, a) {
      const h = db.get(key(a[1]!), 'hash');
      return w.array(a.slice(2).map((f) => w.bulk(h?.v.get(key(f)) ?? null)));
    },
  },
  { name: 'hdel', arity: -3, kind: 'write', run: hdel },
  { name: 'hexists', arity: 3, kind: 'read', run: (db, a) => (db.get(key(a[1]!), 'hash')?.v.has(key(a[2]!)) ? w.ONE : w.ZERO) },
  { name: 'hgetall', arity: 2, kind: 'read', run: (db, a) => all(db, a, 'both') },
  { name: 'hkeys', arity: 2, kind: 'read', run: (db, a) => all(db, a, 'keys') },
  { name: 'hvals', arity: 2, kind: 'read', run: (db, a) => all(db, a, 'vals') },
  { name: 'hlen', arity: 2, kind: 'read', run: (db, a) => w.integer(db.get(key(a[1]!), 'hash')?.v.size ?? 0) },
  { name: 'hstrlen', arity: 3, kind: 'read', run: (db, a) => w.integer(db.get(key(a[1]!), 'hash')?.v.get(key(a[2]!))?.length ?? 0) },
  { name: 'hincrby', arity: 4, kind: 'write', run: hincrby },
  { name: 'hincrbyfloat', arity: 4, kind: 'write', run: hincrbyfloat },
  {
    name: 'hscan',
    arity: -3,
    kind: 'read',
    check: checkCollectionScan,
    run(db, a) {
      let m = new Map<string, Buffer>();
      const lookup = () => {
        const h = db.get(key(a[1]!), 'hash');
        if (h !== undefined) m = h.v;
        return h && { members: m.keys(), size: m.size };
      };
      return scanCollection(a, lookup, (f) => [w.bulk(keyBuf(f)), w.bulk(m.get(f)!)]);
    },
  },
];
