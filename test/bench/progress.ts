// The progress line: one line rewritten in place on a terminal, a line per step otherwise.
import { performance } from 'node:perf_hooks';

export class Progress {
  private done = 0;
  private readonly t0 = performance.now();
  private readonly tty = process.stderr.isTTY === true;

  constructor(private total: number) {}

  /** Adds steps discovered late (a section that decides its rounds at run time). */
  grow(by: number): void {
    this.total += by;
  }

  step(label: string): void {
    this.done++;
    this.show(label);
  }

  show(label: string): void {
    const width = 24;
    const filled = Math.round((width * Math.min(this.done, this.total)) / Math.max(1, this.total));
    const bar = `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}]`;
    const elapsed = ((performance.now() - this.t0) / 1000).toFixed(0);
    const line = `bench ${bar} ${this.done}/${this.total} ${elapsed}s ${label}`;
    if (this.tty) process.stderr.write(`\r\x1b[K${line}`);
    else process.stderr.write(`${line}\n`);
  }

  /** A finding worth its own line (kept above the progress line on a terminal). */
  note(text: string): void {
    process.stderr.write(this.tty ? `\r\x1b[K${text}\n` : `${text}\n`);
  }

  end(): void {
    if (this.tty) process.stderr.write('\n');
  }
}
