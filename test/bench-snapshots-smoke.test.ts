// `npm run bench:snapshots -- --smoke`: every row of the snapshot benchmark on a few
// thousand writes, so the instrument cannot rot. Only "it ran and its output is sane":
// no size or time is asserted.
import t from 'tap';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runBench, SMOKE_FILE_TIMEOUT_MS, SMOKE_RUN_BOUND_MS } from './helpers/bench-run.js';
import { ROOT } from './helpers/cluster.js';

const BENCH = path.join(ROOT, 'build/test/bench/snapshots.js');
/** The smoke run takes 15-25 s on a quiet machine (60 s with 20 other processes busy); past the bound it is stopped (SIGINT: the bench stops its cluster). */
const RUN_BOUND_MS = SMOKE_RUN_BOUND_MS;
t.setTimeout(SMOKE_FILE_TIMEOUT_MS);

type Nodes = Record<string, number>;
interface Results {
  steady: { writes: number; dataDirMB: Nodes; catchUpMs: number; caughtUpBySnapshot: boolean; keyMismatches: number; restartUntilReadMs: number };
  memory: {
    liveKeys: number;
    keysHeld: number;
    idleRssMB: Nodes;
    first: { writes: number; rssMB: Nodes; settledRssMB: Nodes };
    second: { writes: number; rssMB: Nodes; settledRssMB: Nodes };
    restarts: { writes: number; node: string; untilReadMs: number }[];
  };
}

t.test('the snapshot benchmark smoke run measures every target and writes JSON and markdown', async (t) => {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'raftd-bench-snap-'));
  t.teardown(() => fs.rmSync(out, { recursive: true, force: true }));
  const { code, stdout, stderr } = await runBench(t, BENCH, ['--smoke', '--out', out], RUN_BOUND_MS);
  t.equal(code, 0, `bench exits 0\n${stderr.slice(-4000)}`);

  const res = JSON.parse(fs.readFileSync(path.join(out, 'snapshots-smoke.json'), 'utf8')) as Results;
  const nodes = (x: Nodes, what: string): void => {
    t.same(Object.keys(x).sort(), ['n1', 'n2', 'n3'], `${what}: one value per node`);
    t.ok(Object.values(x).every((v) => Number.isFinite(v) && v >= 0), `${what}: finite`);
  };
  nodes(res.steady.dataDirMB, 'data directory');
  t.ok(res.steady.caughtUpBySnapshot, 'the stopped follower caught up by snapshot');
  t.equal(res.steady.keyMismatches, 0, 'and then held the leader keys and values');
  t.ok(res.steady.catchUpMs > 0 && res.steady.restartUntilReadMs > 0, 'catch-up and restart timed');
  const m = res.memory;
  for (const [what, x] of [['idle', m.idleRssMB], ['first', m.first.rssMB], ['first settled', m.first.settledRssMB], ['second', m.second.rssMB], ['second settled', m.second.settledRssMB]] as const) {
    nodes(x, `RSS ${what}`);
    t.ok(Object.values(x).every((v) => v > 10), `RSS ${what} in MB`);
  }
  t.ok(m.first.writes < m.second.writes, 'two readings, the second after more writes');
  t.ok(m.keysHeld > 0 && m.keysHeld <= m.liveKeys, `keys held: ${m.keysHeld}`);
  t.equal(m.restarts.length, 2, 'two restarts');
  t.ok(m.restarts.every((r) => r.untilReadMs > 0 && r.writes > 0), 'each timed until a read is served');
  const md = fs.readFileSync(path.join(out, 'snapshots-smoke.md'), 'utf8');
  for (const row of ['data directory per node', 'catch-up time', 'RSS per node idle', 'RSS per node after', 'writes of history']) t.ok(md.includes(row), `markdown row: ${row}`);
  t.notMatch(md, /NaN|undefined/, 'no NaN or undefined in the markdown');
  t.ok(stdout.includes('# Snapshots (smoke run'), 'prints the table');
});
