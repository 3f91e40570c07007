// Runs the seeded simulator over many schedules (3 and 5 nodes; drops, duplicates,
// reordering, partitions, crashes and restarts) and checks Raft's safety properties
// throughout and liveness after healing. See test/sim/schedule.ts.
//
//   RAFT_SIM_SEEDS=<count>  how many seeds (default 2000), starting at RAFT_SIM_FROM (default 1)
//   RAFT_SIM_SEED=<n>       run just seed n (prints a longer trace on failure)

import t from 'tap';
import { runSeed } from './sim/schedule.js';
import { envInt } from './sim/env.js';


const one = envInt('RAFT_SIM_SEED');
const count = one !== null ? 1 : (envInt('RAFT_SIM_SEEDS') ?? 2000);
const from = one ?? envInt('RAFT_SIM_FROM') ?? 1;

t.test(`simulator: ${count} seed(s) from ${from}`, async (t) => {
  const t0 = performance.now();
  let failures = 0;
  let steps = 0;
  for (let seed = from; seed < from + count; seed++) {
    const res = runSeed(seed);
    steps += res.steps;
    if (one !== null) t.comment(res.summary);
    if (res.ok) continue;
    failures++;
    const tail = res.trace.slice(one !== null ? -300 : -60);
    t.fail(`seed ${seed}: ${res.error?.message}`, {
      diagnostic: true,
      schedule: res.summary,
      replay: `RAFT_SIM_SEED=${seed} npx tap build/test/sim-seeds.test.js`,
      stack: res.error?.stack,
    });
    console.error(`\nseed ${seed} FAILED: ${res.error?.message}\n  ${res.summary}`);
    console.error(`replay: RAFT_SIM_SEED=${seed} npx tap build/test/sim-seeds.test.js`);
    console.error(tail.join('\n'));
    if (failures >= 5) {
      t.comment('stopping after 5 failing seeds');
      break;
    }
  }
  const s = (performance.now() - t0) / 1000;
  t.comment(`${count} seeds, ${steps} steps in ${s.toFixed(1)} s`);
  t.equal(failures, 0, 'every seed passes');
});
