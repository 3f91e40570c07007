// The embedded default: start every node of hosts.txt that lives on this machine as
// its own process, say where each listens and who leads, and stop them all on Ctrl-C.
import { fork, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';
import { isLocalHost, type HostEntry } from '../config/hosts.js';
import { RaftdError } from '../util/errors.js';
import type { LaunchReport } from './raftd.js';
import { nodeProcessEnv } from '../actor/heap-tuning.js';

export interface LaunchOptions {
  hostsFile: string;
  hosts: HostEntry[];
  /** Flags to pass on to every node. */
  argv: string[];
  /** The raftd entry script to fork. */
  script: string;
  /** Each node keeps its data in <dataRoot>/<id>. */
  dataRoot: string;
}

const STOP_GRACE_MS = 5000;

export async function launchLocalCluster(o: LaunchOptions): Promise<void> {
  const local = o.hosts.filter((h) => isLocalHost(h.host));
  if (local.length === 0) throw new RaftdError('RAFTD_CONFIG', `${o.hostsFile}: no node of it lives on this machine`);
  const out = (s: string) => process.stdout.write(s + '\n');
  out(`raftd: starting ${local.length} of ${o.hosts.length} nodes from ${o.hostsFile} (Ctrl-C stops them all)`);
  const children = new Map<string, ChildProcess>();
  let leader: string | null = null;
  let leaderTerm = -1;
  let stopping = false;

  const stopAll = (code: number) => {
    if (stopping) return;
    stopping = true;
    out('raftd: stopping all nodes');
    for (const c of children.values()) if (c.exitCode === null) c.kill('SIGTERM');
    const force = setTimeout(() => {
      for (const c of children.values()) if (c.exitCode === null) c.kill('SIGKILL');
    }, STOP_GRACE_MS);
    force.unref();
    const waitAll = [...children.values()].map((c) => (c.exitCode !== null ? Promise.resolve() : new Promise<void>((r) => c.once('exit', () => r()))));
    void Promise.all(waitAll).then(() => process.exit(code));
  };
  process.on('SIGINT', () => stopAll(0));
  process.on('SIGTERM', () => stopAll(0));

  for (const h of local) {
    const child = fork(o.script, [...o.argv, '--id', h.id, '--hosts', o.hostsFile, '--data', path.join(o.dataRoot, h.id)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], env: nodeProcessEnv() });
    children.set(h.id, child);
    child.on('message', (m: LaunchReport) => {
      switch (m.type) {
        case 'listening':
          out(`  ${m.id}: peers ${m.host}:${m.peerPort}  clients ${m.host}:${m.clientPort}  (try: redis-cli -h ${m.host} -p ${m.clientPort} INFO)`);
          return;
        case 'role':
          if (m.role === 'leader' && (m.term > leaderTerm || leader !== m.id)) {
            leader = m.id;
            leaderTerm = m.term;
            out(`raftd: ${m.id} is leader (term ${m.term})`);
          }
          return;
      }
    });
    child.on('exit', (code, sig) => {
      if (!stopping) out(`raftd: ${h.id} exited (${sig ?? `code ${code}`})`);
    });
  }
  await new Promise<never>(() => undefined);
}
