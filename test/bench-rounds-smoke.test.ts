// `npm run bench:rounds`: a short run of each workload, so the instrument cannot rot.
// Only "it ran and its counts are sane"; no count is asserted against a target.
import t from 'tap';
import * as path from 'node:path';
import { runBench, SMOKE_FILE_TIMEOUT_MS, SMOKE_RUN_BOUND_MS } from './helpers/bench-run.js';
import { ROOT } from './helpers/cluster.js';

const BENCH = path.join(ROOT, 'build/test/bench/rounds.js');
/** Past this the run is stopped (SIGINT; the bench takes its cluster down). */
const RUN_BOUND_MS = SMOKE_RUN_BOUND_MS;
t.setTimeout(SMOKE_FILE_TIMEOUT_MS);

for (const workload of ['write', 'read']) {
  t.test(`the rounds benchmark counts messages and syncs per ${workload}`, async (t) => {
    const { code, stdout, stderr } = await runBench(t, BENCH, ['--clients', '4', '--requests', '200', '--keys', '50', '--workload', workload], RUN_BOUND_MS);
    t.equal(code, 0, `bench exits 0\n${stderr.slice(-4000)}`);
    const row = JSON.parse(stdout.trim().split('\n').at(-1)!) as { requests: number; errors: number; peerMsgsPerOp: number; fsyncsPerOp: number; cpuMsPerOp: number };
    t.equal(row.requests, 200);
    t.equal(row.errors, 0);
    t.ok(row.peerMsgsPerOp > 0, `peer messages per op ${row.peerMsgsPerOp}`);
    if (workload === 'write') t.ok(row.fsyncsPerOp > 0, `fsyncs per write ${row.fsyncsPerOp}`);
    else t.equal(row.fsyncsPerOp, 0, 'reads sync nothing');
    t.ok(row.cpuMsPerOp > 0);
  });
}
