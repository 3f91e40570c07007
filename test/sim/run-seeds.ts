// CLI: run many simulator seeds and report failures; the last line is JSON.
//   npm run sim -- --seeds 10000 [--from 1] [--core | --membership] [--verbose] [--stop]
// By default it runs the replica simulator (replica-schedule.ts: the daemon's own
// replica code with clients and a linearizability check); --core runs the core-only one;
// --membership the replica simulator with operators changing the membership (withMembership).

import { runSeed } from './schedule.js';
import { runReplicaSeed, withMembership } from './replica-schedule.js';

function arg(name: string, def: number): number {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return def;
  const v = Number(process.argv[i + 1]);
  if (!Number.isInteger(v)) throw new Error(`--${name} wants an integer`);
  return v;
}

const seeds = arg('seeds', 1000);
const from = arg('from', 1);
const core = process.argv.includes('--core');
const membership = process.argv.includes('--membership');
const verbose = process.argv.includes('--verbose');
const stop = process.argv.includes('--stop');

const t0 = performance.now();
let failed = 0;
let steps = 0;
const ops = { ok: 0, fail: 0, unknown: 0 };
/** Membership changes: operators' outcomes, and configurations committed. */
const members = { ok: 0, refused: 0, unknown: 0, configs: 0 };
let linearizable = true;
const failedSeeds: number[] = [];
for (let seed = from; seed < from + seeds; seed++) {
  let res;
  if (core) res = runSeed(seed);
  else {
    const r = runReplicaSeed(seed, membership ? withMembership(seed) : undefined);
    members.ok += r.members.ok;
    members.refused += r.members.refused;
    members.unknown += r.members.unknown;
    members.configs += r.members.configs;
    ops.ok += r.clientOps.ok;
    ops.fail += r.clientOps.fail;
    ops.unknown += r.clientOps.unknown;
    if (r.linearizable === false) linearizable = false;
    res = r;
  }
  steps += res.steps;
  if (verbose) console.log(`seed ${seed} ${res.ok ? 'ok' : 'FAIL'} ${res.summary}`);
  if (!res.ok) {
    failed++;
    failedSeeds.push(seed);
    console.log(`seed ${seed} FAILED: ${res.error?.message}`);
    console.log(`  ${res.summary}`);
    console.log(`  replay: npm run sim -- --seeds 1 --from ${seed}${core ? ' --core' : ''}${membership ? ' --membership' : ''} --verbose`);
    for (const line of res.trace.slice(-40)) console.log(`  ${line}`);
    if (stop) break;
  }
}
const ms = performance.now() - t0;
console.log(
  JSON.stringify({
    sim: core ? 'core' : membership ? 'membership' : 'replica',
    seeds,
    from,
    failed,
    failed_seeds: failedSeeds.slice(0, 20),
    client_ops: core ? undefined : ops,
    membership_changes: core ? undefined : members,
    linearizable: core ? undefined : linearizable,
    steps,
    seconds: Number((ms / 1000).toFixed(1)),
  }),
);
process.exitCode = failed > 0 ? 1 : 0;
