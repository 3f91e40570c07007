// `npm run bench:soak -- --smoke`: an idle and a loaded phase of a few seconds, so the
// instrument cannot rot. Only "it ran and its output is sane": no election count is
// asserted (a busy CI machine may cause one; the hour-long run is where it counts).
import t from 'tap';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runBench, SMOKE_FILE_TIMEOUT_MS, SMOKE_RUN_BOUND_MS } from './helpers/bench-run.js';
import { ROOT } from './helpers/cluster.js';
import type { SoakResults } from './bench/soak.js';

const BENCH = path.join(ROOT, 'build/test/bench/soak.js');
t.setTimeout(SMOKE_FILE_TIMEOUT_MS);

t.test('the soak run reports an idle and a loaded phase with elections, load and memory', async (t) => {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'raftd-soak-smoke-'));
  t.teardown(() => fs.rmSync(out, { recursive: true, force: true }));
  const { code, stdout, stderr } = await runBench(t, BENCH, ['--smoke', '--clients', '4', '--out', out, '--name', 'smoke'], SMOKE_RUN_BOUND_MS);
  t.equal(code, 0, `soak exits 0\n${stderr.slice(-4000)}`);
  const res = JSON.parse(fs.readFileSync(path.join(out, 'smoke.json'), 'utf8')) as SoakResults;
  t.same(res.phases.map((p) => p.kind), ['idle', 'loaded'], 'an idle phase, then a loaded one');
  for (const p of res.phases) {
    t.ok(p.seconds > 0 && Number.isInteger(p.elections) && p.elections >= 0, `${p.kind}: ${p.elections} elections in ${p.seconds.toFixed(1)} s`);
    t.equal(p.rssMiBEnd.length, 3, `${p.kind}: an RSS per member`);
    t.ok(p.rssMiBEnd.every((m) => m > 1), `${p.kind}: RSS in MiB`);
    t.ok(p.cpuSecPer10s > 0, `${p.kind}: CPU measured`);
  }
  const loaded = res.phases[1]!;
  t.ok((loaded.writes ?? 0) > 0 && (loaded.reads ?? 0) > 0, `loaded: ${loaded.writes} writes and ${loaded.reads} reads acknowledged`);
  t.ok(loaded.longestGapMs !== undefined && loaded.longestGapMs > 0 && loaded.longestGapMs <= loaded.seconds * 1000 + 1, 'loaded: longest gap within the phase');
  t.equal(res.elections.idle + res.elections.loaded, res.phases.reduce((a, p) => a + p.elections, 0), 'the totals add up');
  t.match(stdout, /\*\*Elections: \d+ while idle, \d+ while loaded\.\*\*/, 'the markdown says how many elections');
  t.ok(fs.readFileSync(path.join(out, 'smoke.md'), 'utf8').includes('| phase | from s |'), 'the markdown has the phase table');
});
