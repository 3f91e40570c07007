// `raft-cluster` on loopback addresses: up prints the table, status sees a killed node
// as down (connect refused), restart brings it back, a paused leader is replaced, down
// leaves no raftd behind. Also the one-line errors: a node already running, a "remote"
// machine without the build.
import t from 'tap';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { MAIN_SEMI_SPACE_MB, MALLOC_ENV } from '../lib/actor/heap-tuning.js';
import { ROOT } from './helpers/cluster.js';
import { freePort, loopbackBlock } from './helpers/ports.js';
import { waitFor } from './helpers/wait.js';

const CLI = path.join(ROOT, 'bin/raft-cluster.js');
const RAFTD_FLAGS = ['--election-timeout-ms', '200', '--heartbeat-ms', '40'];

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function cli(args: string[], cwd: string, timeoutMs = 30_000): Promise<Run> {
  const started = Date.now();
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { cwd, encoding: 'utf8', timeout: timeoutMs, env: { ...process.env, NO_COLOR: '1' } }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
      if (process.env.RAFT_CLUSTER_TIMING) console.error(`# ${args.join(' ')}: ${Date.now() - started} ms`);
      resolve({ code, stdout, stderr });
    });
  });
}

interface JsonStatus {
  leader: string | null;
  term: number | null;
  up: number;
  agreeing: number;
  nodes: { id: string; state: string; reason: string | null; role: string | null; pid: number | null; lag: number | null }[];
}

/** Alive and not a zombie. */
function pidAlive(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

function pidFiles(dataRoot: string, ids: string[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const id of ids) {
    try {
      out.set(id, Number(fs.readFileSync(path.join(dataRoot, id, 'raftd.pid'), 'utf8')));
    } catch {
      // not running
    }
  }
  return out;
}

t.test('raft-cluster runs a local cluster', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'raft-cluster-'));
  const addrs = loopbackBlock(3);
  const ids = ['n1', 'n2', 'n3'];
  const lines: string[] = [];
  for (let i = 0; i < 3; i++) lines.push(`${ids[i]} ${addrs[i]} ${await freePort(addrs[i]!)} ${await freePort(addrs[i]!)}`);
  fs.writeFileSync(path.join(dir, 'hosts.txt'), lines.join('\n') + '\n');
  const dataRoot = path.join(dir, 'data');
  const seen = new Set<number>();
  const remember = () => {
    for (const pid of pidFiles(dataRoot, ids).values()) seen.add(pid);
  };
  t.teardown(() => {
    remember();
    for (const pid of seen) {
      if (!pidAlive(pid)) continue;
      try {
        process.kill(pid, 'SIGCONT');
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const base = ['--hosts', 'hosts.txt', '--data-root', 'data', '--probe-timeout', '500'];
  const run = (cmd: string[], timeoutMs?: number) => cli([...base, ...cmd], dir, timeoutMs);
  const status = async (): Promise<JsonStatus> => {
    const r = await run(['status', '--json']);
    if (r.code !== 0) throw new Error(`status --json: ${r.stderr}`);
    return JSON.parse(r.stdout) as JsonStatus;
  };

  const up = await run(['up', '--timeout', '60000', '--', ...RAFTD_FLAGS]);
  remember();
  t.equal(up.code, 0, `up succeeds${up.code ? `: ${up.stdout}${up.stderr}` : ''}`);
  t.match(up.stdout, /n1: started \(pid \d+\)/, 'says which pid each node got');
  t.match(up.stdout, /^leader n\d \(term \d+\), commit \d+, 3\/3 up$/m, 'summary line names the leader');
  t.match(up.stdout, /^ID\s+ADDRESS\s+STATE\s+ROLE\s+TERM\s+LEADER\s+COMMIT\s+APPLIED\s+LAG\s+HEALTH$/m, 'table header');
  t.notMatch(up.stdout, /\x1b\[/, 'no colours when not a terminal');
  t.equal(pidFiles(dataRoot, ids).size, 3, 'a pid file per node');
  t.ok(fs.existsSync(path.join(dataRoot, 'n1', 'raftd.out')), 'stdout/stderr kept in raftd.out');

  const text = await run(['status']);
  t.equal(text.code, 0);
  for (let i = 0; i < 3; i++) t.match(text.stdout, new RegExp(`^n${i + 1}\\s+${addrs[i]!.replace(/\./g, '\\.')}:\\d+\\s+up\\s+(leader|follower)`, 'm'), `row for n${i + 1}`);

  const first = await status();
  t.equal(first.nodes.filter((n) => n.role === 'leader').length, 1, 'exactly one leader');
  t.equal(first.up, 3);
  const leader = first.leader!;
  const follower = ids.find((id) => id !== leader)!;

  const again = await run(['up', '--timeout', '5000']);
  t.equal(again.code, 1, 'up on a running cluster fails');
  t.match(again.stderr, new RegExp(`${follower}: refused: a raftd already answers on \\S+ \\(pid \\d+ per INFO\\)`), 'and refuses each running node');

  const killed = await run(['kill', follower]);
  t.equal(killed.code, 0);
  t.match(killed.stdout, new RegExp(`^${follower}: killed \\(SIGKILL\\)`, 'm'));
  const down = await status();
  const row = down.nodes.find((n) => n.id === follower)!;
  t.same([row.state, row.reason], ['down', 'connect refused'], 'a killed node is down (connect refused)');
  const downText = await run(['status']);
  t.match(downText.stdout, new RegExp(`^${follower}\\s+\\S+\\s+down \\(connect refused\\)`, 'm'), 'one clear line in the table');
  t.notMatch(downText.stdout + downText.stderr, /at .*\.js:\d+/, 'no stack trace');
  t.equal((await run(['kill', follower])).code, 1, 'killing a node that is not running fails');

  // Bounds on conditions: in a CI run beside another cluster test the restarted follower
  // answered but had not heard its leader 15 s later.
  const restarted = await run(['restart', follower, '--timeout', '60000']);
  remember();
  t.equal(restarted.code, 0, `restart succeeds${restarted.code ? `: ${restarted.stdout}${restarted.stderr}` : ''}`);
  t.match(restarted.stdout, new RegExp(`^${follower}: started`, 'm'));
  t.equal((await status()).nodes.find((n) => n.id === follower)!.state, 'up', 'restarted node is up');
  t.match(fs.readFileSync(path.join(dataRoot, follower, 'raftd.args'), 'utf8'), /--election-timeout-ms\n200\n/, 'restart kept the raftd flags of up');

  t.equal((await run(['pause', leader])).code, 0, 'pause the leader');
  const during = await waitFor('a new leader while the old one is paused', async () => {
    const s = await status();
    return s.leader !== null && s.leader !== leader && s.agreeing === 2 ? s : undefined;
  }, 15_000, 100);
  t.equal(during.nodes.find((n) => n.id === leader)!.state, 'timeout', 'the paused node times out');
  const paused = await run(['up', leader, '--timeout', '1000']);
  t.match(paused.stderr, new RegExp(`^${leader}: refused: already running \\(pid \\d+, pid file `, 'm'), 'up refuses a node whose pid file names a live process');
  t.pass(`${during.leader} took over in term ${during.term}`);
  t.equal((await run(['resume', leader])).code, 0, 'resume it');
  await waitFor('the old leader rejoins as a follower', async () => {
    const s = await status();
    return s.up === 3 && s.agreeing === 3;
  }, 15_000, 100);

  const logs = await run(['logs', '--out', 'fetched']);
  t.equal(logs.code, 0, 'logs');
  for (const id of ids) t.ok(fs.existsSync(path.join(dir, 'fetched', id, 'raft.log')), `${id}'s raft.log fetched`);

  remember();
  const pids = [...pidFiles(dataRoot, ids).values()];
  t.equal(pids.length, 3);
  const stopped = await run(['down', '--grace', '5000']);
  t.equal(stopped.code, 0, 'down');
  t.match(stopped.stdout, /n1: stopped \(pid \d+\)/, 'graceful stop');
  for (const pid of pids) t.notOk(pidAlive(pid), `pid ${pid} is gone`);
  t.equal(pidFiles(dataRoot, ids).size, 0, 'pid files removed');
  const after = await status();
  t.equal(after.up, 0, 'nothing answers');
});

t.test('another machine: one line when the build is missing, then upload and run there', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'raft-cluster-remote-'));
  const empty = path.join(dir, 'elsewhere');
  t.teardown(() => {
    for (const pid of pidFiles(path.join(empty, 'data'), ['n1']).values()) if (pidAlive(pid)) process.kill(pid, 'SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const [addr] = loopbackBlock(1);
  fs.writeFileSync(path.join(dir, 'hosts.txt'), `n1 ${addr} ${await freePort(addr!)} ${await freePort(addr!)}\n`);
  // A stand-in for ssh: joins its arguments into one command for a shell, like ssh does.
  const fakeSsh = path.join(dir, 'ssh');
  fs.writeFileSync(fakeSsh, '#!/bin/sh\nshift\nexec sh -c "$*"\n', { mode: 0o755 });
  const remote = ['--hosts', 'hosts.txt', '--exec', `${fakeSsh} {host}`, '--remote-dir', empty];
  const r = await cli([...remote, 'up', '--no-upload', '--timeout', '2000'], dir);
  t.equal(r.code, 1);
  t.match(r.stderr, new RegExp(`^n1: no raftd build in ${empty.replace(/[.]/g, '\\.')} \\(drop --no-upload or build it there\\)$`, 'm'));
  t.notMatch(r.stderr, /\n\s+at /, 'no stack trace');
  t.ok(fs.existsSync(path.join(empty, 'data', 'hosts.txt')), 'the hosts file was shipped to the data root there');

  const unreachable = await cli(['status', '--hosts', 'hosts.txt', '--probe-timeout', '500'], dir);
  t.equal(unreachable.code, 0);
  t.match(unreachable.stdout, /^n1\s+\S+\s+down \(connect refused\)/m);

  const uploaded = await cli([...remote, 'up', '--timeout', '10000'], dir);
  t.equal(uploaded.code, 0, `up with upload${uploaded.code ? `: ${uploaded.stdout}${uploaded.stderr}` : ''}`);
  t.ok(fs.existsSync(path.join(empty, 'build/lib/cli/raftd.js')), 'the build was uploaded');
  t.ok(fs.existsSync(path.join(empty, 'node_modules/yargs/package.json')), 'with its runtime dependencies');
  t.notOk(fs.existsSync(path.join(empty, 'node_modules/typescript')), 'but not the development ones');
  t.match(uploaded.stdout, /^leader n1 \(term \d+\)/m, 'the single node leads');
  const [pid] = pidFiles(path.join(empty, 'data'), ['n1']).values();
  t.match(fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8'), new RegExp(`${empty.replace(/[.]/g, '\\.')}/bin/raftd\\.js`), 'running from the uploaded copy');
  const environ = fs.readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
  for (const [k, v] of Object.entries(MALLOC_ENV)) t.ok(environ.includes(`${k}=${v}`), `started with ${k}=${v}`);
  t.ok(fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').includes(`--max-semi-space-size=${MAIN_SEMI_SPACE_MB}`), 'and the main thread young-generation bound');
  const stopped = await cli([...remote, 'down'], dir);
  t.match(stopped.stdout, /^n1: stopped/m);
  t.notOk(pidAlive(pid!), 'and it is gone');

  const badExec = await cli(['down', '--hosts', 'hosts.txt', '--exec', 'ssh-does-not-exist {host}'], dir);
  t.equal(badExec.code, 1);
  t.match(badExec.stderr, /^n1: .*not found$/m, 'a template that cannot run is one line');
});
