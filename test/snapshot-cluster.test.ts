// Snapshots on real processes: a 3-node cluster that snapshots every 50 entries takes
// them and compacts its log, a follower stopped while writes go by catches up by
// InstallSnapshot and then holds the leader's keys, and every node restarts from its
// snapshot plus the log after it.
import * as fs from 'node:fs';
import * as path from 'node:path';
import t from 'tap';
import { ROOT, TestCluster } from './helpers/cluster.js';
import { waitFor } from './helpers/wait.js';

const SNAPSHOT_ENTRIES = 50;
const RETAIN = 10;

t.test('snapshots, compaction, InstallSnapshot and restart from a snapshot', async (t) => {
  const c = await TestCluster.create({ size: 3, extraArgs: ['--snapshot-entries', String(SNAPSHOT_ENTRIES), '--snapshot-retain-entries', String(RETAIN)] });
  t.teardown(() => c.stop());
  c.startAll();
  let { id: leader } = await c.waitForLeader();
  const write = async (from: number, to: number): Promise<void> => {
    for (let i = from; i < to; i++) {
      const r = await waitFor(`SET k${i}`, async () => {
        const l = (await c.waitForLeader()).id;
        const v = await c.command(l, 'SET', `k${i % 120}`, `v${i}`);
        return v === 'OK' ? v : undefined;
      }, 30_000);
      t.equal(r, 'OK');
    }
  };
  await write(0, 200);

  const infoNum = async (id: string, k: string): Promise<number> => Number((await c.info(id))[k]);
  for (const n of c.nodes) {
    const idx = await waitFor(`${n.id} to take a snapshot`, async () => ((await infoNum(n.id, 'snapshot_index')) >= SNAPSHOT_ENTRIES ? infoNum(n.id, 'snapshot_index') : undefined), 20_000);
    t.ok(idx >= SNAPSHOT_ENTRIES, `${n.id} snapshot_index ${idx}`);
    const first = await infoNum(n.id, 'first_log_index');
    t.ok(first > 1, `${n.id} compacted its log: first_log_index ${first}`);
  }

  // A follower misses many snapshots' worth of writes: the leader's log no longer has them.
  leader = (await c.waitForLeader()).id;
  const f = c.nodes.find((n) => n.id !== leader)!.id;
  await c.kill(f);
  await write(200, 500);
  const leaderFirst = await infoNum(leader, 'first_log_index');
  const fFiles = fs.readdirSync(path.join(c.node(f).dataDir));
  t.ok(fFiles.length > 0, 'the follower has a data directory');
  c.start(f);
  const lastLeader = await infoNum(leader, 'last_log_index');
  await waitFor(`${f} to catch up`, async () => (await infoNum(f, 'last_applied')) >= lastLeader, 30_000);
  const fSnap = await infoNum(f, 'snapshot_index');
  t.ok(fSnap >= leaderFirst - 1, `${f} caught up by snapshot: its snapshot ${fSnap}, the leader's log started at ${leaderFirst}`);
  const logs = fs.readFileSync(path.join(c.node(f).dataDir, 'logs', 'raft.log'), 'utf8');
  t.match(logs, /snapshotRestored/, 'the follower restored a snapshot the leader sent');

  // Same keys and values everywhere.
  for (let k = 0; k < 120; k++) {
    const want = await c.command(leader, 'GET', `k${k}`);
    t.equal(await c.command(f, 'GET', `k${k}`), want, `k${k} on ${f}`);
  }

  // Everyone restarts: state from the snapshot plus the log after it.
  for (const n of c.nodes) await c.kill(n.id);
  c.startAll();
  leader = (await c.waitForLeader()).id;
  for (let k = 0; k < 120; k++) {
    const last = 499 - ((499 - k) % 120);
    t.equal(await c.command(leader, 'GET', `k${k}`), `v${last}`, `k${k} after a restart of every node`);
  }
  const raftLog = fs.readFileSync(path.join(c.node(leader).dataDir, 'logs', 'raft.log'), 'utf8');
  t.match(raftLog, /snapshot-loaded/, 'the restart loaded a snapshot');

  // raft-logs --summary tells the snapshots taken, sent and installed.
  const { execFileSync } = await import('node:child_process');
  const summary = execFileSync(process.execPath, [path.join(ROOT, 'bin/raft-logs.js'), '--dir', c.dir, '--summary'], { encoding: 'utf8' });
  t.match(summary, /Snapshots/, 'the summary has a Snapshots section');
  t.match(summary, new RegExp(`${f}: \\d+ taken, \\d+ sent to followers, [1-9]\\d* installed from a leader`), `the summary shows ${f} installing a snapshot`);
});
