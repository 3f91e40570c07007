// The peer transport end to end: a real peer-server actor and real replicator actors
// on loopback addresses of their own. Batches arrive in order; the replicator
// reconnects by itself when the server comes back; hostile or broken connections are
// closed while the real one keeps being served. Waits poll with a deadline.
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import t from 'tap';
import { spawnActor, type ActorHandle } from '../lib/actor/spawn.js';
import type { Entry, Message } from '../lib/raft/types.js';
import type { RaftdError } from '../lib/util/errors.js';
import { randomBytes } from 'node:crypto';
import { encodeFrame, FrameDecoder, WIRE_VERSION } from '../lib/wire/frame-codec.js';
import { ListenerHandshake } from '../lib/wire/handshake.js';
import { dialPeer } from './helpers/peer-dial.js';
import type {
  Frame,
  PeerAddr,
  PeerMessage,
  PeerServerData,
  PeerServerIn,
  PeerServerOut,
  ReplicatorData,
  ReplicatorIn,
  ReplicatorOut,
  TransportLimits,
} from '../actors/protocol.js';

const CLUSTER = 'test-cluster';
const FRAME_BYTES_MAX = 1 << 20;
const LIMITS: TransportLimits = { frameBytesMax: FRAME_BYTES_MAX, queueMessagesMax: 4096, backoffBaseMs: 10, backoffMaxMs: 200, connectTimeoutMs: 1000 };

// A loopback block of this file's own, so test files running side by side never share an address.
const B = 100 + Math.floor(Math.random() * 150);
const C = 1 + Math.floor(Math.random() * 250);
const host = (d: number) => `127.${B}.${C}.${d}`;

const dataRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'raftd-transport-'));
const stops: (() => Promise<void>)[] = [];
const fatals: RaftdError[] = [];
t.teardown(async () => {
  await Promise.all(stops.splice(0).map((s) => s()));
  fs.rmSync(dataRoot, { recursive: true, force: true });
});

function freePort(h: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, h, () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

async function waitFor<T>(what: string, check: () => T | undefined | false, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = check();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

function base(nodeId: string) {
  return { nodeId, dataDir: path.join(dataRoot, nodeId), logLevel: 'debug' as const, logFileBytesMax: 4 * 1024 * 1024 };
}

interface Server {
  handle: ActorHandle<PeerServerIn>;
  out: PeerServerOut[];
  received: PeerMessage[];
  stop(): Promise<void>;
}

async function startServer(self: PeerAddr, peers: PeerAddr[]): Promise<Server> {
  const out: PeerServerOut[] = [];
  const received: PeerMessage[] = [];
  const handle = spawnActor<PeerServerIn, PeerServerOut>({
    name: `peer-server-${self.id}`,
    file: new URL('../actors/peer-server.js', import.meta.url),
    workerData: { ...base(self.id), clusterId: CLUSTER, self, peers, limits: LIMITS } satisfies PeerServerData,
    onMessage: (m) => {
      if (m.type !== 'received') out.push(m);
      else received.push(...m.messages);
    },
    onFatal: (e) => fatals.push(e),
  });
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await handle.stop({ type: 'stop' }, 3000);
  };
  stops.push(stop);
  await handle.ready;
  return { handle, out, received, stop };
}

interface Replicator {
  handle: ActorHandle<ReplicatorIn>;
  out: ReplicatorOut[];
  send(messages: Message[]): void;
}

async function startReplicator(self: PeerAddr, peer: PeerAddr, limits = LIMITS): Promise<Replicator> {
  const out: ReplicatorOut[] = [];
  const handle = spawnActor<ReplicatorIn, ReplicatorOut>({
    name: `replicator-${self.id}-${peer.id}`,
    file: new URL('../actors/replicator.js', import.meta.url),
    workerData: { ...base(self.id), clusterId: CLUSTER, self, peer, limits } satisfies ReplicatorData,
    onMessage: (m) => out.push(m),
    onFatal: (e) => fatals.push(e),
  });
  stops.push(async () => void (await handle.stop({ type: 'stop' }, 3000)));
  await handle.ready;
  return { handle, out, send: (messages) => handle.post({ type: 'send', messages }) };
}

function append(from: string, to: string, prevLogIndex: number, n: number, bytes = 16): Message {
  const entries: Entry[] = [];
  for (let i = 1; i <= n; i++) entries.push({ index: prevLogIndex + i, term: 2, kind: 'normal', tid: `c:${prevLogIndex + i}`, data: new Uint8Array(bytes).fill(i & 0xff) });
  return { type: 'append', term: 2, from, to, prevLogIndex, prevLogTerm: 2, entries, leaderCommit: prevLogIndex, ctx: 0 };
}

function readIndex(from: string, to: string, ctx: number): Message {
  return { type: 'readIndex', term: 2, from, to, ctx };
}

const count = <T>(xs: T[], pred: (x: T) => boolean) => xs.filter(pred).length;

/** Opens a raw connection from `local`, writes the chunks (then ends, if asked) and resolves once the server closed it. */
function rawClient(target: PeerAddr, local: string, chunks: Buffer[], opts: { end?: boolean; timeoutMs?: number } = {}): Promise<{ localPort: number; closedMs: number }> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const sock = net.connect({ host: target.host, port: target.peerPort, localAddress: local });
    let localPort = 0;
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error(`server did not close the connection within ${opts.timeoutMs ?? 8000} ms`));
    }, opts.timeoutMs ?? 8000);
    sock.on('connect', () => {
      localPort = sock.localPort!;
      for (const c of chunks) sock.write(c);
      if (opts.end) sock.end();
    });
    sock.on('error', () => undefined);
    sock.on('data', () => undefined);
    sock.on('close', () => {
      clearTimeout(timer);
      resolve({ localPort, closedMs: Date.now() - started });
    });
  });
}

function hello(from: string, to: string, over: Partial<Extract<Frame, { t: 'hello' }>> = {}): Buffer {
  return encodeFrame({ t: 'hello', cluster: CLUSTER, from, to, version: WIRE_VERSION, auth: false, nonce: new Uint8Array(32), ...over });
}

/** A connection that finished the handshake as `as`, then writes the chunks; resolves once the server closed it. */
async function authedClient(target: PeerAddr, local: string, as: string, chunks: Buffer[], opts: { end?: boolean } = {}): Promise<{ localPort: number; closedMs: number }> {
  const started = Date.now();
  const r = await dialPeer({ host: target.host, port: target.peerPort, localAddress: local, cluster: CLUSTER, as, to: target.id, secret: null });
  if (!r.ok) throw new Error(`handshake failed: ${r.reason}`);
  const sock = r.socket;
  const localPort = sock.localPort ?? 0;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error('server did not close the connection within 8000 ms'));
    }, 8000);
    sock.on('data', () => undefined);
    sock.on('close', () => {
      clearTimeout(timer);
      resolve({ localPort, closedMs: Date.now() - started });
    });
    for (const c of chunks) sock.write(c);
    if (opts.end) sock.end();
  });
}

function logLines(nodeId: string, actor: string): Record<string, unknown>[] {
  const file = path.join(dataRoot, nodeId, 'logs', `${actor}.log`);
  if (!fs.existsSync(file)) return [];
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

t.test('batches arrive in order, from the dialing node own address', async (t) => {
  const n1: PeerAddr = { id: 'n1', host: host(1), peerPort: await freePort(host(1)) };
  const n2: PeerAddr = { id: 'n2', host: host(2), peerPort: await freePort(host(2)) };
  const server = await startServer(n2, [n1, n2]);
  const rep = await startReplicator(n1, n2);
  await waitFor('connected', () => rep.out.some((m) => m.type === 'connected'));
  const up = await waitFor('peerUp', () => server.out.find((m) => m.type === 'peerUp'));
  t.match(up, { type: 'peerUp', peer: 'n1', remote: new RegExp(`^${host(1).replace(/\./g, '\\.')}:`) }, 'dialed from n1 own address');

  const sent: Message[] = [];
  for (let i = 0; i < 200; i++) {
    const batch = [append('n1', 'n2', i * 3, 3), readIndex('n1', 'n2', i)];
    sent.push(...batch);
    rep.send(batch);
  }
  await waitFor('all messages', () => server.received.length >= sent.length);
  t.equal(server.received.length, sent.length);
  t.same(
    server.received.map((m) => (m.type === 'append' ? `a${m.prevLogIndex}` : `r${(m as { ctx: number }).ctx}`)),
    sent.map((m) => (m.type === 'append' ? `a${m.prevLogIndex}` : `r${(m as { ctx: number }).ctx}`)),
    'in order',
  );
  const first = server.received[0] as Extract<Message, { type: 'append' }>;
  t.ok(first.entries[0]!.data instanceof Uint8Array);
  t.same([...first.entries[2]!.data], new Array(16).fill(3));
  t.same(fatals, []);
});

t.test('hostile and broken connections are closed; the real peer keeps being served', async (t) => {
  const n1: PeerAddr = { id: 'n1', host: host(11), peerPort: await freePort(host(11)) };
  const n2: PeerAddr = { id: 'n2', host: host(12), peerPort: await freePort(host(12)) };
  const n3: PeerAddr = { id: 'n3', host: host(13), peerPort: 1 };
  const server = await startServer(n2, [n1, n2, n3]);
  const rep = await startReplicator(n1, n2);
  rep.send([readIndex('n1', 'n2', 1)]);
  await waitFor('first message', () => server.received.length === 1);

  const stranger = host(14);
  const truncatedBody = (() => {
    const f = encodeFrame({ t: 'msgs', m: [append('n3', 'n2', 0, 2)] });
    const cut = f.subarray(0, f.length - 7);
    cut.writeUInt32BE(cut.length - 4);
    return Buffer.from(cut);
  })();
  const oversized = Buffer.alloc(8);
  oversized.writeUInt32BE(FRAME_BYTES_MAX + 1);
  // [name, chunks, options, the node to finish the handshake as before writing them]
  const cases: [string, Buffer[], { end?: boolean }?, string?][] = [
    ['wrong cluster id', [hello('n3', 'n2', { cluster: 'other-cluster' })]],
    ['unknown node', [hello('n9', 'n2')]],
    ['hello for another node', [hello('n3', 'n1')]],
    ['wrong version', [hello('n3', 'n2', { version: 1 })]],
    ['messages before hello', [encodeFrame({ t: 'msgs', m: [readIndex('n3', 'n2', 1)] })]],
    ['garbage bytes', [Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n')]],
    ['garbage body', [Buffer.from([0, 0, 0, 6, 0xc1, 0xc1, 0xc1, 0xc1, 0xc1, 0xc1])]],
    ['oversized length', [oversized]],
    ['messages before the proof', [hello('n3', 'n2'), encodeFrame({ t: 'msgs', m: [readIndex('n3', 'n2', 1)] })]],
    ['truncated frame body', [truncatedBody], {}, 'n3'],
    ['frame cut by end of stream', [encodeFrame({ t: 'msgs', m: [readIndex('n3', 'n2', 1)] }).subarray(0, 9)], { end: true }, 'n3'],
    ['spoofed sender', [encodeFrame({ t: 'msgs', m: [readIndex('n1', 'n2', 66)] })], {}, 'n3'],
    ['second hello', [hello('n3', 'n2')], {}, 'n3'],
  ];
  const refusedPorts: number[] = [];
  // Refusals are logged once per source address and minute: each case dials from its own.
  const strangerOf = (i: number) => host(100 + i);
  for (const [i, [name, chunks, opts, as]] of cases.entries()) {
    const r = as ? await authedClient(n2, strangerOf(i), as, chunks, opts ?? {}) : await rawClient(n2, strangerOf(i), chunks, opts ?? {});
    refusedPorts.push(r.localPort);
    t.pass(`${name}: closed after ${r.closedMs} ms`);
    // The real peer is still served after each.
    const n = server.received.length;
    rep.send([readIndex('n1', 'n2', 1000 + n)]);
    await waitFor(`message after ${name}`, () => server.received.length === n + 1);
  }
  const silent = await rawClient(n2, stranger, [], { timeoutMs: 8000 });
  // The same source again within the minute: refused, but not logged again.
  await rawClient(n2, stranger, [], { timeoutMs: 8000 });
  t.ok(silent.closedMs >= 2000, `no hello: closed after ${silent.closedMs} ms (handshake timeout)`);
  refusedPorts.push(silent.localPort);

  t.notOk(
    server.received.some((m) => m.from !== 'n1'),
    'nothing from a refused connection reached main',
  );
  // Every case but the stream cut by its sender (no fault of the bytes), plus the silent one.
  const warnsWanted = cases.length - 1 + 1;
  await waitFor('warn lines', () => count(logLines('n2', 'peer-server'), (l) => l.event === 'connection-refused') >= warnsWanted);
  const warns = logLines('n2', 'peer-server').filter((l) => l.event === 'connection-refused');
  refusedPorts.forEach((p, i) => {
    if (cases[i]?.[0] === 'frame cut by end of stream') return;
    const from = i < cases.length ? strangerOf(i) : stranger;
    t.ok(
      warns.some((w) => w.level === 'warn' && w.remote === `${from}:${p}`),
      `warn line names ${from}:${p}`,
    );
  });
  t.equal(count(warns, (w) => String(w.remote).startsWith(`${stranger}:`)), 1, 'a source refused twice within the interval is logged once');
  t.ok(warns.some((w) => String(w.reason).includes('other-cluster')), 'wrong cluster is named');
  t.ok(warns.some((w) => String(w.reason).includes('RAFTD_FRAME_TOO_LARGE')), 'oversized frame is named');
  t.same(fatals, []);
});

t.test('a second connection from the same peer replaces the first', async (t) => {
  const n2: PeerAddr = { id: 'n2', host: host(22), peerPort: await freePort(host(22)) };
  const n3: PeerAddr = { id: 'n3', host: host(23), peerPort: 1 };
  const server = await startServer(n2, [n2, n3]);
  const dial = async () => {
    const r = await dialPeer({ host: n2.host, port: n2.peerPort, localAddress: n3.host, cluster: CLUSTER, as: 'n3', to: 'n2', secret: null });
    if (!r.ok) throw new Error(r.reason);
    return r.socket;
  };
  const first = await dial();
  const firstClosed = new Promise<void>((r) => first.on('close', () => r()));
  first.write(encodeFrame({ t: 'msgs', m: [readIndex('n3', 'n2', 1)] }));
  await waitFor('first message', () => server.received.length === 1);
  const second = await dial();
  second.write(encodeFrame({ t: 'msgs', m: [readIndex('n3', 'n2', 2)] }));
  await waitFor('second message', () => server.received.length === 2);
  await firstClosed;
  t.pass('old connection closed');
  t.equal(count(server.out, (m) => m.type === 'peerUp'), 1, 'one peerUp');
  t.equal(count(server.out, (m) => m.type === 'peerDown'), 0, 'no peerDown while replaced');
  second.destroy();
  await waitFor('peerDown', () => server.out.find((m) => m.type === 'peerDown'));
  t.same(fatals, []);
});

t.test('the replicator reconnects by itself and flushes what it queued meanwhile', async (t) => {
  const n1: PeerAddr = { id: 'n1', host: host(31), peerPort: await freePort(host(31)) };
  const n2: PeerAddr = { id: 'n2', host: host(32), peerPort: await freePort(host(32)) };
  let server = await startServer(n2, [n1]);
  const rep = await startReplicator(n1, n2);
  rep.send([readIndex('n1', 'n2', 1)]);
  await waitFor('first message', () => server.received.length === 1);

  await server.stop();
  await waitFor('disconnected', () => rep.out.find((m) => m.type === 'disconnected'));
  t.equal(count(rep.out, (m) => m.type === 'connected'), 1);
  // Queued while down.
  for (let i = 2; i <= 6; i++) rep.send([readIndex('n1', 'n2', i)]);
  // Let a few reconnect attempts fail (they are not reported).
  await waitFor('failed attempts', () => count(logLines('n1', 'replicator-n2'), (l) => l.event === 'connect-failed') >= 3);
  t.equal(count(rep.out, (m) => m.type === 'disconnected'), 1, 'failed attempts are not reported');

  server = await startServer(n2, [n1]);
  await waitFor('reconnected', () => count(rep.out, (m) => m.type === 'connected') === 2);
  await waitFor('queued messages', () => server.received.length === 5);
  rep.send([readIndex('n1', 'n2', 7)]);
  await waitFor('new message', () => server.received.length === 6);
  t.same(
    server.received.map((m) => (m as { ctx: number }).ctx),
    [2, 3, 4, 5, 6, 7],
  );
  t.same(fatals, []);
});

t.test('while the peer is down the queue is bounded and drops the oldest', async (t) => {
  const n1: PeerAddr = { id: 'n1', host: host(41), peerPort: await freePort(host(41)) };
  const n2: PeerAddr = { id: 'n2', host: host(42), peerPort: await freePort(host(42)) };
  const rep = await startReplicator(n1, n2, { ...LIMITS, queueMessagesMax: 10 });
  for (let i = 1; i <= 25; i++) rep.send([readIndex('n1', 'n2', i)]);
  await waitFor('drops reported', () => rep.out.reduce((s, m) => s + (m.type === 'dropped' ? m.count : 0), 0) === 15);
  const server = await startServer(n2, [n1]);
  await waitFor('queued messages', () => server.received.length === 10);
  t.same(
    server.received.map((m) => (m as { ctx: number }).ctx),
    Array.from({ length: 10 }, (_, i) => 16 + i),
    'the newest 10 survive, in order',
  );
  t.same(fatals, []);
});

t.test('a peer that stops reading is detected and dialed again', async (t) => {
  const n1: PeerAddr = { id: 'n1', host: host(61), peerPort: await freePort(host(61)) };
  const n2: PeerAddr = { id: 'n2', host: host(62), peerPort: await freePort(host(62)) };
  // A stand-in for a hung peer: accepts, runs the handshake, then never reads again.
  const held: net.Socket[] = [];
  const hung = net.createServer((sock) => {
    sock.on('error', () => undefined);
    held.push(sock);
    const hs = new ListenerHandshake({ cluster: CLUSTER, version: WIRE_VERSION, secret: null }, 'n2', new Set(['n1']), randomBytes(32));
    const decoder = new FrameDecoder(1 << 20);
    sock.on('data', (chunk: Buffer) => {
      for (const f of decoder.push(chunk)) {
        if (f.t === 'hello') {
          const v = hs.onHello(f);
          if (v.ok) sock.write(encodeFrame(v.value));
        } else if (f.t === 'proof') {
          sock.removeAllListeners('data');
          sock.pause();
          return;
        }
      }
    });
  });
  await new Promise<void>((r) => hung.listen(n2.peerPort, n2.host, () => r()));
  t.teardown(() => {
    for (const s of held) s.destroy();
    hung.close();
  });
  const rep = await startReplicator(n1, n2);
  await waitFor('connected', () => rep.out.some((m) => m.type === 'connected'));
  // ~40 MB: more than the kernel buffers and the replicator's socket bound take.
  for (let i = 0; i < 50; i++) rep.send([append('n1', 'n2', i * 3, 3, 256 * 1024)]);
  const down = await waitFor('disconnected', () => rep.out.find((m) => m.type === 'disconnected'), 20_000);
  t.match(down, { reason: /write stalled/ });
  await waitFor('dialed again', () => held.length >= 2 && count(rep.out, (m) => m.type === 'connected') === 2);
  t.same(fatals, []);
});
