// Connection limits on a real node: a flood of client connections is bounded by
// --max-clients (Redis' error, one log line per source) while the node keeps serving;
// connections stuck in a partial command, or silent since they connected, are closed
// after --client-idle-timeout-ms, idle clients between commands are not; an oversized
// bulk string closes its connection; a peer connection without a handshake is closed
// after --handshake-timeout-ms.
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import t from 'tap';
import { RespClient } from '../lib/client/resp-client.js';
import { TestCluster } from './helpers/cluster.js';
import { waitFor } from './helpers/wait.js';

const MAX_CLIENTS = 20;
const IDLE_MS = 600;

/** Connects and collects what the server sends until it closes (or the bound passes). */
function probe(host: string, port: number, send: string | null, boundMs = 5000): Promise<{ data: string; closedMs: number | null; sock: net.Socket }> {
  return new Promise((resolve) => {
    const started = Date.now();
    const s = net.connect({ host, port });
    let data = '';
    const timer = setTimeout(() => resolve({ data, closedMs: null, sock: s }), boundMs);
    s.on('connect', () => {
      if (send !== null) s.write(send);
    });
    s.on('data', (d) => (data += d.toString()));
    s.on('error', () => undefined);
    s.on('close', () => {
      clearTimeout(timer);
      resolve({ data, closedMs: Date.now() - started, sock: s });
    });
  });
}

function logLines(dir: string, actor: string): Record<string, unknown>[] {
  const file = path.join(dir, 'logs', `${actor}.log`);
  if (!fs.existsSync(file)) return [];
  return fs.readFileSync(file, 'utf8').split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Record<string, unknown>);
}

t.test('client and peer connection limits', async (t) => {
  const c = await TestCluster.create({
    size: 1,
    extraArgs: ['--max-clients', String(MAX_CLIENTS), '--client-idle-timeout-ms', String(IDLE_MS), '--request-bytes-max', '4096', '--handshake-timeout-ms', '400'],
  });
  t.teardown(() => c.stop());
  c.startAll();
  await c.waitForLeader();
  const n = c.node('n1');
  const held: net.Socket[] = [];
  t.teardown(() => held.forEach((s) => s.destroy()));

  await t.test('a connection flood is bounded and the node still serves', async (t) => {
    const served = await RespClient.connect(n.host, n.clientPort);
    t.teardown(() => served.destroy());
    t.equal(await served.command('SET', 'k', 'before'), 'OK');
    // 200 connections at once: MAX_CLIENTS - 1 more fit beside `served`, the rest are refused.
    const flood = await Promise.all(
      Array.from({ length: 200 }, () =>
        new Promise<{ sock: net.Socket; outcome: 'refused' | 'served' | 'no answer' }>((resolve) => {
          const s = net.connect({ host: n.host, port: n.clientPort });
          held.push(s);
          let data = '';
          const timer = setTimeout(() => resolve({ sock: s, outcome: 'no answer' }), 20_000);
          s.on('error', () => undefined);
          // Every connection sends PING: an accepted one gets PONG (and is kept), a refused one the error.
          s.on('data', (d) => {
            data += d.toString();
            const outcome = data.includes('max number of clients reached') ? 'refused' : data.includes('+PONG') ? 'served' : null;
            if (outcome === null) return;
            clearTimeout(timer);
            resolve({ sock: s, outcome });
          });
          s.on('connect', () => s.write('*1\r\n$4\r\nPING\r\n'));
        }),
      ),
    );
    const refused = flood.filter((f) => f.outcome === 'refused').length;
    t.equal(flood.filter((f) => f.outcome === 'no answer').length, 0, 'every connection got an answer');
    t.equal(refused, 200 - (MAX_CLIENTS - 1), `${refused} refused with -ERR max number of clients reached`);
    t.equal(String(await served.command('GET', 'k')), 'before', 'the connected client is still served');
    t.equal(await served.command('SET', 'k', 'during'), 'OK', 'and can still write');
    const lines = logLines(n.dataDir, 'client-gateway').filter((l) => l.event === 'connection refused' && /max clients/.test(String(l.reason)));
    t.equal(lines.length, 1, 'one log line for the whole flood from one source');
    for (const f of flood) f.sock.destroy();
    await waitFor('room again', async () => {
      const r = await probe(n.host, n.clientPort, '*1\r\n$4\r\nPING\r\n', 1000);
      r.sock.destroy();
      return r.data.startsWith('+PONG');
    });
    t.pass('new connections are accepted once the flood is gone');
  });

  await t.test('connections stuck in a partial command or silent are closed; idle clients stay', async (t) => {
    const idle = await RespClient.connect(n.host, n.clientPort);
    t.teardown(() => idle.destroy());
    t.equal(await idle.command('PING'), 'PONG');
    const [partial, silent] = await Promise.all([probe(n.host, n.clientPort, '*2\r\n$3\r\nGET\r\n$5\r\nab', 8000), probe(n.host, n.clientPort, null, 8000)]);
    t.ok(partial.closedMs !== null && partial.closedMs >= IDLE_MS * 0.9, `partial command closed after ${partial.closedMs} ms`);
    t.ok(silent.closedMs !== null && silent.closedMs >= IDLE_MS * 0.9, `silent connection closed after ${silent.closedMs} ms`);
    await new Promise((r) => setTimeout(r, IDLE_MS * 2));
    t.equal(await idle.command('PING'), 'PONG', 'a client idle between commands is kept');
  });

  await t.test('an oversized bulk string closes its connection only', async (t) => {
    const r = await probe(n.host, n.clientPort, `*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5000\r\n${'x'.repeat(5000)}\r\n`);
    t.match(r.data, /^-ERR Protocol error: invalid bulk length/);
    t.not(r.closedMs, null, 'closed');
    t.equal(await c.command('n1', 'GET', 'k'), 'during', 'nothing written');
  });

  await t.test('a peer connection without a handshake is closed after the handshake timeout', async (t) => {
    const r = await probe(n.host, n.peerPort, null, 5000);
    t.ok(r.closedMs !== null && r.closedMs >= 350 && r.closedMs < 5000, `closed after ${r.closedMs} ms`);
    await waitFor('logged', () => logLines(n.dataDir, 'peer-server').some((l) => /handshake not done within 400 ms/.test(String(l.reason))), 3000);
  });
});
