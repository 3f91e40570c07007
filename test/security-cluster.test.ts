// Authentication on a real 3-node cluster: peers share a cluster secret and a node with
// a wrong secret or none never joins; a replayed handshake is refused; clients must AUTH
// (redis-cli -a, redis-cli --user --pass, ioredis, raft-client --password-file), a
// read-only user cannot write and a read-write user cannot FLUSHDB.
import { execFile, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { Redis } from 'ioredis';
import t from 'tap';
import { RespClient, RespError } from '../lib/client/resp-client.js';
import { readHosts } from '../lib/config/hosts.js';
import { defaultClusterId } from '../lib/config/options.js';
import { encodeFrame } from '../lib/wire/frame-codec.js';
import { TestCluster, ROOT } from './helpers/cluster.js';
import { dialPeer } from './helpers/peer-dial.js';
import { waitFor } from './helpers/wait.js';

const SECRET = 'a cluster secret that is long enough';
const ADMIN_PW = 'admin-password';

/** Runs a write until the cluster stops answering TRYAGAIN (a leader change under load is not what is tested). */
async function retried<T>(write: () => Promise<T>, done: (v: T) => boolean): Promise<T> {
  let last: T | undefined;
  await waitFor('a write without TRYAGAIN', async () => {
    last = await write();
    return done(last) || !/TRYAGAIN|TIMEOUT|NOTLEADER/.test(String(last instanceof RespError ? last.reply : last));
  }, 20_000, 100);
  return last as T;
}

function have(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
}

function run(cmd: string, args: string[], input?: string, timeoutMs = 30_000): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve) => {
    const p = execFile(cmd, args, { timeout: timeoutMs }, (error, stdout, stderr) => {
      resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, out: stdout.toString(), err: stderr.toString() });
    });
    if (input !== undefined) p.stdin!.end(input);
  });
}

/** A file of the test's own, mode 600. */
function secretFile(dir: string, name: string, content: string): string {
  const f = path.join(dir, name);
  fs.writeFileSync(f, content + '\n', { mode: 0o600 });
  return f;
}

function logLines(dir: string, actor: string): Record<string, unknown>[] {
  const file = path.join(dir, 'logs', `${actor}.log`);
  if (!fs.existsSync(file)) return [];
  return fs.readFileSync(file, 'utf8').split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Record<string, unknown>);
}

t.test('a cluster with a secret, a password and users', async (t) => {
  const c = await TestCluster.create({ size: 3 });
  t.teardown(() => c.stop());
  const secret = secretFile(c.dir, 'cluster.secret', SECRET);
  const wrong = secretFile(c.dir, 'wrong.secret', 'another secret, also long enough');
  const acl = secretFile(
    c.dir,
    'users.acl',
    ['user default on >' + ADMIN_PW + ' ~* +@all', 'user app on >apppw ~* +@read +@write', 'user report on >reportpw ~* +@read'].join('\n'),
  );
  const pwFile = secretFile(c.dir, 'admin.pw', ADMIN_PW);
  const secure = ['--cluster-secret-file', secret, '--acl-file', acl];
  c.opts.extraArgs = secure;
  c.opts.access = { tls: null, auth: { user: null, password: Buffer.from(ADMIN_PW) } };
  // n3 first runs with a wrong secret: it must never join.
  c.opts.nodeArgs = { n3: ['--cluster-secret-file', wrong, '--acl-file', acl] };
  c.startAll();
  const leader = await c.waitForLeader(30_000, ['n3']);
  t.pass(`n1 and n2 elected ${leader.id} with the secret`);
  const L = c.node(leader.id);

  await t.test('the secret never appears on the command line or in a log', async (t) => {
    const logs = fs.readdirSync(path.join(L.dataDir, 'logs')).map((f) => fs.readFileSync(path.join(L.dataDir, 'logs', f), 'utf8')).join('\n');
    t.notOk(logs.includes(SECRET), 'not in the logs');
    t.notOk(logs.includes(ADMIN_PW), 'no password in the logs');
    t.notOk(c.output(L.id).includes(SECRET), 'not in stdout/stderr');
    t.notMatch(c.output(L.id), /peer port is open|no --cluster-secret-file/, 'no open-port warning with a secret');
  });

  await t.test('a node with the wrong secret is refused by both peers and never joins', async (t) => {
    const n3 = c.node('n3');
    // Whoever dials checks the listener's challenge first, so each side's replicator finds out.
    const warned = (dir: string, actor: string) => logLines(dir, actor).filter((l) => l.event === 'handshake-failed' && l.level === 'warn' && /MAC mismatch/.test(String(l.reason)));
    await waitFor('handshake failures logged', () => ['n1', 'n2'].every((id) => warned(c.node(id).dataDir, 'replicator-n3').length > 0 && warned(n3.dataDir, `replicator-${id}`).length > 0), 15_000);
    // Let the replicators retry for a while: still one warn line each (once per interval).
    await new Promise((r) => setTimeout(r, 1500));
    for (const id of ['n1', 'n2']) {
      t.equal(warned(c.node(id).dataDir, 'replicator-n3').length, 1, `${id} warned once about n3 however often it retried`);
      t.equal(warned(n3.dataDir, `replicator-${id}`).length, 1, `n3 warned once about ${id}`);
      const attempts = logLines(c.node(id).dataDir, 'replicator-n3').filter((l) => l.event === 'handshake-failed').length;
      t.ok(attempts >= 1, `${id} tried ${attempts} times`);
    }
    // The listeners saw n3 hang up after their challenge: once per source address and minute.
    for (const id of ['n1', 'n2']) {
      const lines = logLines(c.node(id).dataDir, 'peer-server').filter((l) => l.event === 'connection-refused' && String(l.remote).startsWith(`${n3.host}:`));
      t.equal(lines.length, 1, `${id}'s peer server logged n3 once`);
      t.match(lines[0]?.reason, /does not share our cluster secret/);
    }
    const info3 = await c.info('n3');
    t.not(info3.leader_id, leader.id, 'n3 does not follow the leader');
    t.equal(Number(info3.commit_index ?? 0), 0, 'n3 committed nothing');
    // Restart n3 with the right secret: it joins.
    await c.kill('n3');
    c.opts.nodeArgs = {};
    c.start('n3');
    await c.waitForLeader(60_000);
    t.pass('n3 joined with the right secret');
  });

  await t.test('no secret and a wrong secret are refused before any message; so is a replayed handshake', async (t) => {
    const target = c.nodes.find((n) => n.id !== leader.id)!;
    const other = c.nodes.find((n) => n.id !== target.id)!;
    const cid = defaultClusterId(readHosts(c.hostsFile));
    const dial = (secretValue: Buffer | null) =>
      dialPeer({ host: target.host, port: target.peerPort, cluster: cid, as: other.id, to: target.id, secret: secretValue, timeoutMs: 5000 });
    const none = await dial(null);
    t.notOk(none.ok, `no secret: ${none.ok ? '' : none.reason}`);
    const bad = await dial(Buffer.from('guessed secret guessed secret'));
    t.notOk(bad.ok, `wrong secret: ${bad.ok ? '' : bad.reason}`);
    // A real handshake, recorded byte for byte, then replayed on a new connection.
    const good = await dial(Buffer.from(SECRET));
    t.ok(good.ok, 'the right secret gets through');
    if (good.ok) good.socket.destroy();
    const recorded: Buffer[] = [];
    const rec = await new Promise<Buffer[]>((resolve) => {
      // Record what a dialer sends (hello, proof) by dialing through a recording proxy.
      const proxy = net.createServer((inbound) => {
        const outbound = net.connect({ host: target.host, port: target.peerPort });
        inbound.on('data', (d: Buffer) => {
          recorded.push(Buffer.from(d));
          outbound.write(d);
        });
        outbound.on('data', (d) => inbound.write(d));
        outbound.on('close', () => inbound.destroy());
        inbound.on('close', () => outbound.destroy());
        inbound.on('error', () => undefined);
        outbound.on('error', () => undefined);
      });
      proxy.listen(0, '127.0.0.1', async () => {
        const port = (proxy.address() as net.AddressInfo).port;
        const r = await dialPeer({ host: '127.0.0.1', port, cluster: cid, as: other.id, to: target.id, secret: Buffer.from(SECRET) });
        t.ok(r.ok, 'handshake through the recording proxy');
        await waitFor('hello and proof recorded', () => Buffer.concat(recorded).length > 0 && recorded.length >= 2, 5000).catch(() => undefined);
        if (r.ok) r.socket.destroy();
        proxy.close();
        resolve(recorded);
      });
    });
    const replay = Buffer.concat([...rec, encodeFrame({ t: 'msgs', m: [{ type: 'readIndex', term: 999, from: other.id, to: target.id, ctx: 1 }] })]);
    const closed = await new Promise<boolean>((resolve) => {
      const s = net.connect({ host: target.host, port: target.peerPort });
      const timer = setTimeout(() => {
        s.destroy();
        resolve(false);
      }, 8000);
      s.on('connect', () => s.write(replay));
      s.on('error', () => undefined);
      s.on('data', () => undefined);
      s.on('close', () => {
        clearTimeout(timer);
        resolve(true);
      });
    });
    t.ok(closed, 'the replayed handshake is closed');
    await waitFor('replay refusal logged', () => logLines(target.dataDir, 'peer-server').some((l) => /proof MAC mismatch/.test(String(l.reason))), 5000).catch(() => undefined);
    const term = Number((await c.info(target.id)).term);
    t.ok(term < 999, 'the replayed connection delivered nothing (no term 999)');
    await c.waitForLeader(60_000);
  });

  await t.test('NOAUTH before AUTH, WRONGPASS, and rights', async (t) => {
    const raw = await RespClient.connect(L.host, L.clientPort);
    t.teardown(() => raw.destroy());
    const text = (v: unknown) => (v instanceof RespError ? v.reply : Buffer.isBuffer(v) ? v.toString() : v);
    t.equal(text(await raw.command('GET', 'k')), 'NOAUTH Authentication required.');
    t.equal(text(await raw.command('PING')), 'NOAUTH Authentication required.');
    t.equal(text(await raw.command('SET', 'k', 'v')), 'NOAUTH Authentication required.');
    t.equal(text(await raw.command('AUTH', 'nope')), 'WRONGPASS invalid username-password pair or user is disabled.');
    t.match(text(await raw.command('HELLO', '2')), /^NOAUTH HELLO must be called/);
    const hello = (await raw.command('HELLO', '2', 'AUTH', 'report', 'reportpw')) as Buffer[];
    t.equal(String(hello[1]), 'raftd', 'HELLO 2 AUTH user pass logs in and answers');
    t.equal(text(await raw.command('AUTH', 'report', 'reportpw')), 'OK');
    t.equal(text(await raw.command('GET', 'k')), null);
    t.equal(text(await raw.command('SET', 'k', 'v')), "NOPERM User report has no permissions to run the 'set' command");
    t.equal(text(await raw.command('AUTH', 'app', 'apppw')), 'OK');
    t.equal(text(await retried(() => raw.command('SET', 'k', 'v'), (v) => v === 'OK')), 'OK');
    t.equal(text(await raw.command('FLUSHDB')), "NOPERM User app has no permissions to run the 'flushdb' command");
    t.equal(text(await raw.command('GET', 'k')), 'v', 'the refused FLUSHDB changed nothing');
    t.equal(text(await raw.command('AUTH', ADMIN_PW)), 'OK');
    t.equal(text(await raw.command('DBSIZE')), 1);
  });

  await t.test('redis-cli -a and --user --pass', async (t) => {
    if (!have('redis-cli')) {
      t.plan(0, 'redis-cli not installed (test/install-deps.sh installs it)');
      return;
    }
    const cli = (...a: string[]) => run('redis-cli', ['-h', L.host, '-p', String(L.clientPort), '--no-auth-warning', ...a]);
    t.match((await cli('GET', 'k')).out, /NOAUTH/);
    t.equal((await retried(() => cli('-a', ADMIN_PW, 'SET', 'cli', 'x'), (r) => r.out.trim() === 'OK')).out.trim(), 'OK');
    t.equal((await cli('--user', 'report', '--pass', 'reportpw', 'GET', 'cli')).out.trim(), 'x');
    t.match((await cli('--user', 'report', '--pass', 'reportpw', 'SET', 'cli', 'y')).out, /NOPERM/);
    t.match((await cli('--user', 'report', '--pass', 'wrong', 'GET', 'cli')).out + (await cli('--user', 'report', '--pass', 'wrong', 'GET', 'cli')).err, /WRONGPASS|AUTH failed/);
  });

  await t.test('ioredis with a password, and with a user', async (t) => {
    const admin = new Redis({ host: L.host, port: L.clientPort, password: ADMIN_PW, lazyConnect: true, enableReadyCheck: false, maxRetriesPerRequest: 1 });
    const report = new Redis({ host: L.host, port: L.clientPort, username: 'report', password: 'reportpw', lazyConnect: true, enableReadyCheck: false, maxRetriesPerRequest: 1 });
    t.teardown(() => {
      admin.disconnect();
      report.disconnect();
    });
    await admin.connect();
    await report.connect();
    t.equal(await retried(() => admin.set('io', '1').catch((e: Error) => e.message), (v) => v === 'OK'), 'OK');
    t.equal(await report.get('io'), '1');
    await t.rejects(report.set('io', '2'), /NOPERM/);
  });

  await t.test('raft-client with --password-file and --user', async (t) => {
    const client = path.join(ROOT, 'bin/raft-client.js');
    const rc = (...a: string[]) => run(process.execPath, [client, '--hosts', c.hostsFile, ...a]);
    const reportPw = secretFile(c.dir, 'report.pw', 'reportpw');
    t.equal((await rc('--password-file', pwFile, 'SET', 'rc', 'z')).out.trim(), 'OK');
    t.equal((await rc('--user', 'report', '--password-file', reportPw, 'GET', 'rc')).out.trim(), 'z');
    const denied = await rc('--user', 'report', '--password-file', reportPw, 'SET', 'rc', 'w');
    t.match(denied.out, /NOPERM/);
    t.equal(denied.code, 1);
    const noAuth = await rc('--retry-ms', '500', 'GET', 'rc');
    t.match(noAuth.out + noAuth.err, /NOAUTH/);
    // A wrong password fails at once with the server's reply, not after --retry-ms of retries.
    const started = Date.now();
    const wrong = await rc('--retry-ms', '20000', '--password-file', secretFile(c.dir, 'wrong.pw', 'not-it'), 'GET', 'rc');
    t.match(wrong.out, /WRONGPASS invalid username-password pair or user is disabled\./);
    t.equal(wrong.code, 1);
    t.ok(Date.now() - started < 15_000, `gave up in ${Date.now() - started} ms`);
  });

  await t.test('raft-cluster status with --password-file', async (t) => {
    const cluster = path.join(ROOT, 'bin/raft-cluster.js');
    const r = await run(process.execPath, [cluster, 'status', '--hosts', c.hostsFile, '--password-file', pwFile, '--json']);
    t.equal(r.code, 0, r.err);
    const s = JSON.parse(r.out) as { leader: string | null; up: number };
    t.equal(s.up, 3);
    t.ok(s.leader);
    const noPw = await run(process.execPath, [cluster, 'status', '--hosts', c.hostsFile, '--json']);
    t.match(noPw.out, /auth: NOAUTH/);
  });
});

t.test('a node without a secret warns that its peer port is open', async (t) => {
  const c = await TestCluster.create({ size: 1 });
  t.teardown(() => c.stop());
  c.startAll();
  await c.waitForLeader();
  await waitFor('warning on stderr', () => /warning: no --cluster-secret-file/.test(c.output('n1')), 5000);
  t.ok(logLines(c.node('n1').dataDir, 'peer-server').some((l) => l.event === 'peer-port-open' && l.level === 'warn'), 'and in the peer server log');
  const bad = await run(process.execPath, [path.join(ROOT, 'bin/raftd.js'), '--id', 'n1', '--hosts', c.hostsFile, '--data', path.join(c.dir, 'x'), '--cluster-secret-file', secretFile(c.dir, 'short', 'short')]);
  t.not(bad.code, 0, 'a short secret stops the node at start-up');
  t.match(bad.err, /at least 16 are needed/);
  t.notMatch(bad.err, /short\n?$/m, 'without printing the secret');
});
