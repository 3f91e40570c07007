// Redis' glob-style matching (stringmatchlen in util.c), case-sensitive, over bytes:
// `*` any run, `?` one byte, `[abc]`, `[^a]`, `[a-z]` (bounds in either order), `\x`
// matches x literally (also inside a class). Faithful to Redis' quirks: an unclosed
// class runs to the end of the pattern, `[a-]` is the range a..`]`, and the empty
// subject matches only the empty pattern (KEYS and SCAN special-case a lone `*`).
// One difference: bytes compare unsigned, where Redis compares C's signed char.

const STAR = 0x2a;
const QUESTION = 0x3f;
const LBRACKET = 0x5b;
const RBRACKET = 0x5d;
const CARET = 0x5e;
const DASH = 0x2d;
const BACKSLASH = 0x5c;

/** Redis' bound on `*` recursion: deeper patterns do not match. */
const NESTING_MAX = 1000;

/** `pattern` against `subject`, both bytes. */
export function globMatch(pattern: Uint8Array, subject: Uint8Array): boolean {
  return globMatchLatin1(latin1(pattern), latin1(subject));
}

/** The same over latin1 strings (one char per byte), as the state machine keeps its keys. */
export function globMatchLatin1(pattern: string, subject: string): boolean {
  return matchFrom(pattern, 0, subject, 0, { skipLonger: false }, 0);
}

/** A matcher for KEYS and SCAN MATCH: a lone `*` matches every key, the empty one included. */
export function keyMatcher(pattern: string): (key: string) => boolean {
  if (pattern === '*') return () => true;
  return (key) => globMatchLatin1(pattern, key);
}

function latin1(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('latin1');
}

/**
 * skipLonger: once the rest of the pattern after a `*` failed from every position,
 * an earlier `*` cannot help either (Redis' guard against exponential backtracking).
 */
function matchFrom(p: string, pi: number, s: string, si: number, state: { skipLonger: boolean }, nesting: number): boolean {
  if (nesting > NESTING_MAX) return false;
  const pEnd = p.length;
  const sEnd = s.length;
  while (pi < pEnd && si < sEnd) {
    const c = p.charCodeAt(pi);
    if (c === STAR) {
      while (pi + 1 < pEnd && p.charCodeAt(pi + 1) === STAR) pi++;
      if (pi + 1 === pEnd) return true;
      for (; si < sEnd; si++) {
        if (matchFrom(p, pi + 1, s, si, state, nesting + 1)) return true;
        if (state.skipLonger) return false;
      }
      state.skipLonger = true;
      return false;
    } else if (c === QUESTION) {
      si++;
    } else if (c === LBRACKET) {
      pi++;
      const not = pi < pEnd && p.charCodeAt(pi) === CARET;
      if (not) pi++;
      const sc = s.charCodeAt(si);
      let match = false;
      for (;;) {
        if (pi >= pEnd) {
          pi--; // Unclosed: the class ends with the pattern; the pi++ below steps past it.
          break;
        }
        const pc = p.charCodeAt(pi);
        if (pc === BACKSLASH && pEnd - pi >= 2) {
          pi++;
          if (p.charCodeAt(pi) === sc) match = true;
        } else if (pc === RBRACKET) {
          break;
        } else if (pEnd - pi >= 3 && p.charCodeAt(pi + 1) === DASH) {
          const a = pc;
          const b = p.charCodeAt(pi + 2);
          pi += 2;
          if (sc >= Math.min(a, b) && sc <= Math.max(a, b)) match = true;
        } else if (pc === sc) {
          match = true;
        }
        pi++;
      }
      if (not) match = !match;
      if (!match) return false;
      si++;
    } else {
      if (c === BACKSLASH && pEnd - pi >= 2) pi++;
      if (p.charCodeAt(pi) !== s.charCodeAt(si)) return false;
      si++;
    }
    pi++;
    if (si === sEnd) {
      while (pi < pEnd && p.charCodeAt(pi) === STAR) pi++;
      break;
    }
  }
  return pi === pEnd && si === sEnd;
}
