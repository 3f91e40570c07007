// An etcd cluster for the benchmark, beside raftd's: `etcd` members on loopback
// addresses of their own with free ports and fresh data dirs, driven through the
// etcd3 client package (gRPC). Puts are acknowledged once committed; gets are
// linearizable (etcd's default, not serializable), as raftd's GET is.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { noop } from 'cockatiel';
import { Etcd3, type IOptions } from 'etcd3';
import { freePort, loopbackBlock } from '../helpers/ports.js';
import { waitFor } from '../helpers/wait.js';
import type { BenchSystem, KvClient } from './system.js';

/** etcd's version line, or null when no `etcd` binary is on the PATH. */
export function etcdVersion(): string | null {
  const r = spawnSync('etcd', ['--version'], { encoding: 'utf8' });
  if (r.error || r.status !== 0) return null;
  return /etcd Version: (\S+)/.exec(r.stdout)?.[1] ?? r.stdout.trim();
}

interface Member {
  name: string;
  host: string;
  clientUrl: string;
  peerUrl: string;
  dataDir: string;
  proc: ChildProcess | null;
}

export async function startEtcd(size: number): Promise<BenchSystem> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'raftd-bench-etcd-'));
  const members: Member[] = [];
  for (const [i, host] of loopbackBlock(size).entries()) {
    const cp = await freePort(host);
    let pp = await freePort(host);
    while (pp === cp) pp = await freePort(host);
    const name = `m${i + 1}`;
    members.push({ name, host, clientUrl: `http://${host}:${cp}`, peerUrl: `http://${host}:${pp}`, dataDir: path.join(dir, name), proc: null });
  }
  const initialCluster = members.map((m) => `${m.name}=${m.peerUrl}`).join(',');
  const token = `raftd-bench-${process.pid}-${path.basename(dir)}`;
  const running = (m: Member) => !!m.proc && m.proc.exitCode === null && m.proc.signalCode === null;
  const start = (m: Member) => {
    const out = fs.openSync(path.join(dir, `${m.name}.out`), 'a');
    // etcd's defaults (100 ms heartbeat, 1 s election timeout) except: keep the
    // history compacted so the large-value runs stay under the backend quota.
    m.proc = spawn(
      'etcd',
      [
        '--name', m.name,
        '--data-dir', m.dataDir,
        '--listen-client-urls', m.clientUrl,
        '--advertise-client-urls', m.clientUrl,
        '--listen-peer-urls', m.peerUrl,
        '--initial-advertise-peer-urls', m.peerUrl,
        '--initial-cluster', initialCluster,
        '--initial-cluster-state', 'new',
        '--initial-cluster-token', token,
        '--auto-compaction-mode', 'revision',
        '--auto-compaction-retention', '1000',
        '--quota-backend-bytes', String(8 * 1024 ** 3),
        '--logger', 'zap',
        '--log-level', 'error',
      ],
      { stdio: ['ignore', out, out] },
    );
    fs.closeSync(out);
  };
  // One admin client per member for status; bench clients are made per connect().
  const admin = members.map((m) => new Etcd3(clientOptions(m.clientUrl, 2000)));
  const status = async (i: number) => {
    const s = await admin[i]!.maintenance.status();
    return { id: s.header.member_id, leader: s.leader, term: Number(s.raftTerm) };
  };

  const sys: BenchSystem = {
    name: 'etcd',
    size,
    hosts: members.map((m) => m.host),
    pids: () => members.filter(running).map((m) => m.proc!.pid!),
    async waitForLeader(timeoutMs) {
      return waitFor(
        'one etcd leader that every running member follows',
        async () => {
          const idx = members.map((_, i) => i).filter((i) => running(members[i]!));
          const st = await Promise.all(idx.map((i) => status(i).catch(() => null)));
          if (st.some((s) => s === null)) return undefined;
          const leader = st[0]!.leader;
          if (leader === '0' || !st.every((s) => s!.leader === leader)) return undefined;
          const at = st.findIndex((s) => s!.id === leader);
          return at < 0 ? undefined : idx[at]!;
        },
        timeoutMs,
        50,
      );
    },
    async term() {
      const idx = members.map((_, i) => i).filter((i) => running(members[i]!));
      const st = await Promise.all(idx.map((i) => status(i).catch(() => null)));
      return Math.max(0, ...st.map((s) => s?.term ?? 0));
    },
    async connect(member) {
      const c = new Etcd3(clientOptions(members[member]!.clientUrl, 5000));
      return etcdClient(c);
    },
    async kill(member) {
      const p = members[member]!.proc;
      if (!p || !running(members[member]!)) return;
      const gone = new Promise<void>((r) => p.once('exit', () => r()));
      p.kill('SIGKILL');
      await gone;
    },
    async restart(member) {
      start(members[member]!);
    },
    isRunning: (member) => running(members[member]!),
    async stop() {
      for (const a of admin) a.close();
      await Promise.all(members.map((_, i) => sys.kill(i)));
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
  for (const m of members) start(m);
  try {
    await sys.waitForLeader(60_000);
  } catch (err) {
    const out = members.map((m) => `--- ${m.name}\n${safeRead(path.join(dir, `${m.name}.out`))}`).join('\n');
    await sys.stop();
    throw new Error(`etcd cluster did not elect a leader: ${String(err)}\n${out}`);
  }
  return sys;
}

/**
 * One member per client, and none of the client's own retries or circuit breaker: a
 * failed request is reported as it happened (as raftd's are), not retried for seconds.
 */
function clientOptions(url: string, dialTimeoutMs: number): IOptions {
  return { hosts: url, dialTimeout: dialTimeoutMs, faultHandling: { host: () => noop, global: noop } };
}

function safeRead(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

function etcdClient(c: Etcd3): KvClient {
  return {
    concurrent: true,
    write: (key, value) =>
      c
        .put(key)
        .value(value)
        .exec()
        .then(() => true, () => false),
    read: (key) =>
      c
        .get(key)
        .buffer()
        .then(() => true, () => false),
    close: () => c.close(),
  };
}
