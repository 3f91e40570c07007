// `raft-cluster rolling-restart` under a steady write load: every node is restarted
// once, followers first and the leader last after a transfer, and every acknowledged
// write is still there afterwards on every node. `transfer` moves leadership on
// request. Gaps are reported, never asserted (speed lives in bench:membership).
import t from 'tap';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ROOT } from './helpers/cluster.js';
import { freePort, loopbackBlock } from './helpers/ports.js';
import { lostWrites, WriteLoad, type Endpoint } from './helpers/write-load.js';

const CLI = path.join(ROOT, 'bin/raft-cluster.js');
const RAFTD_FLAGS = ['--election-timeout-ms', '300', '--heartbeat-ms', '50'];
const SIZE = 3;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function cli(args: string[], cwd: string, timeoutMs = 120_000): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { cwd, encoding: 'utf8', timeout: timeoutMs, env: { ...process.env, NO_COLOR: '1' } }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

/** Every raftd a pid file ever named, killed at the end whatever happened. */
function pidsIn(dataRoot: string): number[] {
  const out: number[] = [];
  for (const id of fs.existsSync(dataRoot) ? fs.readdirSync(dataRoot) : []) {
    try {
      out.push(Number(fs.readFileSync(path.join(dataRoot, id, 'raftd.pid'), 'utf8')));
    } catch {
      // not running
    }
  }
  return out;
}

t.test('rolling restart under a write load loses no acknowledged write', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'raft-rolling-'));
  const dataRoot = path.join(dir, 'data');
  const seen = new Set<number>();
  const remember = () => pidsIn(dataRoot).forEach((p) => seen.add(p));
  const addrs = loopbackBlock(SIZE);
  const nodes: Endpoint[] = [];
  for (let i = 0; i < SIZE; i++) nodes.push({ id: `n${i + 1}`, host: addrs[i]!, clientPort: 0 });
  const lines: string[] = [];
  for (const n of nodes) {
    const peer = await freePort(n.host);
    let client = await freePort(n.host);
    while (client === peer) client = await freePort(n.host);
    n.clientPort = client;
    lines.push(`${n.id} ${n.host} ${peer} ${client}`);
  }
  fs.writeFileSync(path.join(dir, 'hosts.txt'), lines.join('\n') + '\n');
  let load: WriteLoad | null = null;
  t.teardown(async () => {
    await load?.stop();
    remember();
    for (const pid of seen) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
    if (process.env.RAFTD_KEEP_TEST_DIRS) process.stderr.write(`kept ${dir}\n`);
    else fs.rmSync(dir, { recursive: true, force: true });
  });
  const base = ['--hosts', 'hosts.txt', '--data-root', 'data', '--probe-timeout', '1000'];
  const run = (cmd: string[]) => cli([...base, ...cmd], dir);

  const up = await run(['up', '--timeout', '20000', '--', ...RAFTD_FLAGS]);
  remember();
  t.equal(up.code, 0, `up succeeds${up.code ? `: ${up.stdout}${up.stderr}` : ''}`);

  const moved = await run(['transfer', '--timeout', '10000']);
  t.equal(moved.code, 0, `transfer succeeds${moved.code ? `: ${moved.stdout}${moved.stderr}` : ''}`);
  t.match(moved.stdout, /^leadership moved from n\d to n\d \(term \d+\)$/m, 'transfer says where leadership went');

  load = new WriteLoad(() => nodes, 'roll');
  load.start();
  const warm = Date.now();
  while (load.acked.size < 50 && Date.now() - warm < 20_000) await new Promise((r) => setTimeout(r, 50));
  t.ok(load.acked.size >= 50, 'writes flow before the restart');
  load.measureFrom();

  const rolled = await run(['rolling-restart', '--timeout', '30000', '--catch-up-entries', '50']);
  remember();
  t.equal(rolled.code, 0, `rolling-restart succeeds${rolled.code ? `: ${rolled.stdout}${rolled.stderr}` : ''}`);
  const order = [...rolled.stdout.matchAll(/^(n\d): restarted/gm)].map((m) => m[1]);
  t.equal(order.length, SIZE, `every node restarted once: ${order.join(', ')}`);
  t.equal(new Set(order).size, SIZE, 'no node twice');
  t.match(rolled.stdout, /handed leadership to n\d/, 'the leader handed over before its restart');

  const before = load.acked.size;
  const more = Date.now();
  while (load.acked.size < before + 20 && Date.now() - more < 20_000) await new Promise((r) => setTimeout(r, 50));
  await load.stop();
  t.ok(load.acked.size >= before + 20, 'writes flow after the restart');
  t.equal(load.failed, 0, 'no write was given up');
  for (const n of nodes) {
    const lost = await lostWrites(n, load.acked);
    t.same(lost.slice(0, 5), [], `${n.id} holds all ${load.acked.size} acknowledged writes`);
  }
  t.comment(`acknowledged ${load.acked.size} writes, ${load.retries} retried attempts; longest gap between acknowledgements during the rolling restart: ${load.gapMaxMs.toFixed(0)} ms`);

  const down = await run(['down']);
  t.equal(down.code, 0, 'down stops everything');
});
