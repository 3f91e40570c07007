// Network namespaces for tests: one per node plus a hub namespace holding a bridge,
// joined by veth pairs, on a private 10.213.X.0/24 subnet that exists only inside these
// namespaces (the root namespace gets no address and no route, so nothing a test does
// can reach a real network). Names carry a random prefix (rdt<4 hex>) and an owner
// marker, so cleanupStale() can remove what a crashed run left without touching a run
// that is still going. Everything is removed on teardown, on exit and on SIGINT/SIGTERM.
import { execFile, execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const PREFIX_RE = /^(rdt[0-9a-f]{4})-/;
const OWNERS_DIR = path.join(os.tmpdir(), 'raftd-netns-owners');

export interface NetnsNode {
  id: string;
  ns: string;
  addr: string;
  /** The node's interface inside its namespace. */
  dev: string;
}

function ip(args: string[]): string {
  return execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

function quietly(f: () => unknown): void {
  try {
    f();
  } catch {
    // already gone
  }
}

function ownerAlive(prefix: string): boolean {
  try {
    const pid = Number(fs.readFileSync(path.join(OWNERS_DIR, prefix), 'utf8'));
    if (!Number.isInteger(pid) || pid <= 0) return false;
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function listNamespaces(): string[] {
  try {
    return ip(['netns', 'list'])
      .split('\n')
      .map((l) => l.trim().split(/\s+/)[0] ?? '')
      .filter((n) => n !== '');
  } catch {
    return [];
  }
}

/** Kills every process inside the namespace, then deletes it. */
function removeNamespace(ns: string): void {
  quietly(() => {
    for (const pid of ip(['netns', 'pids', ns]).split(/\s+/).filter((p) => p !== '')) quietly(() => process.kill(Number(pid), 'SIGKILL'));
  });
  quietly(() => ip(['netns', 'del', ns]));
}

function removePrefix(prefix: string): void {
  for (const ns of listNamespaces()) if (ns.startsWith(`${prefix}-`)) removeNamespace(ns);
  // A veth end left in the root namespace by a run that died while creating it.
  quietly(() => {
    for (const line of ip(['-o', 'link', 'show']).split('\n')) {
      const m = /^\d+:\s+([^:@\s]+)/.exec(line);
      if (m && m[1]!.startsWith(prefix)) quietly(() => ip(['link', 'del', m[1]!]));
    }
  });
  quietly(() => fs.rmSync(path.join(OWNERS_DIR, prefix), { force: true }));
}

/** Removes namespaces (and their processes) of earlier runs whose owner process is gone. */
export function cleanupStale(): string[] {
  const prefixes = new Set<string>();
  for (const ns of listNamespaces()) {
    const m = PREFIX_RE.exec(ns);
    if (m) prefixes.add(m[1]!);
  }
  const removed: string[] = [];
  for (const p of prefixes) {
    if (ownerAlive(p)) continue;
    removePrefix(p);
    removed.push(p);
  }
  return removed;
}

/** Why namespaces cannot be used here, or null if they can. */
export function netnsUnavailable(): string | null {
  if (process.getuid?.() !== 0) return 'not root';
  const probe = `rdt${randomHex(4)}-probe`;
  try {
    ip(['netns', 'add', probe]);
  } catch (err) {
    return `ip netns add failed: ${String((err as { stderr?: string }).stderr ?? err).trim()}`;
  } finally {
    quietly(() => ip(['netns', 'del', probe]));
  }
  return null;
}

function randomHex(n: number): string {
  return Array.from({ length: n }, () => Math.floor(Math.random() * 16).toString(16)).join('');
}

export class NetnsLab {
  readonly prefix = `rdt${randomHex(4)}`;
  readonly hub = `${this.prefix}-hub`;
  /** The third octet of 10.213.X.0/24. */
  readonly subnet = 1 + Math.floor(Math.random() * 250);
  readonly hubAddr = `10.213.${this.subnet}.254`;
  readonly nodes: NetnsNode[] = [];
  private readonly onExit = () => this.cleanup();
  /** Cleans up, then lets the signal do what it would have done without us. */
  private readonly onSignal = (sig: NodeJS.Signals) => {
    this.cleanup();
    if (process.listenerCount(sig) === 0) process.kill(process.pid, sig);
  };
  private cleaned = false;

  /** Creates the hub and `ids.length` node namespaces; undoes everything if a step fails. */
  constructor(ids: string[]) {
    fs.mkdirSync(OWNERS_DIR, { recursive: true });
    fs.writeFileSync(path.join(OWNERS_DIR, this.prefix), String(process.pid));
    process.on('exit', this.onExit);
    process.once('SIGINT', this.onSignal);
    process.once('SIGTERM', this.onSignal);
    try {
      ip(['netns', 'add', this.hub]);
      ip(['-n', this.hub, 'link', 'set', 'lo', 'up']);
      ip(['-n', this.hub, 'link', 'add', 'br0', 'type', 'bridge']);
      ip(['-n', this.hub, 'addr', 'add', `${this.hubAddr}/24`, 'dev', 'br0']);
      ip(['-n', this.hub, 'link', 'set', 'br0', 'up']);
      ids.forEach((id, i) => {
        const ns = `${this.prefix}-${id}`;
        const addr = `10.213.${this.subnet}.${i + 1}`;
        const hubSide = `${this.prefix}${id}`.slice(0, 15);
        ip(['netns', 'add', ns]);
        ip(['-n', ns, 'link', 'set', 'lo', 'up']);
        // Both ends are created straight inside their namespaces.
        ip(['link', 'add', hubSide, 'netns', this.hub, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns]);
        ip(['-n', this.hub, 'link', 'set', hubSide, 'master', 'br0', 'up']);
        ip(['-n', ns, 'addr', 'add', `${addr}/24`, 'dev', 'eth0']);
        ip(['-n', ns, 'link', 'set', 'eth0', 'up']);
        this.nodes.push({ id, ns, addr, dev: 'eth0' });
      });
    } catch (err) {
      this.cleanup();
      throw err;
    }
  }

  node(id: string): NetnsNode {
    const n = this.nodes.find((x) => x.id === id);
    if (!n) throw new Error(`no namespace for ${id}`);
    return n;
  }

  /** Takes a node's only link down (`up = false`) or back up. */
  setLink(id: string, up: boolean): void {
    const n = this.node(id);
    ip(['-n', n.ns, 'link', 'set', n.dev, up ? 'up' : 'down']);
  }

  /** Runs a program inside a namespace (the hub by default). */
  exec(cmd: string, args: string[], opts: { ns?: string; timeoutMs?: number; cwd?: string } = {}): Promise<{ code: number; stdout: string; stderr: string }> {
    return new Promise((resolve) => {
      execFile('ip', ['netns', 'exec', opts.ns ?? this.hub, cmd, ...args], { encoding: 'utf8', timeout: opts.timeoutMs ?? 30_000, cwd: opts.cwd, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
        const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
        resolve({ code, stdout, stderr });
      });
    });
  }

  /** Pids of the processes inside a namespace. */
  pids(id: string): number[] {
    try {
      return ip(['netns', 'pids', this.node(id).ns])
        .split(/\s+/)
        .filter((p) => p !== '')
        .map(Number);
    } catch {
      return [];
    }
  }

  /** Kills what runs inside, deletes every namespace (veths and bridge go with them). Idempotent. */
  cleanup(): void {
    if (this.cleaned) return;
    this.cleaned = true;
    process.removeListener('exit', this.onExit);
    process.removeListener('SIGINT', this.onSignal);
    process.removeListener('SIGTERM', this.onSignal);
    removePrefix(this.prefix);
  }
}
