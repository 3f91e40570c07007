// The record filters of raft-logs: node, actor, minimum level, term, time window, regex.
import { RaftdError } from '../util/errors.js';
import { LEVEL_RANK, type Level, type LogRecord } from './record.js';

export interface Filter {
  /** Node names or globs (`n*`); any matches. */
  nodes?: string[];
  /** Actor names or globs (`replicator-*`); any matches. */
  actors?: string[];
  /** Minimum level. */
  level?: Level;
  /** Inclusive term range. */
  termMin?: number;
  termMax?: number;
  sinceMs?: number;
  untilMs?: number;
  /** Over the raw line. */
  grep?: RegExp;
}

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const RELATIVE = /^(?:\d+(?:\.\d+)?(?:ms|s|m|h|d))+$/;
const RELATIVE_PART = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/g;

/** A duration like `5m`, `90s`, `1h30m`, `250ms` in ms; null if it is not one. */
export function parseDuration(s: string): number | null {
  if (!RELATIVE.test(s)) return null;
  let ms = 0;
  for (const m of s.matchAll(RELATIVE_PART)) ms += Number(m[1]) * UNIT_MS[m[2]!]!;
  return ms;
}

/** `--since`/`--until`: an ISO time, or a duration meaning that long before now. */
export function parseTimeArg(s: string, nowMs: number, what: string): number {
  const d = parseDuration(s.trim());
  if (d !== null) return nowMs - d;
  const t = Date.parse(s);
  if (!Number.isFinite(t)) throw new RaftdError('RAFTD_CONFIG', `${what}: not an ISO time or a duration like 5m: ${s}`);
  return t;
}

/** `--term`: `N`, `A..B`, `A..` or `..B`. */
export function parseTermArg(s: string): { termMin?: number; termMax?: number } {
  const m = /^\s*(\d+)?\s*(\.\.)?\s*(\d+)?\s*$/.exec(s);
  if (!m || (m[1] === undefined && m[3] === undefined) || (!m[2] && m[3] !== undefined)) {
    throw new RaftdError('RAFTD_CONFIG', `--term: want N, A..B, A.. or ..B, got ${s}`);
  }
  if (!m[2]) return { termMin: Number(m[1]), termMax: Number(m[1]) };
  return { ...(m[1] !== undefined ? { termMin: Number(m[1]) } : {}), ...(m[3] !== undefined ? { termMax: Number(m[3]) } : {}) };
}

/** `a,b*` into a matcher; `*` matches any run of characters. */
export function globMatcher(patterns: string[]): (s: string) => boolean {
  const res = patterns
    .flatMap((p) => p.split(','))
    .map((p) => p.trim())
    .filter((p) => p.length > 0)
    .map((p) => new RegExp('^' + p.split('*').map(escapeRegExp).join('.*') + '$'));
  return (s) => res.some((re) => re.test(s));
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** The filter as one predicate. */
export function matcher(f: Filter): (r: LogRecord) => boolean {
  const node = f.nodes && f.nodes.length > 0 ? globMatcher(f.nodes) : null;
  const actor = f.actors && f.actors.length > 0 ? globMatcher(f.actors) : null;
  const minRank = f.level ? LEVEL_RANK[f.level] : 0;
  return (r) =>
    (node === null || node(r.node)) &&
    (actor === null || actor(r.actor)) &&
    LEVEL_RANK[r.level] >= minRank &&
    (f.termMin === undefined || r.term >= f.termMin) &&
    (f.termMax === undefined || r.term <= f.termMax) &&
    (f.sinceMs === undefined || r.timeMs >= f.sinceMs) &&
    (f.untilMs === undefined || r.timeMs <= f.untilMs) &&
    (f.grep === undefined || f.grep.test(r.raw));
}

/** Filters a stream. */
export async function* filtered(records: AsyncIterable<LogRecord>, f: Filter): AsyncGenerator<LogRecord> {
  const ok = matcher(f);
  for await (const r of records) if (ok(r)) yield r;
}
