// lib/actor/jit-tuning.ts: after tuneJitTierUp() a hot function is optimized after fewer
// calls than with V8's default budget, on the calling thread and in a worker started
// afterwards (the flag is process-wide, as an actor needs it). Counted in a child process
// with synchronous optimization (--no-concurrent-recompilation), so the count does not
// depend on a background compiler thread's timing.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ROOT } from './helpers/cluster.js';

const TUNING = path.join(ROOT, 'build/lib/actor/jit-tuning.js');
/** V8's OptimizationStatus bit for "optimized" (runtime-test.cc). */
const OPTIMIZED = 16;
/** Calls of a small hot function until V8 optimized it (natives syntax, so eval'd in the child). */
const COUNT = `
  const hot = new Function('a', 'let s = 0; for (let i = 0; i < 8; i++) s += (a * i) % 7; return s;');
  const status = new Function('f', 'return %GetOptimizationStatus(f);');
  let n = 0;
  for (; n < 100000; n++) { hot(n); if ((status(hot) & ${OPTIMIZED}) !== 0) break; }
`;

function callsUntilOptimized(tune: boolean, inWorker: boolean): number {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'raftd-jit-'));
  const file = path.join(dir, 'count.mjs');
  const pre = tune ? `await import(${JSON.stringify(TUNING)}).then((m) => m.tuneJitTierUp());` : '';
  const body = inWorker
    ? `const { Worker } = await import('node:worker_threads');
       const w = new Worker(${JSON.stringify(`${COUNT} require('node:worker_threads').parentPort.postMessage(n);`)}, { eval: true });
       w.once('message', (n) => { console.log(n); void w.terminate(); });`
    : `${COUNT} console.log(n);`;
  fs.writeFileSync(file, `${pre} ${body}`);
  const r = spawnSync(process.execPath, ['--allow-natives-syntax', '--no-concurrent-recompilation', file], { encoding: 'utf8' });
  fs.rmSync(dir, { recursive: true, force: true });
  if (r.status !== 0) throw new Error(r.stderr);
  return Number(r.stdout.trim());
}

for (const inWorker of [false, true]) {
  t.test(`a hot function is optimized sooner after tuneJitTierUp (${inWorker ? 'in a worker started after it' : 'on the calling thread'})`, (t) => {
    const tuned = callsUntilOptimized(true, inWorker);
    const untuned = callsUntilOptimized(false, inWorker);
    t.ok(untuned < 100000, `V8's default optimizes it too, after ${untuned} calls`);
    t.ok(tuned * 3 < untuned, `tuned: after ${tuned} calls, untuned ${untuned}`);
    t.end();
  });
}
