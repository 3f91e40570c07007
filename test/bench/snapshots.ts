// npm run bench:snapshots: what snapshots buy (issue 9's targets), measured on real
// processes with redis-benchmark as the load:
//   - the data directory under steady writes over few keys stays bounded;
//   - a follower stopped while the writes go by catches up by snapshot and then holds
//     the leader's keys and values;
//   - each node's RSS, leader included, follows the live keys, not the number of writes
//     (100k keys of 100 B: after 300k writes and after 3M);
//   - a restarted node serves reads soon, however long its history (1M writes, then 3M).
// Results go to bench/results/snapshots.{json,md}. --smoke runs a few thousand writes
// of each (test/bench-snapshots-smoke.test.ts keeps it running).
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { ROOT, TestCluster } from '../helpers/cluster.js';
import { waitFor } from '../helpers/wait.js';
import { percentilesOf } from './latency.js';

const argv = yargs(hideBin(process.argv))
  .option('smoke', { type: 'boolean', default: false, describe: 'a few thousand writes: checks the bench still runs' })
  .option('writes', { type: 'number', describe: 'SETs of 200 B over 1,000 keys (default 200,000; smoke 2,000)' })
  .option('live-keys', { type: 'number', describe: 'keys of 100 B for the memory run (default 100,000; smoke 2,000)' })
  .option('memory-writes', { type: 'number', describe: 'writes over those keys at the first RSS reading (default 300,000; smoke 3,000)' })
  .option('restart-writes', { type: 'number', describe: 'writes of history when a follower is restarted (default 1,000,000; smoke 6,000)' })
  .option('long-writes', { type: 'number', describe: 'writes at the second RSS reading and restart (default 3,000,000; smoke 9,000)' })
  .option('settle-ms', { type: 'number', describe: 'idle time before the RSS is read again (default 10,000; smoke 500)' })
  .option('out', { type: 'string', default: path.join(ROOT, 'bench', 'results'), describe: 'where snapshots.json and snapshots.md go' })
  .strict()
  .parseSync();

const smoke = argv.smoke;
const WRITES = argv.writes ?? (smoke ? 2_000 : 200_000);
const LIVE_KEYS = argv['live-keys'] ?? (smoke ? 2_000 : 100_000);
const MEMORY_WRITES = argv['memory-writes'] ?? (smoke ? 3_000 : 300_000);
const RESTART_WRITES = argv['restart-writes'] ?? (smoke ? 6_000 : 1_000_000);
const LONG_WRITES = argv['long-writes'] ?? (smoke ? 9_000 : 3_000_000);
const SETTLE_MS = argv['settle-ms'] ?? (smoke ? 500 : 10_000);
if (!(MEMORY_WRITES <= RESTART_WRITES && RESTART_WRITES <= LONG_WRITES)) throw new Error('--memory-writes <= --restart-writes <= --long-writes');
const SNAP_ARGS = smoke ? ['--snapshot-entries', '500', '--snapshot-retain-entries', '100'] : [];

function log(line: string): void {
  process.stderr.write(`[bench:snapshots] ${line}\n`);
}

function duBytes(dir: string): number {
  let total = 0;
  const walk = (d: string): void => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) {
        if (e.name !== 'logs') walk(p); // per-actor logs are not data
      } else total += fs.statSync(p).size;
    }
  };
  walk(dir);
  return total;
}

function rssBytes(pid: number | undefined): number {
  if (pid === undefined) return 0;
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** redis-benchmark runs that stopped at an error reply, over the whole bench. */
let errorLines = 0;

/**
 * SETs through redis-benchmark until the log has grown by n entries (read from the leader's
 * commit index), in runs of at most LOAD_RUN_MAX: redis-benchmark stops at its first error
 * reply (TRYAGAIN during a leader change, TIMEOUT when the machine is too busy), so a
 * stopped run is counted, the leader looked up again and the load goes on until the log
 * really holds that many more entries. Returns entries per second.
 */
const LOAD_RUN_MAX = 20_000;

async function load(c: TestCluster, n: number, keys: number, bytes: number): Promise<number> {
  const t0 = performance.now();
  let leader = await leaderOf(c);
  const base = await num(c, leader, 'commit_index');
  for (;;) {
    const left = n - ((await num(c, leader, 'commit_index')) - base);
    if (left <= 0) break;
    const run = Math.min(left, LOAD_RUN_MAX);
    const { host, clientPort } = c.node(leader);
    const r = spawnSync('redis-benchmark', ['-h', host, '-p', String(clientPort), '-t', 'set', '-n', String(run), '-r', String(keys), '-d', String(bytes), '-c', '32', '-P', '16', '-q'], { encoding: 'utf8', timeout: 3_600_000 });
    if (r.status !== 0) {
      errorLines++;
      log(`a redis-benchmark run stopped at an error reply: ${(r.stderr || r.stdout).trim().split('\n').pop()}`);
      leader = await leaderOf(c);
    }
  }
  return n / ((performance.now() - t0) / 1000);
}

const mb = (b: number): number => Math.round((b / 1e6) * 10) / 10;

async function leaderOf(c: TestCluster): Promise<string> {
  return (await c.waitForLeader(60_000)).id;
}

async function num(c: TestCluster, id: string, k: string): Promise<number> {
  return Number((await c.info(id))[k]);
}

/** The cluster running now: stopped (processes killed, folder removed) on SIGINT/SIGTERM too. */
let active: TestCluster | null = null;
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, () => {
    log(`${sig}: stopping the cluster`);
    void (active?.stop() ?? Promise.resolve()).finally(() => process.exit(130));
  });
}

const results: Record<string, unknown> = { machine: { cpus: (await import('node:os')).cpus().length, node: process.version }, smoke };

/** Entries the restart that logged from byte `from` of `id`'s raft.log replayed after its snapshot. */
function replayedAfterSnapshot(c: TestCluster, id: string, from: number): number | null {
  const text = fs.readFileSync(path.join(c.node(id).dataDir, 'logs', 'raft.log'), 'utf8').slice(from);
  const m = /"event":"snapshot-loaded"[^\n]*"logEntriesAfter":(\d+)/.exec(text);
  return m ? Number(m[1]) : null;
}

function raftLogBytes(c: TestCluster, id: string): number {
  const f = path.join(c.node(id).dataDir, 'logs', 'raft.log');
  return fs.existsSync(f) ? fs.statSync(f).size : 0;
}

/** Kills `id` and starts it again: ms until it answers a linearizable read with a value. */
async function restartUntilRead(c: TestCluster, id: string, key: string): Promise<number> {
  await c.kill(id);
  const t0 = performance.now();
  c.start(id);
  try {
    await waitFor(`${id} to serve a read`, async () => {
      const v = await c.command(id, 'GET', key);
      return typeof v === 'string' || v === null ? { v } : undefined; // an error reply (no leader known yet) is asked again
    }, 120_000, 5);
  } catch (err) {
    log(`${id} did not serve a read; its output:\n${c.output(id).slice(-5000)}`);
    throw err;
  }
  return performance.now() - t0;
}

/**
 * RESTART_RUNS restarts of `id` in a row, their median: one restart's time varies by
 * ±0.2 s on 2 cores (its threads start together, and the entries after the snapshot
 * number 0-13k depending on where the writes stopped), so one reading says little.
 */
const RESTART_RUNS = 3;
async function restarts(c: TestCluster, id: string, key: string): Promise<{ untilReadMs: number; runsMs: number[]; replayed: (number | null)[] }> {
  const runsMs: number[] = [];
  // Entries after the snapshot, applied before the node serves: 0 to --snapshot-entries
  // (and more while a snapshot is written), depending on where the writes stopped.
  const replayed: (number | null)[] = [];
  for (let i = 0; i < RESTART_RUNS; i++) {
    const from = raftLogBytes(c, id);
    runsMs.push(Math.round(await restartUntilRead(c, id, key)));
    replayed.push(replayedAfterSnapshot(c, id, from));
  }
  return { untilReadMs: percentilesOf(runsMs).p50Ms, runsMs, replayed };
}

// ---------------------------------------------------------------- 1: disk, catch-up, restart
{
  const c = await TestCluster.create({ size: 3, extraArgs: SNAP_ARGS });
  active = c;
  try {
    c.startAll();
    let leader = await leaderOf(c);
    const f = c.nodes.find((n) => n.id !== leader)!.id;
    await c.kill(f);
    log(`${WRITES} SETs of 200 B over 1,000 keys with ${f} stopped`);
    const rate = await load(c, WRITES, 1000, 200);
    const disk = Object.fromEntries(c.nodes.map((n) => [n.id, mb(duBytes(n.dataDir))]));
    const leaderCommit = await num(c, leader, 'commit_index');
    const t0 = performance.now();
    c.start(f);
    try {
      await waitFor(`${f} to catch up`, async () => (await num(c, f, 'last_applied')) >= leaderCommit, 600_000, 50);
    } catch (err) {
      log(`${f} did not catch up; its output:\n${c.output(f).slice(-5000)}`);
      throw err;
    }
    const catchUpMs = performance.now() - t0;
    const installed = /snapshotRestored/.test(fs.readFileSync(path.join(c.node(f).dataDir, 'logs', 'raft.log'), 'utf8'));
    let mismatches = 0;
    const examples: string[] = [];
    const get = async (id: string, key: string): Promise<unknown> =>
      waitFor(`GET ${key} on ${id}`, async () => {
        const r = await c.command(id, 'GET', key);
        return typeof r === 'string' || r === null ? { r } : undefined; // an error reply (no leader yet) is asked again
      }, 30_000);
    for (let k = 0; k < 1000; k++) {
      const key = `key:${String(k).padStart(12, '0')}`;
      const [a, b] = [await get(leader, key), await get(f, key)];
      if (JSON.stringify(a) !== JSON.stringify(b)) {
        mismatches++;
        if (examples.length < 5) examples.push(`${key}: ${leader} ${JSON.stringify(a)}, ${f} ${JSON.stringify(b)}`);
      }
    }
    if (examples.length > 0) log(`mismatches: ${examples.join('; ')}`);
    // Restart a follower's process (its history is the whole run): time until it answers a
    // linearizable read. A follower, so no election is timed along with the restart.
    leader = await leaderOf(c);
    const r = c.nodes.find((n) => n.id !== leader && n.id !== f)!.id;
    const history = await num(c, r, 'commit_index');
    const restartMs = await restartUntilRead(c, r, 'key:000000000001');
    results['steady'] = { writes: WRITES, writesPerSec: Math.round(rate), dataDirMB: disk, follower: f, catchUpMs: Math.round(catchUpMs), caughtUpBySnapshot: installed, keyMismatches: mismatches, restartHistoryEntries: history, restartUntilReadMs: Math.round(restartMs) };
    log(JSON.stringify(results['steady']));
  } finally {
    await c.stop();
  }
}

// ---------------------------------------------------------------- 2: memory and restart follow the live keys
{
  const c = await TestCluster.create({ size: 3, extraArgs: SNAP_ARGS });
  active = c;
  try {
    c.startAll();
    let leader = await leaderOf(c);
    const rss = (): Record<string, number> => Object.fromEntries(c.nodes.map((n) => [n.id, mb(rssBytes(n.proc?.pid))]));
    const settle = async (): Promise<Record<string, number>> => {
      await new Promise((r) => setTimeout(r, SETTLE_MS));
      return rss();
    };
    const keyOf = (i: number): string => `key:${String(i).padStart(12, '0')}`;
    let written = 0;
    const writeUpTo = async (n: number): Promise<void> => {
      log(`${n - written} SETs of 100 B over ${LIVE_KEYS} keys (up to ${n})`);
      await load(c, n - written, LIVE_KEYS, 100);
      leader = await leaderOf(c);
      written = n;
    };
    const idle = rss();
    await writeUpTo(MEMORY_WRITES);
    const first = { writes: written, leader, rssMB: rss(), settledRssMB: await settle() };
    log(JSON.stringify(first));
    await writeUpTo(RESTART_WRITES);
    leader = await leaderOf(c);
    const a = c.nodes.find((n) => n.id !== leader)!.id;
    const restart1 = { writes: written, node: a, ...(await restarts(c, a, keyOf(1))) };
    log(JSON.stringify(restart1));
    await writeUpTo(LONG_WRITES);
    const second = { writes: written, leader, rssMB: rss(), settledRssMB: await settle(), restartedEarlier: a };
    log(JSON.stringify(second));
    leader = await leaderOf(c);
    const b = c.nodes.find((n) => n.id !== leader && n.id !== a)?.id ?? c.nodes.find((n) => n.id !== leader)!.id;
    const restart2 = { writes: written, node: b, ...(await restarts(c, b, keyOf(1))) };
    log(JSON.stringify(restart2));
    const keys = Number((await c.info(leader))['db_keys'] ?? NaN);
    results['memory'] = { liveKeys: LIVE_KEYS, keysHeld: keys, idleRssMB: idle, first, second, restarts: [restart1, restart2] };
  } finally {
    await c.stop();
  }
}

results['errorReplySeconds'] = errorLines;
fs.mkdirSync(argv.out, { recursive: true });
const name = smoke ? 'snapshots-smoke' : 'snapshots';
fs.writeFileSync(path.join(argv.out, `${name}.json`), JSON.stringify(results, null, 2) + '\n');
const s = results['steady'] as Record<string, unknown>;
type Reading = { writes: number; leader: string; rssMB: Record<string, number>; settledRssMB: Record<string, number>; restartedEarlier?: string };
type Restart = { writes: number; node: string; untilReadMs: number; runsMs: number[]; replayed: (number | null)[] };
const m = results['memory'] as { liveKeys: number; keysHeld: number; idleRssMB: Record<string, number>; first: Reading; second: Reading; restarts: Restart[] };
const rssRow = (r: Reading): string => {
  const restarted = r.restartedEarlier === undefined ? '' : `; ${r.restartedEarlier} restarted at ${m.restarts[0]!.writes}`;
  return `| RSS per node after ${r.writes} writes over ${m.liveKeys} keys of 100 B (MB; leader ${r.leader}${restarted}): right after / ${SETTLE_MS / 1000} s later | ${JSON.stringify(r.rssMB)} / ${JSON.stringify(r.settledRssMB)} |`;
};
const md = [
  `# Snapshots (${smoke ? 'smoke' : 'full'} run, ${new Date().toISOString().slice(0, 10)})`,
  '',
  `Command: \`npm run bench:snapshots${smoke ? ' -- --smoke' : ''}\`; ${(results['machine'] as { cpus: number }).cpus} cores, Node ${process.version}.`,
  '',
  '| measure | value |',
  '| --- | --- |',
  `| ${s['writes']} SETs of 200 B over 1,000 keys | ${s['writesPerSec']} writes/s |`,
  `| data directory per node after them (MB, actor logs excluded; ${String(s['follower'])} was stopped throughout, so its is empty) | ${JSON.stringify(s['dataDirMB'])} |`,
  `| follower stopped during them: catch-up time | ${s['catchUpMs']} ms, by snapshot: ${s['caughtUpBySnapshot']}, keys differing from the leader: ${s['keyMismatches']} |`,
  `| restart of a follower with ${s['restartHistoryEntries']} entries of history until it serves a read | ${s['restartUntilReadMs']} ms |`,
  `| RSS per node idle, just started (MB) | ${JSON.stringify(m.idleRssMB)} |`,
  rssRow(m.first),
  ...m.restarts.map((r) => `| restart of follower ${r.node} with ${r.writes} writes of history (${m.keysHeld} keys) until it serves a read (median of ${r.runsMs.length}: ${r.runsMs.join(', ')}; entries replayed after the snapshot: ${r.replayed.join(', ')}) | ${r.untilReadMs} ms |`),
  rssRow(m.second),
  `| load runs (of ${LOAD_RUN_MAX} SETs) stopped by an error reply (TRYAGAIN: a leader change; TIMEOUT: a stall) | ${results['errorReplySeconds']} |`,
  '',
].join('\n');
fs.writeFileSync(path.join(argv.out, `${name}.md`), md);
process.stdout.write(md + '\n');
