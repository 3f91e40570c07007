// A raftd cluster for the benchmark: the test helper's real processes (own loopback
// addresses, free ports, a fresh data dir), driven over RESP.
import { RespClient, RespError } from '../../lib/client/resp-client.js';
import { TestCluster } from '../helpers/cluster.js';
import type { BenchSystem, KvClient } from './system.js';

export async function startRaftd(size: number, extraArgs: string[] = []): Promise<BenchSystem> {
  const cluster = await TestCluster.create({ size, extraArgs });
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
    stop: () => cluster.stop(),
  };
  try {
    await sys.waitForLeader(30_000);
  } catch (err) {
    const out = ids.map((id) => `--- ${id}\n${cluster.output(id)}`).join('\n');
    await cluster.stop();
    throw new Error(`raftd cluster did not elect a leader: ${String(err)}\n${out}`);
  }
  return sys;
}

function raftdClient(c: RespClient): KvClient {
  return {
    concurrent: false,
    write: async (key, value) => !((await c.command('SET', key, value)) instanceof RespError),
    read: async (key) => !((await c.command('GET', key)) instanceof RespError),
    close: () => c.destroy(),
  };
}
