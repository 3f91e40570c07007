// Undo actions that must run however a run ends: a normal return, a thrown error, a
// test timeout (tap sends SIGALRM, then SIGKILL), Ctrl-C (SIGINT) or process.exit. Each action is synchronous,
// so it also runs inside an 'exit' handler, and idempotent, so the normal path and the
// exit path may both call it.
import { readFileSync } from 'node:fs';

type Action = () => void;

const actions = new Map<number, { what: string; run: Action }>();
let nextId = 1;
let installed = false;

function runAll(): void {
  for (const [id, a] of [...actions].reverse()) {
    actions.delete(id);
    try {
      a.run();
    } catch (err) {
      process.stderr.write(`jepsen cleanup (${a.what}) failed: ${String(err)}\n`);
    }
  }
}

function install(): void {
  if (installed) return;
  installed = true;
  process.on('exit', runAll);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGALRM'] as const) {
    process.once(sig, () => {
      process.stderr.write(`jepsen: ${sig}, cleaning up\n`);
      runAll();
      process.exit(sig === 'SIGINT' ? 130 : 143);
    });
  }
}

/** Registers `run` to happen at exit; the returned function runs it now (once) and unregisters it. */
export function onCleanup(what: string, run: Action): () => void {
  install();
  const id = nextId++;
  actions.set(id, { what, run });
  return () => {
    const a = actions.get(id);
    if (a === undefined) return;
    actions.delete(id);
    a.run();
  };
}

/** Whether a process is running (a zombie, killed but not yet reaped, is not). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return true;
  }
}
