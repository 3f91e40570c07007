// A command line split into arguments the way redis-cli does it (sdssplitargs):
// words separated by white space; "double quotes" with \n \r \t \b \a \xHH and
// \<any> escapes; 'single quotes' with only \' as an escape; a closing quote must be
// followed by white space or the end of the line. Arguments are bytes (\xHH may make
// any byte), so they come back as Buffers.

function isSpace(c: number | undefined): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d || c === 0x0b || c === 0x0c || c === 0x00;
}

function hexValue(c: number | undefined): number {
  if (c === undefined) return -1;
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x61 + 10;
  if (c >= 0x41 && c <= 0x46) return c - 0x41 + 10;
  return -1;
}

const ESCAPES: ReadonlyMap<number, number> = new Map([
  [0x6e, 0x0a], // \n
  [0x72, 0x0d], // \r
  [0x74, 0x09], // \t
  [0x62, 0x08], // \b
  [0x61, 0x07], // \a
]);

/** The arguments of `line`; [] for a blank line; null for unbalanced quotes ("Invalid argument(s)"). */
export function splitArgs(line: string): Buffer[] | null {
  const src = Buffer.from(line, 'utf8');
  const out: Buffer[] = [];
  let p = 0;
  for (;;) {
    while (p < src.length && isSpace(src[p])) p++;
    if (p >= src.length) return out;
    const cur: number[] = [];
    let inDouble = false;
    let inSingle = false;
    let done = false;
    while (!done) {
      const c = src[p];
      if (inDouble) {
        if (c === undefined) return null;
        if (c === 0x5c && src[p + 1] === 0x78 && hexValue(src[p + 2]) >= 0 && hexValue(src[p + 3]) >= 0) {
          cur.push(hexValue(src[p + 2]) * 16 + hexValue(src[p + 3]));
          p += 3;
        } else if (c === 0x5c && p + 1 < src.length) {
          p++;
          const e = src[p]!;
          cur.push(ESCAPES.get(e) ?? e);
        } else if (c === 0x22) {
          if (p + 1 < src.length && !isSpace(src[p + 1])) return null;
          done = true;
        } else {
          cur.push(c);
        }
      } else if (inSingle) {
        if (c === undefined) return null;
        if (c === 0x5c && src[p + 1] === 0x27) {
          p++;
          cur.push(0x27);
        } else if (c === 0x27) {
          if (p + 1 < src.length && !isSpace(src[p + 1])) return null;
          done = true;
        } else {
          cur.push(c);
        }
      } else if (c === undefined || isSpace(c)) {
        done = true;
      } else if (c === 0x22) {
        inDouble = true;
      } else if (c === 0x27) {
        inSingle = true;
      } else {
        cur.push(c);
      }
      if (c !== undefined) p++;
    }
    out.push(Buffer.from(cur));
  }
}
