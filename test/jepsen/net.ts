// Network faults between node addresses on loopback, made with real packet drops:
// iptables rules in INPUT (a packet from a to b on lo passes INPUT with source a and
// destination b), each carrying a comment tag naming this run, so heal() and the
// crash-time cleanup remove exactly ours, and a later run removes what a killed run
// left behind (its tag names a pid that is gone). Slow links use tc netem on lo behind
// a u32 filter that matches only the test's addresses; where the kernel has no netem,
// lossy links fall back to iptables' statistic match (random drops, no delay).
import { execFileSync, spawnSync } from 'node:child_process';
import { onCleanup, processAlive } from './cleanup.js';

const TAG_PREFIX = 'raftd-jepsen-';

function sh(cmd: string, args: string[]): string {
  return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

function ok(cmd: string, args: string[]): boolean {
  return spawnSync(cmd, args, { stdio: 'ignore' }).status === 0;
}

export function iptablesUsable(): string | null {
  if (process.getuid?.() !== 0) return 'not root';
  if (!ok('iptables', ['-w', '-L', 'INPUT', '-n'])) return 'iptables does not work here';
  return null;
}

let netemCache: boolean | null = null;

/**
 * Whether the kernel has netem: probed on the loopback device of a throwaway network
 * namespace, so the probe never touches this namespace's lo.
 */
export function netemUsable(): boolean {
  if (netemCache !== null) return netemCache;
  netemCache = false;
  if (process.getuid?.() !== 0) return false;
  const ns = `rdjp${process.pid.toString(16)}`;
  if (!ok('ip', ['netns', 'add', ns])) return false;
  try {
    netemCache = ok('ip', ['netns', 'exec', ns, 'tc', 'qdisc', 'add', 'dev', 'lo', 'root', 'handle', '1:', 'prio'])
      && ok('ip', ['netns', 'exec', ns, 'tc', 'qdisc', 'add', 'dev', 'lo', 'parent', '1:3', 'handle', '30:', 'netem', 'delay', '1ms']);
  } finally {
    ok('ip', ['netns', 'del', ns]);
  }
  return netemCache;
}

/** Removes INPUT rules left by jepsen runs whose process is gone. Returns how many. */
export function removeStaleRules(): number {
  let removed = 0;
  let lines: string[];
  try {
    lines = sh('iptables', ['-w', '-S', 'INPUT']).split('\n');
  } catch {
    return 0;
  }
  for (const line of lines) {
    const m = new RegExp(`--comment "?${TAG_PREFIX}(\\d+)-`).exec(line);
    if (!m || processAlive(Number(m[1]))) continue;
    const args = line.replace(/"/g, '').trim().split(/\s+/);
    if (args[0] !== '-A') continue;
    args[0] = '-D';
    if (ok('iptables', ['-w', ...args])) removed++;
  }
  return removed;
}

/** The pairs of addresses that no group holds together. */
function cutPairs(groups: readonly (readonly string[])[], all: readonly string[]): [string, string][] {
  const out: [string, string][] = [];
  for (let i = 0; i < all.length; i++) {
    for (let j = i + 1; j < all.length; j++) {
      const a = all[i]!;
      const b = all[j]!;
      if (!groups.some((g) => g.includes(a) && g.includes(b))) out.push([a, b]);
    }
  }
  return out;
}

export interface NetemProfile {
  delayMs: number;
  jitterMs: number;
  lossPct: number;
}

/** Every rule and qdisc one run made, removable all at once. */
export class NetFaults {
  readonly tag = `${TAG_PREFIX}${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  /** Our rules, each with its full argument list and, for a plain cut, `src>dst`. */
  private readonly rules: { args: string[]; cut: string | null }[] = [];
  private netemOn = false;
  private readonly unregister: () => void;

  /** `block` is the /24 holding every node address (loopbackBlock gives 127.b.c.1..n). */
  constructor(private readonly block: string) {
    removeStaleRules();
    this.unregister = onCleanup(`iptables/tc rules ${this.tag}`, () => this.healAll());
  }

  private addRule(match: string[], cut: string | null = null): void {
    const args = ['INPUT', ...match, '-m', 'comment', '--comment', this.tag, '-j', 'DROP'];
    execFileSync('iptables', ['-w', '-I', ...args], { stdio: 'ignore' });
    this.rules.push({ args, cut });
  }

  private cutOne(src: string, dst: string): void {
    this.addRule(['-s', src, '-d', dst], `${src}>${dst}`);
  }

  /** Drops every packet from a to b and from b to a. */
  cut(a: string, b: string): void {
    this.cutOne(a, b);
    this.cutOne(b, a);
  }

  /**
   * Cuts every pair of addresses (of `all`) that no group holds together. Rules already
   * in place stay: partition() adds to what is there (see repartition).
   */
  partition(groups: readonly (readonly string[])[], all: readonly string[]): void {
    for (const [a, b] of cutPairs(groups, all)) this.cut(a, b);
  }

  /**
   * Moves from the current partition to a new one without a moment of full
   * connectivity in between: the new cuts go in before the old ones come out (a heal
   * then a cut would let a heartbeat through in the gap). Drops lossy rules too.
   */
  repartition(groups: readonly (readonly string[])[], all: readonly string[]): void {
    const wanted = new Set<string>();
    for (const [a, b] of cutPairs(groups, all)) {
      for (const [src, dst] of [[a, b], [b, a]] as const) {
        wanted.add(`${src}>${dst}`);
        if (!this.rules.some((r) => r.cut === `${src}>${dst}`)) this.cutOne(src, dst);
      }
    }
    for (let i = this.rules.length - 1; i >= 0; i--) {
      const r = this.rules[i]!;
      if (r.cut !== null && wanted.has(r.cut)) continue;
      ok('iptables', ['-w', '-D', ...r.args]);
      this.rules.splice(i, 1);
    }
  }

  /** Drops each packet between any two of `addrs` with probability p (both directions). */
  lossy(addrs: readonly string[], p: number): void {
    for (const a of addrs) {
      for (const b of addrs) {
        if (a !== b) this.addRule(['-s', a, '-d', b, '-m', 'statistic', '--mode', 'random', '--probability', p.toFixed(3)]);
      }
    }
  }

  /**
   * Delay, jitter and loss on every packet between two addresses of the block, with
   * netem under a prio root qdisc on lo; other loopback traffic passes the prio qdisc's
   * ordinary bands untouched. False when lo already has a root qdisc (someone else's).
   */
  netem(p: NetemProfile): boolean {
    if (this.netemOn) throw new Error('netem already on');
    const root = sh('tc', ['qdisc', 'show', 'dev', 'lo']);
    if (!/qdisc noqueue 0: root/.test(root)) return false;
    try {
      sh('tc', ['qdisc', 'add', 'dev', 'lo', 'root', 'handle', '7a31:', 'prio', 'bands', '4', 'priomap', '1', '2', '2', '2', '1', '2', '0', '0', '1', '1', '1', '1', '1', '1', '1', '1']);
      this.netemOn = true;
      const netem = ['qdisc', 'add', 'dev', 'lo', 'parent', '7a31:4', 'handle', '7a32:', 'netem', 'limit', '100000', 'delay', `${p.delayMs}ms`, `${p.jitterMs}ms`, 'loss', `${p.lossPct}%`];
      sh('tc', netem);
      sh('tc', ['filter', 'add', 'dev', 'lo', 'parent', '7a31:', 'protocol', 'ip', 'prio', '1', 'u32', 'match', 'ip', 'src', this.block, 'match', 'ip', 'dst', this.block, 'flowid', '7a31:4']);
      return true;
    } catch (err) {
      this.netemOff();
      throw err;
    }
  }

  netemOff(): void {
    if (!this.netemOn) return;
    this.netemOn = false;
    ok('tc', ['qdisc', 'del', 'dev', 'lo', 'root', 'handle', '7a31:']);
  }

  /** Removes every iptables rule of this run (netem stays; see netemOff). */
  heal(): void {
    while (this.rules.length > 0) ok('iptables', ['-w', '-D', ...this.rules.pop()!.args]);
  }

  healAll(): void {
    this.heal();
    this.netemOff();
  }

  /** Heals and forgets the crash-time cleanup. */
  dispose(): void {
    this.healAll();
    this.unregister();
  }

  get ruleCount(): number {
    return this.rules.length;
  }
}

/**
 * Counts the bytes and packets between addresses of a block with one INPUT rule that
 * has no target (it only counts), tagged like the fault rules.
 */
export class TrafficCounter {
  readonly tag = `${TAG_PREFIX}${process.pid}-count-${Math.random().toString(36).slice(2, 8)}`;
  private readonly rule: string[];
  private readonly unregister: () => void;

  constructor(block: string) {
    this.rule = ['INPUT', '-s', block, '-d', block, '-m', 'comment', '--comment', this.tag];
    execFileSync('iptables', ['-w', '-I', ...this.rule], { stdio: 'ignore' });
    this.unregister = onCleanup(`iptables counter ${this.tag}`, () => {
      ok('iptables', ['-w', '-D', ...this.rule]);
    });
  }

  read(): { packets: number; bytes: number } {
    for (const line of sh('iptables', ['-w', '-nvx', '-L', 'INPUT']).split('\n')) {
      if (!line.includes(this.tag)) continue;
      const [packets, bytes] = line.trim().split(/\s+/);
      return { packets: Number(packets), bytes: Number(bytes) };
    }
    throw new Error(`counting rule ${this.tag} is gone`);
  }

  dispose(): void {
    this.unregister();
  }
}
