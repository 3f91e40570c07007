// bin/raft-client.js against real 3-node clusters on loopback: one-shot commands,
// piped sessions (in order, exit status), kill -9 of the leader in the middle of a
// piped session (rediscovery, every INCR applied exactly once), the interactive prompt
// through a pseudo-terminal, and a cluster that is not there.
import t from 'tap';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ROOT, TestCluster } from './helpers/cluster.js';
import { waitFor } from './helpers/wait.js';

const CLIENT = path.join(ROOT, 'bin/raft-client.js');

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

interface Running {
  /** Writes to the client's stdin. */
  write(s: string): void;
  end(): void;
  stdout(): string;
  done: Promise<Run>;
}

/** Starts the client; it is killed if it has not exited after `timeoutMs`. */
function start(args: string[], timeoutMs = 60_000): Running {
  const child = spawn(process.execPath, [CLIENT, ...args], { stdio: ['pipe', 'pipe', 'pipe'], cwd: ROOT });
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
  child.stdin.on('error', () => {});
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const done = new Promise<Run>((resolve) =>
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout: out, stderr: err });
    }),
  );
  return {
    write: (s) => void child.stdin.write(s),
    end: () => child.stdin.end(),
    stdout: () => out,
    done,
  };
}

function run(args: string[], input = '', timeoutMs = 60_000): Promise<Run> {
  const r = start(args, timeoutMs);
  r.write(input);
  r.end();
  return r.done;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

t.test('raft-client on a 3-node cluster', async (t) => {
  const c = await TestCluster.create({ size: 3 });
  t.teardown(() => c.stop()); // RAFTD_KEEP_TEST_DIRS=1 keeps the nodes' data and output
  t.comment(`cluster in ${c.dir}`);
  c.startAll();
  await c.waitForLeader();
  const hosts = ['--hosts', c.hostsFile];

  t.test('one-shot SET, then GET from another invocation', async (t) => {
    const set = await run([...hosts, 'SET', 'greeting', 'hello world']);
    t.equal(set.code, 0, set.stderr);
    t.equal(set.stdout, 'OK\n');
    const get = await run([...hosts, 'GET', 'greeting']);
    t.equal(get.code, 0, get.stderr);
    t.equal(get.stdout, 'hello world\n');
    const tty = await run([...hosts, '--no-raw', 'GET', 'greeting']);
    t.equal(tty.stdout, '"hello world"\n', 'the terminal format on request');
    const nil = await run([...hosts, '--no-raw', 'GET', 'missing']);
    t.equal(nil.stdout, '(nil)\n');
  });

  t.test('ADDENTRY: its tid is the request id, so a repeat gets the same log index', async (t) => {
    const a = await run([...hosts, 'ADDENTRY', 'tid-once', 'hello']);
    t.equal(a.code, 0, a.stderr);
    t.match(a.stdout, /^\d+\n$/);
    const b = await run([...hosts, 'ADDENTRY', 'tid-once', 'hello']);
    t.equal(b.stdout, a.stdout);
  });

  t.test('one-shot through one follower (-h/-p): it forwards the write', async (t) => {
    const { id: leader } = await c.waitForLeader();
    const f = c.nodes.find((n) => n.id !== leader)!;
    const r = await run(['-h', f.host, '-p', String(f.clientPort), 'INCR', 'via-follower']);
    t.equal(r.code, 0, r.stderr);
    t.equal(r.stdout, '1\n');
    const info = await run(['-h', f.host, '-p', String(f.clientPort), 'ISLEADER']);
    t.equal(info.stdout, '0\n', 'node-local commands answer for that node');
  });

  t.test('piped: 200 INCR lines give 1..200 in order, exit 0', async (t) => {
    const r = await run(hosts, 'INCR counter\n'.repeat(200));
    t.equal(r.code, 0, r.stderr);
    t.same(r.stdout.trimEnd().split('\n'), Array.from({ length: 200 }, (_, i) => String(i + 1)));
  });

  t.test('piped: quoting, reads, and an unknown command make the exit status non-zero', async (t) => {
    const r = await run(hosts, 'SET q "two words"\nGET q\nFROBNICATE x\n\nEXISTS q\nSET bad "unterminated\n');
    t.equal(r.code, 1, 'a failed command fails the session');
    const lines = r.stdout.split('\n');
    t.equal(lines[0], 'OK');
    t.equal(lines[1], 'two words');
    t.match(lines[2], /^ERR unknown command 'FROBNICATE'/);
    t.equal(lines[3], '', 'an error is followed by a blank line, as redis-cli does');
    t.equal(lines[4], '1', 'later lines still run');
    t.equal(lines[5], 'Invalid argument(s)');
  });

  t.test('kill -9 of the leader mid-session: rediscovered, every INCR applied exactly once', async (t) => {
    const total = 300;
    const { id: leader } = await c.waitForLeader();
    const client = start(hosts, 90_000);
    const replies = () => client.stdout().split('\n').length - 1;
    // Lines go out as replies come back, a few ahead (some in flight when the leader
    // dies), so the kill lands mid-stream however fast or slow the machine is.
    let killedAfter = -1;
    const killer = (async () => {
      await waitFor('100 replies before the kill', () => replies() >= 100, 30_000);
      killedAfter = replies();
      await c.kill(leader);
    })();
    const deadline = Date.now() + 60_000;
    for (let written = 0; written < total && Date.now() < deadline; ) {
      if (written - replies() >= 6) {
        await sleep(5);
        continue;
      }
      const n = Math.min(3, total - written);
      client.write('INCR c\n'.repeat(n));
      written += n;
      await sleep(5);
    }
    client.end();
    await killer;
    const r = await client.done;
    t.equal(r.code, 0, `exit 0 (stderr: ${r.stderr})`);
    t.ok(killedAfter >= 100 && killedAfter < total, `the kill landed mid-stream, after ${killedAfter} replies`);
    const got = r.stdout.trimEnd().split('\n').map(Number);
    t.equal(got.length, total, 'a reply per line');
    t.equal(new Set(got).size, total, 'every reply unique');
    t.ok(got.every((v, i) => i === 0 || v > got[i - 1]!), 'replies increasing');
    t.same(got, Array.from({ length: total }, (_, i) => i + 1), 'exactly 1..300');
    t.match(r.stderr, /lost/, 'the lost connection is noted on stderr');

    const next = await c.waitForLeader(15_000, [leader]);
    t.equal(await c.command(next.id, 'GET', 'c'), String(total), 'the counter equals the number of INCR lines');
    c.start(leader);
    await c.waitForLeader(15_000);
  });

  t.test('interactive prompt through a pseudo-terminal', { skip: !hasScript() && 'no script(1)' }, async (t) => {
    const cmd = [process.execPath, CLIENT, ...hosts].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
    const child = spawn('script', ['-qfc', cmd, '/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, TERM: 'dumb' } });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    t.teardown(() => clearTimeout(timer));
    const closed = new Promise<number | null>((r) => child.once('close', r));
    const type = async (line: string, expect: RegExp) => {
      const from = out.length;
      child.stdin.write(line + '\r');
      await waitFor(`${JSON.stringify(line)} answered`, () => expect.test(out.slice(from)), 15_000);
    };
    await waitFor('the prompt', () => /raftd n\d> /.test(out), 15_000);
    await type('SET tty "a b"', /OK/);
    await type('GET tty', /"a b"/);
    await type('INCR tty-n', /\(integer\) 1/);
    await type('GET tty-none', /\(nil\)/);
    await type('FROBNICATE', /\(error\) ERR unknown command/);
    await type('MGET tty tty-none', /1\) "a b"\r?\n2\) \(nil\)/);
    child.stdin.write('quit\r');
    t.equal(await closed, 0, 'quit ends the session');
    t.match(out, /raftd n\d> /, 'the prompt names the node');
    t.comment(out.replace(/\r/g, ''));
  });
});

function hasScript(): boolean {
  return spawnSync('script', ['--version'], { stdio: 'ignore' }).status === 0;
}

t.test('no cluster there: bounded retries, an error on stdout, a diagnostic on stderr, exit 1', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'raft-client-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const hostsFile = path.join(dir, 'hosts.txt');
  // Port 1 on loopback: nothing listens there.
  fs.writeFileSync(hostsFile, 'n1 127.0.0.1 2 1\n');
  const t0 = Date.now();
  const r = await run(['--hosts', hostsFile, '--retry-ms', '600', 'SET', 'a', '1'], '', 20_000);
  t.equal(r.code, 1);
  t.match(r.stdout, /^ERR no node of the cluster answered/);
  t.match(r.stderr, /cannot reach the cluster/);
  t.ok(Date.now() - t0 < 10_000, 'gave up within the budget');

  const piped = await run(['--hosts', hostsFile, '--retry-ms', '600'], 'PING\nPING\nPING\n', 20_000);
  t.equal(piped.code, 1);
  t.equal(piped.stdout.split('\n').filter((l) => l.startsWith('ERR')).length, 3, 'each line answered with an error');

  const help = await run(['--help']);
  t.equal(help.code, 0);
  t.match(help.stdout, /--retry-ms/);
});
