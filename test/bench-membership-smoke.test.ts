// `npm run bench:membership -- --smoke`: one round of each handover and a rolling restart,
// so the instrument cannot rot. Only "it ran and its output is sane": no gap is asserted
// (the bench itself exits non-zero if an acknowledged write went missing).
import t from 'tap';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runBench, SMOKE_FILE_TIMEOUT_MS, SMOKE_RUN_BOUND_MS } from './helpers/bench-run.js';
import { ROOT } from './helpers/cluster.js';

const BENCH = path.join(ROOT, 'build/test/bench/membership.js');
/** Past the bound the run is stopped (SIGINT; the bench's finally blocks take its clusters down). */
const RUN_BOUND_MS = SMOKE_RUN_BOUND_MS;
t.setTimeout(SMOKE_FILE_TIMEOUT_MS);

interface Results {
  rounds: number;
  handovers: { gaps: { what: string; gapsMs: number[] }[]; acked: number; failed: number; lost: number };
  rolling: { gapMs: number; acked: number; failed: number; lost: number; tookMs: number };
}

t.test('the membership benchmark smoke run times every handover and a rolling restart', async (t) => {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'raftd-bench-member-'));
  t.teardown(() => fs.rmSync(out, { recursive: true, force: true }));
  const { code, stderr } = await runBench(t, BENCH, ['--smoke', '--out', out], RUN_BOUND_MS);
  t.equal(code, 0, `bench exits 0 (no acknowledged write lost)\n${stderr.slice(-4000)}`);

  const res = JSON.parse(fs.readFileSync(path.join(out, 'membership.json'), 'utf8')) as Results;
  t.equal(res.rounds, 1, 'one round in smoke mode');
  t.ok(res.handovers.gaps.length >= 3, `handover events timed: ${res.handovers.gaps.map((g) => g.what).join(', ')}`);
  t.ok(res.handovers.gaps.every((g) => g.gapsMs.length === 1 && g.gapsMs[0]! > 0), 'one positive gap each');
  t.equal(res.handovers.lost + res.rolling.lost, 0, 'no acknowledged write missing');
  t.ok(res.rolling.acked > 0 && res.rolling.tookMs > 0 && res.rolling.gapMs > 0, 'the rolling restart ran under load');
  const md = fs.readFileSync(path.join(out, 'membership.md'), 'utf8');
  t.notMatch(md, /NaN|undefined/, 'no NaN or undefined in the markdown');
});
