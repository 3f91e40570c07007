// The readable one-line-per-record text of raft-logs: aligned columns, optional colours.
import type { Level, LogRecord } from './record.js';

const ESC = '\u001b[';
const RESET = ESC + '0m';
const LEVEL_COLOUR: Record<Level, string> = { debug: '2', info: '32', warn: '33', error: '1;31' };
const NODE_COLOURS = ['36', '35', '34', '33', '32', '96', '95', '94'];

/** A field value as it appears after `key=`: bare when unambiguous, else JSON. */
export function fieldValue(v: unknown): string {
  if (typeof v === 'string') return v.length > 0 && /^[^\s="'\\\p{Cc}]+$/u.test(v) ? v : JSON.stringify(v);
  if (v === undefined) return 'undefined';
  return JSON.stringify(v);
}

export interface TextFormatOptions {
  colour: boolean;
  /** Names known up front, so the columns line up from the first line. */
  nodes?: string[];
  actors?: string[];
}

/**
 * Formats records as `time node actor level term event key=value…`. Column widths start
 * at the longest known node and actor names and only grow, so streamed output stays
 * aligned without reading ahead.
 */
export class TextFormatter {
  private nodeWidth: number;
  private actorWidth: number;
  private termWidth = 3;
  private eventWidth = 18;
  private readonly nodeColour = new Map<string, string>();

  constructor(private readonly opts: TextFormatOptions) {
    this.nodeWidth = Math.max(4, ...(opts.nodes ?? []).map((n) => n.length));
    this.actorWidth = Math.max(5, ...(opts.actors ?? []).map((a) => a.length));
    for (const n of [...(opts.nodes ?? [])].sort()) this.colourOf(n);
  }

  private colourOf(node: string): string {
    let c = this.nodeColour.get(node);
    if (c === undefined) {
      c = NODE_COLOURS[this.nodeColour.size % NODE_COLOURS.length]!;
      this.nodeColour.set(node, c);
    }
    return c;
  }

  private paint(code: string, s: string): string {
    return this.opts.colour ? ESC + code + 'm' + s + RESET : s;
  }

  format(r: LogRecord): string {
    this.nodeWidth = Math.max(this.nodeWidth, r.node.length);
    this.actorWidth = Math.max(this.actorWidth, r.actor.length);
    const term = 't' + r.term;
    this.termWidth = Math.max(this.termWidth, term.length);
    this.eventWidth = Math.max(this.eventWidth, Math.min(r.event.length, 28));
    const fields = Object.entries(r.fields)
      .map(([k, v]) => this.paint('2', k + '=') + fieldValue(v))
      .join(' ');
    const cols = [
      this.paint('2', r.time.padEnd(24)),
      this.paint(this.colourOf(r.node), r.node.padEnd(this.nodeWidth)),
      r.actor.padEnd(this.actorWidth),
      this.paint(LEVEL_COLOUR[r.level], r.level.padEnd(5)),
      term.padEnd(this.termWidth),
      this.paint('1', r.event.padEnd(this.eventWidth)),
    ];
    return (cols.join(' ') + (fields ? ' ' + fields : '')).trimEnd();
  }
}
