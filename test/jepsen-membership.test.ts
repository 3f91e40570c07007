// The fault suite's membership nemesis, bounded for CI: a real 5-node cluster, 10
// clients, 25 s of load while nodes are removed and added back (the leader among them)
// and replaced by fresh empty nodes that join with --join, overlapping kills and (with
// iptables) partitions. Checked like the other runs: linearizability, no lost
// acknowledged write, no divergent entry, convergence. The long run:
// `npm run jepsen -- --time 300 --nemesis membership,kill,partition --overlap --snapshot-entries 100`.
import t from 'tap';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runJepsen } from './jepsen/harness.js';
import { parseNemesis } from './jepsen/nemesis.js';
import { iptablesUsable } from './jepsen/net.js';
import { WORKLOAD_DEFAULTS } from './jepsen/workload.js';

t.setTimeout(300_000);
const seed = Number(process.env.RAFTD_JEPSEN_SEED ?? 1010);
const noNet = iptablesUsable();
const nemesis = noNet ? 'membership,kill' : 'membership,kill,partition';
if (noNet) t.comment(`iptables unusable (${noNet}): partitions are left out`);

t.test(`membership changes during kills${noNet ? '' : ' and partitions'}`, async (t) => {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'raftd-jepsen-membership-'));
  const r = await runJepsen({
    timeMs: 25_000,
    seed,
    kinds: parseNemesis(nemesis),
    nemesisSpec: nemesis,
    overlap: true,
    workload: { ...WORKLOAD_DEFAULTS, name: 'register' },
    quietMs: [500, 1500],
    faultMs: [1500, 4000],
    checkBudgetMs: 60_000,
    // Small snapshots: a fresh node catches up by InstallSnapshot.
    snapshotEntries: 100,
    snapshotRetainEntries: 100,
    logSampleEveryMs: 500,
    outDir: out,
    log: (line) => t.comment(line),
  });
  t.comment(r.summary);
  const membershipFaults = r.data.faults.filter((f) => f.kind.startsWith('member-')).length;
  t.ok(membershipFaults >= 1, `membership changes made: ${membershipFaults}`);
  const ok = r.data.ops.filter((o) => o.outcome === 'ok' && typeof o.process === 'number').length;
  t.ok(ok >= 50, `clients made progress: ${ok} ok ops (a liveness floor)`);
  t.same(r.problems, [], 'no lost acknowledged write, no divergence, nodes converged');
  t.equal(r.check?.ok, true, `linearizable: ${r.check?.report.split('\n')[0] ?? 'checker not run'}`);
  if (r.ok && !process.env.RAFTD_KEEP_TEST_DIRS) fs.rmSync(out, { recursive: true, force: true });
  else t.comment(`report kept: ${r.reportPath}`);
});
