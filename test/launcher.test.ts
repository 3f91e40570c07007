// `node bin/raftd.js` without --id: every local node of the hosts file as its own
// process, where each listens, who leads, and Ctrl-C stops them all.
import t from 'tap';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { RAFTD } from './helpers/cluster.js';
import { freePort, loopbackBlock } from './helpers/ports.js';
import { waitFor } from './helpers/wait.js';

function canConnect(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host, port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

t.test('launcher starts the local cluster and stops it on SIGINT', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'raftd-launch-'));
  const addrs = loopbackBlock(3);
  const lines: string[] = [];
  const nodes: { host: string; client: number }[] = [];
  for (let i = 0; i < 3; i++) {
    const peer = await freePort(addrs[i]!);
    const client = await freePort(addrs[i]!);
    lines.push(`n${i + 1} ${addrs[i]} ${peer} ${client}`);
    nodes.push({ host: addrs[i]!, client });
  }
  fs.writeFileSync(path.join(dir, 'hosts.txt'), '# test cluster\n' + lines.join('\n') + '\n');
  const proc = spawn(process.execPath, [RAFTD, '--hosts', path.join(dir, 'hosts.txt'), '--data', path.join(dir, 'data')], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr.on('data', (d: Buffer) => (out += d.toString()));
  t.teardown(() => {
    if (proc.exitCode === null) proc.kill('SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
  });

  await waitFor('three nodes listening and a leader', () => (out.match(/clients /g) ?? []).length === 3 && /n\d is leader \(term \d+\)/.test(out), 20_000);
  t.match(out, /n1: peers 127\.\d+\.\d+\.1:\d+ {2}clients 127\.\d+\.\d+\.1:\d+/, 'says where each node listens');
  for (const n of nodes) t.ok(await canConnect(n.host, n.client), `${n.host}:${n.client} answers`);
  t.ok(fs.existsSync(path.join(dir, 'data', 'n2', 'logs', 'raft.log')), 'per-node data dirs with per-actor logs');

  const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
  proc.kill('SIGINT');
  t.equal(await exited, 0, 'launcher exits cleanly');
  for (const n of nodes) t.notOk(await canConnect(n.host, n.client), `${n.host}:${n.client} is closed`);
});
