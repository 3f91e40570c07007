// "The returning node does not disrupt the leader", deterministically: the replica
// simulator (the daemon's own replica code) cuts a node off for many election
// timeouts, or crashes the leader and brings it back later, and checks at every step
// after the return that the leader and its term stay what they were. The real-cluster
// check (test/cluster.test.ts) sees the same property through a loaded machine's
// timing; here no timing can blur it. A control run without PreVote and CheckQuorum
// shows the check has teeth: there the returning node forces a new term.
import t, { type Test } from 'tap';
import type { NodeId } from '../lib/raft/types.js';
import type { GatewayRequest } from '../lib/replica/messages.js';
import { encodeCommand } from '../lib/kv/command-codec.js';
import { defaultReplicaSimOptions, ReplicaCluster, type ReplicaSimOptions } from './sim/replica-cluster.js';

const SEEDS = Array.from({ length: 12 }, (_, i) => 101 + i);
/** How long the node stays away, and how long after its return the leader is watched, in election timeouts. */
const AWAY_TIMEOUTS = 40;
const WATCH_TIMEOUTS = 30;

let nextReq = 0;
function set(key: string, value: string): GatewayRequest {
  return { reqId: ++nextReq, kind: 'write', tid: '', data: encodeCommand(['SET', key, value].map((s) => Buffer.from(s))) };
}

function start(seed: number, over: Partial<ReplicaSimOptions>): ReplicaCluster {
  // Some clock skew between nodes and reordering delays, but no loss: with no drops
  // nothing but the returning node could start an election.
  const c = new ReplicaCluster(defaultReplicaSimOptions(seed, { tickJitter: 3, net: { dropP: 0, dupP: 0.02, delayMin: 1, delayMax: 4 }, ...over }));
  if (!c.runUntil(() => c.converged(), 1000)) throw new Error(`seed ${seed}: no leader`);
  return c;
}

function termOf(c: ReplicaCluster, id: NodeId): number {
  return c.node(id).replica!.coreStatus().term;
}

/** What breaks "L leads term T, and no live node is past T"; null while it holds. */
function disruption(c: ReplicaCluster, leader: NodeId, term: number): string | null {
  const now = c.leader();
  if (now !== leader) return `leader is ${now ?? 'none'}, not ${leader}`;
  for (const n of c.live()) {
    const s = n.replica!.coreStatus();
    if (s.term > term) return `${n.id} is in term ${s.term} > ${term} (${s.role})`;
  }
  return null;
}

/** Runs `ticks` election-timer ticks, one write to the leader every few ticks; the first disruption, or null. */
function runWatching(c: ReplicaCluster, leader: NodeId, term: number, ticks: number, tag: string): string | null {
  const steps = ticks * c.opts.stepsPerTick;
  for (let i = 0; i < steps; i++) {
    if (i % (3 * c.opts.stepsPerTick) === 0) c.request(leader, [set(`k${i % 7}`, `${tag}-${i}`)]);
    c.step();
    const d = disruption(c, leader, term);
    if (d !== null) return `at step ${c.now}: ${d}`;
  }
  return null;
}

function failWith(t: Test, c: ReplicaCluster, seed: number, what: string): void {
  t.fail(`seed ${seed}: ${what}`, { trace: c.traceTail(60).join('\n') });
}

for (const nodes of [3, 5]) {
  t.test(`${nodes} nodes, PreVote and CheckQuorum: a follower cut off for ${AWAY_TIMEOUTS} election timeouts returns without a new term`, async (t) => {
    for (const seed of SEEDS) {
      const c = start(seed, { nodes });
      const leader = c.leader()!;
      const term = termOf(c, leader);
      const elections = c.stats.elections;
      const f = c.nodes.map((n) => n.id).filter((id) => id !== leader)[seed % (nodes - 1)]!;
      c.partition([[f], c.nodes.map((n) => n.id).filter((id) => id !== f)]);
      // Away: it times out again and again, but PreVote never lets it raise its term.
      let tried = false;
      let away: string | null = null;
      const awaySteps = AWAY_TIMEOUTS * c.opts.electionTicks * c.opts.stepsPerTick;
      for (let i = 0; i < awaySteps && away === null; i++) {
        if (i % (3 * c.opts.stepsPerTick) === 0) c.request(leader, [set(`k${i % 7}`, `away-${i}`)]);
        c.step();
        const s = c.node(f).replica!.coreStatus();
        if (s.role === 'precandidate') tried = true;
        if (s.term !== term) away = `the cut-off ${f} moved to term ${s.term}`;
        else away = disruption(c, leader, term);
      }
      if (away !== null) {
        failWith(t, c, seed, `while ${f} was away: ${away}`);
        continue;
      }
      if (!tried) {
        failWith(t, c, seed, `${f} never tried to campaign while away (the scenario did not exercise PreVote)`);
        continue;
      }
      const lagBehind = c.node(leader).replica!.coreStatus().lastIndex - c.node(f).replica!.coreStatus().lastIndex;
      c.heal();
      const back = runWatching(c, leader, term, WATCH_TIMEOUTS * c.opts.electionTicks, 'back');
      if (back !== null) {
        failWith(t, c, seed, `after ${f} returned: ${back}`);
        continue;
      }
      if (!c.runUntil(() => c.converged(), 500)) {
        failWith(t, c, seed, `${f} did not catch up`);
        continue;
      }
      const fst = c.node(f).replica!.coreStatus();
      if (fst.leader !== leader || fst.term !== term || c.stats.elections !== elections || lagBehind <= 0) {
        failWith(t, c, seed, `after the return ${f} follows ${fst.leader} in term ${fst.term}; elections ${elections} -> ${c.stats.elections}; it was ${lagBehind} entries behind`);
        continue;
      }
      c.checkLogs();
      c.checkStateMachines();
      t.pass(`seed ${seed}: ${f} was ${lagBehind} entries behind, rejoined ${leader} in term ${term}`);
    }
  });
}

t.test('PreVote and CheckQuorum: a crashed leader restarted later does not disrupt its successor', async (t) => {
  for (const seed of SEEDS) {
    const c = start(seed, { nodes: 3 });
    const first = c.leader()!;
    c.crash(first);
    if (!c.runUntil(() => c.leader() !== null && c.leader() !== first, 1000)) {
      failWith(t, c, seed, 'no successor');
      continue;
    }
    const second = c.leader()!;
    const term = termOf(c, second);
    // Writes it will have to catch up on, and time enough for its stale term to be far behind.
    const gone = runWatching(c, second, term, AWAY_TIMEOUTS * c.opts.electionTicks, 'gone');
    if (gone !== null) {
      failWith(t, c, seed, `while ${first} was down: ${gone}`);
      continue;
    }
    c.restart(first);
    const back = runWatching(c, second, term, WATCH_TIMEOUTS * c.opts.electionTicks, 'back');
    if (back !== null) {
      failWith(t, c, seed, `after ${first} restarted: ${back}`);
      continue;
    }
    if (!c.runUntil(() => c.converged(), 500) || c.node(first).replica!.coreStatus().leader !== second) {
      failWith(t, c, seed, `${first} did not rejoin ${second}`);
      continue;
    }
    c.checkLogs();
    c.checkStateMachines();
    t.pass(`seed ${seed}: ${first} restarted and follows ${second} in term ${term}`);
  }
});

t.test('control: without PreVote and CheckQuorum the returning follower does force a new term', async (t) => {
  let disrupted = 0;
  for (const seed of SEEDS) {
    const c = start(seed, { nodes: 3, preVote: false, checkQuorum: false });
    const leader = c.leader()!;
    const term = termOf(c, leader);
    const f = c.nodes.map((n) => n.id).find((id) => id !== leader)!;
    c.partition([[f], c.nodes.map((n) => n.id).filter((id) => id !== f)]);
    c.runUntil(() => false, AWAY_TIMEOUTS * c.opts.electionTicks);
    t.ok(termOf(c, f) > term + 1, `seed ${seed}: the cut-off ${f} kept raising its term (${term} -> ${termOf(c, f)})`);
    c.heal();
    if (runWatching(c, leader, term, WATCH_TIMEOUTS * c.opts.electionTicks, 'back') !== null) disrupted++;
    t.ok(c.runUntil(() => c.converged(), 1000), `seed ${seed}: the cluster settles again`);
  }
  t.equal(disrupted, SEEDS.length, 'every run saw the leader or term change: the check above would catch a regression');
});
