// Commands on keys whatever they hold: existence, type, renaming, copying, listing.
import * as w from '../util/resp-writer.js';
import { fail, intArg, lowerArg, type KvCommand } from './command.js';
import { key, keyBuf, type Db } from './db.js';
import { keyMatcher } from './glob.js';
import { SCAN_COUNT_DEFAULT } from './limits.js';
import { ERR_NO_SUCH_KEY, ERR_SYNTAX, parseScanOptions } from './syntax.js';
import { cloneValue } from './values.js';

function del(db: Db, args: Buffer[]): Buffer {
  let n = 0;
  for (let i = 1; i < args.length; i++) if (db.delete(key(args[i]!))) n++;
  return w.integer(n);
}

function countLive(db: Db, args: Buffer[]): Buffer {
  let n = 0;
  for (let i = 1; i < args.length; i++) if (db.lookup(key(args[i]!)) !== undefined) n++;
  return w.integer(n);
}

/** RENAME / RENAMENX: the value and its deadline move; the destination is replaced. */
function rename(nx: boolean) {
  return (db: Db, args: Buffer[]): Buffer => {
    const src = key(args[1]!);
    const dst = key(args[2]!);
    const v = db.lookup(src);
    if (v === undefined) fail(ERR_NO_SUCH_KEY);
    if (src === dst) return nx ? w.ZERO : w.OK;
    if (nx && db.lookup(dst) !== undefined) return w.ZERO;
    const deadline = db.deadline(src);
    db.delete(src);
    db.delete(dst);
    db.replace(dst, v);
    if (deadline !== undefined) db.setDeadline(dst, deadline);
    return nx ? w.ONE : w.OK;
  };
}

/** COPY source destination [DB 0] [REPLACE]. */
function copy(db: Db, args: Buffer[]): Buffer {
  let replace = false;
  for (let i = 3; i < args.length; i++) {
    const opt = lowerArg(args[i]!);
    if (opt === 'replace') replace = true;
    else if (opt === 'db' && i + 1 < args.length) {
      const n = intArg(args[++i]!);
      if (n !== 0) fail('ERR DB index is out of range');
    } else fail(ERR_SYNTAX);
  }
  const src = key(args[1]!);
  const dst = key(args[2]!);
  if (src === dst) fail('ERR source and destination objects are the same');
  const v = db.lookup(src);
  if (v === undefined) return w.ZERO;
  if (db.lookup(dst) !== undefined) {
    if (!replace) return w.ZERO;
    db.delete(dst);
  }
  const deadline = db.deadline(src);
  db.replace(dst, cloneValue(v));
  if (deadline !== undefined) db.setDeadline(dst, deadline);
  return w.ONE;
}

function keys(db: Db, args: Buffer[]): Buffer {
  const matches = keyMatcher(key(args[1]!));
  const out: string[] = [];
  for (const k of db.liveKeys()) if (matches(k)) out.push(k);
  out.sort(); // UTF-16 code unit order of latin1 strings is byte order.
  return w.array(out.map((k) => w.bulk(keyBuf(k))));
}

/** Looks at COUNT keys (or a few more: whole hash groups) from the cursor on; MATCH and TYPE filter those. */
function scan(db: Db, args: Buffer[]): Buffer {
  const o = parseScanOptions(args, SCAN_COUNT_DEFAULT);
  if ('error' in o) fail(o.error);
  const matches = o.match === null ? () => true : keyMatcher(o.match);
  const cursor = o.cursor > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(o.cursor);
  const page = db.ks.index.scan(cursor, o.count);
  const found: Buffer[] = [];
  for (const k of page.keys) {
    if (!db.isLive(k) || !matches(k)) continue;
    if (o.type !== null && db.ks.values.get(k)!.type !== o.type) continue;
    found.push(w.bulk(keyBuf(k)));
  }
  return w.array([w.bulk(String(page.next)), w.array(found)]);
}

function randomKey(db: Db): Buffer {
  const k = db.randomLiveKey();
  return k === null ? w.NULL_BULK : w.bulk(keyBuf(k));
}

function flush(db: Db, args: Buffer[]): Buffer {
  if (args.length > 2 || (args.length === 2 && !['async', 'sync'].includes(lowerArg(args[1]!)))) fail(ERR_SYNTAX);
  db.ks.clear(db.index);
  return w.OK;
}

function checkFlush(args: readonly Buffer[]): string | null {
  if (args.length === 1 || (args.length === 2 && ['async', 'sync'].includes(lowerArg(args[1]!)))) return null;
  return ERR_SYNTAX;
}

export const KEY_COMMANDS: KvCommand[] = [
  { name: 'addentry', arity: 2, kind: 'write', run: (db) => w.integer(db.index) },
  { name: 'del', arity: -2, kind: 'write', run: del },
  { name: 'unlink', arity: -2, kind: 'write', run: del },
  { name: 'exists', arity: -2, kind: 'read', run: countLive },
  { name: 'touch', arity: -2, kind: 'read', run: countLive },
  { name: 'type', arity: 2, kind: 'read', run: (db, a) => w.simple(db.lookup(key(a[1]!))?.type ?? 'none') },
  { name: 'rename', arity: 3, kind: 'write', run: rename(false) },
  { name: 'renamenx', arity: 3, kind: 'write', run: rename(true) },
  { name: 'copy', arity: -3, kind: 'write', run: copy },
  { name: 'keys', arity: 2, kind: 'read', run: keys },
  {
    name: 'scan',
    arity: -2,
    kind: 'read',
    check: (a) => {
      const o = parseScanOptions(a, 1);
      return 'error' in o ? o.error : null;
    },
    run: scan,
  },
  { name: 'randomkey', arity: 1, kind: 'read', run: randomKey },
  // Like Redis, counts keys past their deadline that are not deleted yet.
  { name: 'dbsize', arity: 1, kind: 'read', run: (db) => w.integer(db.ks.values.size) },
  { name: 'flushdb', arity: -1, kind: 'write', check: checkFlush, run: flush },
  { name: 'flushall', arity: -1, kind: 'write', check: checkFlush, run: flush },
];
