// Runs the replica simulator (test/sim/replica-schedule.ts) over many seeds: the
// daemon's own replica code, a simulated disk that loses and tears unsynced writes,
// a faulty network, crashes and restarts, and clients whose history must be
// linearizable.
//
//   RAFT_SIM_REPLICA_SEEDS=<count>  how many seeds (default 400), from RAFT_SIM_REPLICA_FROM (default 1)
//   RAFT_SIM_REPLICA_SEED=<n>       just seed n, with a long trace on failure

import t from 'tap';
import { runReplicaSeed } from './sim/replica-schedule.js';
import { envInt } from './sim/env.js';


const one = envInt('RAFT_SIM_REPLICA_SEED');
const count = one !== null ? 1 : (envInt('RAFT_SIM_REPLICA_SEEDS') ?? 400);
const from = one ?? envInt('RAFT_SIM_REPLICA_FROM') ?? 1;

t.test(`replica simulator: ${count} seed(s) from ${from}`, async (t) => {
  let failures = 0;
  let ops = 0;
  for (let seed = from; seed < from + count; seed++) {
    const res = runReplicaSeed(seed);
    ops += res.clientOps.ok + res.clientOps.fail + res.clientOps.unknown;
    if (one !== null) t.comment(res.summary);
    if (res.ok) continue;
    failures++;
    t.fail(`seed ${seed}: ${res.error?.message}`, {
      diagnostic: true,
      schedule: res.summary,
      replay: `RAFT_SIM_REPLICA_SEED=${seed} npx tap build/test/sim-replica-seeds.test.js`,
    });
    console.error(`\nseed ${seed} FAILED: ${res.error?.message}\n  ${res.summary}`);
    console.error(`replay: RAFT_SIM_REPLICA_SEED=${seed} npx tap build/test/sim-replica-seeds.test.js`);
    console.error(res.trace.slice(one !== null ? -300 : -60).join('\n'));
    if (failures >= 5) break;
  }
  t.comment(`${count} seeds, ${ops} client operations checked`);
  t.equal(failures, 0, 'every seed passes');
});
