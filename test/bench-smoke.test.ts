// `npm run bench -- --smoke`: every section of the benchmark for a second or two, so
// the instrument cannot rot. Only "it ran and its output is sane": no speed is asserted.
import t from 'tap';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runBench, SMOKE_FILE_TIMEOUT_MS, SMOKE_RUN_BOUND_MS } from './helpers/bench-run.js';
import { ROOT } from './helpers/cluster.js';
import type { BenchResults } from './bench/results.js';
import { summarize } from './bench/profile-summary.js';

const RUN = path.join(ROOT, 'build/test/bench/run.js');
/** The smoke run takes about a minute on a quiet machine; past the bound it is stopped (SIGINT cleans up). */
const RUN_BOUND_MS = SMOKE_RUN_BOUND_MS;
t.setTimeout(SMOKE_FILE_TIMEOUT_MS);

t.test('the benchmark smoke run measures every section and writes JSON, markdown and SVG', async (t) => {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'raftd-bench-smoke-'));
  t.teardown(() => fs.rmSync(out, { recursive: true, force: true }));
  const { code, stdout, stderr } = await runBench(t, RUN, ['--smoke', '--out', out, '--name', 'smoke'], RUN_BOUND_MS);
  t.equal(code, 0, `bench exits 0\n${stderr.slice(-4000)}`);
  t.match(stderr, /bench \[[#.]+\] \d+\/\d+/, 'a progress line');

  const res = JSON.parse(fs.readFileSync(path.join(out, 'smoke.json'), 'utf8')) as BenchResults;
  const systems = 'version' in res.etcd ? ['raftd', 'etcd'] : ['raftd'];
  if (!('version' in res.etcd)) {
    t.match(stdout, /etcd not run/, 'the report says etcd was not run');
    t.comment(`etcd column skipped: ${res.etcd.skipped}`);
  }
  for (const sys of systems) {
    for (const workload of ['write', 'read', 'mix'] as const) {
      const row = res.throughput.find((r) => r.system === sys && r.workload === workload);
      t.ok(row, `${sys} ${workload} row`);
      if (!row) continue;
      const ops = row.writesPerSec + row.readsPerSec;
      t.ok(ops > 0 && Number.isFinite(ops), `${sys} ${workload}: ${Math.round(ops)} ops/s (${row.errors} error replies, ${row.failedClients} clients lost, ${row.seconds.toFixed(1)} s)`);
      const lat = workload === 'read' ? row.read : row.write;
      t.ok(lat.count > 0 && lat.p50Ms > 0 && lat.p50Ms <= lat.p99Ms && lat.p99Ms <= lat.p999Ms && lat.p999Ms <= lat.maxMs, `${sys} ${workload}: ordered percentiles`);
      t.ok(row.cpuSecPer1kOps > 0, `${sys} ${workload}: CPU per 1,000 ops measured`);
      t.equal(row.rssPeakMiBPerMember.length, 3, `${sys} ${workload}: an RSS per member`);
      t.ok(row.rssPeakMiBPerMember.every((m) => m > 1), `${sys} ${workload}: RSS in MiB`);
    }
    const large = res.large.find((r) => r.system === sys);
    t.ok(large && large.mbPerSec > 0 && large.nodes === 5, `${sys} large values on 5 members`);
    t.ok(large && large.longestGapMs > 0 && large.longestGapMs <= large.seconds * 1000 + 1, `${sys} longest gap within the window`);
    const kill = res.failover.find((f) => f.system === sys && f.result.kind === 'kill');
    t.ok(kill && kill.result.timesMs.length === 1, `${sys} one kill -9 round`);
    const idle = res.idle.find((r) => r.system === sys);
    t.ok(idle && idle.cpuSecPer10s > 0 && idle.cpuSecPer10sPerMember.length === 3, `${sys} idle cost`);
  }
  const partition = res.failover.find((f) => f.system === 'raftd' && f.result.kind === 'partition');
  if (partition) t.equal(partition.result.timesMs.length, 1, 'one partition round');
  else t.ok(res.skipped.some((s) => /partition/.test(s)), 'the partition rounds say why they were skipped');

  const md = fs.readFileSync(path.join(out, 'smoke.md'), 'utf8');
  for (const h of ['## Throughput and latency', '## Large values', '## Failover under load', '## Idle cost']) t.ok(md.includes(h), `markdown has ${h}`);
  const svg = fs.readFileSync(path.join(out, 'smoke.svg'), 'utf8');
  t.match(svg, /^<svg [^>]*xmlns="http:\/\/www\.w3\.org\/2000\/svg"/, 'an SVG document');
  t.match(svg, /<polyline /, 'with plotted series');
  t.notMatch(svg, /NaN|Infinity/, 'no NaN or Infinity coordinates');
  t.ok(stdout.includes('wrote '), 'says where the results are');
});

t.test('--cpu-prof leaves a profile per thread of every raftd member, and profile-summary reads them', async (t) => {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'raftd-bench-prof-'));
  t.teardown(() => fs.rmSync(out, { recursive: true, force: true }));
  const prof = path.join(out, 'prof');
  const { code, stderr } = await runBench(t, RUN, ['--sections', 'idle', '--no-etcd', '--idle-ms', '500', '--idle-settle-ms', '500', '--cpu-prof', prof, '--out', out, '--name', 'prof'], RUN_BOUND_MS);
  t.equal(code, 0, `bench exits 0\n${stderr.slice(-4000)}`);
  const members = fs.readdirSync(path.join(prof, '01-idle'));
  t.same(members.sort(), ['n1', 'n2', 'n3'], 'a folder per member');
  const files = fs.readdirSync(path.join(prof, '01-idle', 'n1')).filter((f) => f.endsWith('.cpuprofile'));
  const threads = files.map((f) => summarize(path.join(prof, '01-idle', 'n1', f), 3));
  for (const name of ['main', 'election-timer', 'log-writer', 'peer-server', 'client-gateway', 'replicator']) {
    t.ok(threads.some((s) => s.thread === name), `a profile of ${name}`);
  }
  t.ok(threads.every((s) => s.busyMs > 0 && s.top.length > 0), 'each with busy time and its top functions');
});
