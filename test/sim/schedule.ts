// One randomized simulation run per seed: a chaos phase (drops, duplicates,
// reordering, partitions, crashes and restarts, proposals and reads injected at
// random), then a healing phase that must converge (liveness), then final checks.
// Everything is derived from the seed, so any failure replays exactly.

import { Cluster, defaultClusterOptions, type ClusterOptions } from './cluster.js';
import { injectFaults, type FaultTarget } from './nemesis.js';
import { Prng } from './prng.js';

export interface SeedResult {
  seed: number;
  ok: boolean;
  error: Error | null;
  trace: string[];
  summary: string;
  steps: number;
}

export interface Schedule {
  opts: ClusterOptions;
  chaosTicks: number;
  /** Per-step probabilities during chaos. */
  proposeP: number;
  readP: number;
  crashP: number;
  restartP: number;
  partitionP: number;
  healP: number;
  unreachableP: number;
  /** Liveness after healing: the lowest applied index must rise within stallTicks ... */
  stallTicks: number;
  /** ... and everything must converge within convergeCapTicks. */
  convergeCapTicks: number;
}

export function scheduleFor(seed: number): Schedule {
  const r = new Prng(seed ^ 0x5eed5eed);
  const nodes = r.chance(0.5) ? 3 : 5;
  const electionTicks = r.int(8, 14);
  const opts = defaultClusterOptions(seed, {
    nodes,
    preVote: r.chance(0.75),
    checkQuorum: r.chance(0.75),
    electionTicks,
    heartbeatTicks: r.int(1, 3),
    inflightMax: r.pick([1, 2, 4, 8, 16]),
    appendBytesMax: r.pick([40, 200, 1024, 65536]),
    uncommittedEntriesMax: r.pick([4, 32, 256]),
    stepsPerTick: 10,
    crashAfterVoteP: r.pick([0, 0, 0.1, 0.5]),
    tickJitter: r.int(0, 3),
    diskDelayMin: 1,
    diskDelayMax: r.pick([2, 8, 20]),
    net: {
      dropP: r.pick([0, 0.02, 0.1, 0.25]),
      dupP: r.pick([0, 0.05, 0.2]),
      delayMin: 1,
      delayMax: r.pick([3, 10, 30]),
    },
  });
  return {
    opts,
    chaosTicks: r.int(150, 300),
    proposeP: r.pick([0.01, 0.05, 0.2]),
    readP: r.pick([0.005, 0.02, 0.08]),
    crashP: r.pick([0, 0.001, 0.004, 0.01]),
    restartP: r.pick([0.005, 0.02]),
    partitionP: r.pick([0, 0.001, 0.004, 0.01]),
    healP: r.pick([0.002, 0.01]),
    unreachableP: 0.002,
    stallTicks: 30 * electionTicks,
    convergeCapTicks: 20000,
  };
}

function describe(s: Schedule): string {
  const o = s.opts;
  return (
    `nodes=${o.nodes} preVote=${o.preVote} checkQuorum=${o.checkQuorum} election=${o.electionTicks} ` +
    `heartbeat=${o.heartbeatTicks} inflight=${o.inflightMax} appendBytes=${o.appendBytesMax} ` +
    `uncommitted=${o.uncommittedEntriesMax} drop=${o.net.dropP} dup=${o.net.dupP} delay<=${o.net.delayMax} ` +
    `disk<=${o.diskDelayMax} crashAfterVote=${o.crashAfterVoteP} crashP=${s.crashP} partitionP=${s.partitionP} chaosTicks=${s.chaosTicks}`
  );
}

export function runSeed(seed: number, mutate?: (s: Schedule) => void): SeedResult {
  const sched = scheduleFor(seed);
  mutate?.(sched);
  let cluster: Cluster | null = null;
  const desc = describe(sched);
  try {
    cluster = new Cluster(sched.opts);
    const c = cluster;
    const r = new Prng(seed ^ 0x0c4a05);
    const ids = c.nodes.map((n) => n.id);
    const faults: FaultTarget = {
      ids,
      live: () => c.live().map((n) => ({ id: n.id, writing: n.writes.length > 0 })),
      isDown: (id) => c.node(id).core === null,
      crash: (id) => c.crash(id),
      restart: (id) => c.restart(id),
      partition: (g) => c.partition(g),
      heal: () => c.heal(),
    };
    const chaosSteps = sched.chaosTicks * sched.opts.stepsPerTick;
    for (let i = 0; i < chaosSteps; i++) {
      c.step();
      if (r.chance(sched.proposeP)) {
        // Mostly at the leader (if any), sometimes at a random node.
        const target = r.chance(0.8) ? (c.leader() ?? r.pick(ids)) : r.pick(ids);
        c.propose(target, r.chance(0.2) ? r.int(2, 6) : 1);
      }
      if (r.chance(sched.readP)) c.read(r.pick(ids));
      injectFaults(faults, r, sched);
      if (r.chance(sched.unreachableP)) c.reportUnreachable(r.pick(ids), r.pick(ids));
      if (r.chance(sched.unreachableP)) c.reportReachable(r.pick(ids), r.pick(ids));
      if (i % 1000 === 0) c.checkLogs();
    }

    // Healing: no more faults; every node comes back.
    c.heal();
    c.opts.crashAfterVoteP = 0;
    c.net.opts = { ...c.net.opts, dropP: 0, dupP: 0 };
    for (const n of c.nodes) c.restart(n.id);
    c.checkLogs();
    const stuck = c.runUntilConverged(sched.stallTicks, sched.convergeCapTicks);
    if (stuck !== null) throw new Error(`liveness after healing: ${stuck}`);
    // The healed cluster must still make progress.
    const leader = c.leader()!;
    if (!c.propose(leader)) throw new Error(`liveness: leader ${leader} refused a proposal after healing`);
    const stuck2 = c.runUntilConverged(sched.stallTicks, sched.convergeCapTicks);
    if (stuck2 !== null) throw new Error(`liveness: a proposal after healing: ${stuck2}`);
    c.checkLogs();
    const st = c.stats;
    return {
      seed,
      ok: true,
      error: null,
      trace: [],
      steps: c.now,
      summary:
        `${desc} | elections=${st.elections} proposed=${st.proposed} applied=${c.applied.maxIndex} ` +
        `reads=${st.readsOk}/${st.reads} crashes=${st.crashes} msgs=${c.net.delivered}`,
    };
  } catch (err) {
    return {
      seed,
      ok: false,
      error: err instanceof Error ? err : new Error(String(err)),
      trace: cluster === null ? [] : cluster.traceTail(),
      steps: cluster?.now ?? 0,
      summary: desc,
    };
  }
}
