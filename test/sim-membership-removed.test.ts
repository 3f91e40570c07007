// Removed nodes on the replica simulator (test/sim/replica-cluster.ts), under a steady
// write load through every node: a removed leader hands over (TimeoutNow) instead of
// leaving the cluster to an election, a removed node answers its clients at once
// (REMOVED, or TIMEOUT for a write whose outcome it cannot know) rather than at the
// request timeout, and a removed node restarted from its old disk is told so by the
// leader and stops campaigning. Deterministic: each seed replays exactly.

import t from 'tap';
import type { ClientReply, GatewayRequest } from '../lib/replica/messages.js';
import { adminRequest, COMMANDS, dispatch, type CommandEnv } from '../lib/resp/commands.js';
import { defaultReplicaSimOptions, ReplicaCluster } from './sim/replica-cluster.js';

const env: CommandEnv = { status: null, client: { id: 0, name: null }, facts: () => { throw new Error('no INFO here'); } };
const SEEDS = 12;
const REQUEST_TICKS = 60;

/** A 3-node cluster with a client that SETs fresh keys through every node each tick. */
class Loaded {
  readonly c: ReplicaCluster;
  readonly replies = new Map<number, { reply: ClientReply; node: string; sentTick: number; tick: number }>();
  private readonly sent = new Map<number, { node: string; tick: number }>();
  private nextReqId = 0;
  tick = 0;
  /** Every core event, as "node event": the trace keeps only its tail. */
  readonly events: string[] = [];

  constructor(seed: number) {
    this.c = new ReplicaCluster(defaultReplicaSimOptions(seed, { nodes: 3, requestTicks: REQUEST_TICKS }));
    this.c.listener = {
      onReply: (node, reqId, reply) => {
        const s = this.sent.get(reqId)!;
        this.replies.set(reqId, { reply, node, sentTick: s.tick, tick: this.tick });
      },
      onCrash: () => {},
    };
    const log = this.c.log.bind(this.c);
    this.c.log = (node, kind, text) => {
      if (kind === 'event') this.events.push(`${node} ${text.split(' ')[0]!}`);
      log(node, kind, text);
    };
    if (!this.c.runUntil(() => this.c.leader() !== null && this.c.converged(), 500)) throw new Error('no leader');
  }

  count(node: string, event: string): number {
    return this.events.filter((e) => e === `${node} ${event}`).length;
  }

  send(node: string, words: string[]): number {
    const out = dispatch(COMMANDS, env, words.map((w) => Buffer.from(w)));
    const reqId = ++this.nextReqId;
    let req: GatewayRequest;
    if (out.kind === 'admin') req = adminRequest(reqId, out);
    else if (out.kind === 'write') req = { reqId, kind: 'write', tid: out.tid, data: out.data };
    else if (out.kind === 'read') req = { reqId, kind: 'read', args: out.args };
    else throw new Error(`unexpected ${out.kind}`);
    this.sent.set(reqId, { node, tick: this.tick });
    this.c.request(node, [req]);
    return reqId;
  }

  /** One tick of simulated time with a SET through each of `nodes`. */
  step(nodes: string[]): void {
    for (const n of nodes) this.send(n, ['SET', `k${this.nextReqId}`, 'v']);
    this.c.runUntil(() => false, 1);
    this.tick++;
  }

  term(id: string): number {
    return this.c.node(id).replica!.coreStatus().term;
  }

}

t.test('a removed leader hands over under load: the next leader is elected in the next term, with no election timeout', async (t) => {
  let handovers = 0;
  for (let seed = 1; seed <= SEEDS; seed++) {
    const l = new Loaded(seed);
    const old = l.c.leader()!;
    const all = ['n1', 'n2', 'n3'];
    for (let i = 0; i < 20; i++) l.step(all);
    const term = l.term(old);
    const remove = l.send(old, ['CLUSTER', 'REMOVE', old]);
    let ticks = 0;
    for (; ticks < 100 && !(l.c.leader() !== null && l.c.leader() !== old); ticks++) l.step(all);
    const next = l.c.leader();
    t.ok(next !== null && next !== old, `seed ${seed}: ${String(next)} leads after ${ticks} ticks`);
    t.ok(l.replies.has(remove), `seed ${seed}: the REMOVE was answered`);
    if (next === null) continue;
    if (l.term(next) === term + 1 && l.count(next, 'timeoutNowReceived') === 1 && l.count(old, 'transferAborted') === 0) handovers++;
    else t.comment(`seed ${seed}: ${next} leads in term ${l.term(next)} (removed leader's ${term})`);
    // Every request sent to the removed node is answered well before the request timeout.
    for (let i = 0; i < 2 * REQUEST_TICKS; i++) l.step(all.filter((n) => n !== old));
    for (const [reqId, r] of l.replies) {
      if (r.node !== old || r.reply.ok || reqId === remove) continue;
      t.ok(r.tick - r.sentTick < REQUEST_TICKS, `seed ${seed}: request ${reqId} to ${old} answered after ${r.tick - r.sentTick} ticks: ${r.reply.code} ${r.reply.message.slice(0, 40)}`);
    }
    t.equal(l.c.node(old).replica!.coreStatus().role, 'follower', `seed ${seed}: the removed node stays a follower`);
  }
  t.equal(handovers, SEEDS, 'every removed leader handed over (TimeoutNow, the next term)');
});

t.test('a removed node answers its clients at once', async (t) => {
  for (let seed = 1; seed <= 4; seed++) {
    const l = new Loaded(100 + seed);
    const leader = l.c.leader()!;
    const f = ['n1', 'n2', 'n3'].find((n) => n !== leader)!;
    l.send(leader, ['CLUSTER', 'REMOVE', leader]);
    for (let i = 0; i < 60 && !(l.c.leader() !== null && l.c.leader() !== leader); i++) l.step([f]);
    const reqs = [l.send(leader, ['SET', 'x', '1']), l.send(leader, ['GET', 'x'])];
    for (let i = 0; i < 2; i++) l.step([]);
    for (const id of reqs) {
      const r = l.replies.get(id);
      t.ok(r !== undefined && !r.reply.ok && /^REMOVED this node is not a member/.test(r.reply.message), `seed ${100 + seed}: ${r ? (r.reply.ok ? 'ok' : r.reply.message.slice(0, 50)) : 'no answer within 2 ticks'}`);
    }
  }
});

t.test('a removed node restarted from its old disk is told so by the leader and stops campaigning', async (t) => {
  for (let seed = 1; seed <= 4; seed++) {
    const l = new Loaded(200 + seed);
    const leader = l.c.leader()!;
    const gone = ['n1', 'n2', 'n3'].find((n) => n !== leader)!;
    const rest = ['n1', 'n2', 'n3'].filter((n) => n !== gone);
    const remove = l.send(leader, ['CLUSTER', 'REMOVE', gone]);
    for (let i = 0; i < 40 && !l.replies.has(remove); i++) l.step(rest);
    t.ok(l.replies.get(remove)?.reply.ok, `seed ${200 + seed}: ${gone} removed`);
    l.c.retire(gone);
    l.step(rest);
    l.c.readd(gone, false); // restarted from its old disk, not added back
    const terms = rest.map((n) => l.term(n));
    for (let i = 0; i < 150; i++) l.step(rest);
    t.equal(l.count(gone, 'removedNoticed'), 1, `seed ${200 + seed}: the leader told ${gone}`);
    t.same(rest.map((n) => l.term(n)), terms, `seed ${200 + seed}: the members' terms never moved`);
    t.equal(l.c.leader(), leader, `seed ${200 + seed}: ${leader} still leads`);
    const before = l.count(gone, 'electionStarted');
    for (let i = 0; i < 100; i++) l.step(rest);
    t.equal(l.count(gone, 'electionStarted'), before, `seed ${200 + seed}: ${gone} campaigns no more`);
    const asked = l.send(gone, ['GET', 'x']);
    l.step([]);
    t.match(l.replies.get(asked)?.reply, { ok: false, message: /^REMOVED/ }, `seed ${200 + seed}: its clients hear REMOVED`);
  }
});
