// Scenarios for the replica's client requests, run on the replica simulator: each is
// a defect the daemon had (issue 8) or a rule that moved here from the gateway.
import t from 'tap';
import type { NodeId } from '../lib/raft/types.js';
import type { ClientReply, ForwardMessage, GatewayRequest } from '../lib/replica/messages.js';
import { encodeCommand } from '../lib/kv/command-codec.js';
import { defaultReplicaSimOptions, ReplicaCluster, type ReplicaSimOptions } from './sim/replica-cluster.js';

class Replies {
  readonly got = new Map<number, { node: NodeId; reply: ClientReply }>();
  onReply(node: NodeId, reqId: number, reply: ClientReply): void {
    if (this.got.has(reqId)) throw new Error(`request ${reqId} answered twice`);
    this.got.set(reqId, { node, reply });
  }
  onCrash(): void {}
  text(reqId: number): string | undefined {
    const r = this.got.get(reqId);
    if (r === undefined) return undefined;
    return r.reply.ok ? Buffer.from(r.reply.reply).toString() : `-${r.reply.code} ${r.reply.message}`;
  }
}

let nextReq = 0;
function set(key: string, value: string, tid = ''): GatewayRequest {
  return { reqId: ++nextReq, kind: 'write', tid, data: encodeCommand(['SET', key, value].map((s) => Buffer.from(s))) };
}
function get(key: string): GatewayRequest {
  return { reqId: ++nextReq, kind: 'read', args: [Buffer.from('GET'), Buffer.from(key)] };
}

function cluster(over: Partial<ReplicaSimOptions> = {}): { c: ReplicaCluster; r: Replies } {
  const c = new ReplicaCluster(defaultReplicaSimOptions(7, over));
  const r = new Replies();
  c.listener = r;
  if (!c.runUntil(() => c.leader() !== null, 500)) throw new Error('no leader');
  return { c, r };
}

function answered(c: ReplicaCluster, r: Replies, reqId: number, ticks = 500): string {
  if (!c.runUntil(() => r.got.has(reqId), ticks)) throw new Error(`request ${reqId} not answered in ${ticks} ticks`);
  return r.text(reqId)!;
}

t.test('a leader re-elected after its uncommitted tail was cut serves its next write (defect 1)', async (t) => {
  const { c, r } = cluster();
  const a = c.leader()!;
  const [b, d] = c.nodes.map((n) => n.id).filter((id) => id !== a) as [NodeId, NodeId];
  t.equal(answered(c, r, req(c, a, set('k', 'v0'))), '+OK\r\n');
  // A is cut off and accepts writes that can never commit.
  c.partition([[a], [b, d]]);
  const lost = [set('k', 'x1'), set('k', 'x2'), set('k', 'x3')];
  c.request(a, lost);
  t.ok(c.runUntil(() => { const l = c.leader(); return l !== null && l !== a && c.node(l).replica!.coreStatus().commitIndex > 2; }, 1000), 'B or C leads the majority');
  c.heal();
  t.ok(c.runUntil(() => c.converged(), 2000), 'A rejoins and its tail is cut back');
  // Now make A leader again: everyone else goes away in turn until A wins.
  for (let round = 0; round < 20 && c.leader() !== a; round++) {
    const l = c.leader();
    if (l !== null && l !== a) {
      c.crash(l);
      c.runUntil(() => c.leader() !== null && c.leader() !== l, 1000);
      c.restart(l);
    }
    c.runUntil(() => c.converged(), 1000);
  }
  t.equal(c.leader(), a, 'A leads again');
  const w = set('k', 'after');
  t.equal(answered(c, r, req(c, a, w)), '+OK\r\n', 'its next write is acknowledged (it asserted before the fix)');
  t.equal(answered(c, r, req(c, a, get('k'))), '$5\r\nafter\r\n');
});

t.test("a reply meant for a follower's earlier incarnation is ignored (defect 2)", async (t) => {
  const { c, r } = cluster();
  const leader = c.leader()!;
  const f = c.nodes.find((n) => n.id !== leader)!;
  // Stop the follower's traffic to the leader so its forward stays unanswered.
  c.partition([[f.id], c.nodes.map((n) => n.id).filter((id) => id !== f.id)]);
  const w = set('k', 'mine');
  c.request(f.id, [w]);
  const replica = f.replica!;
  // An old incarnation's reply with the same fid arrives: it must not answer this request.
  const stale: ForwardMessage = {
    type: 'fwdReply',
    term: 1,
    from: leader,
    to: f.id,
    epoch: (replica.epoch + 1) >>> 0,
    replies: [{ fid: 1, ok: true, reply: Buffer.from('+STALE\r\n'), code: '', message: '' }],
  };
  replica.receive([stale]);
  c.runUntil(() => false, 5);
  t.equal(r.got.has(w.reqId), false, 'a reply from another epoch answers nothing');
  c.heal();
  t.equal(answered(c, r, w.reqId), '+OK\r\n', 'the real reply arrives once the partition heals');
});

t.test('a write forwarded to a leader that dies is re-routed to the next one (defect 5)', async (t) => {
  const { c, r } = cluster({ requestTicks: 1000 });
  const leader = c.leader()!;
  const f = c.nodes.find((n) => n.id !== leader)!.id;
  const w = set('k', 'rerouted');
  // The leader dies the moment the write leaves the follower: the forward is lost with it.
  c.request(f, [w]);
  c.crash(leader);
  const t0 = c.now;
  t.equal(answered(c, r, w.reqId, 900), '+OK\r\n', 'acknowledged by the new leader');
  const ticks = (c.now - t0) / c.opts.stepsPerTick;
  t.ok(ticks < 200, `answered after ${ticks} ticks, well inside the ${c.opts.requestTicks}-tick deadline`);
  c.restart(leader);
  t.ok(c.runUntil(() => c.converged(), 2000));
  t.equal(answered(c, r, req(c, f, get('k'))), '$8\r\nrerouted\r\n', 'applied once');
});

t.test('no leader: a request waits until its deadline, then TRYAGAIN; one sent to a leader that never answers gets TIMEOUT', async (t) => {
  const { c, r } = cluster({ requestTicks: 30 });
  const leader = c.leader()!;
  const ids = c.nodes.map((n) => n.id);
  const f = ids.find((id) => id !== leader)!;
  // The follower sees no leader: everyone else is gone.
  for (const id of ids) if (id !== f) c.crash(id);
  c.runUntil(() => c.node(f).replica!.coreStatus().leader === null, 500);
  const w = set('k', 'v');
  c.request(f, [w]);
  t.equal(answered(c, r, w.reqId, 100), '-TRYAGAIN no leader elected yet');
  for (const id of ids) c.restart(id);
  t.ok(c.runUntil(() => c.converged(), 2000));
  // A leader cut off from everyone accepts the write but cannot commit it.
  const l = c.leader()!;
  c.partition([[l], ids.filter((id) => id !== l)]);
  const w2 = set('k', 'v2');
  c.request(l, [w2]);
  t.equal(answered(c, r, w2.reqId, 100), '-TIMEOUT request timed out');
});

t.test('a write with a request id is never refused once a copy may be in a log: it is retried until acknowledged', async (t) => {
  const { c, r } = cluster({ requestTicks: 2000 });
  const leader = c.leader()!;
  const f = c.nodes.find((n) => n.id !== leader)!.id;
  const w = set('k', 'once', 'rid-1');
  c.request(f, [w]);
  c.runUntil(() => c.node(leader).replica!.coreStatus().lastIndex > 1, 50);
  c.crash(leader);
  t.equal(answered(c, r, w.reqId, 1500), '+OK\r\n');
  c.restart(leader);
  t.ok(c.runUntil(() => c.converged(), 2000));
  c.checkStateMachines();
});

function req(c: ReplicaCluster, node: NodeId, q: GatewayRequest): number {
  c.request(node, [q]);
  return q.reqId;
}

t.test('leadership transfer: the target leads within a few heartbeats; writes during it wait, then go through', async (t) => {
  const { c, r } = cluster();
  const leader = c.leader()!;
  t.equal(answered(c, r, req(c, leader, set('k', 'before'))), '+OK\r\n');
  const target = c.nodes.find((n) => n.id !== leader)!.id;
  const ticks0 = c.now / c.opts.stepsPerTick;
  c.transfer(leader, target);
  // A write while the handover runs is held, not refused.
  const during = set('k', 'during', 'rid-during');
  c.request(leader, [during]);
  t.ok(c.runUntil(() => c.leader() === target, 50), `${target} leads`);
  const took = c.now / c.opts.stepsPerTick - ticks0;
  t.ok(took < c.opts.electionTicks, `the handover took ${took} ticks, less than an election timeout (${c.opts.electionTicks})`);
  t.equal(answered(c, r, during.reqId), '+OK\r\n', 'the write made during the transfer is acknowledged');
  t.equal(answered(c, r, req(c, target, get('k'))), '$6\r\nduring\r\n');
  t.ok(c.runUntil(() => c.converged(), 500));
  c.checkStateMachines();
});

t.test('leadership transfer to a node that cannot win is given up after an election timeout; writes resume', async (t) => {
  const { c, r } = cluster();
  const leader = c.leader()!;
  const target = c.nodes.find((n) => n.id !== leader)!.id;
  c.crash(target);
  c.transfer(leader, target);
  const w = set('k', 'after-abort', 'rid-abort');
  c.request(leader, [w]);
  t.equal(answered(c, r, w.reqId, 200), '+OK\r\n', 'the paused write goes through once the transfer is abandoned');
  t.equal(c.leader(), leader, 'the leader kept leading');
});

t.test('followers whose connection to the leader closed campaign within one base election timeout', async (t) => {
  const { c } = cluster({ electionTicks: 20, heartbeatTicks: 2 });
  const leader = c.leader()!;
  c.runUntil(() => false, 5); // the followers hear a heartbeat: their election timers restart
  const t0 = c.now;
  c.crash(leader);
  // A dead process closes its sockets: each follower's transport reports the leader unreachable.
  for (const n of c.nodes) if (n.id !== leader) c.unreachable(n.id, leader);
  const campaigning = () => c.nodes.some((n) => n.replica !== null && n.replica.coreStatus().role !== 'follower');
  t.ok(c.runUntil(campaigning, c.opts.electionTicks), `a follower campaigns within ${c.opts.electionTicks} ticks (${(c.now - t0) / c.opts.stepsPerTick}), not after its randomized timeout of up to ${2 * c.opts.electionTicks}`);
  t.ok(c.runUntil(() => c.leader() !== null && c.leader() !== leader, 200), 'and a new leader is elected');
});
