// The bench's closed loop: requests count by when they started; with minOk (the smoke
// run's) a window that closed with nothing answered OK goes on until something is.
import t from 'tap';
import { performance } from 'node:perf_hooks';
import { runClosedLoop } from './bench/closed-loop.js';
import type { KvClient } from './bench/system.js';

/** A client whose requests take 10 ms and fail until `okFrom` (performance.now()). */
function client(okFrom: number): KvClient {
  const answer = () => new Promise<boolean>((r) => setTimeout(() => r(performance.now() >= okFrom), 10));
  return { concurrent: false, write: answer, read: answer, close: () => {} };
}

t.test('without minOk the window ends on time, whatever was answered', async (t) => {
  const res = await runClosedLoop([client(performance.now() + 60_000)], { clients: 2, workload: 'read', valueBytes: 10, keys: 10, warmupMs: 0, durationMs: 200 });
  t.equal(res.reads, 0);
  t.ok(res.errors > 0, `${res.errors} error replies counted`);
  t.ok(res.seconds < 0.3, `${res.seconds} s`);
});

t.test('with minOk the window goes on until that many were answered OK', async (t) => {
  const t0 = performance.now();
  const res = await runClosedLoop([client(t0 + 600)], { clients: 2, workload: 'mix', valueBytes: 10, keys: 10, warmupMs: 0, durationMs: 200, minOk: 1 });
  t.ok(res.writes + res.reads >= 1, `${res.writes} writes, ${res.reads} reads answered`);
  t.ok(res.seconds >= 0.55 && res.seconds < 2, `the window took ${res.seconds} s`);
});

t.test('a window that met minOk in time ends on time', async (t) => {
  const res = await runClosedLoop([client(0)], { clients: 1, workload: 'write', valueBytes: 10, keys: 10, warmupMs: 50, durationMs: 200, minOk: 1 });
  t.ok(res.writes >= 10, `${res.writes} writes`);
  t.ok(res.seconds <= 0.25, `${res.seconds} s`);
});
