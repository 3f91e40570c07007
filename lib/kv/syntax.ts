// The key-value commands' names, arities and syntax, shared by the gateway (which
// refuses a bad command before it costs a round trip) and the state machine (which
// checks again, because nothing may crash it, not even a log entry it did not expect).
// Error texts are Redis' own, word for word, except where raftd differs on purpose.

/** Redis' generic errors. */
export const ERR_SYNTAX = 'ERR syntax error';
export const ERR_NOT_INTEGER = 'ERR value is not an integer or out of range';
export const ERR_OVERFLOW = 'ERR increment or decrement would overflow';
export const ERR_DECR_OVERFLOW = 'ERR decrement would overflow';
export const ERR_INVALID_CURSOR = 'ERR invalid cursor';
export const ERR_STRING_SIZE = 'ERR string exceeds maximum allowed size (proto-max-bulk-len)';
/** raftd's own: expiry needs clocks, and the state machine must not read one. */
export const ERR_EXPIRY = 'ERR expiry options are not supported by raftd';

export const INT64_MIN = -(2n ** 63n);
export const INT64_MAX = 2n ** 63n - 1n;
const UINT64_MAX = 2n ** 64n - 1n;

export function wrongArity(name: string): string {
  return `ERR wrong number of arguments for '${name}' command`;
}

/** Redis' string2ll: optional '-', digits, no leading zeros, no '+' or spaces, within int64. */
export function parseInt64(b: Uint8Array): bigint | null {
  if (b.length === 0 || b.length > 20) return null;
  const s = Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('latin1');
  if (!/^(?:0|-?[1-9][0-9]*)$/.test(s)) return null;
  const v = BigInt(s);
  return v < INT64_MIN || v > INT64_MAX ? null : v;
}

export interface SetOptions {
  nx: boolean;
  xx: boolean;
  get: boolean;
}

/** SET key value [NX|XX] [GET], read left to right as Redis does; expiry options are refused. */
export function parseSetOptions(args: readonly Buffer[]): SetOptions | { error: string } {
  const o: SetOptions = { nx: false, xx: false, get: false };
  for (let i = 3; i < args.length; i++) {
    const opt = lower(args[i]!);
    if (opt === 'nx' && !o.xx) o.nx = true;
    else if (opt === 'xx' && !o.nx) o.xx = true;
    else if (opt === 'get') o.get = true;
    else if (opt === 'ex' || opt === 'px' || opt === 'exat' || opt === 'pxat' || opt === 'keepttl') return { error: ERR_EXPIRY };
    else return { error: ERR_SYNTAX };
  }
  return o;
}

export interface ScanOptions {
  /** Where to resume; 0n starts a new scan. */
  cursor: bigint;
  /** A glob over latin1 key strings, or null for every key. */
  match: string | null;
  /** How many keys to look at (at least 1). */
  count: number;
  /** Only keys of this type (lower case), or null for any. */
  type: string | null;
}

const REDIS_TYPES = new Set(['string', 'list', 'set', 'zset', 'hash', 'stream']);

/** SCAN cursor [MATCH pattern] [COUNT n] [TYPE type]. */
export function parseScanOptions(args: readonly Buffer[], countDefault: number): ScanOptions | { error: string } {
  const c = args[1]!.toString('latin1');
  if (!/^[0-9]{1,20}$/.test(c) || BigInt(c) > UINT64_MAX) return { error: ERR_INVALID_CURSOR };
  const o: ScanOptions = { cursor: BigInt(c), match: null, count: countDefault, type: null };
  for (let i = 2; i < args.length; i += 2) {
    if (i + 1 >= args.length) return { error: ERR_SYNTAX };
    const opt = lower(args[i]!);
    const val = args[i + 1]!;
    if (opt === 'match') {
      o.match = val.toString('latin1');
    } else if (opt === 'count') {
      const n = parseInt64(val);
      if (n === null) return { error: ERR_NOT_INTEGER };
      if (n < 1n) return { error: ERR_SYNTAX };
      o.count = n > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(n);
    } else if (opt === 'type') {
      const t = lower(val);
      if (!REDIS_TYPES.has(t)) return { error: `ERR unknown type name '${val.toString('utf8').slice(0, 128)}'` };
      o.type = t;
    } else {
      return { error: ERR_SYNTAX };
    }
  }
  return o;
}

export type KvKind = 'write' | 'read';

export interface KvSyntax {
  /** Lower case. */
  name: string;
  /** Redis convention, counting the name: N = exactly N words, -N = at least N. */
  arity: number;
  kind: KvKind;
  /** Arity already checked; null when the arguments are well formed, else the error text. */
  check(args: readonly Buffer[]): string | null;
}

const none = (): null => null;

function checkSet(args: readonly Buffer[]): string | null {
  const o = parseSetOptions(args);
  return 'error' in o ? o.error : null;
}

function checkIncrBy(args: readonly Buffer[]): string | null {
  return parseInt64(args[2]!) === null ? ERR_NOT_INTEGER : null;
}

function checkDecrBy(args: readonly Buffer[]): string | null {
  const n = parseInt64(args[2]!);
  if (n === null) return ERR_NOT_INTEGER;
  return n === INT64_MIN ? ERR_DECR_OVERFLOW : null; // Negating it would overflow.
}

function checkMset(args: readonly Buffer[]): string | null {
  return args.length % 2 === 0 ? wrongArity('mset') : null;
}

/** FLUSHDB / FLUSHALL [ASYNC|SYNC]: both mean the same here. */
function checkFlush(args: readonly Buffer[]): string | null {
  if (args.length === 1) return null;
  if (args.length === 2 && ['async', 'sync'].includes(lower(args[1]!))) return null;
  return ERR_SYNTAX;
}

function checkScan(args: readonly Buffer[]): string | null {
  const o = parseScanOptions(args, 1);
  return 'error' in o ? o.error : null;
}

/** Every key-value command. ADDENTRY is here for the state machine; the gateway has its own row. */
export const KV_SYNTAX: ReadonlyMap<string, KvSyntax> = new Map(
  (
    [
      { name: 'addentry', arity: 2, kind: 'write', check: none },
      { name: 'set', arity: -3, kind: 'write', check: checkSet },
      { name: 'getset', arity: 3, kind: 'write', check: none },
      { name: 'del', arity: -2, kind: 'write', check: none },
      { name: 'incr', arity: 2, kind: 'write', check: none },
      { name: 'decr', arity: 2, kind: 'write', check: none },
      { name: 'incrby', arity: 3, kind: 'write', check: checkIncrBy },
      { name: 'decrby', arity: 3, kind: 'write', check: checkDecrBy },
      { name: 'append', arity: 3, kind: 'write', check: none },
      { name: 'mset', arity: -3, kind: 'write', check: checkMset },
      { name: 'flushdb', arity: -1, kind: 'write', check: checkFlush },
      { name: 'flushall', arity: -1, kind: 'write', check: checkFlush },
      { name: 'get', arity: 2, kind: 'read', check: none },
      { name: 'mget', arity: -2, kind: 'read', check: none },
      { name: 'exists', arity: -2, kind: 'read', check: none },
      { name: 'strlen', arity: 2, kind: 'read', check: none },
      { name: 'type', arity: 2, kind: 'read', check: none },
      { name: 'keys', arity: 2, kind: 'read', check: none },
      { name: 'scan', arity: -2, kind: 'read', check: checkScan },
      { name: 'dbsize', arity: 1, kind: 'read', check: none },
    ] satisfies KvSyntax[]
  ).map((s) => [s.name, s] as const),
);

export function arityOk(arity: number, argc: number): boolean {
  return arity > 0 ? argc === arity : argc >= -arity;
}

/**
 * Looks a command up and checks it fully: the spec, or the error a client would get.
 * `kind` restricts it to writes (a log entry) or reads (a ReadIndex read).
 */
export function checkCommand(args: readonly Buffer[], kind: KvKind): { spec: KvSyntax } | { error: string } {
  if (args.length === 0) return { error: 'ERR empty command' };
  const name = lower(args[0]!);
  const spec = KV_SYNTAX.get(name);
  if (spec === undefined || spec.kind !== kind) return { error: `ERR unknown ${kind} command '${args[0]!.toString('utf8').slice(0, 128)}'` };
  if (!arityOk(spec.arity, args.length)) return { error: wrongArity(name) };
  const err = spec.check(args);
  return err === null ? { spec } : { error: err };
}

export function lower(b: Buffer): string {
  return b.toString('latin1').toLowerCase();
}
