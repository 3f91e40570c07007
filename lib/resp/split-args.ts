// A command line split into arguments exactly as Redis' sdssplitargs does it, for both
// the server's inline commands and the netcat-style client's lines, so the two never
// disagree:
// - the line is a C string: it ends at the first NUL byte (what follows is ignored);
// - blanks between words are isspace() (space, \t, \n, \v, \f, \r), but only space,
//   \t, \n and \r end an unquoted word (\v and \f are part of it);
// - "double quotes" take \xHH (any byte) and \n \r \t \b \a, and \<any> for that char;
// - 'single quotes' take only \' as an escape;
// - a quote may start in the middle of a word (a"b c" is `ab c`), but a closing quote
//   must be followed by a blank or the end; unbalanced quotes make the line invalid.
// Arguments are bytes; they view one buffer of the line's length (one allocation).

const SPACE = 0x20;
const TAB = 0x09;
const LF = 0x0a;
const VT = 0x0b;
const FF = 0x0c;
const CR = 0x0d;
const DQUOTE = 0x22;
const SQUOTE = 0x27;
const BACKSLASH = 0x5c;
const X = 0x78;

function isBlank(c: number): boolean {
  return c === SPACE || c === TAB || c === LF || c === VT || c === FF || c === CR;
}

function endsWord(c: number): boolean {
  return c === SPACE || c === TAB || c === LF || c === CR;
}

function hexValue(c: number | undefined): number {
  if (c === undefined) return -1;
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x61 + 10;
  if (c >= 0x41 && c <= 0x46) return c - 0x41 + 10;
  return -1;
}

function unescape(e: number): number {
  switch (e) {
    case 0x6e: // n
      return LF;
    case 0x72: // r
      return CR;
    case 0x74: // t
      return TAB;
    case 0x62: // b
      return 0x08;
    case 0x61: // a
      return 0x07;
    default:
      return e;
  }
}

/** The arguments of `line` (text is taken as UTF-8); [] for a blank line; null for unbalanced quotes. */
export function splitArgs(line: Uint8Array | string): Buffer[] | null {
  const src = typeof line === 'string' ? Buffer.from(line, 'utf8') : line;
  const nul = src.indexOf(0);
  const n = nul < 0 ? src.length : nul;
  // Past the end reads as NUL, as in C.
  const at = (i: number): number => (i < n ? src[i]! : 0);
  const dst = Buffer.allocUnsafe(n);
  const out: Buffer[] = [];
  let w = 0;
  let p = 0;
  for (;;) {
    while (p < n && isBlank(src[p]!)) p++;
    if (p >= n) return out;
    const start = w;
    /** The open quote (DQUOTE or SQUOTE), 0 outside quotes. */
    let quote = 0;
    let done = false;
    while (!done) {
      const c = at(p);
      if (quote === DQUOTE && c === BACKSLASH && at(p + 1) === X && hexValue(p + 2 < n ? src[p + 2] : undefined) >= 0 && hexValue(p + 3 < n ? src[p + 3] : undefined) >= 0) {
        dst[w++] = hexValue(src[p + 2]) * 16 + hexValue(src[p + 3]);
        p += 3;
      } else if (quote === DQUOTE && c === BACKSLASH && at(p + 1) !== 0) {
        p++;
        dst[w++] = unescape(at(p));
      } else if (quote === SQUOTE && c === BACKSLASH && at(p + 1) === SQUOTE) {
        p++;
        dst[w++] = SQUOTE;
      } else if (quote !== 0 && c === quote) {
        // A closing quote must end the word.
        if (at(p + 1) !== 0 && !isBlank(at(p + 1))) return null;
        done = true;
      } else if (quote !== 0 && c === 0) {
        return null; // unterminated quotes
      } else if (quote !== 0) {
        dst[w++] = c;
      } else if (c === 0 || endsWord(c)) {
        done = true;
      } else if (c === DQUOTE || c === SQUOTE) {
        quote = c;
      } else {
        dst[w++] = c;
      }
      if (c !== 0) p++;
    }
    out.push(dst.subarray(start, w));
  }
}
