// A raftd cluster for the benchmark: the test helper's real processes (own loopback
// addresses, free ports, a fresh data dir), driven over RESP.
import * as path from 'node:path';
import { RespClient, RespError } from '../../lib/client/resp-client.js';
import { TestCluster } from '../helpers/cluster.js';
import type { BenchSystem, KvClient } from './system.js';

/** Members stopped with SIGINT get this long to write their CPU profiles before SIGKILL. */
const PROFILE_EXIT_WAIT_MS = 30_000;

/**
 * `cpuProfDir`: run every member under node --cpu-prof, each thread's profile
 * written to <cpuProfDir>/<member id>/ when the cluster stops (members are stopped
 * with SIGINT then, so they exit cleanly).
 */
export async function startRaftd(size: number, extraArgs: string[] = [], cpuProfDir: string | null = null): Promise<BenchSystem> {
  const nodeFlags = cpuProfDir === null ? undefined : (id: string) => ['--cpu-prof', '--cpu-prof-dir', path.join(cpuProfDir, id)];
  const cluster = await TestCluster.create({ size, extraArgs, nodeFlags });
  cluster.startAll();
  const ids = cluster.nodes.map((n) => n.id);
  const sys: BenchSystem = {
    name: 'raftd',
    size,
    hosts: cluster.nodes.map((n) => n.host),
    pids: () => cluster.nodes.filter((n) => cluster.isRunning(n.id)).map((n) => n.proc!.pid!),
    async waitForLeader(timeoutMs) {
      const { id } = await cluster.waitForLeader(timeoutMs);
      return ids.indexOf(id);
    },
    async term() {
      const infos = await Promise.all(ids.filter((id) => cluster.isRunning(id)).map((id) => cluster.info(id).catch(() => null)));
      return Math.max(0, ...infos.map((i) => Number(i?.term ?? 0)));
    },
    async connect(member) {
      const n = cluster.nodes[member]!;
      return raftdClient(await RespClient.connect(n.host, n.clientPort, { connectTimeoutMs: 5000 }));
    },
    kill: (member) => cluster.kill(ids[member]!),
    async restart(member) {
      cluster.start(ids[member]!);
    },
    isRunning: (member) => cluster.isRunning(ids[member]!),
    async stop() {
      if (cpuProfDir !== null) await interruptAll(cluster);
      await cluster.stop();
    },
  };
  try {
    await sys.waitForLeader(60_000);
  } catch (err) {
    const out = ids.map((id) => `--- ${id}\n${cluster.output(id)}`).join('\n');
    await cluster.stop();
    throw new Error(`raftd cluster did not elect a leader: ${String(err)}\n${out}`);
  }
  return sys;
}

/** A closed-loop client over one RESP connection (SET and GET). */
export function raftdClient(c: RespClient): KvClient {
  return {
    concurrent: false,
    write: async (key, value) => !((await c.command('SET', key, value)) instanceof RespError),
    read: async (key) => !((await c.command('GET', key)) instanceof RespError),
    close: () => c.destroy(),
  };
}

/** SIGINT to every running member, and a bounded wait for them to exit. */
async function interruptAll(cluster: TestCluster): Promise<void> {
  const running = cluster.nodes.filter((n) => cluster.isRunning(n.id));
  const exited = running.map((n) => new Promise<void>((r) => n.proc!.once('exit', () => r())));
  for (const n of running) n.proc!.kill('SIGINT');
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([Promise.all(exited), new Promise((r) => (timer = setTimeout(r, PROFILE_EXIT_WAIT_MS)))]);
  clearTimeout(timer);
}
