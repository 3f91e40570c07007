// TLS with certificates the test makes itself: a 3-node cluster whose peers speak mutual
// TLS and whose client ports are TLS only (client certificates required), with a plain
// port beside one. Good certificates connect (redis-cli --tls, ioredis, raft-client,
// raft-cluster status); expired ones, ones signed by another CA, and none are refused,
// on the client and the peer port alike, and the node keeps serving.
import { execFile, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import * as tls from 'node:tls';
import { Redis } from 'ioredis';
import t from 'tap';
import { randomBytes } from 'node:crypto';
import { RespClient, RespError } from '../lib/client/resp-client.js';
import { readHosts } from '../lib/config/hosts.js';
import { defaultClusterId } from '../lib/config/options.js';
import { encodeFrame, WIRE_VERSION } from '../lib/wire/frame-codec.js';
import { makeCa, makeCert, opensslAvailable } from './helpers/certs.js';
import { TestCluster, ROOT } from './helpers/cluster.js';
import { freePort } from './helpers/ports.js';
import { waitFor } from './helpers/wait.js';

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

function run(cmd: string, args: string[], timeoutMs = 30_000): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout: timeoutMs }, (error, stdout, stderr) => {
      resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, out: stdout.toString(), err: stderr.toString() });
    });
  });
}

/**
 * A TLS connection attempt that sends PING: 'ok' once PONG comes back, else what went
 * wrong. (With TLS 1.3 the server checks a client certificate after the client's side
 * of the handshake is done, so only a reply proves the server accepted it.)
 */
function tryTls(host: string, port: number, opts: tls.ConnectionOptions): Promise<string> {
  return new Promise((resolve) => {
    const s = tls.connect({ host, port, ...opts });
    const timer = setTimeout(() => done('timeout'), 5000);
    function done(r: string) {
      clearTimeout(timer);
      s.destroy();
      resolve(r);
    }
    s.on('secureConnect', () => {
      s.write('*1\r\n$4\r\nPING\r\n');
      s.once('data', (d) => done(d.toString().startsWith('+PONG') ? 'ok' : `reply ${d.toString().trim()}`));
    });
    s.on('error', (err: NodeJS.ErrnoException) => done(`error ${err.code ?? err.message}`));
    s.on('close', () => done('closed'));
  });
}

t.test('mutual TLS between peers, TLS on client ports', async (t) => {
  if (!opensslAvailable()) {
    t.plan(0, 'openssl not installed');
    return;
  }
  const c = await TestCluster.create({ size: 3 });
  t.teardown(() => c.stop());
  const dir = path.join(c.dir, 'pki');
  const ca = makeCa(dir, 'cluster-ca');
  const rogueCa = makeCa(dir, 'rogue-ca');
  const nodeCerts = Object.fromEntries(c.nodes.map((n) => [n.id, makeCert(dir, ca, n.id, [n.host])]));
  const client = makeCert(dir, ca, 'client', []);
  const expired = makeCert(dir, ca, 'expired', c.nodes.map((n) => n.host), -1);
  const rogue = makeCert(dir, rogueCa, 'rogue', c.nodes.map((n) => n.host));
  const plainPort = await freePort(c.nodes[0]!.host);
  c.opts.nodeArgs = Object.fromEntries(
    c.nodes.map((n) => {
      const nc = nodeCerts[n.id]!;
      return [
        n.id,
        [
          '--peer-tls-cert-file', nc.cert, '--peer-tls-key-file', nc.key, '--peer-tls-ca-file', ca.cert,
          '--tls-cert-file', nc.cert, '--tls-key-file', nc.key, '--tls-ca-file', ca.cert,
          ...(n.id === 'n1' ? ['--plain-client-port', String(plainPort)] : []),
        ],
      ];
    }),
  );
  const caPem = fs.readFileSync(ca.cert);
  const clientTls = { ca: caPem, cert: fs.readFileSync(client.cert), key: fs.readFileSync(client.key) };
  c.opts.access = { tls: clientTls, auth: null };
  c.startAll();
  const leader = await c.waitForLeader(60_000);
  t.pass(`leader ${leader.id} elected over mutual TLS`);
  const L = c.node(leader.id);
  const n1 = c.node('n1');

  await t.test('client port: good, expired, wrongly signed and missing client certificates', async (t) => {
    t.equal(await tryTls(L.host, L.clientPort, clientTls), 'ok', 'a certificate the CA signed');
    const bad = [
      ['expired', { ca: caPem, cert: fs.readFileSync(expired.cert), key: fs.readFileSync(expired.key) }],
      ['signed by another CA', { ca: caPem, cert: fs.readFileSync(rogue.cert), key: fs.readFileSync(rogue.key) }],
      ['no certificate', { ca: caPem }],
    ] as const;
    for (const [name, opts] of bad) t.not(await tryTls(L.host, L.clientPort, opts), 'ok', `${name}: refused`);
    t.not(await tryTls(L.host, L.clientPort, { cert: clientTls.cert, key: clientTls.key }), 'ok', 'a client that does not know the CA refuses the node');
    // Plain text on the TLS port gets nowhere.
    const plainOnTls = await new Promise<string>((resolve) => {
      const s = net.connect({ host: L.host, port: L.clientPort });
      s.on('connect', () => s.write('*1\r\n$4\r\nPING\r\n'));
      s.on('data', (d) => resolve(d.includes('+PONG') ? 'pong' : 'other'));
      s.on('error', () => resolve('error'));
      s.on('close', () => resolve('closed'));
    });
    t.not(plainOnTls, 'pong', 'plain text on the TLS port is not served');
    t.equal(await tryTls(L.host, L.clientPort, clientTls), 'ok', 'still serving after the refusals');
    const plain = await RespClient.connect(n1.host, plainPort);
    t.equal(await plain.command('PING'), 'PONG', 'the plain port beside the TLS one');
    plain.destroy();
  });

  await t.test('peer port: only certificates of the cluster CA get to the handshake', async (t) => {
    const target = c.nodes.find((n) => n.id !== leader.id)!;
    const cluster = defaultClusterId(readHosts(c.hostsFile));
    const other = c.nodes.find((n) => n.id !== target.id)!.id;
    // 'open' when the server answers a hello with its challenge, i.e. accepted the certificate.
    const peerTry = (opts: tls.ConnectionOptions) =>
      new Promise<string>((resolve) => {
        const s = tls.connect({ host: target.host, port: target.peerPort, ca: caPem, checkServerIdentity: () => undefined, ...opts });
        const timer = setTimeout(() => done('timeout'), 10_000);
        function done(r: string) {
          clearTimeout(timer);
          s.destroy();
          resolve(r);
        }
        s.on('secureConnect', () => s.write(encodeFrame({ t: 'hello', cluster, from: other, to: target.id, version: WIRE_VERSION, auth: false, nonce: randomBytes(32) })));
        s.on('data', (d: Buffer) => done(d.length > 4 ? 'open' : 'short reply'));
        s.on('error', (err: NodeJS.ErrnoException) => done(`error ${err.code ?? err.message}`));
        s.on('close', () => done('closed'));
      });
    const good = nodeCerts[leader.id]!;
    t.equal(await peerTry({ cert: fs.readFileSync(good.cert), key: fs.readFileSync(good.key) }), 'open', 'a node certificate gets a TLS session');
    t.not(await peerTry({ cert: fs.readFileSync(expired.cert), key: fs.readFileSync(expired.key) }), 'open', 'expired: refused');
    t.not(await peerTry({ cert: fs.readFileSync(rogue.cert), key: fs.readFileSync(rogue.key) }), 'open', 'another CA: refused');
    t.not(await peerTry({}), 'open', 'no certificate: refused');
    await waitFor('TLS refusals logged', () => fs.readFileSync(path.join(target.dataDir, 'logs', 'peer-server.log'), 'utf8').includes('TLS:'), 5000);
    await c.waitForLeader(60_000);
    t.pass('the cluster still has its leader');
  });

  await t.test('redis-cli --tls, ioredis, raft-client and raft-cluster status', async (t) => {
    if (have('redis-cli')) {
      const cli = (...a: string[]) => run('redis-cli', ['-h', L.host, '-p', String(L.clientPort), '--tls', '--cacert', ca.cert, '--cert', client.cert, '--key', client.key, ...a]);
      t.equal((await retried(() => cli('SET', 'tls', 'yes'), (r) => r.out.trim() === 'OK')).out.trim(), 'OK', 'redis-cli --tls --cacert');
      t.equal((await cli('GET', 'tls')).out.trim(), 'yes');
    }
    const io = new Redis({ host: L.host, port: L.clientPort, tls: clientTls, lazyConnect: true, enableReadyCheck: false, maxRetriesPerRequest: 1 });
    t.teardown(() => io.disconnect());
    await io.connect();
    t.equal(await retried(() => io.set('io-tls', '1').catch((e: Error) => e.message), (v) => v === 'OK'), 'OK', 'ioredis over TLS');
    const tlsArgs = ['--tls', '--cacert', ca.cert, '--cert', client.cert, '--key', client.key];
    const rc = await run(process.execPath, [path.join(ROOT, 'bin/raft-client.js'), '--hosts', c.hostsFile, ...tlsArgs, 'GET', 'io-tls']);
    t.equal(rc.out.trim(), '1', `raft-client --tls ${rc.err}`);
    const st = await run(process.execPath, [path.join(ROOT, 'bin/raft-cluster.js'), 'status', '--hosts', c.hostsFile, ...tlsArgs, '--json']);
    t.equal(st.code, 0, st.err);
    t.equal((JSON.parse(st.out) as { up: number }).up, 3, 'raft-cluster status sees every node over TLS');
  });
});
