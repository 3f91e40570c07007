// Real raftd processes on loopback for tests: each node on its own 127.x.y.N address
// with ports the OS picked, a data directory under a temp folder, and stdout/stderr
// kept in that folder. stop() kills everything and removes the folder, also after a
// failed test (register it with t.teardown).
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, loopbackBlock } from './ports.js';
import { waitFor } from './wait.js';
import { respCommand, type Reply } from './resp.js';
import type { ClientAccess } from '../../lib/client/access.js';
import { nodeProcessEnv } from '../../lib/actor/heap-tuning.js';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const RAFTD = path.join(ROOT, 'bin/raftd.js');

export interface TestNode {
  id: string;
  host: string;
  peerPort: number;
  clientPort: number;
  dataDir: string;
  proc: ChildProcess | null;
}

export interface ClusterOptions {
  size: number;
  electionTimeoutMs?: number;
  heartbeatMs?: number;
  extraArgs?: string[];
  /** Per node: flags used instead of extraArgs (a node with another secret, say). */
  nodeArgs?: Record<string, string[]>;
  /** TLS and AUTH for the helper's own commands (INFO, waitForLeader). */
  access?: ClientAccess;
  /** Node.js flags for a member's process (e.g. --cpu-prof), before the script. */
  nodeFlags?: (id: string) => string[];
}

export class TestCluster {
  readonly dir: string;
  readonly hostsFile: string;
  readonly nodes: TestNode[] = [];

  private constructor(readonly opts: ClusterOptions) {
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'raftd-cluster-'));
    this.hostsFile = path.join(this.dir, 'hosts.txt');
  }

  static async create(opts: ClusterOptions): Promise<TestCluster> {
    const c = new TestCluster(opts);
    const addrs = loopbackBlock(opts.size);
    for (let i = 0; i < opts.size; i++) {
      const host = addrs[i]!;
      const id = `n${i + 1}`;
      const peerPort = await freePort(host);
      let clientPort = await freePort(host);
      while (clientPort === peerPort) clientPort = await freePort(host);
      c.nodes.push({ id, host, peerPort, clientPort, dataDir: path.join(c.dir, id), proc: null });
    }
    fs.writeFileSync(c.hostsFile, c.nodes.map((n) => `${n.id} ${n.host} ${n.peerPort} ${n.clientPort}`).join('\n') + '\n');
    return c;
  }

  node(id: string): TestNode {
    const n = this.nodes.find((x) => x.id === id);
    if (!n) throw new Error(`no node ${id}`);
    return n;
  }

  start(id: string): void {
    const n = this.node(id);
    if (n.proc && n.proc.exitCode === null && n.proc.signalCode === null) throw new Error(`${id} already running`);
    const out = fs.openSync(path.join(this.dir, `${id}.out`), 'a');
    const args = [
      RAFTD,
      '--id', id,
      '--hosts', this.hostsFile,
      '--data', n.dataDir,
      '--election-timeout-ms', String(this.opts.electionTimeoutMs ?? 300),
      '--heartbeat-ms', String(this.opts.heartbeatMs ?? 50),
      ...(this.opts.nodeArgs?.[id] ?? this.opts.extraArgs ?? []),
    ];
    n.proc = spawn(process.execPath, [...(this.opts.nodeFlags?.(id) ?? []), ...args], { stdio: ['ignore', out, out], cwd: this.dir, env: nodeProcessEnv() });
    fs.closeSync(out);
  }

  startAll(): void {
    for (const n of this.nodes) this.start(n.id);
  }

  /** SIGKILL, and wait until the process is gone. */
  async kill(id: string): Promise<void> {
    const n = this.node(id);
    const p = n.proc;
    if (!p || p.exitCode !== null || p.signalCode !== null) return;
    const gone = new Promise<void>((r) => p.once('exit', () => r()));
    p.kill('SIGKILL');
    await gone;
  }

  isRunning(id: string): boolean {
    const p = this.node(id).proc;
    return !!p && p.exitCode === null && p.signalCode === null;
  }

  async command(id: string, ...args: (string | Buffer | number)[]): Promise<Reply> {
    const n = this.node(id);
    return respCommand(n.host, n.clientPort, args, this.opts.access);
  }

  /** INFO parsed into key/value pairs. */
  async info(id: string): Promise<Record<string, string>> {
    const r = await this.command(id, 'INFO');
    if (typeof r !== 'string') throw new Error(`INFO gave ${JSON.stringify(r)}`);
    const out: Record<string, string> = {};
    for (const line of r.split(/\r?\n/)) {
      const m = /^([^#:][^:]*):(.*)$/.exec(line);
      if (m) out[m[1]!] = m[2]!;
    }
    return out;
  }

  /** Waits until exactly one running node says it leads, and every running node agrees on the term. */
  async waitForLeader(timeoutMs = 60_000, exclude: string[] = []): Promise<{ id: string; term: number }> {
    return waitFor(
      'one leader that every running node follows',
      async () => {
        const running = this.nodes.filter((n) => this.isRunning(n.id) && !exclude.includes(n.id));
        const infos = await Promise.all(running.map((n) => this.info(n.id).catch(() => null)));
        if (infos.some((i) => i === null)) return undefined;
        const leaders = infos.filter((i) => i!.role === 'leader');
        if (leaders.length !== 1) return undefined;
        const term = Number(leaders[0]!.term);
        const id = leaders[0]!.node_id!;
        if (!infos.every((i) => i!.leader_id === id && Number(i!.term) === term)) return undefined;
        return { id, term };
      },
      timeoutMs,
      50,
    );
  }

  /** Contents of a node's stdout/stderr (for failure messages). */
  output(id: string): string {
    try {
      return fs.readFileSync(path.join(this.dir, `${id}.out`), 'utf8');
    } catch {
      return '';
    }
  }

  /** Kills every node and removes the folder (kept when RAFTD_KEEP_TEST_DIRS is set, for a post-mortem). */
  async stop(): Promise<void> {
    await Promise.all(this.nodes.map((n) => this.kill(n.id)));
    if (process.env.RAFTD_KEEP_TEST_DIRS) process.stderr.write(`kept ${this.dir}\n`);
    else fs.rmSync(this.dir, { recursive: true, force: true });
  }
}
