// Starting, stopping and signalling nodes through their pid files, on this machine or
// through the exec template. Every node gets one result line; one node failing never
// stops the others.
import { OpsError } from './errors.js';
import { probeNode } from './probe.js';
import { answer, execFailure, runOnNode } from './remote.js';
import { probeScript, SCRIPT_EXIT, signalScript, startScript, stopScript, type Signal } from './scripts.js';
import { describe, type ClusterConfig, type NodeTarget } from './target.js';

export interface NodeResult {
  id: string;
  ok: boolean;
  /** One line: `started (pid 123)`, `refused: already running (pid 99)`, ... */
  message: string;
  pid: number | null;
  /** A raftd of this node runs now (started, or found running). */
  running: boolean;
}

function failed(t: NodeTarget, err: unknown): NodeResult {
  const message = err instanceof OpsError ? err.message.replace(`${describe(t)}: `, '') : String(err);
  return { id: t.entry.id, ok: false, message, pid: null, running: false };
}

function pidOf(rest: string): number | null {
  const n = Number(rest.split(' ')[0]);
  return Number.isInteger(n) && n > 0 ? n : null;
}

/** `pid 123`, or `pid 123 from INFO, no pid file` when the pid file was not what found it. */
function pidText(rest: string): string {
  return rest.endsWith(' info') ? `pid ${pidOf(rest)} from INFO, no pid file` : `pid ${pidOf(rest)}`;
}

export async function startNode(c: ClusterConfig, t: NodeTarget, reuseSavedArgs = false): Promise<NodeResult> {
  const r = await runOnNode(t, startScript(t, c.raftdArgs, reuseSavedArgs));
  const err = execFailure(t, r, Object.values(SCRIPT_EXIT));
  if (err) return failed(t, err);
  const a = answer(r);
  const id = t.entry.id;
  switch (a.word) {
    case 'STARTED':
      return { id, ok: true, message: `started (pid ${a.rest})`, pid: pidOf(a.rest), running: true };
    case 'RUNNING':
      return { id, ok: false, message: `refused: already running (pid ${a.rest}, pid file ${t.pidFile})`, pid: pidOf(a.rest), running: true };
    case 'NOBUILD':
      return { id, ok: false, message: `no raftd build in ${t.projectDir} (${t.placement === 'remote' ? 'drop --no-upload or build it there' : 'run npm run build'})`, pid: null, running: false };
    case 'NONODE':
      return { id, ok: false, message: `no "${t.nodeBin}" on that machine (see --node)`, pid: null, running: false };
    case 'NODATADIR':
      return { id, ok: false, message: `cannot create ${t.dataDir}`, pid: null, running: false };
    case 'DIED':
      return { id, ok: false, message: `raftd exited right after starting${a.tail ? `: ${a.tail}` : ''} (see ${t.outFile})`, pid: null, running: false };
    default:
      return { id, ok: false, message: `unexpected answer: ${r.stdout.trim().slice(0, 200)}`, pid: null, running: false };
  }
}

export async function stopNode(t: NodeTarget, graceMs: number, infoPid: number | null = null): Promise<NodeResult> {
  const r = await runOnNode(t, stopScript(t, graceMs, infoPid), { timeoutMs: graceMs + 20_000 });
  const err = execFailure(t, r, [0]);
  if (err) return failed(t, err);
  const a = answer(r);
  const id = t.entry.id;
  switch (a.word) {
    case 'STOPPED':
      return { id, ok: true, message: `stopped (${pidText(a.rest)})`, pid: pidOf(a.rest), running: false };
    case 'KILLED':
      return { id, ok: true, message: `killed after ${graceMs} ms grace (${pidText(a.rest)})`, pid: pidOf(a.rest), running: false };
    case 'NOTRUNNING':
      return { id, ok: true, message: 'not running', pid: null, running: false };
    default:
      return { id, ok: false, message: `unexpected answer: ${r.stdout.trim().slice(0, 200)}`, pid: null, running: false };
  }
}

const SIGNAL_DONE: Record<Signal, string> = { TERM: 'terminated', KILL: 'killed (SIGKILL)', STOP: 'paused (SIGSTOP)', CONT: 'resumed (SIGCONT)' };

export async function signalNode(t: NodeTarget, sig: Signal): Promise<NodeResult> {
  const r = await runOnNode(t, signalScript(t, sig));
  const err = execFailure(t, r, [0, SCRIPT_EXIT.notRunning]);
  if (err) return failed(t, err);
  const a = answer(r);
  const id = t.entry.id;
  if (a.word === 'SIGNALLED') return { id, ok: true, message: `${SIGNAL_DONE[sig]} (pid ${a.rest})`, pid: pidOf(a.rest), running: sig !== 'KILL' };
  if (a.word === 'NOTRUNNING') return { id, ok: false, message: `not running (no live process in ${t.pidFile})`, pid: null, running: false };
  return { id, ok: false, message: `unexpected answer: ${r.stdout.trim().slice(0, 200)}`, pid: null, running: false };
}

export interface Diagnosis {
  /** Whether its pid file names a live raftd; null if the machine could not be asked. */
  running: boolean | null;
  line: string;
}

/** For a node that does not answer: is its process there, and the telling line of its raftd.out. */
export async function diagnoseNode(t: NodeTarget): Promise<Diagnosis> {
  const r = await runOnNode(t, probeScript(t));
  const err = execFailure(t, r, [0]);
  if (err) return { running: null, line: err.message };
  const a = answer(r);
  const running = a.word === 'RUNNING';
  const proc = running ? `process ${a.rest} is running but does not answer` : 'no raftd process';
  return { running, line: `${t.entry.id}: ${proc}${a.tail ? `; ${t.outFile}: ${a.tail}` : ''}` };
}

/**
 * Stops every target. Nodes are asked for their pid over INFO first, so one whose pid
 * file is gone is still found (the pid is checked to be this node's raftd before any
 * signal).
 */
export async function stopAll(targets: readonly NodeTarget[], graceMs: number, probeTimeoutMs: number): Promise<NodeResult[]> {
  const rows = await Promise.all(targets.map((t) => probeNode(t.entry, probeTimeoutMs)));
  return Promise.all(targets.map((t, i) => stopNode(t, graceMs, rows[i]!.pid)));
}

/**
 * Starts every target but those whose client port already answers: another raftd (an
 * earlier `up` whose pid files are gone, one started by hand) holds its ports.
 */
export async function startAll(c: ClusterConfig, targets: readonly NodeTarget[], reuseSavedArgs: boolean, probeTimeoutMs: number): Promise<NodeResult[]> {
  const rows = await Promise.all(targets.map((t) => probeNode(t.entry, probeTimeoutMs)));
  return Promise.all(
    targets.map((t, i) => {
      const row = rows[i]!;
      if (row.state !== 'up') return startNode(c, t, reuseSavedArgs);
      return { id: t.entry.id, ok: false, message: `refused: a raftd already answers on ${row.address} (pid ${row.pid ?? '?'} per INFO)`, pid: row.pid, running: true };
    }),
  );
}
