// HSCAN, SSCAN and ZSCAN: small collections come whole in one reply with cursor 0 (as
// Redis does for its compact encodings); larger ones page in the order of the members'
// hash, with the cursor the next hash plus one, so a member present throughout is returned once
// however the collection changes between calls (the SCAN guarantee), with no state kept.
import * as w from '../util/resp-writer.js';
import { fail } from './command.js';
import { keyMatcher } from './glob.js';
import { SCAN_COUNT_DEFAULT } from './limits.js';
import { keyHash } from './scan-index.js';
import { parseScanOptions } from './syntax.js';

/** Collections up to this size are returned whole. */
export const SCAN_WHOLE_MAX = 128;

const EMPTY_SCAN = w.array([w.bulk('0'), w.EMPTY_ARRAY]);

/**
 * HSCAN/SSCAN/ZSCAN in Redis' order of checks: the cursor, then the key (missing: an
 * empty page; another type: WRONGTYPE), then the options. `lookup` gives the members
 * (latin1 strings) and their count; `reply(m)` the RESP items a member adds.
 */
export function scanCollection(
  args: readonly Buffer[],
  lookup: () => { members: Iterable<string>; size: number } | undefined,
  reply: (m: string) => Buffer[],
): Buffer {
  const c = parseScanOptions(args.slice(0, 3), 1, 2);
  if ('error' in c) fail(c.error);
  const found = lookup();
  if (found === undefined) return EMPTY_SCAN;
  const { members, size } = found;
  const o = parseScanOptions(args, SCAN_COUNT_DEFAULT, 2);
  if ('error' in o) fail(o.error);
  const matches = o.match === null ? () => true : keyMatcher(o.match);
  const out: Buffer[] = [];
  if (size <= SCAN_WHOLE_MAX) {
    for (const m of members) if (matches(m)) out.push(...reply(m));
    return w.array([w.bulk('0'), w.array(out)]);
  }
  const from = o.cursor === 0n ? 0 : o.cursor > 2n ** 32n ? 2 ** 32 : Number(o.cursor) - 1; // cursor = next hash + 1
  const rows: { h: number; m: string }[] = [];
  for (const m of members) {
    const h = keyHash(m);
    if (h >= from) rows.push({ h, m });
  }
  rows.sort((a, b) => a.h - b.h || (a.m < b.m ? -1 : 1));
  let i = 0;
  while (i < rows.length && (i < o.count || rows[i]!.h === rows[i - 1]!.h)) {
    if (matches(rows[i]!.m)) out.push(...reply(rows[i]!.m));
    i++;
  }
  const next = i < rows.length ? rows[i]!.h + 1 : 0;
  return w.array([w.bulk(String(next)), w.array(out)]);
}

/** Only the cursor: the options are checked after the key's type, as Redis does. */
export function checkCollectionScan(args: readonly Buffer[]): string | null {
  const o = parseScanOptions(args.slice(0, 3), 1, 2);
  return 'error' in o ? o.error : null;
}
