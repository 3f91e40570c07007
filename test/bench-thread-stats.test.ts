// The bench's per-thread accounting: the scheduler's nanoseconds, runs and run-queue
// wait from /proc/<pid>/task/<tid>/schedstat, grouped by thread name, and the per-op and
// report columns built from them.
import t from 'tap';
import * as fs from 'node:fs';
import { Worker } from 'node:worker_threads';
import { parseSchedstat, parseStatCpuSec, perOpByThread, ThreadWatch, totalOf, type ThreadSample } from './bench/thread-stats.js';
import { threadColumns } from './bench/throughput.js';

t.test('schedstat and stat parse; a malformed schedstat is refused', async (t) => {
  t.same(parseSchedstat('1500000000 250000000 42\n'), { cpuSec: 1.5, waitSec: 0.25, runs: 42 });
  t.equal(parseSchedstat(''), null, 'absent');
  t.equal(parseSchedstat('12 x 3'), null, 'not numbers');
  t.equal(parseSchedstat('12 3'), null, 'too few fields');
  // A command name with spaces and parentheses; utime 250 and stime 50 ticks.
  const fields = ['S', ...Array.from({ length: 10 }, (_, i) => String(i)), '250', '50', '0', '0'];
  t.equal(parseStatCpuSec(`123 (a (b) c) ${fields.join(' ')}`), 3);
});

/** Busy until this thread has used `ms` of CPU (by the wall clock where the kernel keeps no schedstat). Also sent to the worker as source. */
function spin(ms: number): void {
  const cpuMs = (): number => {
    try {
      return Number(fs.readFileSync('/proc/thread-self/schedstat', 'utf8').split(' ')[0]) / 1e6;
    } catch {
      return NaN;
    }
  };
  const c0 = cpuMs();
  if (Number.isNaN(c0)) {
    const e = Date.now() + ms;
    while (Date.now() < e);
    return;
  }
  while (cpuMs() - c0 < ms);
}

t.test('a watch sees each thread run and use CPU, by group', { skip: !fs.existsSync('/proc/self/task') }, async (t) => {
  const watch = new ThreadWatch([process.pid]);
  // A worker that wakes 50 times, spinning ~2 ms each time, then waits to be let go: its
  // thread is named by nothing of ours, so it counts as "other", and it is still there at stop().
  // Both spin until their own thread used the CPU time (the scheduler's count, where there
  // is one): spinning by the wall clock on a busy CI machine was preempted, and main's
  // 20 ms once came to 13 ms of CPU.
  const w = new Worker(`const fs = require('node:fs'); const spin = ${spin.toString()}; const { parentPort } = require('node:worker_threads'); let n = 0; const step = () => { spin(2); if (++n < 50) setTimeout(step, 1); else parentPort.postMessage('spun'); }; step(); parentPort.once('message', () => process.exit(0));`, { eval: true });
  await new Promise((res) => w.once('message', res));
  spin(20);
  const [s] = watch.stop();
  w.postMessage('go');
  await new Promise((res) => w.once('exit', res));
  t.ok(s, 'one process');
  t.ok((s!.cpuSec['main'] ?? 0) >= 0.015, `main used its 20 ms of spinning (${s!.cpuSec['main']})`);
  t.ok((s!.cpuSec['other'] ?? 0) >= 0.05, `the worker's ~100 ms of spinning is "other" (${s!.cpuSec['other']})`);
  if (s!.runs === null || s!.waitSec === null) {
    t.comment('no schedstat on this kernel: CPU from ticks only');
    return;
  }
  t.ok((s!.runs['main'] ?? 0) >= 1, 'main ran');
  t.ok((s!.runs['other'] ?? 0) >= 50, `the worker ran at least once per wake-up (${s!.runs['other']})`);
  t.ok(Object.values(s!.waitSec).every((x) => x >= 0), 'waits are not negative');
});

t.test('per-op columns: leader apart, followers summed; runs and wait only with schedstat', async (t) => {
  const members: ThreadSample[] = [
    { cpuSec: { main: 0.5, replicator: 0.1 }, runs: { main: 1000, replicator: 400 }, waitSec: { main: 0.01, replicator: 0.002 } },
    { cpuSec: { main: 0.2 }, runs: { main: 300 }, waitSec: { main: 0.003 } },
    { cpuSec: { main: 0.3 }, runs: { main: 500 }, waitSec: { main: 0.005 } },
  ];
  t.same(perOpByThread([{ main: 0.5 }, { main: 0.2 }, { main: 0.3 }], 0, 1000), { 'leader.main': 500, 'followers.main': 500 });
  t.equal(totalOf([{ a: 1, b: 2 }, { a: 3 }]), 6);
  const cols = threadColumns(members, 0, 1000);
  t.same(cols.cpuUsPerOpByThread, { 'leader.main': 500, 'leader.replicator': 100, 'followers.main': 500 });
  t.same(cols.runsPerOpByThread, { 'leader.main': 1, 'leader.replicator': 0.4, 'followers.main': 0.8 });
  t.equal(Math.round(cols.runQueueWaitUsPerOp!), 20);
  const noSched = threadColumns([{ cpuSec: { main: 1 }, runs: null, waitSec: null }], 0, 100);
  t.same(Object.keys(noSched), ['cpuUsPerOpByThread'], 'CPU only');
});
