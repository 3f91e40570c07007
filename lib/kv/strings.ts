// String commands: values, counters, ranges and bits, as Redis 7 replies to them.
import * as w from '../util/resp-writer.js';
import { checkOf, fail, int64, intArg, lowerArg, type KvCommand } from './command.js';
import { key, type Db } from './db.js';
import { deadlineOf, expireArg, parseGetexOptions, parseSetOptions } from './expiry-args.js';
import { formatHuman, parseDouble } from './numbers.js';
import {
  ERR_DECR_OVERFLOW,
  ERR_NAN_OR_INF,
  ERR_NOT_FLOAT,
  ERR_NOT_INTEGER,
  ERR_OVERFLOW,
  ERR_SYNTAX,
  INT64_MAX,
  INT64_MIN,
  parseInt64,
  wrongArity,
} from './syntax.js';
import { bytesOf, stringValue } from './values.js';

const EMPTY_BULK = w.bulk(Buffer.alloc(0));

/** Stores a string (see stringBytes for when it keeps the caller's memory), replacing any value; keeps the deadline if asked. */
export function putString(db: Db, k: string, v: Buffer, keepTtl = false): void {
  db.checkBytes(v.length, true);
  db.replace(k, stringValue(v), keepTtl);
}

function getString(db: Db, k: string): Buffer | null {
  const v = db.get(k, 'string');
  return v === undefined ? null : bytesOf(v.v);
}

function set(db: Db, args: Buffer[]): Buffer {
  const o = parseSetOptions(args);
  const k = key(args[1]!);
  const deadline = o.expire === null ? undefined : deadlineOf(o.expire, db.nowMs, 'set');
  const old = o.get ? getString(db, k) : null; // WRONGTYPE before anything changes.
  const exists = db.lookup(k) !== undefined;
  if ((o.nx && exists) || (o.xx && !exists)) return o.get ? w.bulk(old) : w.NULL_BULK;
  putString(db, k, args[2]!, o.keepTtl);
  if (deadline !== undefined) db.setDeadline(k, deadline);
  return o.get ? w.bulk(old) : w.OK;
}

function setWithExpire(unit: 'ex' | 'px', name: string) {
  return (db: Db, args: Buffer[]): Buffer => {
    const e = expireArg(unit, args[2]!, name);
    const k = key(args[1]!);
    const deadline = deadlineOf(e, db.nowMs, name);
    putString(db, k, args[3]!);
    db.setDeadline(k, deadline);
    return w.OK;
  };
}

function incrBy(db: Db, k: string, by: bigint): Buffer {
  const cur = getString(db, k);
  let value = 0n;
  if (cur !== null) {
    const v = parseInt64(cur);
    if (v === null) fail(ERR_NOT_INTEGER);
    value = v;
  }
  const next = value + by;
  if (next < INT64_MIN || next > INT64_MAX) fail(ERR_OVERFLOW);
  putString(db, k, Buffer.from(next.toString(), 'latin1'), true);
  return w.integer(next);
}

function decrByArg(args: readonly Buffer[]): bigint {
  const n = int64(args[2]!);
  if (n === INT64_MIN) fail(ERR_DECR_OVERFLOW); // Negating it would overflow.
  return n;
}

function incrByFloat(db: Db, args: Buffer[]): Buffer {
  const k = key(args[1]!);
  const cur = getString(db, k); // WRONGTYPE first, as Redis.
  let value = 0;
  if (cur !== null) {
    const v = parseDouble(cur);
    if (v === null) fail(ERR_NOT_FLOAT);
    value = v;
  }
  const by = parseDouble(args[2]!);
  if (by === null) fail(ERR_NOT_FLOAT);
  const next = value + by;
  if (!Number.isFinite(next)) fail(ERR_NAN_OR_INF);
  const text = Buffer.from(formatHuman(next), 'latin1');
  putString(db, k, text, true);
  return w.bulk(text);
}

/** GETRANGE's clamping of start/end (Redis 7's getrangeCommand). */
function getRange(db: Db, args: Buffer[]): Buffer {
  let start = intArg(args[2]!);
  let end = intArg(args[3]!);
  const v = getString(db, key(args[1]!)) ?? Buffer.alloc(0);
  const len = v.length;
  if (start < 0 && end < 0 && start > end) return EMPTY_BULK;
  if (start < 0) start = len + start;
  if (end < 0) end = len + end;
  if (start < 0) start = 0;
  if (end < 0) end = 0;
  if (end >= len) end = len - 1;
  if (start > end || len === 0) return EMPTY_BULK;
  return w.bulk(v.subarray(start, end + 1));
}

function setRange(db: Db, args: Buffer[]): Buffer {
  const offset = intArg(args[2]!);
  if (offset < 0) fail('ERR offset is out of range');
  const k = key(args[1]!);
  const patch = args[3]!;
  const cur = getString(db, k);
  if (patch.length === 0) return w.integer(cur?.length ?? 0);
  const length = Math.max(cur?.length ?? 0, offset + patch.length);
  db.checkBytes(length, true);
  const next = Buffer.alloc(length);
  if (cur !== null) cur.copy(next);
  patch.copy(next, offset);
  db.replace(k, stringValue(next), true);
  return w.integer(length);
}

const BIT_OFFSET_MAX = 2 ** 32 - 1;

function bitOffset(b: Buffer): number {
  const n = parseInt64(b);
  if (n === null || n < 0n || n > BigInt(BIT_OFFSET_MAX)) fail('ERR bit offset is not an integer or out of range');
  return Number(n);
}

function setBit(db: Db, args: Buffer[]): Buffer {
  const offset = bitOffset(args[2]!);
  const bit = args[3]!.toString('latin1');
  if (bit !== '0' && bit !== '1') fail('ERR bit is not an integer or out of range');
  const k = key(args[1]!);
  const cur = getString(db, k);
  const byte = offset >>> 3;
  const mask = 0x80 >>> (offset & 7);
  const length = Math.max(cur?.length ?? 0, byte + 1);
  db.checkBytes(length, true);
  const next = Buffer.alloc(length);
  if (cur !== null) cur.copy(next);
  const old = (next[byte]! & mask) !== 0 ? 1 : 0;
  if (bit === '1') next[byte]! |= mask;
  else next[byte]! &= ~mask;
  db.replace(k, stringValue(next), true);
  return w.integer(old);
}

function getBit(db: Db, args: Buffer[]): Buffer {
  const offset = bitOffset(args[2]!);
  const v = getString(db, key(args[1]!));
  const byte = offset >>> 3;
  if (v === null || byte >= v.length) return w.ZERO;
  return w.integer((v[byte]! & (0x80 >>> (offset & 7))) !== 0 ? 1 : 0);
}

function popcount(x: number): number {
  let n = 0;
  for (; x !== 0; x &= x - 1) n++;
  return n;
}

/** BITCOUNT key [start end [BYTE|BIT]]. */
function bitCount(db: Db, args: Buffer[]): Buffer {
  const v = getString(db, key(args[1]!)); // Looked up first: a missing key is 0 whatever follows.
  if (v === null) return w.ZERO;
  if (args.length === 3 || args.length > 5) fail(ERR_SYNTAX);
  let start = 0;
  let end = 0;
  let isBit = false;
  if (args.length >= 4) {
    start = intArg(args[2]!);
    end = intArg(args[3]!);
    if (start < 0 && end < 0 && start > end) return w.ZERO; // Before the unit, as Redis 7.0.
    if (args.length === 5) {
      const u = lowerArg(args[4]!);
      if (u === 'bit') isBit = true;
      else if (u !== 'byte') fail(ERR_SYNTAX);
    }
  }
  const total = isBit ? v.length * 8 : v.length;
  if (args.length === 2) {
    start = 0;
    end = total - 1;
  } else {
    if (start < 0 && end < 0 && start > end) return w.ZERO;
    if (start < 0) start = total + start;
    if (end < 0) end = total + end;
    if (start < 0) start = 0;
    if (end < 0) end = 0;
    if (end >= total) end = total - 1;
  }
  if (start > end) return w.ZERO;
  let n = 0;
  if (isBit) {
    for (let i = start; i <= end; i++) if ((v[i >>> 3]! & (0x80 >>> (i & 7))) !== 0) n++;
  } else {
    for (let i = start; i <= end; i++) n += popcount(v[i]!);
  }
  return w.integer(n);
}

function checkPairs(name: string) {
  return (args: readonly Buffer[]): string | null => (args.length % 2 === 0 ? wrongArity(name) : null);
}

export const STRING_COMMANDS: KvCommand[] = [
  { name: 'get', arity: 2, kind: 'read', run: (db, a) => w.bulk(getString(db, key(a[1]!))) },
  { name: 'set', arity: -3, kind: 'write', check: checkOf(parseSetOptions), run: set },
  {
    name: 'setnx',
    arity: 3,
    kind: 'write',
    run(db, a) {
      const k = key(a[1]!);
      if (db.lookup(k) !== undefined) return w.ZERO;
      putString(db, k, a[2]!);
      return w.ONE;
    },
  },
  { name: 'setex', arity: 4, kind: 'write', check: checkOf((a) => expireArg('ex', a[2]!, 'setex')), run: setWithExpire('ex', 'setex') },
  { name: 'psetex', arity: 4, kind: 'write', check: checkOf((a) => expireArg('px', a[2]!, 'psetex')), run: setWithExpire('px', 'psetex') },
  {
    name: 'getset',
    arity: 3,
    kind: 'write',
    run(db, a) {
      const k = key(a[1]!);
      const old = getString(db, k);
      putString(db, k, a[2]!);
      return w.bulk(old);
    },
  },
  {
    name: 'getdel',
    arity: 2,
    kind: 'write',
    run(db, a) {
      const k = key(a[1]!);
      const old = getString(db, k);
      if (old !== null) db.delete(k);
      return w.bulk(old);
    },
  },
  {
    name: 'getex',
    arity: -2,
    kind: 'write',
    check: checkOf(parseGetexOptions),
    run(db, a) {
      const o = parseGetexOptions(a);
      const k = key(a[1]!);
      const v = getString(db, k);
      if (v === null) return w.NULL_BULK;
      if (o === 'persist') {
        if (db.deadline(k) !== undefined) db.setDeadline(k, undefined);
      } else if (o !== null) {
        const d = deadlineOf(expireArg(o.unit, o.raw, 'getex'), db.nowMs, 'getex');
        if (d <= db.nowMs) db.delete(k);
        else db.setDeadline(k, d);
      }
      return w.bulk(v);
    },
  },
  {
    name: 'mset',
    arity: -3,
    kind: 'write',
    check: checkPairs('mset'),
    run(db, a) {
      if (a.length % 2 === 0) fail(wrongArity('mset'));
      for (let i = 1; i < a.length; i += 2) db.checkBytes(a[i + 1]!.length, true);
      for (let i = 1; i < a.length; i += 2) putString(db, key(a[i]!), a[i + 1]!);
      return w.OK;
    },
  },
  {
    name: 'msetnx',
    arity: -3,
    kind: 'write',
    check: checkPairs('msetnx'),
    run(db, a) {
      if (a.length % 2 === 0) fail(wrongArity('msetnx'));
      for (let i = 1; i < a.length; i += 2) if (db.lookup(key(a[i]!)) !== undefined) return w.ZERO;
      for (let i = 1; i < a.length; i += 2) db.checkBytes(a[i + 1]!.length, true);
      for (let i = 1; i < a.length; i += 2) putString(db, key(a[i]!), a[i + 1]!);
      return w.ONE;
    },
  },
  {
    name: 'mget',
    arity: -2,
    kind: 'read',
    run(db, a) {
      return w.array(
        a.slice(1).map((k) => {
          const v = db.lookup(key(k));
          return w.bulk(v?.type === 'string' ? bytesOf(v.v) : null);
        }),
      );
    },
  },
  {
    name: 'append',
    arity: 3,
    kind: 'write',
    run(db, a) {
      const k = key(a[1]!);
      const old = getString(db, k) ?? Buffer.alloc(0);
      const length = old.length + a[2]!.length;
      db.checkBytes(length, true);
      db.replace(k, stringValue(Buffer.concat([old, a[2]!], length)), true);
      return w.integer(length);
    },
  },
  { name: 'strlen', arity: 2, kind: 'read', run: (db, a) => w.integer(getString(db, key(a[1]!))?.length ?? 0) },
  { name: 'incr', arity: 2, kind: 'write', run: (db, a) => incrBy(db, key(a[1]!), 1n) },
  { name: 'decr', arity: 2, kind: 'write', run: (db, a) => incrBy(db, key(a[1]!), -1n) },
  { name: 'incrby', arity: 3, kind: 'write', check: checkOf((a) => int64(a[2]!)), run: (db, a) => incrBy(db, key(a[1]!), int64(a[2]!)) },
  { name: 'decrby', arity: 3, kind: 'write', check: checkOf(decrByArg), run: (db, a) => incrBy(db, key(a[1]!), -decrByArg(a)) },
  { name: 'incrbyfloat', arity: 3, kind: 'write', run: incrByFloat },
  { name: 'getrange', arity: 4, kind: 'read', run: getRange },
  { name: 'substr', arity: 4, kind: 'read', run: getRange },
  { name: 'setrange', arity: 4, kind: 'write', run: setRange },
  { name: 'setbit', arity: 4, kind: 'write', run: setBit },
  { name: 'getbit', arity: 3, kind: 'read', run: getBit },
  { name: 'bitcount', arity: -2, kind: 'read', run: bitCount },
];
