// Expiry arguments as SET, GETEX, SETEX and PSETEX read them, and the deadline they
// give at the command's time (Db.nowMs: the entry's stamp, never this node's clock).
import { fail, lowerArg } from './command.js';
import { ERR_NOT_INTEGER, ERR_SYNTAX, INT64_MAX, parseInt64 } from './syntax.js';

export type ExpireUnit = 'ex' | 'px' | 'exat' | 'pxat';

export interface ExpireArg {
  unit: ExpireUnit;
  /** Validated: > 0 and convertible to milliseconds. */
  value: bigint;
}

export function isExpireUnit(s: string): s is ExpireUnit {
  return s === 'ex' || s === 'px' || s === 'exat' || s === 'pxat';
}

/** Parses the number after EX/PX/EXAT/PXAT (Redis' getExpireMillisecondsOrReply, first half). */
export function expireArg(unit: ExpireUnit, raw: Buffer, command: string): ExpireArg {
  const v = parseInt64(raw);
  if (v === null) fail(ERR_NOT_INTEGER);
  if (v <= 0n || ((unit === 'ex' || unit === 'exat') && v > INT64_MAX / 1000n)) fail(`ERR invalid expire time in '${command}' command`);
  return { unit, value: v };
}

/** The absolute deadline in ms; relative units count from nowMs. */
export function deadlineOf(e: ExpireArg, nowMs: number, command: string): number {
  let ms = e.unit === 'ex' || e.unit === 'exat' ? e.value * 1000n : e.value;
  if (e.unit === 'ex' || e.unit === 'px') ms += BigInt(nowMs);
  if (ms > INT64_MAX) fail(`ERR invalid expire time in '${command}' command`);
  return Number(ms);
}

export interface SetOptions {
  nx: boolean;
  xx: boolean;
  get: boolean;
  keepTtl: boolean;
  expire: ExpireArg | null;
}

/** SET key value [NX|XX] [GET] [EX s|PX ms|EXAT s|PXAT ms|KEEPTTL], in any order. */
export function parseSetOptions(args: readonly Buffer[]): SetOptions {
  const o: SetOptions = { nx: false, xx: false, get: false, keepTtl: false, expire: null };
  let unit: ExpireUnit | null = null;
  let raw: Buffer | null = null;
  for (let i = 3; i < args.length; i++) {
    const opt = lowerArg(args[i]!);
    const next = args[i + 1];
    if (opt === 'nx' && !o.xx) o.nx = true;
    else if (opt === 'xx' && !o.nx) o.xx = true;
    else if (opt === 'get') o.get = true;
    else if (opt === 'keepttl' && unit === null) o.keepTtl = true;
    else if (isExpireUnit(opt) && !o.keepTtl && unit === null && next !== undefined) {
      unit = opt;
      raw = next;
      i++;
    } else fail(ERR_SYNTAX);
  }
  if (unit !== null) o.expire = expireArg(unit, raw!, 'set');
  return o;
}

/**
 * GETEX key [EX s|PX ms|EXAT s|PXAT ms|PERSIST]: the unit and its unchecked number,
 * 'persist', or null. Redis checks the number only after the key's type.
 */
export function parseGetexOptions(args: readonly Buffer[]): { unit: ExpireUnit; raw: Buffer } | 'persist' | null {
  let unit: ExpireUnit | null = null;
  let raw: Buffer | null = null;
  let persist = false;
  for (let i = 2; i < args.length; i++) {
    const opt = lowerArg(args[i]!);
    const next = args[i + 1];
    if (opt === 'persist' && unit === null) persist = true;
    else if (isExpireUnit(opt) && !persist && unit === null && next !== undefined) {
      unit = opt;
      raw = next;
      i++;
    } else fail(ERR_SYNTAX);
  }
  if (unit !== null) return { unit, raw: raw! };
  return persist ? 'persist' : null;
}
