// Fuzzing the live ports of a real 3-node cluster that has a cluster secret and client
// users. Thousands of random and mutated frames go to every peer port, without the
// secret (garbage, mutated hellos, forged proofs) and with it (an authenticated
// connection, then garbage and mutated Raft messages), and to every client port,
// unauthenticated and as a read-only user (random bytes, mutated commands, writes among
// them). Traffic without the secret, and all client traffic, must leave every node
// running. A connection with the secret is a cluster member, and Raft does not survive
// Byzantine members: a forged AppendEntries from a second "leader" of a term trips the
// core's assertion, and that node stops (fail-stop) rather than go on in a state Raft
// says cannot happen. Such a node is restarted and must rejoin. Afterwards every node
// answers, the cluster has one leader, and the keys are exactly what they were. The seed
// is printed; RAFTD_FUZZ_SEED replays a run.
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { encode } from 'msgpackr';
import t from 'tap';
import { RespClient, RespError, type RespValue } from '../lib/client/resp-client.js';
import { readHosts } from '../lib/config/hosts.js';
import { defaultClusterId } from '../lib/config/options.js';
import { encodeFrame, WIRE_VERSION } from '../lib/wire/frame-codec.js';
import type { PeerMessage } from '../actors/protocol.js';
import { TestCluster, type TestNode } from './helpers/cluster.js';
import { dialPeer } from './helpers/peer-dial.js';
import { waitFor } from './helpers/wait.js';

const SECRET = 'fuzzing cluster secret, long enough';
const ADMIN_PW = 'fuzz-admin';
const SEED = Number(process.env.RAFTD_FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));
/** Connections per node and port kind; frames per connection vary. */
const PEER_CONNS = 300;
const CLIENT_CONNS = 60;
const CONCURRENCY = 6;

let state = SEED || 1;
/** xorshift32: the whole run follows from SEED. */
function rnd(): number {
  state ^= state << 13;
  state ^= state >>> 17;
  state ^= state << 5;
  return (state >>> 0) / 0x1_0000_0000;
}
const int = (n: number) => Math.floor(rnd() * n);
const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)]!;
const bytes = (n: number) => Buffer.from(Array.from({ length: n }, () => int(256)));

/** Flips, inserts, deletes or overwrites a few bytes (the length prefix included, sometimes). */
function mutate(b: Buffer): Buffer {
  const out = [...b];
  for (let k = 1 + int(4); k > 0; k--) {
    const at = int(Math.max(1, out.length));
    switch (int(4)) {
      case 0:
        out[at] = (out[at] ?? 0) ^ (1 << int(8));
        break;
      case 1:
        out.splice(at, 0, int(256));
        break;
      case 2:
        out.splice(at, 1);
        break;
      default:
        out[at] = pick([0x00, 0xff, 0x7f, 0x80, 0xc0, 0xc1, 0xdc, 0xde, 0x0d, 0x0a]);
    }
  }
  return Buffer.from(out);
}

function lengthPrefixed(body: Buffer): Buffer {
  const h = Buffer.alloc(4);
  h.writeUInt32BE(body.length);
  return Buffer.concat([h, body]);
}

/** Writes the chunks, then waits (bounded) for the server to close or go quiet; counts frames sent. */
function blast(host: string, port: number, chunks: Buffer[], socket?: net.Socket): Promise<void> {
  return new Promise((resolve) => {
    const s = socket ?? net.connect({ host, port });
    const timer = setTimeout(() => {
      s.destroy();
      resolve();
    }, 3000);
    s.on('error', () => undefined);
    s.on('data', () => undefined);
    s.on('close', () => {
      clearTimeout(timer);
      resolve();
    });
    const go = () => {
      for (const c of chunks) if (!s.destroyed) s.write(c);
      if (!s.destroyed) s.end();
    };
    if (socket) go();
    else s.on('connect', go);
  });
}

async function pool(n: number, work: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    while (next < n) await work(next++);
  }));
}

/** Raft messages that cannot carry a client write, as templates for mutation. */
function sampleMessages(from: string, to: string): PeerMessage[] {
  return [
    { type: 'vote', term: 5, from, to, pre: true, transfer: false, lastLogIndex: 3, lastLogTerm: 2 },
    { type: 'vote', term: 5, from, to, pre: false, transfer: false, lastLogIndex: 3, lastLogTerm: 2 },
    { type: 'voteResp', term: 5, from, to, pre: false, granted: true },
    { type: 'readIndex', term: 1, from, to, ctx: 7 },
    { type: 'appendResp', term: 1, from, to, success: true, matchIndex: 1, rejectIndex: 0, conflictTerm: 0, conflictIndex: 0, ctx: 0 },
    { type: 'append', term: 1, from, to, prevLogIndex: 1, prevLogTerm: 1, entries: [], leaderCommit: 1, ctx: 0 },
  ];
}

/** A command's answer, retried (bounded) while the cluster says to retry: a leader change is no failure here. */
async function settled(client: RespClient, ...args: string[]): Promise<RespValue> {
  let last: RespValue = null;
  await waitFor(`${args[0]} answered`, async () => {
    last = await client.command(...args);
    return !(last instanceof RespError && /^(TRYAGAIN|TIMEOUT|NOTLEADER|BUSY)/.test(last.reply));
  }, 20_000, 100);
  return last;
}

async function snapshot(client: RespClient): Promise<Record<string, string>> {
  const keys = ((await settled(client, 'KEYS', '*')) as Buffer[]).map(String).sort();
  const out: Record<string, string> = {};
  for (const k of keys) out[k] = String(await settled(client, 'GET', k));
  return out;
}

t.test(`fuzzing live peer and client ports (seed ${SEED})`, async (t) => {
  t.comment(`RAFTD_FUZZ_SEED=${SEED}`);
  const c = await TestCluster.create({ size: 3 });
  t.teardown(() => c.stop());
  const secretFile = path.join(c.dir, 'cluster.secret');
  fs.writeFileSync(secretFile, SECRET, { mode: 0o600 });
  const aclFile = path.join(c.dir, 'users.acl');
  fs.writeFileSync(aclFile, `user default on >${ADMIN_PW} ~* +@all\nuser reader on >readerpw ~* +@read\n`, { mode: 0o600 });
  c.opts.extraArgs = ['--cluster-secret-file', secretFile, '--acl-file', aclFile];
  c.opts.access = { tls: null, auth: { user: null, password: Buffer.from(ADMIN_PW) } };
  c.startAll();
  const leader = await c.waitForLeader(60_000);
  const L = c.node(leader.id);
  const admin = await RespClient.connect(L.host, L.clientPort, { access: c.opts.access });
  t.teardown(() => admin.destroy());
  for (let i = 0; i < 50; i++) t.equal(await settled(admin, 'SET', `key:${i}`, `value ${i}`), 'OK', `key:${i} set`);
  const before = await snapshot(admin);
  t.equal(Object.keys(before).length, 50);
  const cluster = defaultClusterId(readHosts(c.hostsFile));
  let peerFrames = 0;
  let clientFrames = 0;

  const peerFuzz = async (n: TestNode, withSecret: boolean) => {
    const others = c.nodes.filter((o) => o.id !== n.id).map((o) => o.id);
    await pool(PEER_CONNS, async () => {
      const as = pick(others);
      const hello = encodeFrame({ t: 'hello', cluster, from: as, to: n.id, version: WIRE_VERSION, auth: true, nonce: randomBytes(32) });
      const templates = sampleMessages(as, n.id).map((m) => encodeFrame({ t: 'msgs', m: [m] }));
      const frames: Buffer[] = [];
      for (let k = 1 + int(6); k > 0; k--) {
        switch (int(5)) {
          case 0: frames.push(bytes(1 + int(64))); break;
          case 1: frames.push(lengthPrefixed(bytes(int(256)))); break;
          case 2: frames.push(lengthPrefixed(Buffer.from(encode(pick([{ t: 'hello' }, { t: 'proof', mac: bytes(32) }, { t: 'msgs', m: [null] }, [1, 2], 'x']))))); break;
          case 3: frames.push(mutate(withSecret ? pick(templates) : hello)); break;
          default: frames.push(withSecret ? pick(templates) : encodeFrame({ t: 'proof', mac: bytes(32) }));
        }
      }
      peerFrames += frames.length;
      if (!withSecret) {
        // Without the secret: a hello (maybe mutated), then the garbage; the proof can never check.
        await blast(n.host, n.peerPort, [int(2) === 0 ? hello : mutate(hello), ...frames]);
        return;
      }
      const r = await dialPeer({ host: n.host, port: n.peerPort, cluster, as, to: n.id, secret: Buffer.from(SECRET), timeoutMs: 3000 });
      if (r.ok) await blast(n.host, n.peerPort, frames, r.socket);
    });
  };

  const clientFuzz = async (n: TestNode, asReader: boolean) => {
    const commands = [
      ['SET', 'key:1', 'pwned'], ['DEL', 'key:2'], ['FLUSHDB'], ['FLUSHALL'], ['INCR', 'key:3'], ['MSET', 'key:4', 'x', 'key:5', 'y'],
      ['APPEND', 'key:6', 'z'], ['GET', 'key:7'], ['MGET', 'key:8', 'key:9'], ['PING'], ['INFO'], ['ADDENTRY', 't', 'x'], ['REQ', 'r1', 'SET', 'key:1', 'x'],
      ['CONFIG', 'SET', 'x', 'y'], ['HELLO', '3'], ['AUTH', 'wrong'], ['GETSET', 'key:10', 'x'],
    ];
    const resp = (words: string[]) => Buffer.from(`*${words.length}\r\n${words.map((w) => `$${Buffer.byteLength(w)}\r\n${w}\r\n`).join('')}`);
    await pool(CLIENT_CONNS, async () => {
      const frames: Buffer[] = asReader ? [resp(['AUTH', 'reader', 'readerpw'])] : [];
      for (let k = 10 + int(40); k > 0; k--) {
        switch (int(4)) {
          case 0: frames.push(bytes(1 + int(32))); break;
          case 1: frames.push(mutate(resp(pick(commands)))); break;
          default: frames.push(resp(pick(commands)));
        }
      }
      clientFrames += frames.length;
      await blast(n.host, n.clientPort, frames);
    });
  };

  await Promise.all(c.nodes.map((n) => peerFuzz(n, false)));
  const unauthenticatedPeerFrames = peerFrames;
  await Promise.all(c.nodes.map((n) => clientFuzz(n, false)));
  await Promise.all(c.nodes.map((n) => clientFuzz(n, true)));
  for (const n of c.nodes) t.ok(c.isRunning(n.id), `${n.id} still running after the traffic without the secret and the client traffic`);
  await Promise.all(c.nodes.map((n) => peerFuzz(n, true)));
  t.comment(`${unauthenticatedPeerFrames} peer frames without the secret, ${peerFrames - unauthenticatedPeerFrames} with it, ${clientFrames} client frames`);
  t.ok(unauthenticatedPeerFrames >= 2000, `${unauthenticatedPeerFrames} frames to peer ports without the secret`);
  t.ok(peerFrames - unauthenticatedPeerFrames >= 1000, `${peerFrames - unauthenticatedPeerFrames} frames to peer ports with the secret`);
  t.ok(clientFrames >= 3000, `${clientFrames} frames to client ports`);

  for (const n of c.nodes) {
    if (c.isRunning(n.id)) continue;
    // Only the core's own assertion may have stopped it, on a message from an authenticated "member".
    await waitFor(`${n.id} exited`, () => !c.isRunning(n.id), 5000);
    t.match(c.output(n.id), /RAFT_ASSERT|RaftAssertError/, `${n.id} fail-stopped on a forged Raft message (not a crash elsewhere)`);
    c.start(n.id);
  }
  const after = await c.waitForLeader(60_000);
  t.pass(`one leader afterwards: ${after.id} (term ${after.term})`);
  const A = c.node(after.id);
  const check = await RespClient.connect(A.host, A.clientPort, { access: c.opts.access });
  t.teardown(() => check.destroy());
  // A write through the consensus path still commits (the leader may have changed), and then
  // the keys are what they were, plus that one.
  await waitFor('a write commits', async () => (await check.command('SET', 'after', 'fuzz')) === 'OK', 20_000);
  const final = await snapshot(check);
  delete final.after;
  t.same(final, before, 'keys unchanged by the garbage');
  for (const n of c.nodes) {
    await waitFor(`${n.id} applied everything`, async () => Number((await c.info(n.id)).last_applied) >= Number((await c.info(after.id)).commit_index), 20_000);
  }
});
