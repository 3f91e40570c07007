// A full disk is fail-stop: a single node whose data directory is a 4 MiB tmpfs takes
// writes until the disk fills, then stops with exit code 1 and a message naming
// RAFTD_DISK_FULL. Every write it acknowledged before that is there after the disk is
// given more room and the node restarts; the restarted node takes writes again.
// Needs root (mount); the CI runs the tests as root.
import t from 'tap';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import { RespClient } from '../lib/client/resp-client.js';
import { TestCluster } from './helpers/cluster.js';
import { waitFor } from './helpers/wait.js';

const VALUE_BYTES = 16 * 1024;
const CLIENTS = 4;
/** Bound on writes a client tries: far more than 4 MiB holds, so the disk fills first. */
const WRITES_PER_CLIENT_MAX = 2000;

function mount(dir: string, sizeMiB: number, remount = false): void {
  execFileSync('mount', ['-t', 'tmpfs', '-o', `${remount ? 'remount,' : ''}size=${sizeMiB}m`, 'tmpfs', dir]);
}

function isMounted(dir: string): boolean {
  return fs.readFileSync('/proc/mounts', 'utf8').split('\n').some((l) => l.split(' ')[1] === dir);
}

function valueOf(key: string): string {
  return key.padEnd(VALUE_BYTES, '.');
}

t.test('a node whose disk fills stops cleanly, loses no acknowledged write, and restarts once there is room', async (t) => {
  const c = await TestCluster.create({ size: 1 });
  const dataDir = c.node('n1').dataDir;
  t.teardown(async () => {
    await c.kill('n1');
    if (isMounted(dataDir)) execFileSync('umount', [dataDir]);
    await c.stop();
  });
  fs.mkdirSync(dataDir, { recursive: true });
  mount(dataDir, 4);
  c.start('n1');
  await c.waitForLeader(60_000);
  const n = c.node('n1');
  const exited = new Promise<number | null>((resolve) => n.proc!.once('exit', (code) => resolve(code)));

  const acked: string[] = [];
  let failedReplies = 0;
  const load = async (client: number) => {
    const conn = await RespClient.connect(n.host, n.clientPort);
    try {
      for (let i = 0; i < WRITES_PER_CLIENT_MAX; i++) {
        const key = `k-${client}-${i}`;
        const r = await conn.command('SET', key, valueOf(key));
        if (r === 'OK') acked.push(key);
        else failedReplies++;
      }
    } catch {
      // The node went away: the write in flight was not acknowledged.
    } finally {
      conn.destroy();
    }
  };
  await Promise.all(Array.from({ length: CLIENTS }, (_, k) => load(k)));
  const code = await Promise.race([exited, waitFor('n1 to exit', () => !c.isRunning('n1'), 30_000).then(() => n.proc!.exitCode)]);
  t.equal(code, 1, 'exits non-zero');
  const out = c.output('n1');
  t.comment(out.split('\n').find((l) => l.includes('fatal')) ?? '');
  t.match(out, /fatal RAFTD_DISK_FULL: log-writer: disk full under .*no space left on device/i, 'says why');
  t.ok(acked.length > 50, `${acked.length} writes acknowledged before the disk filled (${failedReplies} error replies)`);

  mount(dataDir, 64, true);
  c.start('n1');
  await c.waitForLeader(60_000);
  const conn = await RespClient.connect(n.host, n.clientPort);
  t.teardown(() => conn.destroy());
  let missing = 0;
  for (const key of acked) {
    const v = await conn.command('GET', key);
    if (!Buffer.isBuffer(v) || v.toString() !== valueOf(key)) missing++;
  }
  t.equal(missing, 0, `every one of ${acked.length} acknowledged writes is there after the restart`);
  t.equal(await conn.command('SET', 'after', 'restart'), 'OK', 'takes writes again');
});
