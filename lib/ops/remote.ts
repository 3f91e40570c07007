// Running one of the scripts on a node's machine and turning the outcome into one line.
import { OpsError } from './errors.js';
import { lastLine, runShell, type ShellResult } from './shell.js';
import { describe, onNode, type NodeTarget } from './target.js';

/** `TypeError: ...`, `Error [ERR_MODULE_NOT_FOUND]: ...`, `raftd n1: fatal ...`, `raftd: RAFTD_CONFIG: ...`. */
const TELLING_LINE = /^(\w*Error\b|raftd( \S+)?: (fatal |[A-Z]+_[A-Z_]+: ))/;

/** Deadline of one script on one node, beyond the time the script itself waits. */
export const EXEC_TIMEOUT_MS = 20_000;

export function runOnNode(t: NodeTarget, script: string, opts: { timeoutMs?: number; input?: Buffer | string } = {}): Promise<ShellResult> {
  return runShell(onNode(t, script), { timeoutMs: opts.timeoutMs ?? EXEC_TIMEOUT_MS, input: opts.input });
}

/**
 * An OpsError for a run whose exit code the script does not explain: the template
 * itself failed (ssh could not connect, no such namespace, no sh there) or it ran out
 * of time. `null` if the script answered.
 */
export function execFailure(t: NodeTarget, r: ShellResult, known: readonly number[]): OpsError | null {
  if (r.timedOut) return new OpsError('OPS_TIMEOUT', `${describe(t)}: no answer within the deadline`);
  if (known.includes(r.code) && r.stdout.trim() !== '') return null;
  const why = lastLine(r.stderr) || lastLine(r.stdout) || `exit code ${r.code}`;
  return new OpsError('OPS_EXEC_FAILED', `${describe(t)}: ${why}`);
}

/**
 * The first word the script printed (STARTED, RUNNING, ...), the rest of that line,
 * and the most telling line of what followed (a tail of raftd.out): a thrown error or
 * raftd's own last words, else the last line (yargs ends with the flag it did not know).
 */
export function answer(r: ShellResult): { word: string; rest: string; tail: string } {
  const lines = r.stdout.split(/\r?\n/);
  const first = (lines[0] ?? '').trim();
  const sp = first.indexOf(' ');
  const after = lines.slice(1).map((l) => l.trim()).filter((l) => l !== '');
  return {
    word: sp < 0 ? first : first.slice(0, sp),
    rest: sp < 0 ? '' : first.slice(sp + 1),
    tail: (after.find((l) => TELLING_LINE.test(l)) ?? after[after.length - 1] ?? '').slice(0, 300),
  };
}
