// The client port end to end on real raftd processes: what test/gateway.test.ts checks
// with the main thread faked, here with the real main thread, replica, log and peers
// behind the gateway. Replies in pipeline order across writes and reads (on the leader
// and on a follower that forwards), BUSY past the per-connection bound, inline
// commands, QUIT, a protocol error that closes the connection, and `nc -N`.
import { spawn } from 'node:child_process';
import t, { type Test } from 'tap';
import { DEFAULTS } from '../lib/config/options.js';
import { RespClient, RespError, type RespValue } from '../lib/client/resp-client.js';
import * as w from '../lib/util/resp-writer.js';
import { TestCluster } from './helpers/cluster.js';
import { waitFor } from './helpers/wait.js';

/** Long enough that a whole pipeline is read before its first request times out, even on a loaded machine. */
const REQUEST_TIMEOUT_MS = 6000;
const BUSY = '-BUSY too many pending requests';

function text(v: RespValue): string {
  if (v instanceof RespError) return `-${v.reply}`;
  if (Buffer.isBuffer(v)) return v.toString('utf8');
  if (v === null) return '(nil)';
  return String(v);
}

function pipeline(cmds: (string | number)[][]): Buffer {
  return Buffer.concat(cmds.map((c) => w.request(c)));
}

async function connect(t: Test, c: TestCluster, id: string): Promise<RespClient> {
  const n = c.node(id);
  // A node just started listens once its actors are up: retry the connect, bounded.
  const client = await waitFor(`${id} to accept connections`, () => RespClient.connect(n.host, n.clientPort, { connectTimeoutMs: 5000 }), 30_000, 50);
  t.teardown(() => client.close().catch(() => undefined));
  return client;
}

/** `printf ... | nc -N host port`: nc shuts down its sending side at the end of input, then reads until the node closes. */
function netcat(host: string, port: number, input: string, timeoutMs = 30_000): Promise<{ out: string; code: number | null }> {
  return new Promise((resolve, reject) => {
    const nc = spawn('nc', ['-N', host, String(port)], { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    const timer = setTimeout(() => {
      nc.kill('SIGKILL');
      reject(new Error(`nc still running after ${timeoutMs} ms; got ${JSON.stringify(Buffer.concat(out).toString())}`));
    }, timeoutMs);
    nc.stdout.on('data', (d: Buffer) => out.push(d));
    nc.stderr.on('data', (d: Buffer) => err.push(d));
    nc.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    nc.on('close', (code) => {
      clearTimeout(timer);
      if (err.length > 0 && out.length === 0) reject(new Error(`nc: ${Buffer.concat(err).toString()}`));
      else resolve({ out: Buffer.concat(out).toString(), code });
    });
    nc.stdin.end(input);
  });
}

t.test('the client port of real nodes', async (t) => {
  const c = await TestCluster.create({ size: 3, extraArgs: ['--request-timeout-ms', String(REQUEST_TIMEOUT_MS)] });
  t.teardown(() => c.stop());

  await t.test(`past pendingPerConnMax (${DEFAULTS.pendingPerConnMax}): BUSY, in order; answered commands free their places`, async (t) => {
    // One node of three: no leader can be elected, so every write stays pending until its deadline.
    c.start('n1');
    const a = await connect(t, c, 'n1');
    t.equal(await a.command('PING'), 'PONG');
    const max = DEFAULTS.pendingPerConnMax;
    const extra = 5;
    const cmds = Array.from({ length: max + extra }, (_, i) => ['SET', `busy${i}`, 'x']);
    const replies = (await a.raw(pipeline([...cmds, ['PING']]), max + extra + 1)).map(text);
    const waited = replies.slice(0, max);
    t.ok(
      waited.every((r) => r.startsWith('-TRYAGAIN')),
      `the first ${max} waited for a leader until their deadline, then TRYAGAIN (${[...new Set(waited)].join(' | ')})`,
    );
    t.same(replies.slice(max, max + extra), Array.from({ length: extra }, () => BUSY), 'the rest: BUSY, after them in pipeline order');
    t.equal(replies[max + extra], 'PONG', 'a command that needs no consensus still answers, in its place');
    // A leader appears: the same connection's next write goes through.
    c.start('n2');
    c.start('n3');
    await c.waitForLeader(60_000);
    t.equal(await a.command('SET', 'after-busy', 'ok'), 'OK', 'answered commands freed their places');
    t.equal(text(await a.command('GET', 'after-busy')), 'ok');
  });

  const { id: leader } = await c.waitForLeader(60_000);
  const follower = c.nodes.map((n) => n.id).find((id) => id !== leader)!;

  await t.test('replies in pipeline order across writes and reads, on the leader and on a forwarding follower', async (t) => {
    const rounds = 60;
    const run = async (id: string, tag: string) => {
      const cl = await connect(t, c, id);
      const cmds: (string | number)[][] = [];
      const want: string[] = [];
      for (let i = 1; i <= rounds; i++) {
        // Each read must see the write just before it on the same connection.
        cmds.push(['INCR', `n-${tag}`], ['GET', `n-${tag}`], ['APPEND', `s-${tag}`, 'x'], ['STRLEN', `s-${tag}`], ['ECHO', `e${i}`]);
        want.push(String(i), String(i), String(i), String(i), `e${i}`);
      }
      cmds.push(['SET', `k-${tag}`, 'v'], ['GET', `k-${tag}`], ['DEL', `k-${tag}`], ['GET', `k-${tag}`], ['EXISTS', `k-${tag}`]);
      want.push('OK', 'v', '1', '(nil)', '0');
      const got = (await cl.raw(pipeline(cmds), cmds.length)).map(text);
      t.same(got, want, `${id} (${id === leader ? 'leader' : 'follower'}, ${tag}): ${cmds.length} replies in command order`);
    };
    // Two connections on the leader and two on a follower at once, each with its own order.
    await Promise.all([run(leader, 'l1'), run(leader, 'l2'), run(follower, 'f1'), run(follower, 'f2')]);
    // ADDENTRY between reads: its reply is the entry's log index, in its place.
    const cl = await connect(t, c, follower);
    const got = await cl.raw(pipeline([['GET', 'n-l1'], ['ADDENTRY', 'gw-node-1', 'data'], ['GET', 'n-f1'], ['ADDENTRY', 'gw-node-1', 'data']]), 4);
    t.equal(text(got[0]!), String(rounds));
    t.type(got[1], 'number', 'ADDENTRY answers its log index');
    t.equal(text(got[2]!), String(rounds));
    t.equal(got[3], got[1], 'the same tid again: the same index');
  });

  await t.test('inline commands, as typed into nc', async (t) => {
    for (const id of [leader, follower]) {
      const cl = await connect(t, c, id);
      const got = (await cl.raw(`SET inline-${id} "hello world"\r\nGET inline-${id}\r\nPING\r\n`, 3)).map(text);
      t.same(got, ['OK', 'hello world', 'PONG'], `on ${id}`);
    }
  });

  await t.test('QUIT answers OK and closes; what follows it is not run', async (t) => {
    const cl = await connect(t, c, follower);
    t.same((await cl.raw(pipeline([['SET', 'quit', 'before'], ['QUIT'], ['SET', 'quit', 'after']]), 2)).map(text), ['OK', 'OK']);
    await cl.closed;
    const probe = await connect(t, c, leader);
    t.equal(text(await probe.command('GET', 'quit')), 'before', 'the command after QUIT was dropped');
  });

  await t.test('a protocol error is answered, closes the connection, and the node keeps serving', async (t) => {
    for (const id of [leader, follower]) {
      const cl = await connect(t, c, id);
      const [ok, err] = (await cl.raw(`SET proto-${id} 1\r\n*1\r\n$x\r\n`, 2)).map(text);
      t.equal(ok, 'OK', 'the write before the bad frame is answered');
      t.equal(err, '-ERR Protocol error: invalid bulk length');
      await cl.closed;
      // Junk of every kind: each connection answers or closes; the process survives.
      let seed = 11;
      const rnd = () => (seed = (seed * 1103515245 + 12345) >>> 0) / 4294967296;
      for (let i = 0; i < 10; i++) {
        const junk = await connect(t, c, id);
        void junk.raw(Buffer.from(Array.from({ length: 1 + Math.floor(rnd() * 300) }, () => Math.floor(rnd() * 256))), 1).catch(() => undefined);
        await junk.close();
      }
      const probe = await connect(t, c, id);
      t.equal(text(await probe.command('GET', `proto-${id}`)), '1', `${id} keeps serving`);
      t.ok(c.isRunning(id), `${id} is still running`);
    }
  });

  await t.test('nc -N: a client that shuts down its sending side gets every reply, then the close', async (t) => {
    for (const id of [leader, follower]) {
      const n = c.node(id);
      // A forwarded write and a ReadIndex read behind it, then a partial frame the node drops.
      const r = await netcat(n.host, n.clientPort, `SET nc-${id} 1\r\nINCR nc-${id}\r\nGET nc-${id}\r\n*1\r\n$4\r\nPI`);
      t.equal(r.out, '+OK\r\n:2\r\n$1\r\n2\r\n', `on ${id}: every reply, in order; the partial frame dropped`);
      t.equal(r.code, 0, 'nc saw the node close the connection');
    }
  });
});
