// Real raftd processes on loopback: 3- and 5-node clusters elect one leader,
// replicate to all, elect a new leader after kill -9 of the leader, and a
// restarted node catches up.
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { RAFTD, TestCluster } from './helpers/cluster.js';
import { describeElections, electionsSince, loggedSince, markRaftLogs } from './helpers/election-log.js';
import { waitFor } from './helpers/wait.js';

/**
 * ADDENTRY until it returns an index. An election on a loaded machine can answer TRYAGAIN
 * or TIMEOUT; the same tid again is exactly-once (same index), so retrying is safe.
 */
async function addEntry(c: TestCluster, via: string, tid: string, data: string): Promise<number> {
  let last: unknown;
  await waitFor(`ADDENTRY ${tid} via ${via}`, async () => {
    last = await c.command(via, 'ADDENTRY', tid, data);
    return typeof last === 'number';
  }, 60_000, 200).catch((err: Error) => {
    throw new Error(`${err.message}; last reply ${JSON.stringify(last)}`);
  });
  return last as number;
}

async function addEntries(c: TestCluster, leader: string, prefix: string, n: number): Promise<number[]> {
  // Sent concurrently so the gateway batches them into few proposals.
  return Promise.all(Array.from({ length: n }, (_, i) => addEntry(c, leader, `${prefix}-${i}`, `data ${prefix} ${i}`)));
}

async function waitApplied(c: TestCluster, ids: string[], index: number): Promise<void> {
  await waitFor(`${ids.join(',')} applied ${index}`, async () => {
    const infos = await Promise.all(ids.map((id) => c.info(id)));
    return infos.every((i) => Number(i.last_applied) >= index);
  }, 60_000);
}

function dump(c: TestCluster, id: string): string[] {
  const out = execFileSync(process.execPath, [RAFTD, '--dump-log', '--data', c.node(id).dataDir, '--hosts', c.hostsFile], { encoding: 'utf8' });
  return out.split('\n').filter((l) => l && !l.startsWith('#'));
}

for (const size of [3, 5]) {
  t.test(`${size}-node cluster on loopback`, async (t) => {
    const c = await TestCluster.create({ size });
    t.teardown(() => c.stop());
    c.startAll();

    const first = await c.waitForLeader(60_000);
    t.pass(`${first.id} leads term ${first.term}`);
    const all = c.nodes.map((n) => n.id);

    const idx = await addEntries(c, first.id, 'a', 50);
    t.equal(new Set(idx).size, 50, 'each ADDENTRY got its own log index');
    const top = Math.max(...idx);
    await waitApplied(c, all, top);

    // A follower forwards the write to the leader and answers it; a retry with the same tid gets the same index.
    const follower = all.find((id) => id !== first.id)!;
    const viaFollower = await c.command(follower, 'ADDENTRY', 'via-follower', 'y');
    t.type(viaFollower, 'number', 'a follower forwards ADDENTRY to the leader');
    t.equal(await c.command(first.id, 'ADDENTRY', 'via-follower', 'y'), viaFollower, 'same tid, same index');

    // Every node holds the same log.
    const logs = all.map((id) => dump(c, id).filter((l) => Number(l.split('\t')[0]) <= top));
    for (const l of logs.slice(1)) t.same(l, logs[0], 'logs match');
    t.ok(logs[0]!.some((l) => l.includes('a-7\tdata a 7')), 'dump shows tid and data');

    // kill -9 the leader: a new one takes over and replicates.
    await c.kill(first.id);
    const second = await c.waitForLeader(60_000, [first.id]);
    t.not(second.id, first.id, `${second.id} took over`);
    t.ok(second.term > first.term, 'in a later term');
    const idx2 = await addEntries(c, second.id, 'b', 20);
    const top2 = Math.max(...idx2);
    t.ok(top2 > top, 'new entries follow the old ones');

    // The old leader restarts and catches up without disrupting the leader (PreVote/CheckQuorum).
    // On a loaded machine a late heartbeat can start an election of its own: tolerated only
    // when the nodes' logs show someone other than the returning node started it.
    const before = await c.waitForLeader(60_000);
    const mark = markRaftLogs(c);
    c.start(first.id);
    await waitApplied(c, all, top2);
    const after = await c.waitForLeader(60_000);
    const since = electionsSince(c, mark);
    const campaigns = since.filter((e) => e.event === 'electionStarted');
    t.ok(loggedSince(c, mark, first.id, 'started'), `the returning ${first.id}'s own log of this run is read`);
    t.same(campaigns.filter((e) => e.node === first.id), [], `the returning ${first.id} started no election`);
    if (after.id === before.id && after.term === before.term) {
      t.pass(`${before.id} still leads term ${before.term} after ${first.id} returned`);
    } else {
      // Someone else campaigned; the returning node never held a term above the leader's, so it did not push it out.
      t.ok(campaigns.length > 0 && campaigns.every((e) => e.node !== first.id), `an election not started by ${first.id}: ${describeElections(since)}`);
      t.comment(`unrelated election while ${first.id} returned (machine load): ${before.id}/t${before.term} -> ${after.id}/t${after.term}; ${describeElections(since)}`);
    }

    // A follower killed and restarted with entries written meanwhile catches up too.
    const f = all.find((id) => id !== after.id)!;
    await c.kill(f);
    const idx3 = await addEntries(c, after.id, 'c', 20);
    c.start(f);
    await waitApplied(c, all, Math.max(...idx3));
    const final = all.map((id) => dump(c, id).filter((l) => Number(l.split('\t')[0]) <= Math.max(...idx3)));
    for (const l of final.slice(1)) t.same(l, final[0], 'logs match after restarts');
  });
}
