// CLI: run many simulator seeds and report failures.
//   node build/test/sim/run-seeds.js --seeds 10000 --from 1 [--verbose] [--stop]

import { runSeed } from './schedule.js';

function arg(name: string, def: number): number {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return def;
  const v = Number(process.argv[i + 1]);
  if (!Number.isInteger(v)) throw new Error(`--${name} wants an integer`);
  return v;
}

const seeds = arg('seeds', 1000);
const from = arg('from', 1);
const verbose = process.argv.includes('--verbose');
const stop = process.argv.includes('--stop');

const t0 = performance.now();
let failed = 0;
let steps = 0;
for (let seed = from; seed < from + seeds; seed++) {
  const res = runSeed(seed);
  steps += res.steps;
  if (verbose) console.log(`seed ${seed} ${res.ok ? 'ok' : 'FAIL'} ${res.summary}`);
  if (!res.ok) {
    failed++;
    console.log(`seed ${seed} FAILED: ${res.error?.message}`);
    console.log(`  ${res.summary}`);
    console.log(`  replay: RAFT_SIM_SEED=${seed} npx tap build/test/sim-seeds.test.js`);
    for (const line of res.trace.slice(-40)) console.log(`  ${line}`);
    if (stop) break;
  }
}
const ms = performance.now() - t0;
console.log(
  `${seeds} seeds from ${from}: ${failed} failed, ${(ms / 1000).toFixed(1)} s (${(ms / seeds).toFixed(1)} ms/seed, ${steps} steps)`,
);
process.exitCode = failed > 0 ? 1 : 0;
