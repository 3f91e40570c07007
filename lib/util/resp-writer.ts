/**
 * RESP2 reply encoding. Every function returns the encoded bytes, ready to write;
 * replies are built once and queued as Buffers.
 */
import { copyBytes } from './copy-bytes.js';

const CRLF = '\r\n';

/** Simple strings and errors are one line: like Redis, CR and LF become spaces. */
function oneLine(s: string): string {
  return /[\r\n]/.test(s) ? s.replace(/[\r\n]/g, ' ') : s;
}

/** `+<s>` */
export function simple(s: string): Buffer {
  return Buffer.from(`+${oneLine(s)}${CRLF}`, 'utf8');
}

/** `-<message>`; the message starts with its code word (`ERR`, `NOTLEADER`, ...). */
export function error(message: string): Buffer {
  return Buffer.from(`-${oneLine(message)}${CRLF}`, 'utf8');
}

/** `:<n>` */
export function integer(n: number | bigint): Buffer {
  if (typeof n === 'number' && !Number.isInteger(n)) throw new RangeError(`RESP integer must be an integer: ${n}`);
  return Buffer.from(`:${n}${CRLF}`, 'latin1');
}

/** `$<len>\r\n<bytes>\r\n`, or the null bulk `$-1` for null. Strings are sent as UTF-8. */
export function bulk(value: Uint8Array | string | null): Buffer {
  if (value === null) return NULL_BULK;
  const body = typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
  const head = `$${body.length}${CRLF}`;
  const out = Buffer.allocUnsafe(head.length + body.length + 2);
  out.write(head, 0, 'latin1');
  copyBytes(out, head.length, body);
  out.write(CRLF, head.length + body.length, 'latin1');
  return out;
}

/** `*<n>` followed by the already encoded items, or the null array `*-1` for null. */
export function array(items: readonly Buffer[] | null): Buffer {
  if (items === null) return NULL_ARRAY;
  const head = Buffer.from(`*${items.length}${CRLF}`, 'latin1');
  return Buffer.concat([head, ...items]);
}


export const OK = simple('OK');
export const PONG = simple('PONG');
export const NULL_BULK = Buffer.from(`$-1${CRLF}`, 'latin1');
export const NULL_ARRAY = Buffer.from(`*-1${CRLF}`, 'latin1');
export const EMPTY_ARRAY = Buffer.from(`*0${CRLF}`, 'latin1');
export const ZERO = integer(0);
export const ONE = integer(1);

/** A request as a client sends it: an array of bulk strings. */
export function request(args: readonly (Uint8Array | string | number)[]): Buffer {
  return array(args.map((a) => bulk(typeof a === 'number' ? String(a) : a)));
}
