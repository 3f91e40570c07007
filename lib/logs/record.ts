// One line of a raftd per-actor log (lib/log/logger.ts) and how a line becomes one.
export const LEVELS = ['debug', 'info', 'warn', 'error'] as const;
export type Level = (typeof LEVELS)[number];

export const LEVEL_RANK: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };

/** The fixed columns every logger line carries; everything else is in `fields`. */
export interface LogRecord {
  /** Milliseconds since the epoch, parsed from `time`. */
  timeMs: number;
  time: string;
  node: string;
  actor: string;
  level: Level;
  term: number;
  event: string;
  /** The remaining keys of the line, in their order. */
  fields: Record<string, unknown>;
  /** The line as read, without its newline (what --grep searches). */
  raw: string;
}

/** Where a line came from, to fill in what the line leaves out and to name it in notes. */
export interface LineOrigin {
  node: string;
  actor: string;
  file: string;
}

const FIXED = new Set(['time', 'node', 'actor', 'level', 'term', 'event']);

export function isLevel(s: unknown): s is Level {
  return typeof s === 'string' && (LEVELS as readonly string[]).includes(s);
}

/**
 * Parses one line; null when it is not a JSON object with a parseable `time` (a torn
 * write, a stray print). node and actor default to the file's, level to info, term to 0.
 */
export function parseLine(raw: string, origin: LineOrigin): LogRecord | null {
  if (raw.length === 0 || raw[0] !== '{') return null;
  let obj: unknown;
  try {
    obj = JSON.parse(raw);
  } catch {
    return null;
  }
  if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) return null;
  const o = obj as Record<string, unknown>;
  if (typeof o.time !== 'string') return null;
  const timeMs = Date.parse(o.time);
  if (!Number.isFinite(timeMs)) return null;
  const fields: Record<string, unknown> = {};
  for (const k of Object.keys(o)) if (!FIXED.has(k)) fields[k] = o[k];
  return {
    timeMs,
    time: o.time,
    node: typeof o.node === 'string' ? o.node : origin.node,
    actor: typeof o.actor === 'string' ? o.actor : origin.actor,
    level: isLevel(o.level) ? o.level : 'info',
    term: typeof o.term === 'number' && Number.isFinite(o.term) ? o.term : 0,
    event: typeof o.event === 'string' ? o.event : '?',
    fields,
    raw,
  };
}

/** The record as one JSON object again (the fixed keys first), for --json. */
export function recordJson(r: LogRecord): Record<string, unknown> {
  return { time: r.time, node: r.node, actor: r.actor, level: r.level, term: r.term, event: r.event, ...r.fields };
}

/** Counts of lines that were not records, per file, for the closing note. */
export class MalformedCounter {
  readonly byFile = new Map<string, { count: number; firstLine: number }>();
  total = 0;

  add(file: string, lineNo: number): void {
    this.total++;
    const c = this.byFile.get(file);
    if (c) c.count++;
    else this.byFile.set(file, { count: 1, firstLine: lineNo });
  }
}
