// Garbage on the peer port and the client port closes that connection and nothing
// else: the node keeps serving and stays in its cluster. Also checks the per-actor logs.
import t from 'tap';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { encode } from 'msgpackr';
import { TestCluster } from './helpers/cluster.js';
import { waitFor } from './helpers/wait.js';

/** Writes bytes, then resolves once the server closed the connection (bounded). */
function sendAndWaitClose(host: string, port: number, bytes: Buffer, timeoutMs = 5000): Promise<{ closed: boolean; data: string }> {
  return new Promise((resolve) => {
    let data = '';
    const s = net.connect({ host, port }, () => s.write(bytes));
    const timer = setTimeout(() => {
      s.destroy();
      resolve({ closed: false, data });
    }, timeoutMs);
    s.on('data', (d) => (data += d.toString('latin1')));
    s.on('error', () => undefined);
    s.on('close', () => {
      clearTimeout(timer);
      resolve({ closed: true, data });
    });
  });
}

function frame(body: unknown): Buffer {
  const b = encode(body);
  const h = Buffer.alloc(4);
  h.writeUInt32BE(b.length);
  return Buffer.concat([h, b]);
}

function readLog(file: string): Record<string, unknown>[] {
  if (!fs.existsSync(file)) return [];
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

t.test('bad peer and client input never takes a node down', async (t) => {
  const c = await TestCluster.create({ size: 3 });
  t.teardown(() => c.stop());
  c.startAll();
  const leader = await c.waitForLeader();
  const victim = c.nodes.find((n) => n.id !== leader.id)!;

  const seed = 12345;
  let x = seed;
  const rnd = () => ((x = (x * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
  const garbage = Buffer.from(Array.from({ length: 4096 }, () => Math.floor(rnd() * 256)));

  const peerCases: [string, Buffer][] = [
    ['random bytes', garbage],
    ['oversized length prefix', Buffer.from([0x7f, 0xff, 0xff, 0xff, 1, 2, 3])],
    ['truncated frame', frame({ t: 'hello', cluster: 'x', from: 'n1', to: victim.id, version: 1 }).subarray(0, 9)],
    ['wrong cluster id', frame({ t: 'hello', cluster: 'someone-else', from: 'n1', to: victim.id, version: 1 })],
    ['unknown node', frame({ t: 'hello', cluster: 'x', from: 'intruder', to: victim.id, version: 1 })],
    ['not a frame object', frame([1, 2, 3])],
  ];
  for (const [name, bytes] of peerCases) {
    const r = await sendAndWaitClose(victim.host, victim.peerPort, bytes);
    // A truncated frame is only known bad once the handshake deadline passes.
    t.ok(r.closed || name === 'truncated frame', `peer port closes on ${name}`);
  }

  const clientCases: [string, Buffer][] = [
    ['bad bulk length', Buffer.from('*1\r\n$abc\r\n')],
    ['bad multibulk', Buffer.from('*x\r\n')],
    ['random bytes', garbage],
  ];
  for (const [name, bytes] of clientCases) {
    const r = await sendAndWaitClose(victim.host, victim.clientPort, bytes);
    t.ok(r.closed, `client port closes on ${name}`);
    t.match(r.data, /-ERR Protocol error/, `client gets a protocol error for ${name}`);
  }

  t.equal(await c.command(victim.id, 'PING'), 'PONG', 'node still answers');
  const idx = await c.command(leader.id, 'ADDENTRY', 'after-garbage', 'ok');
  t.type(idx, 'number', 'cluster still commits');
  await waitFor('victim applied the new entry', async () => Number((await c.info(victim.id)).last_applied) >= (idx as number));
  t.ok(c.isRunning(victim.id), 'victim process alive');

  // Per-actor logs: one JSON object a line with the agreed fields; elections and connections logged.
  const logs = path.join(victim.dataDir, 'logs');
  const names = fs.readdirSync(logs).sort();
  for (const a of ['raft.log', 'log-writer.log', 'peer-server.log', 'client-gateway.log', 'election-timer.log']) t.ok(names.includes(a), `${a} exists`);
  t.ok(names.some((n) => /^replicator-n\d\.log$/.test(n)), 'one log per replicator');
  const raft = readLog(path.join(logs, 'raft.log'));
  for (const rec of raft) for (const k of ['time', 'node', 'actor', 'level', 'term', 'event']) if (!(k in rec)) t.fail(`raft.log record without ${k}: ${JSON.stringify(rec)}`);
  t.ok(raft.length > 0, 'raft.log has records');
  const peerLog = readLog(path.join(logs, 'peer-server.log'));
  t.ok(peerLog.some((r) => r.level === 'warn'), 'refused peer connections are logged');
});
