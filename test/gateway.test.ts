// The client gateway actor on a real worker thread and a real port; the test plays
// main: it posts status and replies, and reads the request batches.
import { execFile } from 'node:child_process';
import { decodeCommand } from '../lib/kv/command-codec.js';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import t, { type Test } from 'tap';
import type { GatewayData, GatewayIn, GatewayOut, NodeStatus } from '../actors/protocol.js';
import { spawnActor, type ActorHandle } from '../lib/actor/spawn.js';
import { RespClient, RespError, type RespValue } from '../lib/client/resp-client.js';
import * as w from '../lib/util/resp-writer.js';
import { freePort } from './helpers/ports.js';
import { waitFor } from './helpers/wait.js';

const HOST = '127.0.0.1';

type ProposeItem = Extract<Extract<GatewayOut, { type: 'requests' }>['items'][number], { kind: 'write' }>;

interface Gw {
  port: number;
  dir: string;
  actor: ActorHandle<GatewayIn>;
  proposes: ProposeItem[][];
  fatals: Error[];
  status(s: Partial<NodeStatus>): void;
  connect(): Promise<RespClient>;
  /** Waits until at least n ADDENTRY items reached "main"; returns all of them. */
  proposed(n: number): Promise<ProposeItem[]>;
  reply(items: ProposeItem[], indexOf?: (it: ProposeItem) => number): void;
}

function statusOf(s: Partial<NodeStatus>): NodeStatus {
  return {
    id: 'n1',
    role: 'follower',
    term: 1,
    leader: null,
    leaderClient: null,
    commitIndex: 0,
    appliedIndex: 0,
    lastIndex: 0,
    msgsSent: 0,
    keys: 0,
    peers: [],
    ...s,
  };
}

const LEADER: Partial<NodeStatus> = {
  role: 'leader',
  term: 3,
  leader: 'n1',
  leaderClient: '127.0.0.1:6101',
  commitIndex: 10,
  appliedIndex: 9,
  lastIndex: 12,
  peers: [
    { id: 'n2', match: 12, lag: 0, connected: true },
    { id: 'n3', match: 7, lag: 5, connected: false },
  ],
};

async function startGateway(t: Test, over: Partial<GatewayData> = {}): Promise<Gw> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'raftd-gw-'));
  const port = over.clientPort ?? (await freePort(HOST));
  const proposes: ProposeItem[][] = [];
  const fatals: Error[] = [];
  const data: GatewayData = {
    nodeId: 'n1',
    dataDir: dir,
    logLevel: 'debug',
    logFileBytesMax: 4 * 1024 * 1024,
    host: HOST,
    clientPort: port,
    pendingPerConnMax: 64,
    pendingNodeMax: 1024,
    requestBytesMax: 64 * 1024,
    requestTimeoutMs: 10_000,
    ...over,
  };
  const actor = spawnActor<GatewayIn, GatewayOut>({
    name: 'client-gateway',
    file: new URL('../actors/client-gateway.js', import.meta.url),
    workerData: data,
    onMessage: (m) => {
      if (m.type === 'requests') proposes.push(m.items.filter((i): i is ProposeItem => i.kind === 'write'));
    },
    onFatal: (e) => fatals.push(e),
  });
  const clients: RespClient[] = [];
  t.teardown(async () => {
    for (const c of clients) await c.close().catch(() => undefined);
    actor.post({ type: 'stop' });
    await actor.terminate();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  await actor.ready;
  return {
    port,
    dir,
    actor,
    proposes,
    fatals,
    status: (s) => actor.post({ type: 'status', status: statusOf(s) }),
    async connect() {
      const c = await RespClient.connect(HOST, port);
      clients.push(c);
      return c;
    },
    proposed: (n) =>
      waitFor(`${n} proposed items`, () => {
        const all = proposes.flat();
        return all.length >= n ? all : undefined;
      }),
    reply: (items, indexOf = (it) => 100 + it.reqId) =>
      actor.post({ type: 'replies', replies: items.map((it) => ({ reqId: it.reqId, reply: { ok: true, reply: w.integer(indexOf(it)) } })) }),
  };
}

/** Bounded wait until the gateway reports this role (status arrives on another path than the socket). */
async function waitRole(c: RespClient, role: string): Promise<void> {
  await waitFor(`role ${role}`, async () => {
    const info = (await c.command('INFO', 'raft')) as Buffer;
    return info.toString().includes(`\r\nrole:${role}\r\n`);
  });
}

function text(v: RespValue): string {
  if (v instanceof RespError) return `-${v.reply}`;
  if (Buffer.isBuffer(v)) return v.toString('utf8');
  return String(v);
}

function pipeline(...cmds: (string | number)[][]): Buffer {
  return Buffer.concat(cmds.map((c) => w.request(c)));
}

t.test('one gateway: commands that need no consensus, errors, redis-cli', async (t) => {
  const gw = await startGateway(t);

  t.test('PING, ECHO, ISLEADER, INFO, COMMAND, HELLO, CLIENT, SELECT', async (t) => {
    const c = await gw.connect();
    t.equal(await c.command('PING'), 'PONG');
    t.equal(text(await c.command('ping', 'hi there')), 'hi there');
    t.same(await c.command('ECHO', Buffer.from([0, 13, 10, 255])), Buffer.from([0, 13, 10, 255]), 'binary safe');
    t.equal(await c.command('ISLEADER'), 0, 'no status yet');
    gw.status(LEADER);
    await waitRole(c, 'leader');
    t.equal(await c.command('ISLEADER'), 1);

    const info = text(await c.command('INFO'));
    t.match(info, /^# Server\r\nraftd_version:0\.1\.0\r\n/);
    t.match(info, `\r\ntcp_port:${gw.port}\r\n`);
    t.match(info, `\r\nprocess_id:${process.pid}\r\n`);
    t.match(info, /\r\nuptime_in_seconds:\d+\r\n/);
    t.match(
      info,
      '\r\n\r\n# Raft\r\nnode_id:n1\r\nrole:leader\r\nterm:3\r\nleader_id:n1\r\nleader_client_addr:127.0.0.1:6101\r\n' +
        'commit_index:10\r\nlast_applied:9\r\nlast_log_index:12\r\npeer_msgs_sent:0\r\ndb_keys:0\r\n' +
        'snapshot_index:0\r\nsnapshot_term:0\r\nsnapshot_last_bytes:0\r\nsnapshots_sending:0\r\nfirst_log_index:1\r\n' +
        'peer_n2:match=12,lag=0,connected=1\r\npeer_n3:match=7,lag=5,connected=0\r\n',
    );
    t.ok(info.endsWith('\r\n'));
    const server = text(await c.command('info', 'SERVER'));
    t.match(server, /^# Server\r\n/);
    t.notMatch(server, '# Raft');
    t.equal(text(await c.command('INFO', 'nosuchsection')), '', 'unknown section: empty, like Redis');

    t.same(await c.command('COMMAND'), []);
    t.same(await c.command('COMMAND', 'DOCS'), []);
    t.equal(text(await c.command('COMMAND', 'FOO')), "-ERR unknown subcommand 'FOO'. Try COMMAND HELP.");

    const hello = (await c.command('HELLO', '2')) as RespValue[];
    t.same(hello.map(text), ['server', 'raftd', 'version', '0.1.0', 'proto', '2', 'id', hello[7]!.toString(), 'mode', 'cluster', 'role', 'master', 'modules', '']);
    t.same(hello[13], []);
    t.same(((await c.command('HELLO')) as RespValue[]).length, 14);
    t.equal(text(await c.command('HELLO', '3')), '-NOPROTO unsupported protocol version');
    t.equal(text(await c.command('HELLO', 'x')), '-ERR Protocol version is not an integer or out of range');
    t.equal(await c.command('HELLO', '2', 'SETNAME', 'me').then((r) => (r as RespValue[]).length), 14);
    t.equal(text(await c.command('CLIENT', 'GETNAME')), 'me');
    t.equal(await c.command('CLIENT', 'SETNAME', 'tool'), 'OK');
    t.equal(await c.command('CLIENT', 'SETINFO', 'LIB-NAME', 'x'), 'OK');
    t.equal(text(await c.command('CLIENT', 'SETNAME', 'a b')), '-ERR Client names cannot contain spaces, newlines or special characters.');
    t.equal(await c.command('SELECT', '0'), 'OK');
    t.equal(text(await c.command('SELECT', '1')), '-ERR DB index is out of range');

    // An inline command, as typed into nc.
    t.same((await c.raw('ECHO "a b" \r\nPING\r\n', 2)).map(text), ['a b', 'PONG']);

    gw.status({ role: 'follower', leader: 'n2', leaderClient: '127.0.0.1:6102' });
    await waitRole(c, 'follower');
    t.equal(await c.command('ISLEADER'), 0);
    t.equal(((await c.command('HELLO')) as RespValue[]).map(text)[11], 'replica');
    t.notMatch(text(await c.command('INFO')), 'peer_n2', 'peers only on the leader');
    t.same(gw.fatals, []);
  });

  t.test('ADDENTRY on a follower goes to main, which forwards it to the leader', async (t) => {
    const c = await gw.connect();
    gw.status({ role: 'follower', term: 4, leader: 'n2', leaderClient: '127.0.0.1:6102' });
    await waitRole(c, 'follower');
    const before = gw.proposes.flat().length;
    const r = c.command('ADDENTRY', 't1', 'x');
    const [item] = (await gw.proposed(before + 1)).slice(before);
    gw.reply([item!], () => 7);
    t.equal(await r, 7);
    t.equal(await c.command('PING'), 'PONG');
  });

  t.test('redis-cli talks to the gateway', async (t) => {
    const which = await run('which', ['redis-cli']).catch(() => null);
    if (!which) {
      t.plan(0, 'redis-cli not installed (apt-get install redis-tools to run this)');
      return;
    }
    const c = await gw.connect();
    gw.status(LEADER);
    await waitRole(c, 'leader');
    const cli = (...args: string[]) => run('redis-cli', ['-h', HOST, '-p', String(gw.port), ...args]);
    t.equal(await cli('PING'), 'PONG\n');
    t.equal(await cli('ISLEADER'), '1\n');
    t.match(await cli('INFO', 'raft'), 'role:leader');
    t.equal(await cli('ECHO', 'hello world'), 'hello world\n');
  });

  t.test('unknown command and wrong arity keep the connection usable', async (t) => {
    const c = await gw.connect();
    t.equal(text(await c.command('foo', 'a', 'b')), "-ERR unknown command 'foo', with args beginning with: 'a' 'b' ");
    t.equal(text(await c.command('NOPE')), "-ERR unknown command 'NOPE', with args beginning with: ");
    t.equal(text(await c.command('ADDENTRY', 'only-tid')), "-ERR wrong number of arguments for 'addentry' command");
    t.equal(text(await c.command('ECHO')), "-ERR wrong number of arguments for 'echo' command");
    t.equal(text(await c.command('PING', 'a', 'b')), "-ERR wrong number of arguments for 'ping' command");
    t.equal(await c.command('PING'), 'PONG');
  });

  t.test('a malformed frame gets a protocol error and the connection is closed', async (t) => {
    const probe = await gw.connect();
    const clients = async () => Number(/connected_clients:(\d+)/.exec(text(await probe.command('INFO', 'clients')))![1]);
    const before = await clients();
    const c = await gw.connect();
    const [ping, err] = await c.raw('PING\r\n*1\r\n$x\r\n', 2);
    t.equal(ping, 'PONG', 'commands before the bad frame are answered');
    t.equal(text(err!), '-ERR Protocol error: invalid bulk length');
    await c.closed;
    const c2 = await gw.connect();
    t.equal(text((await c2.raw('ECHO "abc\r\n', 1))[0]!), '-ERR Protocol error: unbalanced quotes in request');
    await c2.closed;
    const c3 = await gw.connect();
    t.equal(text((await c3.raw('*1\r\nPING\r\n', 1))[0]!), "-ERR Protocol error: expected '$', got 'P'");
    await c3.closed;
    const c4 = await gw.connect();
    t.equal(text((await c4.raw('P'.repeat(70 * 1024), 1))[0]!), '-ERR Protocol error: too big inline request');
    await c4.closed;
    // The client keeps writing after the error: the gateway drops that input and still closes.
    const c5 = await gw.connect();
    const flood = c5.raw('*1\r\n$x\r\n' + 'PING\r\n'.repeat(50_000), 1);
    t.equal(text((await flood)[0]!), '-ERR Protocol error: invalid bulk length');
    await c5.closed;
    await waitFor('the gateway to close its side', async () => (await clients()) === before);
    t.equal(await probe.command('PING'), 'PONG', 'the node keeps serving');
  });

  t.test('QUIT answers OK and closes', async (t) => {
    const c = await gw.connect();
    t.same(await c.raw(pipeline(['PING'], ['QUIT']), 2), ['PONG', 'OK']);
    await c.closed;
  });

  t.test('random bytes never take the node down', async (t) => {
    let seed = 7;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 4294967296);
    for (let i = 0; i < 20; i++) {
      const c = await gw.connect();
      const junk = Buffer.from(Array.from({ length: 1 + Math.floor(rnd() * 300) }, () => Math.floor(rnd() * 256)));
      // Whatever it answers, the connection either replies or closes; the node survives.
      void c.raw(junk, 1).catch(() => undefined);
      await c.close();
    }
    const c = await gw.connect();
    t.equal(await c.command('PING'), 'PONG');
    t.same(gw.fatals, []);
    const log = fs.readFileSync(path.join(gw.dir, 'logs', 'client-gateway.log'), 'utf8');
    t.match(log, '"event":"listening"');
    t.match(log, '"event":"connection opened"');
  });
});

t.test('ADDENTRY on the leader: one propose batch across connections, replies in order', async (t) => {
  const gw = await startGateway(t);
  const a = await gw.connect();
  const b = await gw.connect();
  const busy = await gw.connect();
  gw.status(LEADER);
  await waitRole(a, 'leader');

  // Both connections write while the gateway is busy with a third one, so their data
  // is read in the same event-loop turn. Retried a few times: the OS decides the timing.
  let both: ProposeItem[] | undefined;
  let round = 0;
  const answered: Promise<RespValue[]>[] = [];
  for (; round < 5 && !both; round++) {
    const before = gw.proposes.length;
    const flood = busy.raw('PING\r\n'.repeat(20_000), 20_000);
    answered.push(a.raw(pipeline(['ADDENTRY', `a${round}-1`, 'x'], ['PING'], ['ADDENTRY', `a${round}-2`, 'yy']), 3));
    answered.push(b.raw(pipeline(['ADDENTRY', `b${round}-1`, 'zzz']), 1));
    await flood;
    const items = await gw.proposed((round + 1) * 3);
    t.equal(items.length, (round + 1) * 3);
    both = gw.proposes.slice(before).find((batch) => batch.some((i) => i.tid.startsWith('a')) && batch.some((i) => i.tid.startsWith('b')));
  }
  t.ok(both, `one propose message carried ADDENTRYs of both connections (round ${round})`);
  const all = gw.proposes.flat();
  t.same(new Set(all.map((i) => i.reqId)).size, all.length, 'reqIds are unique');
  const first = all.find((i) => i.tid === 'a0-1')!;
  t.same(decodeCommand(first.data), [Buffer.from('addentry'), Buffer.from('x')], 'data arrives as an encoded command');

  // Nothing is answered before main replies, not even the PING queued behind an ADDENTRY.
  let early = false;
  void answered[0]!.then(() => (early = true));
  t.equal(await busy.command('PING'), 'PONG');
  t.equal(early, false, 'the PING waits behind the pending ADDENTRY');

  // Answer in reverse order: each connection still gets its replies in command order.
  gw.reply([...all].reverse());
  const replies = (await Promise.all(answered)).map((r) => r.map(text));
  for (let r = 0; r < round; r++) {
    const idx = (tid: string) => String(100 + all.find((i) => i.tid === tid)!.reqId);
    t.same(replies[2 * r], [idx(`a${r}-1`), 'PONG', idx(`a${r}-2`)]);
    t.same(replies[2 * r + 1], [idx(`b${r}-1`)]);
  }

  // A refusal from main comes back as its code and message.
  const refused = a.command('ADDENTRY', 't', 'd');
  const [it] = (await gw.proposed(all.length + 1)).slice(all.length);
  gw.actor.post({ type: 'replies', replies: [{ reqId: it!.reqId, reply: { ok: false, code: 'TRYAGAIN', message: 'leader is n2 at 127.0.0.1:6102' } }] });
  t.equal(text(await refused), '-TRYAGAIN leader is n2 at 127.0.0.1:6102');
  t.same(gw.fatals, []);
});

t.test('a client that shuts down its sending side still gets every reply, then the close', async (t) => {
  const gw = await startGateway(t);
  gw.status(LEADER);
  const c = await gw.connect();
  await waitRole(c, 'leader');
  // What `printf 'ADDENTRY t x\r\nPING\r\n' | nc -N host port` does.
  const sock = net.connect(gw.port, HOST);
  t.teardown(() => sock.destroy());
  const chunks: Buffer[] = [];
  sock.on('data', (d: Buffer) => chunks.push(d));
  const closed = new Promise<void>((resolve) => sock.on('close', () => resolve()));
  sock.end('ADDENTRY t x\r\nPING\r\n*1\r\n$4\r\nPI');
  const [item] = await gw.proposed(1);
  gw.reply([item!], () => 5);
  await closed;
  t.equal(Buffer.concat(chunks).toString(), ':5\r\n+PONG\r\n', 'the trailing partial frame is dropped');
});

// Deadlines and waiting for a leader are the replica's (test/replica-requests.test.ts).

t.test('past pendingPerConnMax and pendingNodeMax: BUSY, in order', async (t) => {
  const gw = await startGateway(t, { pendingPerConnMax: 4, pendingNodeMax: 6 });
  const a = await gw.connect();
  const b = await gw.connect();
  gw.status(LEADER);
  await waitRole(a, 'leader');
  const cmds = Array.from({ length: 10 }, (_, i) => ['ADDENTRY', `a${i}`, 'x']);
  const aReplies = a.raw(pipeline(...cmds), 10);
  const first = await gw.proposed(4);
  t.equal(first.length, 4, 'only pendingPerConnMax reach main');
  const bReplies = b.raw(pipeline(['ADDENTRY', 'b0', 'x'], ['ADDENTRY', 'b1', 'x'], ['ADDENTRY', 'b2', 'x']), 3);
  const all = await gw.proposed(6);
  t.same(all.map((i) => i.tid), ['a0', 'a1', 'a2', 'a3', 'b0', 'b1']);
  gw.reply(all, (it) => (it.tid.startsWith('a') ? 1 + Number(it.tid.slice(1)) : 50 + Number(it.tid.slice(1))));
  const busy = '-BUSY too many pending requests';
  t.same((await aReplies).map(text), ['1', '2', '3', '4', busy, busy, busy, busy, busy, busy]);
  t.same((await bReplies).map(text), ['50', '51', busy]);
  const again = a.command('ADDENTRY', 'again', 'x');
  const [next] = (await gw.proposed(7)).slice(6);
  t.equal(next!.tid, 'again', 'answered commands free their places');
  gw.reply([next!], () => 9);
  t.equal(await again, 9);
});

t.test('a long pipeline behind a pending command is answered in full (reading pauses and resumes)', async (t) => {
  const gw = await startGateway(t, { pendingPerConnMax: 4 });
  const c = await gw.connect();
  gw.status(LEADER);
  await waitRole(c, 'leader');
  const n = 5000;
  const replies = c.raw(Buffer.concat([w.request(['ADDENTRY', 't', 'x']), Buffer.from('PING\r\n'.repeat(n))]), n + 1);
  const [item] = await gw.proposed(1);
  gw.reply([item!], () => 7);
  const got = await replies;
  t.equal(got[0], 7);
  t.equal(got.filter((r) => r === 'PONG').length, n);
});

t.test('a port in use is a fatal startup error with a clear message', async (t) => {
  const gw = await startGateway(t);
  await t.rejects(startGateway(t, { clientPort: gw.port }), { message: /cannot listen on 127\.0\.0\.1:\d+.*EADDRINUSE/ });
});

function run(cmd: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { timeout: 10_000 }, (err, stdout) => (err ? reject(err) : resolve(stdout)));
  });
}
