// Leadership transfer on real processes: CLUSTER TRANSFER hands leadership to the node
// named (or the most up-to-date one), a follower refuses it, and a leader stopped with
// SIGTERM hands over before it exits, so the next leader comes from a TimeoutNow rather
// than an election timeout. Gaps are reported, never asserted (speed lives in the bench).
import * as fs from 'node:fs';
import * as path from 'node:path';
import t from 'tap';
import { RespError } from '../lib/client/resp-client.js';
import { TestCluster } from './helpers/cluster.js';
import { waitFor } from './helpers/wait.js';

t.test('CLUSTER TRANSFER and a graceful stop of the leader', async (t) => {
  const c = await TestCluster.create({ size: 3 });
  t.teardown(() => c.stop());
  c.startAll();
  const { id: leader } = await c.waitForLeader();
  t.equal(await c.command(leader, 'SET', 'k', 'v1'), 'OK');
  const [f1, f2] = c.nodes.map((n) => n.id).filter((id) => id !== leader) as [string, string];

  const refused = await c.command(f1, 'CLUSTER', 'TRANSFER', f2);
  t.ok(refused instanceof RespError && /not the leader/.test(refused.message), `a follower refuses: ${String(refused)}`);
  const unknown = await c.command(leader, 'CLUSTER', 'TRANSFER', 'n99');
  t.ok(unknown instanceof RespError && /not a voter/.test(unknown.message), `an unknown target is refused: ${String(unknown)}`);

  t.equal(await c.command(leader, 'CLUSTER', 'TRANSFER', f1), 'OK', `the leader hands over to ${f1}`);
  const now = await c.waitForLeader();
  t.equal(now.id, f1, `${f1} leads`);
  t.equal(await c.command(f1, 'GET', 'k'), 'v1', 'nothing was lost');

  // A graceful stop of the leader under a write load: it hands over first.
  let stop = false;
  let acked = 0;
  let failed = 0;
  let last = performance.now();
  let gapMax = 0;
  const writer = (async () => {
    for (let i = 0; !stop; i++) {
      const via = c.nodes.find((n) => n.id !== f1 && c.isRunning(n.id))!.id; // a node that stays up
      const r = await c.command(via, 'REQ', `w${i}`, 'SET', 'k', `w${i}`).catch((e: Error) => e);
      if (r === 'OK') {
        const t1 = performance.now();
        gapMax = Math.max(gapMax, t1 - last);
        last = t1;
        acked++;
      } else failed++;
    }
  })();
  await waitFor('some writes', () => acked >= 20, 20_000);
  const proc = c.node(f1).proc!;
  const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
  proc.kill('SIGTERM');
  t.equal(await exited, 0, `${f1} exits cleanly on SIGTERM`);
  const after = acked;
  await waitFor('writes after the stop', () => acked >= after + 20, 30_000);
  stop = true;
  await writer;
  const next = await c.waitForLeader(30_000, [f1]);
  const raftLog = fs.readFileSync(path.join(c.node(f1).dataDir, 'logs', 'raft.log'), 'utf8');
  t.match(raftLog, /"event":"handing-over"/, `${f1} handed over before stopping`);
  const newLog = fs.readFileSync(path.join(c.node(next.id).dataDir, 'logs', 'raft.log'), 'utf8');
  t.match(newLog, /timeoutNowReceived/, `${next.id} took over on TimeoutNow, not on an election timeout`);
  t.comment(`longest gap between acknowledged writes across the handover: ${gapMax.toFixed(0)} ms; ${failed} attempts answered with an error (retried)`);
});
