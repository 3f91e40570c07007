// The replica simulator with membership changes (test/sim/replica-schedule.ts
// withMembership): operators add spare nodes (as learners, promoted once caught up, or
// kept learners), promote, remove (the leader too) and send bad changes, at any node,
// during partitions, crashes (some in the middle of a change) and restarts; sometimes a
// member is added whose address nobody listens on. Checked: one leader per term, only
// voters elected, committed configurations identical everywhere and each one voter
// away from the last (quorum overlap), a linearizable history, identical state machines
// and configurations among the members at the end.
//
//   RAFT_SIM_MEMBERSHIP_SEEDS=<count>  how many seeds (default 200), from RAFT_SIM_MEMBERSHIP_FROM (default 1)
//   RAFT_SIM_MEMBERSHIP_SEED=<n>       just seed n, with a long trace on failure

import t from 'tap';
import { envInt } from './sim/env.js';
import { runReplicaSeed, withMembership } from './sim/replica-schedule.js';

const one = envInt('RAFT_SIM_MEMBERSHIP_SEED');
const count = one !== null ? 1 : (envInt('RAFT_SIM_MEMBERSHIP_SEEDS') ?? 200);
const from = one ?? envInt('RAFT_SIM_MEMBERSHIP_FROM') ?? 1;

t.test(`membership simulator: ${count} seed(s) from ${from}`, async (t) => {
  let failures = 0;
  const total = { ok: 0, refused: 0, unknown: 0, configs: 0, ops: 0 };
  for (let seed = from; seed < from + count; seed++) {
    const res = runReplicaSeed(seed, withMembership(seed));
    total.ok += res.members.ok;
    total.refused += res.members.refused;
    total.unknown += res.members.unknown;
    total.configs += res.members.configs;
    total.ops += res.clientOps.ok + res.clientOps.fail + res.clientOps.unknown;
    if (one !== null) t.comment(res.summary);
    if (res.ok) continue;
    failures++;
    t.fail(`seed ${seed}: ${res.error?.message}`, {
      diagnostic: true,
      schedule: res.summary,
      replay: `RAFT_SIM_MEMBERSHIP_SEED=${seed} npx tap build/test/sim-membership.test.js`,
    });
    console.error(`\nseed ${seed} FAILED: ${res.error?.message}\n  ${res.summary}`);
    console.error(`replay: RAFT_SIM_MEMBERSHIP_SEED=${seed} npx tap build/test/sim-membership.test.js`);
    console.error(res.trace.slice(one !== null ? -300 : -60).join('\n'));
    if (failures >= 5) break;
  }
  t.comment(`${count} seeds: ${total.configs} configurations committed, changes ${total.ok} acknowledged / ${total.refused} refused / ${total.unknown} unknown, ${total.ops} client operations checked`);
  t.equal(failures, 0, 'every seed passes');
  if (one === null && count >= 50) {
    t.ok(total.configs > count, 'configurations change in most runs');
    t.ok(total.refused > 0, 'bad and concurrent changes are refused');
  }
});
