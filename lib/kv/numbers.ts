// Numbers as Redis reads and prints them: strtod-style floats (no spaces, no NaN),
// scores printed like `%.17g` with the shortest digits that round-trip (Redis 7.2's
// fpconv), INCRBYFLOAT's results printed without an exponent (Redis' LD_STR_HUMAN).

const FLOAT_RE = /^[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?$/;
const INF_RE = /^([+-]?)inf(?:inity)?$/i;

/** A float as Redis' strtod accepts it, or null. Infinities only when `allowInf`. */
export function parseDouble(b: Uint8Array, allowInf = true): number | null {
  if (b.length === 0 || b.length > 256) return null;
  const s = Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('latin1');
  const inf = INF_RE.exec(s);
  if (inf !== null) return allowInf ? (inf[1] === '-' ? -Infinity : Infinity) : null;
  if (!FLOAT_RE.test(s)) return null;
  const v = Number(s);
  return Number.isNaN(v) ? null : v;
}

/** Shortest round-trip digits and decimal exponent: 1234.5 -> ['12345', 3]. */
function digitsOf(d: number): { neg: boolean; digits: string; exp: number } {
  const s = Math.abs(d).toExponential();
  const e = s.indexOf('e');
  return { neg: d < 0 || Object.is(d, -0), digits: s.slice(0, e).replace('.', ''), exp: Number(s.slice(e + 1)) };
}

/** Digits placed without an exponent. */
function plain(digits: string, exp: number): string {
  if (exp < 0) return `0.${'0'.repeat(-exp - 1)}${digits}`;
  if (digits.length <= exp + 1) return digits + '0'.repeat(exp + 1 - digits.length);
  return `${digits.slice(0, exp + 1)}.${digits.slice(exp + 1)}`;
}

/** A score as Redis replies it: `%.17g` layout, shortest digits, `inf`/`-inf`. */
export function formatScore(d: number): string {
  if (d === Infinity) return 'inf';
  if (d === -Infinity) return '-inf';
  if (d === 0) return Object.is(d, -0) ? '-0' : '0';
  const { neg, digits, exp } = digitsOf(d);
  const sign = neg ? '-' : '';
  if (exp < -4 || exp >= 17) {
    const m = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
    return `${sign}${m}e${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`;
  }
  return sign + plain(digits, exp);
}

/** INCRBYFLOAT's reply: no exponent, at most 17 decimals, trailing zeros dropped. */
export function formatHuman(d: number): string {
  if (d === 0) return '0';
  const { neg, digits, exp } = digitsOf(d);
  let s = plain(digits, exp);
  const dot = s.indexOf('.');
  if (dot >= 0 && s.length - dot - 1 > 17) {
    s = s.slice(0, dot + 18).replace(/0+$/, '').replace(/\.$/, '');
    if (/^0?$/.test(s) || /^0\.0*$/.test(s)) return '0';
  }
  return (neg ? '-' : '') + s;
}
