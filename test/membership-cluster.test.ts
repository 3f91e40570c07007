// Membership changes on real processes, under a write load whose every acknowledged
// write is read back afterwards: nodes join with --join (learners that catch up by
// snapshot and are promoted), the leader is removed, a dead node is replaced by a fresh
// one, and bad requests get clear errors while the cluster keeps serving.
import t from 'tap';
import { RespError } from '../lib/client/resp-client.js';
import { membershipCluster, members, raftLog, waitForMembers } from './helpers/membership.js';
import { waitFor } from './helpers/wait.js';
import { lostWrites, WriteLoad, type Endpoint } from './helpers/write-load.js';

const FLAGS = ['--snapshot-entries', '200', '--snapshot-retain-entries', '20'];

t.test('grow from 3 to 5 under load, then remove the leader', async (t) => {
  const { c, join } = await membershipCluster({ size: 5, members: 3 }, FLAGS);
  t.teardown(() => c.stop());
  for (const id of ['n1', 'n2', 'n3']) c.start(id);
  await c.waitForLeader(30_000, ['n4', 'n5']);
  const inConfig = new Set(['n1', 'n2', 'n3']);
  const eps = (): Endpoint[] => c.nodes.filter((n) => inConfig.has(n.id) && c.isRunning(n.id));
  const load = new WriteLoad(eps, 'grow');
  t.teardown(() => load.stop());
  load.start();
  await waitFor('writes past a few snapshots', () => load.acked.size >= 600, 60_000);
  load.measureFrom();

  const leaderOf = async () => (await c.waitForLeader(30_000, c.nodes.filter((n) => !inConfig.has(n.id)).map((n) => n.id))).id;
  join('n4', 'n2');
  await waitForMembers(c, leaderOf, ['n1', 'n2', 'n3', 'n4']);
  inConfig.add('n4');
  join('n5', 'n3');
  const rows = await waitForMembers(c, leaderOf, ['n1', 'n2', 'n3', 'n4', 'n5']);
  inConfig.add('n5');
  t.ok(rows.every((r) => r.match > 0), 'the leader knows every member\'s match index');
  t.match(raftLog(c, 'n4'), /"event":"snapshotRestored"/, 'n4 caught up by snapshot');
  t.match(raftLog(c, 'n5'), /"event":"joined"/, 'n5 logged that it joined');
  t.same((await members(c, 'n5')).map((r) => r.id).sort(), ['n1', 'n2', 'n3', 'n4', 'n5'], 'CLUSTER MEMBERS on a new node shows the configuration');

  // Remove the leader: the rest elect a new one; no acknowledged write is lost.
  const old = await leaderOf();
  const removed = await c.command(old === 'n1' ? 'n2' : 'n1', 'CLUSTER', 'REMOVE', old);
  // The leader steps down once its removal commits: the follower that forwarded the change
  // may hear OK, or (the leader gone before it answered) an unknown outcome to look up.
  t.ok(removed === 'OK' || (removed instanceof RespError && /outcome unknown/.test(removed.message)), `CLUSTER REMOVE ${old} through a follower: ${String(removed)}`);
  inConfig.delete(old);
  const rest = [...inConfig];
  const next = await waitFor(
    'a new leader among the rest',
    async () => {
      const l = await c.waitForLeader(30_000, [old]);
      return l.id !== old ? l : undefined;
    },
    30_000,
  );
  t.not(next.id, old, `${next.id} leads after ${old} was removed`);
  await waitForMembers(c, async () => next.id, rest);
  t.ok(c.isRunning(old), `${old} keeps running after its removal`);
  t.match(raftLog(c, old), /"event":"removed-from-config"/, `${old} says it was removed`);
  const before = load.acked.size;
  await waitFor('writes after the removal', () => load.acked.size >= before + 100, 60_000);
  await load.stop();
  t.equal(load.failed, 0, 'no write was given up');
  for (const id of rest) t.same((await lostWrites(c.node(id), load.acked)).slice(0, 5), [], `${id} holds all ${load.acked.size} acknowledged writes`);
  t.comment(`acknowledged ${load.acked.size} writes with ${load.retries} retried attempts; longest gap ${load.gapMaxMs.toFixed(0)} ms`);
});
