// The cluster's processes as the nemesis and the final phase drive them: kill -9,
// restart, SIGSTOP/SIGCONT, and who leads now. Wraps a TestCluster; everything it does
// is undone by a crash-time cleanup that SIGKILLs every node. A run killed with
// SIGKILL cannot clean up: it leaves an owner file naming its cluster folder, and the
// next run kills that cluster's processes and removes the folder.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { TestCluster, TestNode } from '../helpers/cluster.js';
import { onCleanup, processAlive } from './cleanup.js';
import type { Endpoint } from './client.js';
import { infoWithin, type Info } from './probe.js';

const OWNERS_DIR = path.join(os.tmpdir(), 'raftd-jepsen-owners');

/** Kills the processes and removes the folders of clusters whose owning process is gone; returns how many clusters. */
export function reapStaleClusters(): number {
  let reaped = 0;
  let owners: string[];
  try {
    owners = fs.readdirSync(OWNERS_DIR);
  } catch {
    return 0;
  }
  for (const f of owners) {
    const m = /^(\d+)-/.exec(f);
    if (!m || processAlive(Number(m[1]))) continue;
    const file = path.join(OWNERS_DIR, f);
    const dir = fs.readFileSync(file, 'utf8').trim();
    if (dir.startsWith(os.tmpdir() + path.sep)) {
      for (const pid of fs.readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
        try {
          if (fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(dir + path.sep)) process.kill(Number(pid), 'SIGKILL');
        } catch {
          // gone, or not ours to read
        }
      }
      fs.rmSync(dir, { recursive: true, force: true });
    }
    fs.rmSync(file, { force: true });
    reaped++;
  }
  return reaped;
}

export class Nodes {
  readonly paused = new Set<string>();
  private readonly unregister: () => void;

  constructor(readonly cluster: TestCluster, keepDir: boolean) {
    reapStaleClusters();
    fs.mkdirSync(OWNERS_DIR, { recursive: true });
    const owner = path.join(OWNERS_DIR, `${process.pid}-${path.basename(cluster.dir)}`);
    fs.writeFileSync(owner, cluster.dir + '\n');
    this.unregister = onCleanup(`raftd processes in ${cluster.dir}`, () => {
      fs.rmSync(owner, { force: true });
      for (const n of cluster.nodes) {
        const pid = n.proc?.pid;
        if (pid !== undefined && n.proc!.exitCode === null && n.proc!.signalCode === null) {
          try {
            process.kill(pid, 'SIGKILL');
          } catch {
            // gone
          }
        }
      }
      if (!keepDir) fs.rmSync(cluster.dir, { recursive: true, force: true });
    });
  }

  get ids(): string[] {
    return this.cluster.nodes.map((n) => n.id);
  }

  get endpoints(): Endpoint[] {
    return this.cluster.nodes.map((n) => ({ id: n.id, host: n.host, clientPort: n.clientPort, access: this.cluster.opts.access }));
  }

  node(id: string): TestNode {
    return this.cluster.node(id);
  }

  endpoint(id: string): Endpoint {
    const n = this.node(id);
    return { id: n.id, host: n.host, clientPort: n.clientPort, access: this.cluster.opts.access };
  }

  running(id: string): boolean {
    return this.cluster.isRunning(id);
  }

  /** Running and not paused. */
  live(id: string): boolean {
    return this.running(id) && !this.paused.has(id);
  }

  async kill(id: string): Promise<void> {
    await this.cluster.kill(id);
    this.paused.delete(id);
  }

  start(id: string): void {
    if (!this.running(id)) this.cluster.start(id);
  }

  pause(id: string): void {
    const p = this.node(id).proc;
    if (!p || !this.running(id)) return;
    p.kill('SIGSTOP');
    this.paused.add(id);
  }

  resume(id: string): void {
    const p = this.node(id).proc;
    this.paused.delete(id);
    if (p && this.running(id)) p.kill('SIGCONT');
  }

  /** INFO of every live node that answers within timeoutMs. */
  async infos(timeoutMs = 500): Promise<Map<string, Info>> {
    const live = this.ids.filter((id) => this.live(id));
    const got = await Promise.all(live.map((id) => infoWithin(this.endpoint(id), timeoutMs).catch(() => null)));
    const out = new Map<string, Info>();
    live.forEach((id, i) => {
      if (got[i]) out.set(id, got[i]!);
    });
    return out;
  }

  /** The live node that says it leads in the highest term, or null. */
  async leader(): Promise<string | null> {
    let best: { id: string; term: number } | null = null;
    for (const [id, info] of await this.infos()) {
      const term = Number(info.term);
      if (info.role === 'leader' && (best === null || term > best.term)) best = { id, term };
    }
    return best?.id ?? null;
  }

  /** Resumes the paused and starts the dead. */
  reviveAll(): void {
    for (const id of [...this.paused]) this.resume(id);
    for (const id of this.ids) this.start(id);
  }

  async killAll(): Promise<void> {
    for (const id of [...this.paused]) this.resume(id);
    await Promise.all(this.ids.map((id) => this.kill(id)));
  }

  /** Stops the cluster (TestCluster.stop removes its folder) and drops the crash-time cleanup. */
  async stop(): Promise<void> {
    for (const id of [...this.paused]) this.resume(id);
    await this.cluster.stop();
    this.unregister();
  }
}
