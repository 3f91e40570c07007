// The bounded Jepsen runs CI does on every submission: a real 5-node cluster, 10
// clients, about 25 s of load per run under one nemesis each (kill -9 and restart;
// partitions and pauses; everything, process and network faults overlapping), then the
// final checks. The partition run's clients use the mixed workload (registers, lists
// under RPUSH/LRANGE, WATCH/MULTI/EXEC check-and-sets, SET PX keys) on nodes whose
// clocks are skewed by up to 3 s; the others the register workload on true clocks. Fails on any linearizability violation, lost acknowledged write,
// divergent log entry or nodes that do not converge. A failing run keeps its report
// folder and prints how to replay it; RAFTD_JEPSEN_SEED=S runs with other seeds.
import t from 'tap';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runJepsen } from './jepsen/harness.js';
import { parseNemesis } from './jepsen/nemesis.js';
import { iptablesUsable } from './jepsen/net.js';
import { WORKLOAD_DEFAULTS, type WorkloadName } from './jepsen/workload.js';

// Three runs of about 50 s each (25 s of load, setup, final phase and checks).
t.setTimeout(600_000);

const seed = Number(process.env.RAFTD_JEPSEN_SEED ?? 4242);
const noNet = iptablesUsable();

const RUNS: { name: string; nemesis: string; overlap: boolean; workload: WorkloadName; clockOffsetsMs: number[] }[] = [
  { name: 'kill -9 and restart: leader, random node, majority, all', nemesis: 'kill', overlap: false, workload: 'register', clockOffsetsMs: [] },
  {
    name: 'partitions (isolated leader, halves, ring, bridge) and pauses; lists, check-and-sets and expiry on skewed clocks',
    nemesis: noNet ? 'pause' : 'partition,pause',
    overlap: false,
    workload: 'mixed',
    clockOffsetsMs: [0, 1500, -1500, 750, -750],
  },
  { name: 'mixed and overlapping: kills and pauses during partitions and lossy links', nemesis: noNet ? 'kill,pause' : 'all', overlap: true, workload: 'register', clockOffsetsMs: [] },
];

if (noNet) t.comment(`iptables unusable (${noNet}): partition and link faults are left out`);

RUNS.forEach((run, i) => {
  t.test(run.name, async (t) => {
    const out = fs.mkdtempSync(path.join(os.tmpdir(), `raftd-jepsen-${run.nemesis.replace(/,/g, '+')}-`));
    const r = await runJepsen({
      timeMs: 25_000,
      seed: seed + i,
      kinds: parseNemesis(run.nemesis),
      nemesisSpec: run.nemesis,
      overlap: run.overlap,
      workload: { ...WORKLOAD_DEFAULTS, name: run.workload },
      clockOffsetsMs: run.clockOffsetsMs,
      quietMs: [500, 2000],
      faultMs: [1500, 4000],
      checkBudgetMs: 60_000,
      // Snapshots every 100 entries: taken, compacted behind, sent to restarted nodes many times a run.
      snapshotEntries: 100,
      snapshotRetainEntries: 100,
      logSampleEveryMs: 500,
      outDir: out,
      log: (line) => t.comment(line),
    });
    t.comment(r.summary);
    const ok = r.data.ops.filter((o) => o.outcome === 'ok' && typeof o.process === 'number').length;
    // A liveness floor, not a speed goal. The overlapping run spends most of its time
    // with a majority down or cut off (seen: 276 ok ops), and so does the kill run, whose
    // count swings with what tap runs beside it (seen: 814 alone, 172-387 beside the
    // other cluster tests on 2 cores, 77 in a CI run whose 5 nodes took 34 s to their
    // first leader), so theirs are lower. Recovery itself is checked below: every node
    // converges after the final restart.
    const floor = run.overlap || run.nemesis === 'kill' ? 50 : 200;
    t.ok(ok >= floor, `clients made progress: ${ok} ok ops (floor ${floor})`);
    if (run.nemesis !== 'none') t.ok(r.data.faults.length >= 2, `nemesis injected faults: ${r.data.faults.length}`);
    t.same(r.problems, [], 'no lost acknowledged write, no divergence, nodes converged');
    t.equal(r.check?.ok, true, `linearizable: ${r.check?.report.split('\n')[0] ?? 'checker not run'}`);
    if (r.ok && !process.env.RAFTD_KEEP_TEST_DIRS) fs.rmSync(out, { recursive: true, force: true });
    else t.comment(`report kept: ${r.reportPath}`);
  });
});
