// Real network partitions between loopback addresses with iptables: packets between
// two node addresses are dropped in both directions. Every rule carries a comment
// naming this run, so heal() and a crash-time cleanup remove exactly ours.
import { execFileSync } from 'node:child_process';

export function iptablesAvailable(): boolean {
  if (process.getuid?.() !== 0) return false;
  try {
    execFileSync('iptables', ['-w', '-L', 'INPUT', '-n'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

export class Partitioner {
  readonly tag = `raftd-test-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  private readonly rules: string[][] = [];

  constructor() {
    // Rules must not outlive the test process, whatever ends it.
    process.once('exit', () => this.heal());
  }

  /** Drops every packet between a and b (both directions). */
  cut(a: string, b: string): void {
    for (const [s, d] of [
      [a, b],
      [b, a],
    ]) {
      const rule = ['INPUT', '-s', s!, '-d', d!, '-m', 'comment', '--comment', this.tag, '-j', 'DROP'];
      execFileSync('iptables', ['-w', '-I', ...rule]);
      this.rules.push(rule);
    }
  }

  /** Cuts `group` off from every address in `others`. */
  isolate(group: string[], others: string[]): void {
    for (const a of group) for (const b of others) if (!group.includes(b)) this.cut(a, b);
  }

  heal(): void {
    while (this.rules.length > 0) {
      const rule = this.rules.pop()!;
      try {
        execFileSync('iptables', ['-w', '-D', ...rule], { stdio: 'ignore' });
      } catch {
        // already gone
      }
    }
  }
}
