// Running `sh -c` command lines on this machine with a deadline and bounded output.
import { spawn } from 'node:child_process';

/** Output kept from a command (each of stdout and stderr); anything past it is dropped. */
export const OUTPUT_BYTES_MAX = 1024 * 1024;

/** Quotes one word for a POSIX shell; plain words stay as they are. */
export function shq(word: string): string {
  if (word !== '' && /^[A-Za-z0-9_@%+=:,./-]+$/.test(word)) return word;
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

export interface ShellResult {
  code: number;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

export interface ShellOptions {
  timeoutMs: number;
  /** Bytes for the command's stdin; stdin is /dev/null without it. */
  input?: Buffer | string;
}

/** Runs `sh -c line` and resolves when it exits (never rejects: a failure to spawn is code 127). */
export function runShell(line: string, opts: ShellOptions): Promise<ShellResult> {
  return new Promise((resolve) => {
    const child = spawn('sh', ['-c', line], { stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let outBytes = 0;
    let errBytes = 0;
    let timedOut = false;
    child.stdout!.on('data', (d: Buffer) => {
      if (outBytes < OUTPUT_BYTES_MAX) out.push(d);
      outBytes += d.length;
    });
    child.stderr!.on('data', (d: Buffer) => {
      if (errBytes < OUTPUT_BYTES_MAX) err.push(d);
      errBytes += d.length;
    });
    if (opts.input !== undefined) {
      child.stdin!.on('error', () => undefined);
      child.stdin!.end(opts.input);
    }
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, opts.timeoutMs);
    let done = false;
    const finish = (code: number) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      resolve({ code, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8'), timedOut });
    };
    child.once('error', (e) => {
      err.push(Buffer.from(String(e.message)));
      finish(127);
    });
    child.once('close', (code, sig) => finish(code ?? (sig ? 128 : 1)));
  });
}

/** The last non-empty line of some output, for one-line error messages. */
export function lastLine(text: string): string {
  const lines = text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l !== '');
  return lines[lines.length - 1] ?? '';
}
