// Argument parsing shared by the key-value commands (lib/kv/*), the gateway (which
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
export const ERR_NOT_FLOAT = 'ERR value is not a valid float';
export const ERR_NAN_OR_INF = 'ERR increment would produce NaN or Infinity';
export const ERR_NO_SUCH_KEY = 'ERR no such key';
export const ERR_OUT_OF_RANGE_POSITIVE = 'ERR value is out of range, must be positive';

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

/** SCAN cursor [MATCH pattern] [COUNT n] [TYPE type]; HSCAN/SSCAN/ZSCAN key cursor ... (at = 2, no TYPE). */
export function parseScanOptions(args: readonly Buffer[], countDefault: number, at = 1): ScanOptions | { error: string } {
  const c = args[at]!.toString('latin1');
  if (!/^[0-9]{1,20}$/.test(c) || BigInt(c) > UINT64_MAX) return { error: ERR_INVALID_CURSOR };
  const o: ScanOptions = { cursor: BigInt(c), match: null, count: countDefault, type: null };
  for (let i = at + 1; i < args.length; i += 2) {
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
    } else if (opt === 'type' && at === 1) {
      const t = lower(val);
      if (!REDIS_TYPES.has(t)) return { error: `ERR unknown type name '${val.toString('utf8').slice(0, 128)}'` };
      o.type = t;
    } else {
      return { error: ERR_SYNTAX };
    }
  }
  return o;
}

export function lower(b: Buffer): string {
  return b.toString('latin1').toLowerCase();
}

export function arityOk(arity: number, argc: number): boolean {
  return arity > 0 ? argc === arity : argc >= -arity;
}
