// Expiry commands. Every deadline is compared with Db.nowMs: for a write, the entry's
// effective time (max of the leader's stamp and the state machine's clock); for a read,
// max of the serving node's clock and that. Never this replica's own clock.
import * as w from '../util/resp-writer.js';
import { checkOf, fail, int64, lowerArg, type KvCommand } from './command.js';
import { key, type Db } from './db.js';
import { INT64_MAX } from './syntax.js';

interface ExpireFlags {
  nx: boolean;
  xx: boolean;
  gt: boolean;
  lt: boolean;
}

function parseFlags(args: readonly Buffer[]): ExpireFlags {
  const f: ExpireFlags = { nx: false, xx: false, gt: false, lt: false };
  for (let i = 3; i < args.length; i++) {
    const o = lowerArg(args[i]!);
    if (o === 'nx') f.nx = true;
    else if (o === 'xx') f.xx = true;
    else if (o === 'gt') f.gt = true;
    else if (o === 'lt') f.lt = true;
    else fail(`ERR Unsupported option ${args[i]!.toString('utf8')}`);
  }
  if (f.nx && (f.xx || f.gt || f.lt)) fail('ERR NX and XX, GT or LT options at the same time are not compatible');
  if (f.gt && f.lt) fail('ERR GT and LT options at the same time are not compatible');
  return f;
}

/** EXPIRE, PEXPIRE, EXPIREAT, PEXPIREAT (Redis 7's expireGenericCommand). */
function expire(name: string, seconds: boolean, relative: boolean) {
  return (db: Db, args: Buffer[]): Buffer => {
    const f = parseFlags(args);
    let when = int64(args[2]!);
    const invalid = `ERR invalid expire time in '${name}' command`;
    if (seconds) {
      if (when > INT64_MAX / 1000n || when < -INT64_MAX / 1000n) fail(invalid);
      when *= 1000n;
    }
    if (relative) {
      when += BigInt(db.nowMs);
      if (when > INT64_MAX) fail(invalid);
    }
    const k = key(args[1]!);
    if (db.lookup(k) === undefined) return w.ZERO;
    const deadline = Number(when);
    const cur = db.deadline(k);
    if (f.nx && cur !== undefined) return w.ZERO;
    if (f.xx && cur === undefined) return w.ZERO;
    if (f.gt && (cur === undefined || deadline <= cur)) return w.ZERO; // No deadline is forever.
    if (f.lt && cur !== undefined && deadline >= cur) return w.ZERO;
    if (deadline <= db.nowMs) db.delete(k);
    else db.setDeadline(k, deadline);
    return w.ONE;
  };
}

const check = checkOf(parseFlags);

/** TTL, PTTL, EXPIRETIME, PEXPIRETIME (Redis' ttlGenericCommand). */
function ttl(ms: boolean, absolute: boolean) {
  return (db: Db, args: Buffer[]): Buffer => {
    const k = key(args[1]!);
    if (db.lookup(k) === undefined) return w.integer(-2);
    const d = db.deadline(k);
    if (d === undefined) return w.integer(-1);
    const t = Math.max(0, absolute ? d : d - db.nowMs);
    return w.integer(ms ? t : Math.floor((t + 500) / 1000));
  };
}

/**
 * __EXPIRE key...: the leader's proposal to delete keys it saw expired. Deletes only
 * keys whose deadline is still <= the entry's time, so a PERSIST or a new value that
 * won the race is not undone. Replies with how many it deleted.
 */
function expireKeys(db: Db, args: Buffer[]): Buffer {
  let n = 0;
  for (let i = 1; i < args.length; i++) {
    const k = key(args[i]!);
    if (db.ks.values.has(k) && db.lookup(k) === undefined) n++; // lookup() deleted it
  }
  return w.integer(n);
}

export const EXPIRE_COMMAND_NAME = '__expire';

export const EXPIRY_COMMANDS: KvCommand[] = [
  { name: 'expire', arity: -3, kind: 'write', check, run: expire('expire', true, true) },
  { name: 'pexpire', arity: -3, kind: 'write', check, run: expire('pexpire', false, true) },
  { name: 'expireat', arity: -3, kind: 'write', check, run: expire('expireat', true, false) },
  { name: 'pexpireat', arity: -3, kind: 'write', check, run: expire('pexpireat', false, false) },
  { name: 'ttl', arity: 2, kind: 'read', run: ttl(false, false) },
  { name: 'pttl', arity: 2, kind: 'read', run: ttl(true, false) },
  { name: 'expiretime', arity: 2, kind: 'read', run: ttl(false, true) },
  { name: 'pexpiretime', arity: 2, kind: 'read', run: ttl(true, true) },
  {
    name: 'persist',
    arity: 2,
    kind: 'write',
    run(db, a) {
      const k = key(a[1]!);
      if (db.lookup(k) === undefined || db.deadline(k) === undefined) return w.ZERO;
      db.setDeadline(k, undefined);
      return w.ONE;
    },
  },
  { name: EXPIRE_COMMAND_NAME, arity: -2, kind: 'write', run: expireKeys },
];
