// Membership changes through the replica, as a client's CLUSTER command reaches it
// (the gateway's command table, then GatewayRequest): on the deterministic simulated
// cluster (test/sim/replica-cluster.ts), with the daemon's own replica code.

import t from 'tap';
import type { ClientReply, GatewayRequest } from '../lib/replica/messages.js';
import { applyChange, encodeChange } from '../lib/replica/membership.js';
import type { Member } from '../lib/replica/membership-types.js';
import { Replica } from '../lib/replica/replica.js';
import { ReplyParser, type RespValue } from '../lib/resp/reply-parser.js';
import { adminRequest, COMMANDS, dispatch, type CommandEnv } from '../lib/resp/commands.js';
import { defaultReplicaSimOptions, ReplicaCluster } from './sim/replica-cluster.js';

const env: CommandEnv = { status: null, client: { id: 0, name: null }, facts: () => { throw new Error('no INFO here'); } };

/** A cluster of n1..n3 with spares n4 and n5 (n5: the ghost, never started), and a client that waits for its replies. */
class Harness {
  readonly c: ReplicaCluster;
  private readonly replies = new Map<number, ClientReply>();
  private nextReqId = 0;

  constructor(seed = 7) {
    this.c = new ReplicaCluster(defaultReplicaSimOptions(seed, { nodes: 3, spares: 2, ghost: true }));
    this.c.listener = { onReply: (_node, reqId, reply) => void this.replies.set(reqId, reply), onCrash: () => {} };
    if (!this.c.runUntil(() => this.c.leader() !== null && this.c.converged(), 500)) throw new Error('no leader');
  }

  /** Sends a command (words) to `node` through the command table and waits for its reply. */
  run(node: string, words: string[], maxTicks = 2000): ClientReply {
    const out = dispatch(COMMANDS, env, words.map((w) => Buffer.from(w)));
    if (out.kind === 'reply') return { ok: true, reply: out.reply };
    const reqId = ++this.nextReqId;
    let req: GatewayRequest;
    if (out.kind === 'admin') req = adminRequest(reqId, out);
    else if (out.kind === 'write') req = { reqId, kind: 'write', tid: out.tid, data: out.data };
    else if (out.kind === 'read') req = { reqId, kind: 'read', args: out.args };
    else throw new Error(`unexpected ${out.kind}`);
    this.c.request(node, [req]);
    if (!this.c.runUntil(() => this.replies.has(reqId), maxTicks)) throw new Error(`no reply to ${words.join(' ')} within ${maxTicks} ticks`);
    return this.replies.get(reqId)!;
  }

  text(node: string, words: string[], maxTicks = 2000): string {
    const r = this.run(node, words, maxTicks);
    return r.ok ? Buffer.from(r.reply).toString() : `-${r.code} ${r.message}`;
  }

  leader(): string {
    const l = this.c.leader();
    if (l === null) throw new Error('no leader');
    return l;
  }

  follower(): string {
    const l = this.leader();
    return ['n1', 'n2', 'n3'].find((id) => id !== l && this.c.node(id).replica !== null)!;
  }

  voters(node: string): string[] {
    return this.c.node(node).replica!.membership().members.filter((m) => m.voter).map((m) => m.id);
  }
}

function parse(bytes: Uint8Array): RespValue {
  const p = new ReplyParser();
  p.feed(Buffer.from(bytes));
  return p.next()!;
}

const addr = (id: string): string[] => {
  const a = ReplicaCluster.address(id);
  return [a.host, String(a.peerPort), String(a.clientPort)];
};

t.test('CLUSTER MEMBERS answers from any node; ADD through a follower adds a learner, promoted once caught up', async (t) => {
  const h = new Harness();
  const f = h.follower();
  const members = h.run(f, ['CLUSTER', 'MEMBERS']);
  t.ok(members.ok);
  const rows = parse((members as { reply: Uint8Array }).reply) as RespValue[][];
  t.same(rows.map((r) => [String(r[0]), String(r[4])]), [['n1', 'voter'], ['n2', 'voter'], ['n3', 'voter']], 'id and role of each member');
  t.same(rows.map((r) => r[6]), ['n1', 'n2', 'n3'].map((id) => (id === h.leader() ? 1 : 0)), 'the leader flagged');
  h.c.joinNode('n4');
  t.equal(h.text(f, ['CLUSTER', 'ADD', 'n4', ...addr('n4')]), '+OK\r\n', 'forwarded to the leader, acknowledged once committed');
  const l = h.leader();
  t.ok(h.c.node(l).replica!.membership().members.some((m) => m.id === 'n4'), 'n4 is a member');
  t.ok(h.c.runUntil(() => h.voters(l).includes('n4'), 500), 'promoted to voter once caught up');
  t.ok(h.c.runUntil(() => h.c.converged(), 500));
  t.same(h.voters('n4'), ['n1', 'n2', 'n3', 'n4'], 'n4 knows it votes');
  t.equal(h.text('n4', ['SET', 'k', 'v']), '+OK\r\n', 'the new member serves writes');
  t.equal(h.text('n4', ['GET', 'k']), '$1\r\nv\r\n', 'and reads');
});

t.test('ADD ... LEARNER stays a learner until PROMOTE; REMOVE of the leader hands over', async (t) => {
  const h = new Harness(11);
  h.c.joinNode('n4');
  t.equal(h.text(h.leader(), ['CLUSTER', 'ADD', 'n4', ...addr('n4'), 'LEARNER']), '+OK\r\n');
  h.c.runUntil(() => false, 200);
  t.notOk(h.voters(h.leader()).includes('n4'), 'still a learner after it caught up');
  t.equal(h.text(h.follower(), ['CLUSTER', 'PROMOTE', 'n4']), '+OK\r\n', 'promoted on request');
  t.ok(h.voters(h.leader()).includes('n4'));
  const old = h.leader();
  t.equal(h.text(old, ['CLUSTER', 'REMOVE', old]), '+OK\r\n', 'the leader removes itself');
  t.ok(h.c.runUntil(() => h.c.leader() !== null && h.c.leader() !== old, 200), 'another voter leads');
  t.notOk(h.voters(h.leader()).includes(old));
  const term = h.c.node(old).replica!.coreStatus().term;
  h.c.runUntil(() => false, 300);
  t.equal(h.c.node(old).replica!.coreStatus().role, 'follower', 'the removed node never campaigns');
  t.equal(h.c.node(old).replica!.coreStatus().term, term);
  t.equal(h.text(h.leader(), ['SET', 'a', '1']), '+OK\r\n', 'the cluster serves');
});

t.test('bad changes get clear errors and change nothing', async (t) => {
  const h = new Harness(5);
  const l = h.leader();
  const f = h.follower();
  const before = JSON.stringify(h.c.node(l).replica!.membership());
  t.match(h.text(f, ['CLUSTER', 'ADD', 'n2', ...addr('n9')]), /^-ERR member n2 already exists/);
  t.match(h.text(l, ['CLUSTER', 'ADD', 'n9', ...addr('n2')]), /^-ERR address 10\.0\.0\.2 port 7102 is already used by member n2/);
  t.match(h.text(l, ['CLUSTER', 'PROMOTE', 'n1']), /^-ERR member n1 is a voter already/);
  t.match(h.text(f, ['CLUSTER', 'PROMOTE', 'n9']), /^-ERR no member n9/);
  t.match(h.text(l, ['CLUSTER', 'REMOVE', 'n9']), /^-ERR no member n9/);
  t.match(h.text(l, ['CLUSTER', 'ADD', 'n9', '10.0.0.9', '0', '6109']), /^-ERR invalid port/);
  t.match(h.text(l, ['CLUSTER', 'ADD', 'n9', '10.0.0.9', '7109']), /^-ERR wrong number of arguments/);
  t.match(h.text(l, ['CLUSTER', 'ADD', 'n9', ...addr('n9'), 'VOTER']), /^-ERR syntax error/);
  t.match(h.text(l, ['CLUSTER', 'JOIN']), /^-ERR unknown subcommand 'join'/);
  // A client cannot pass a write off as a membership change: NUL-led request ids are the replica's.
  t.match(h.text(l, ['REQ', '\u0000member:x', 'SET', 'k', 'v']), /^-ERR request id must not start with a NUL byte/);
  t.match(h.text(l, ['ADDENTRY', '\u0000member:x', 'd']), /^-ERR tid must not start with a NUL byte/);
  const raw = new Map<number, ClientReply>();
  const saved = h.c.listener;
  h.c.listener = { onReply: (_n, id, r) => void raw.set(id, r), onCrash: () => {} };
  h.c.request(l, [{ reqId: 9001, kind: 'write', tid: '\u0000member:n9', data: encodeChange({ op: 'remove', id: 'n3' }) }]);
  h.c.runUntil(() => raw.has(9001), 100);
  const r = raw.get(9001);
  t.ok(r !== undefined && !r.ok && /NUL/.test(r.message), 'the replica refuses a forged one even past the gateway');
  h.c.listener = saved;
  t.equal(JSON.stringify(h.c.node(l).replica!.membership()), before, 'the configuration did not change');
  // Two changes at once: the second is refused while the first is uncommitted.
  const a = ++(h as unknown as { nextReqId: number }).nextReqId;
  const b = ++(h as unknown as { nextReqId: number }).nextReqId;
  const seen = new Map<number, ClientReply>();
  h.c.listener = { onReply: (_n, id, r) => void seen.set(id, r), onCrash: () => {} };
  h.c.request(l, [
    { reqId: a, kind: 'member', change: { op: 'add', member: { id: 'n5', ...ReplicaCluster.address('n5') }, learner: true } },
    { reqId: b, kind: 'member', change: { op: 'remove', id: 'n3' } },
  ]);
  h.c.runUntil(() => seen.size === 2, 500);
  t.ok(seen.get(a)?.ok, 'the first is taken');
  const second = seen.get(b);
  t.ok(second !== undefined && !second.ok && /one membership change at a time/.test(second.message), 'the second is refused');
  // The last voter cannot go (checked on the configuration itself).
  const one = { index: 3, members: [{ id: 'n1', host: 'h', peerPort: 1, clientPort: 2, voter: true }, { id: 'n2', host: 'h', peerPort: 3, clientPort: 4, voter: false }] as Member[] };
  t.same(applyChange(one, { op: 'remove', id: 'n1' }), { ok: false, message: 'cannot remove n1: it is the last voter' });
  t.ok(applyChange(one, { op: 'remove', id: 'n2' }).ok, 'a learner can always go');
});

t.test('a learner nobody can reach never catches up, is never promoted, and the cluster keeps serving', async (t) => {
  const h = new Harness(3);
  // n5 is the ghost: its address is in the configuration, but no node ever listens there.
  t.equal(h.text(h.leader(), ['CLUSTER', 'ADD', 'n5', ...addr('n5')]), '+OK\r\n', 'added (the voters commit it)');
  for (let i = 0; i < 20; i++) t.equal(h.text(h.follower(), ['SET', `k${i}`, `${i}`]), '+OK\r\n');
  h.c.runUntil(() => false, 300);
  const l = h.leader();
  const ghost = h.c.node(l).replica!.membersStatus().find((m) => m.id === 'n5')!;
  t.same({ voter: ghost.voter, match: ghost.match }, { voter: false, match: 0 }, 'a learner with nothing replicated');
  t.match(h.text(l, ['CLUSTER', 'PROMOTE', 'n5']), /^-ERR learner n5 has not caught up/, 'PROMOTE refuses it');
  t.equal(h.text(l, ['CLUSTER', 'REMOVE', 'n5']), '+OK\r\n', 'and it can be removed');
});

t.test('the first process() reports the membership; later ones only when it changes', async (t) => {
  const members: Member[] = ['a', 'b'].map((id, i) => ({ id, host: '127.0.0.1', peerPort: 7000 + i, clientPort: 6000 + i, voter: true }));
  const r = new Replica(
    {
      core: { id: 'a', peers: ['a', 'b'], electionTicks: 10, heartbeatTicks: 2, preVote: true, checkQuorum: true, inflightMax: 4, appendBytesMax: 4096, uncommittedEntriesMax: 100 },
      members,
      requestTicks: 50,
      inFlightMax: 10,
      dedupWindowEntries: 100,
      dedupEntriesMax: 100,
      readyPerProcessMax: 4,
      snapshots: { snapshotEntries: 1000, snapshotLogBytes: 1e9, retainEntries: 0, retainBytes: 1e12, chunkBytes: 1024, takeBytesPerRound: 1024, chunkTimeoutTicks: 10, attemptsMax: 3 },
    },
    { hardState: { term: 0, vote: null }, entries: [] },
    () => 0.5,
  );
  t.same(r.process().membership, { index: 0, members }, 'the bootstrap membership, with addresses');
  t.equal(r.process().membership, null);
  const joiner = new Replica({ ...(r as unknown as { cfg: ConstructorParameters<typeof Replica>[0] }).cfg, join: true, core: { id: 'c', peers: [], electionTicks: 10, heartbeatTicks: 2, preVote: true, checkQuorum: true, inflightMax: 4, appendBytesMax: 4096, uncommittedEntriesMax: 100 } }, { hardState: { term: 0, vote: null }, entries: [] }, () => 0.5);
  t.same(joiner.process().membership, { index: 0, members: [] }, 'a node that joins starts with none');
});

t.test('a removed node answers clients at once: REMOVED, with the members to ask instead', async (t) => {
  const h = new Harness(13);
  const old = h.leader();
  t.equal(h.text(old, ['CLUSTER', 'REMOVE', old]), '+OK\r\n', 'the leader removes itself');
  t.ok(h.c.runUntil(() => h.c.leader() !== null && h.c.leader() !== old, 200), 'another voter leads');
  t.ok(h.c.node(old).replica!.coreStatus().role === 'follower', 'the removed node stepped down');
  for (const words of [['SET', 'x', '1'], ['GET', 'x'], ['CLUSTER', 'ADD', 'n4', ...addr('n4')]]) {
    // At once (within 2 ticks), not after the request timeout (60 ticks).
    const text = h.text(old, words, 2);
    t.match(text, /^-ERR REMOVED this node is not a member of the cluster \(configuration \d+\); ask a member: /, `${words.join(' ')}: ${text.slice(0, 60)}`);
    t.notMatch(text, new RegExp(`${old} `), 'the members named are the others');
  }
  const rows = parse((h.run(old, ['CLUSTER', 'MEMBERS']) as { reply: Uint8Array }).reply) as RespValue[][];
  t.notOk(rows.some((r) => String(r[0]) === old), 'CLUSTER MEMBERS still answers with what it knows');
  t.equal(h.text(h.leader(), ['SET', 'x', '2']), '+OK\r\n', 'the members serve');
});
