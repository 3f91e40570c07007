// Runs a benchmark script as a child for a smoke test: bounded (SIGINT past the bound,
// and on teardown if the test ends first; each bench takes its clusters down on SIGINT),
// with its output kept for the assertion message.
import { spawn } from 'node:child_process';
import type { Test } from 'tap';

/**
 * Bounds of a bench smoke test, not speed goals: beside another cluster test on CI's 2
 * cores the smoke runs took 190-240 s and more (their rows start fresh clusters, and a
 * member's start is CPU-bound), so a file gets more than tap's default 300 s to hold one.
 */
export const SMOKE_RUN_BOUND_MS = 480_000;
export const SMOKE_FILE_TIMEOUT_MS = 600_000;

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
