// One randomized run of the replica simulator per seed: a chaos phase (drops,
// duplicates, reordering, partitions, crashes that tear unsynced writes, restarts,
// lost connections) with clients writing and reading through any replica; then a
// healing phase that must converge and answer every client; then the checks: Raft's
// safety properties (as the run goes), identical state machines, and a linearizable
// client history. Everything is derived from the seed, so any failure replays.
import { checkHistory } from '../../lib/check/index.js';
import { injectFaults, type FaultTarget } from './nemesis.js';
import { Prng } from './prng.js';
import { defaultReplicaSimOptions, ReplicaCluster, type ReplicaSimOptions } from './replica-cluster.js';
import { SimClients, type ClientStats } from './sim-clients.js';

export interface ReplicaSchedule {
  opts: ReplicaSimOptions;
  clients: number;
  keys: string[];
  chaosTicks: number;
  /** Per step and idle client. */
  opP: number;
  crashP: number;
  restartP: number;
  partitionP: number;
  healP: number;
  unreachableP: number;
  /** Per step: ask the leader to hand leadership to a random node (or the most up-to-date). */
  transferP: number;
  /** Per step: an operator's CLUSTER ADD/PROMOTE/REMOVE (or a bad one); 0 for the plain schedule. */
  membershipP: number;
  convergeCapTicks: number;
}

export interface ReplicaSeedResult {
  seed: number;
  ok: boolean;
  error: Error | null;
  trace: string[];
  summary: string;
  steps: number;
  clientOps: ClientStats;
  linearizable: boolean | 'unknown';
  /** Membership changes: operators' outcomes, and configurations committed (auto-promotions included). */
  members: { ok: number; refused: number; unknown: number; configs: number };
}

export function replicaScheduleFor(seed: number): ReplicaSchedule {
  const r = new Prng(seed ^ 0x2e91ca);
  const nodes = r.chance(0.6) ? 3 : 5;
  const electionTicks = r.int(8, 14);
  const opts = defaultReplicaSimOptions(seed, {
    nodes,
    preVote: r.chance(0.75),
    checkQuorum: r.chance(0.75),
    electionTicks,
    heartbeatTicks: r.int(1, 3),
    inflightMax: r.pick([1, 4, 16]),
    appendBytesMax: r.pick([200, 1024, 65536]),
    uncommittedEntriesMax: r.pick([8, 64, 1000]),
    requestTicks: r.pick([3, 6, 12]) * electionTicks,
    inFlightMax: r.pick([4, 64]),
    tickJitter: r.int(0, 3),
    diskDelayMax: r.pick([2, 8, 20]),
    unsyncedSurviveP: r.pick([0, 0.5, 0.9]),
    // Most runs snapshot often, so compaction, InstallSnapshot and restarts from a snapshot happen many times.
    snapshotEntries: r.pick([1_000_000, 10, 25, 60]),
    snapshotRetainEntries: r.pick([0, 3, 20]),
    // A byte bound that keeps fewer entries than the count (sim entries are ~40-100 bytes).
    snapshotRetainBytes: r.pick([1e12, 1e12, 0, 150, 600]),
    net: { dropP: r.pick([0, 0.02, 0.1]), dupP: r.pick([0, 0.05]), delayMin: 1, delayMax: r.pick([3, 10, 30]) },
  });
  return {
    opts,
    clients: r.int(2, 6),
    keys: r.pick([['a'], ['a', 'b'], ['a', 'b', 'c']]),
    chaosTicks: r.int(150, 300),
    opP: r.pick([0.02, 0.1]),
    crashP: r.pick([0, 0.001, 0.004]),
    restartP: r.pick([0.005, 0.02]),
    partitionP: r.pick([0, 0.001, 0.004]),
    healP: r.pick([0.002, 0.01]),
    unreachableP: r.pick([0, 0.002]),
    transferP: r.pick([0, 0.002, 0.01]),
    membershipP: 0,
    convergeCapTicks: 5000,
  };
}

/**
 * The membership schedule on top of a seed's plain one: spare nodes to add (and an
 * address nobody listens on, sometimes), and operators changing the membership during
 * the partitions, crashes and restarts. Its own PRNG: the plain draws stay as they were.
 */
export function withMembership(seed: number): (s: ReplicaSchedule) => void {
  return (s) => {
    const r = new Prng(seed ^ 0x3e3be5);
    s.opts.spares = r.int(1, 3);
    s.opts.ghost = r.chance(0.5);
    s.membershipP = r.pick([0.002, 0.005, 0.01]);
    s.chaosTicks = r.int(250, 450);
  };
}

/** Bookkeeping of the operators' membership changes in one run. */
interface MemberOps {
  r: Prng;
  /** Crash the node `id` at step `at`: a crash in the middle of a change. */
  crashAt: { at: number; id: string } | null;
}

function memberOp(c: ReplicaCluster, cl: SimClients, m: MemberOps): void {
  const r = m.r;
  const l = c.leader();
  const running = c.nodes.filter((n) => n.replica !== null).map((n) => n.id);
  if (running.length === 0) return;
  // Mostly at the leader, else at any node (forwarded to the leader, or refused).
  const at = l !== null && r.chance(0.6) ? l : r.pick(running);
  const view = c.node(at).replica!.membership();
  const members = view.members.map((x) => x.id);
  const addable = c.nodes.filter((n) => !n.retired && !members.includes(n.id)).map((n) => n.id);
  const words = (id: string): string[] => {
    const a = ReplicaCluster.address(id);
    return [id, a.host, String(a.peerPort), String(a.clientPort)];
  };
  const roll = r.next();
  const retired = c.nodes.filter((n) => n.retired && n.replica === null && !members.includes(n.id) && n.id !== c.ghostId).map((n) => n.id);
  if (roll < 0.35 && (addable.length > 0 || retired.length > 0)) {
    const back = retired.length > 0 && (addable.length === 0 || r.chance(0.3));
    const id = r.pick(back ? retired : addable);
    // An operator starts the node (the ghost never starts), then adds it: a spare, or a
    // removed node brought back from its old disk or wiped.
    if (back) c.readd(id, r.chance(0.5));
    else c.joinNode(id);
    cl.clusterMember(at, ['ADD', ...words(id), ...(r.chance(0.3) ? ['LEARNER'] : [])]);
  } else if (roll < 0.5) {
    // Promote a learner (never the ghost: no operator promotes a node nobody can reach), or a voter (refused).
    const learners = view.members.filter((x) => !x.voter && x.id !== c.ghostId).map((x) => x.id);
    const id = learners.length > 0 && r.chance(0.8) ? r.pick(learners) : r.pick(c.nodes.map((n) => n.id).filter((x) => x !== c.ghostId));
    cl.clusterMember(at, ['PROMOTE', id]);
  } else if (roll < 0.8) {
    // Remove a member: the leader itself a third of the time. Once acknowledged, it is stopped for good.
    const id = l !== null && r.chance(0.33) ? l : r.pick(members.length > 0 ? members : running);
    cl.clusterMember(at, ['REMOVE', id], () => c.retire(id));
  } else {
    // Bad input: an id that exists, an address in use, an unknown id.
    const k = r.int(0, 2);
    if (k === 0 && members.length > 0) cl.clusterMember(at, ['ADD', ...words(r.pick(members))]);
    else if (k === 1 && members.length > 0) cl.clusterMember(at, ['ADD', 'x9', ...words(r.pick(members)).slice(1)]);
    else cl.clusterMember(at, [r.chance(0.5) ? 'REMOVE' : 'PROMOTE', 'nobody']);
  }
  // Now and then the node asked crashes in the middle of the change.
  if (m.crashAt === null && r.chance(0.15)) m.crashAt = { at: c.now + r.int(1, 40), id: at };
}

function describe(s: ReplicaSchedule): string {
  const o = s.opts;
  return (
    `nodes=${o.nodes} clients=${s.clients} keys=${s.keys.length} preVote=${o.preVote} checkQuorum=${o.checkQuorum} ` +
    `election=${o.electionTicks} requestTicks=${o.requestTicks} inFlightMax=${o.inFlightMax} drop=${o.net.dropP} ` +
    `dup=${o.net.dupP} delay<=${o.net.delayMax} disk<=${o.diskDelayMax} survive=${o.unsyncedSurviveP} ` +
    `snapshotEntries=${o.snapshotEntries} retain=${o.snapshotRetainEntries}/${o.snapshotRetainBytes}B crashP=${s.crashP} partitionP=${s.partitionP} chaosTicks=${s.chaosTicks}`
  );
}

export function runReplicaSeed(seed: number, mutate?: (s: ReplicaSchedule) => void): ReplicaSeedResult {
  const sched = replicaScheduleFor(seed);
  mutate?.(sched);
  const desc = describe(sched);
  let cluster: ReplicaCluster | null = null;
  let clients: SimClients | null = null;
  let linearizable: boolean | 'unknown' = 'unknown';
  try {
    cluster = new ReplicaCluster(sched.opts);
    const c = cluster;
    const r = new Prng(seed ^ 0x7e57c1);
    clients = new SimClients(c, r.fork(), sched.clients, sched.keys);
    const cl = clients;
    const ids = c.nodes.map((n) => n.id);
    const faults: FaultTarget = {
      ids,
      live: () => c.live().map((n) => ({ id: n.id, writing: n.unsynced.length > 0 })),
      isDown: (id) => c.node(id).replica === null && c.startable(id),
      crash: (id) => c.crash(id),
      restart: (id) => c.restart(id),
      partition: (g) => c.partition(g),
      heal: () => c.heal(),
    };
    const chaosSteps = sched.chaosTicks * sched.opts.stepsPerTick;
    const mops: MemberOps | null = sched.membershipP > 0 ? { r: new Prng(seed ^ 0x51e7a0), crashAt: null } : null;
    for (let i = 0; i < chaosSteps; i++) {
      if (mops !== null) {
        if (mops.r.chance(sched.membershipP)) memberOp(c, cl, mops);
        if (mops.crashAt !== null && mops.crashAt.at <= c.now) {
          c.crash(mops.crashAt.id);
          mops.crashAt = null;
        }
      }
      c.step();
      cl.maybeInvoke(sched.opP);
      injectFaults(faults, r, sched);
      if (r.chance(sched.unreachableP)) c.unreachable(r.pick(ids), r.pick(ids));
      if (r.chance(sched.unreachableP)) c.reachable(r.pick(ids), r.pick(ids));
      if (r.chance(sched.transferP)) {
        // Half straight into the leader's replica, half as an operator's CLUSTER TRANSFER
        // through the command table, at the leader or (refused) at any node.
        const l = c.leader();
        const target = r.chance(0.3) ? null : r.pick(ids);
        if (r.chance(0.5)) {
          if (l !== null) c.transfer(l, target);
        } else cl.clusterTransfer(r.chance(0.7) && l !== null ? l : r.pick(ids), target);
      }
      if (i % 1000 === 0) c.checkLogs();
    }

    // Healing: no more faults, every node comes back, clients stop starting operations.
    c.heal();
    c.net.opts = { ...c.net.opts, dropP: 0, dupP: 0 };
    for (const n of c.nodes) c.restart(n.id);
    c.checkLogs();
    if (!c.runUntil(() => c.converged() && cl.pending === 0, sched.convergeCapTicks)) {
      throw new Error(`liveness after healing: not converged within ${sched.convergeCapTicks} ticks (leader ${c.leader()}, ${cl.pending} client ops unanswered)`);
    }
    // The healed cluster serves a write and a read through every node.
    for (let k = 0; k < 2 * ids.length; k++) cl.maybeInvoke(1);
    if (!c.runUntil(() => c.converged() && cl.pending === 0, sched.convergeCapTicks)) {
      throw new Error(`liveness: client operations after healing not answered within ${sched.convergeCapTicks} ticks`);
    }
    c.checkLogs();
    c.checkStateMachines();
    const res = checkHistory(cl.history, { timeBudgetMs: 20_000 });
    linearizable = res.ok;
    if (res.ok === false) throw new Error(`not linearizable:\n${res.report}`);
    const st = c.stats;
    return {
      seed,
      ok: true,
      error: null,
      trace: [],
      steps: c.now,
      clientOps: cl.stats,
      linearizable,
      members: { ...cl.members, configs: c.configs.length - 1 },
      summary:
        `${desc} | elections=${st.elections} crashes=${st.crashes} torn=${st.tornWrites} lost=${st.lostWrites} ` +
        `snapshots=${st.snapshots} installs=${st.installs} compactions=${st.compactions} transfers=${st.transfers} ` +
        `clusterTransfer=${cl.transfers.ok}ok/${cl.transfers.refused}refused ` +
        (mops !== null ? `members=${cl.members.ok}ok/${cl.members.refused}refused/${cl.members.unknown}unknown configs=${c.configs.length - 1} joins=${st.joins} retired=${st.retired} readds=${st.readds} ghostAdded=${st.ghostAdded} ` : '') +
        `ops=${cl.stats.ok}ok/${cl.stats.fail}fail/${cl.stats.unknown}unknown msgs=${c.net.delivered}`,
    };
  } catch (err) {
    return {
      seed,
      ok: false,
      error: err instanceof Error ? err : new Error(String(err)),
      trace: cluster === null ? [] : cluster.traceTail(sched.opts.traceMax),
      steps: cluster?.now ?? 0,
      summary: desc,
      clientOps: clients?.stats ?? { invoked: 0, ok: 0, fail: 0, unknown: 0 },
      linearizable,
      members: { ...(clients?.members ?? { ok: 0, refused: 0, unknown: 0 }), configs: cluster === null ? 0 : cluster.configs.length - 1 },
    };
  }
}
