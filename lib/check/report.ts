// Human-readable text for ops and check results: one op a line, e.g.
//   p3 write k1 "5" ok [t=12.3ms..14.1ms]
import type { Datum, Operation } from './history.js';

export type TimeUnit = 'ms' | 'ns';

export interface FormatOptions {
  /** Times print relative to this (same unit as the ops); 0 prints them raw. */
  readonly originTime?: number;
  /** The unit of invokeTime/completeTime; printed in ms either way. */
  readonly timeUnit?: TimeUnit;
}

/** A failing key: the longest linearizable prefix and the op that could not follow it. */
export interface Failure {
  readonly key: string;
  /** The longest linearizable prefix found, in linearization order. */
  readonly prefix: readonly Operation[];
  /** The model state after the prefix, as the model shows it. */
  readonly stateShown: string;
  /** The op that completed before any order of the ops concurrent with it could place it. */
  readonly blocked: Operation;
  /** The ops not in the prefix invoked before `blocked` completed, in invocation order (blocked among them). */
  readonly pending: readonly Operation[];
  /** For each pending op, whether the model accepts it right after the prefix. */
  readonly pendingFits: readonly boolean[];
}

export function formatDatum(d: Datum | undefined): string {
  if (d === undefined) return '?';
  if (d === null) return 'nil';
  if (typeof d === 'string') return JSON.stringify(d);
  if (typeof d === 'number') return String(d);
  return '[' + d.map((x) => formatDatum(x)).join(', ') + ']';
}

function formatTime(t: number, options: FormatOptions): string {
  const scale = options.timeUnit === 'ns' ? 1e-6 : 1;
  return ((t - (options.originTime ?? 0)) * scale).toFixed(1) + 'ms';
}

/** `p3 write k1 "5" ok [t=12.3ms..14.1ms]`; reads, incrs and deletes show `-> output`. */
export function formatOp(op: Operation, options: FormatOptions = {}): string {
  const proc = typeof op.process === 'number' ? `p${op.process}` : op.process;
  let s = `${proc} ${op.op} ${op.key}`;
  if (op.input !== undefined) s += ' ' + formatDatum(op.input);
  const showsOutput = op.op === 'read' || op.op === 'incr' || op.op === 'delete' || (op.op === 'append' && op.output !== undefined);
  if (showsOutput) s += ' -> ' + (op.outcome === 'ok' ? formatDatum(op.output) : '?');
  const end = op.outcome === 'unknown' ? '?' : formatTime(op.completeTime as number, options);
  return `${s} ${op.outcome} [t=${formatTime(op.invokeTime, options)}..${end}]`;
}

export interface ReportOptions extends FormatOptions {
  /** How many ops of the prefix to show before the stuck point. */
  readonly contextOps?: number;
  /** How many pending ops to show at most. */
  readonly pendingOpsMax?: number;
}

export function formatFailure(f: Failure, options: ReportOptions = {}): string {
  const context = options.contextOps ?? 8;
  const pendingMax = options.pendingOpsMax ?? 20;
  const lines: string[] = [];
  lines.push(`not linearizable: key ${JSON.stringify(f.key)}`);
  lines.push(`  offending op: ${formatOp(f.blocked, options)}`);
  lines.push(`    it completed, yet no order of the ops concurrent with it can place it after the prefix below`);
  const shown = f.prefix.slice(Math.max(0, f.prefix.length - context));
  const hidden = f.prefix.length - shown.length;
  lines.push(`  longest linearizable prefix: ${f.prefix.length} op(s)` + (hidden > 0 ? `, the last ${shown.length} shown:` : ':'));
  if (hidden > 0) lines.push(`    ... ${hidden} earlier op(s)`);
  for (const op of shown) lines.push(`    ${formatOp(op, options)}`);
  lines.push(`  state after the prefix: ${f.stateShown}`);
  lines.push(`  ops that could come next (invoked before the offending op completed):`);
  f.pending.slice(0, pendingMax).forEach((op, i) => {
    const mark = op === f.blocked ? ' <- offending' : '';
    const fit = f.pendingFits[i] ? 'fits' : 'does not fit';
    lines.push(`    ${formatOp(op, options)}  (${fit} ${f.stateShown})${mark}`);
  });
  if (f.pending.length > pendingMax) lines.push(`    ... ${f.pending.length - pendingMax} more`);
  return lines.join('\n');
}
