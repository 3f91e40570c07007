// Runs a benchmark script as a child for a smoke test: bounded (SIGINT past the bound,
// and on teardown if the test ends first; each bench takes its clusters down on SIGINT),
// with its output kept for the assertion message.
import { spawn } from 'node:child_process';
import type { Test } from 'tap';

export interface BenchRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

export async function runBench(t: Test, script: string, args: string[], boundMs: number): Promise<BenchRun> {
  const child = spawn(process.execPath, [script, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const bound = setTimeout(() => child.kill('SIGINT'), boundMs);
  t.teardown(() => {
    clearTimeout(bound);
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGINT');
  });
  const code = await new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
  clearTimeout(bound);
  return { code, stdout, stderr };
}
