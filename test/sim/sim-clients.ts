// Simulated clients for the replica simulator. Each runs one operation at a time
// against any replica, the way a real client would reach any node's gateway: the
// command goes through the gateway's own command table (lib/resp/commands.ts), so
// what the replica sees is exactly what the daemon would hand it. Writes go with and
// without REQ request ids. Every operation lands in a history that lib/check checks
// for linearizability.
import type { NodeId } from '../../lib/raft/types.js';
import type { ClientReply, GatewayRequest } from '../../lib/replica/messages.js';
import { adminRequest, COMMANDS, dispatch, type CommandEnv } from '../../lib/resp/commands.js';
import type { ServerFacts } from '../../lib/resp/info.js';
import { ReplyParser, type RespValue } from '../../lib/resp/reply-parser.js';
import type { Operation } from '../../lib/check/history.js';
import type { Prng } from './prng.js';
import type { ReplicaCluster, ReplyListener } from './replica-cluster.js';

interface InFlightOp {
  client: number;
  node: NodeId;
  key: string;
  op: 'read' | 'write';
  input: string | null;
  invokeTime: number;
}

export interface ClientStats {
  invoked: number;
  ok: number;
  fail: number;
  unknown: number;
}

export class SimClients implements ReplyListener {
  readonly history: Operation[] = [];
  readonly stats: ClientStats = { invoked: 0, ok: 0, fail: 0, unknown: 0 };
  private readonly inFlight = new Map<number, InFlightOp>();
  /** CLUSTER requests in flight, by reqId: the node asked, and what to do on +OK. Not part of the history. */
  private readonly admin = new Map<number, { node: NodeId; what: 'transfer' | 'member'; onOk: (() => void) | null }>();
  /** CLUSTER TRANSFER outcomes: +OK (the target leads), or an error (not the leader, given up, ...). */
  readonly transfers = { ok: 0, refused: 0 };
  /** CLUSTER ADD/PROMOTE/REMOVE outcomes: +OK once committed; refused (bad input, pending, not yet); unknown (TIMEOUT). */
  readonly members = { ok: 0, refused: 0, unknown: 0 };
  /** Each client's node; a client moves to another node after an error or a crash. */
  private readonly nodeOf: NodeId[];
  private readonly busy: boolean[];
  private nextReqId = 0;
  private nextValue = 0;
  private readonly env: CommandEnv;

  constructor(
    private readonly cluster: ReplicaCluster,
    private readonly rng: Prng,
    readonly clients: number,
    private readonly keys: readonly string[],
  ) {
    const ids = cluster.nodes.map((n) => n.id);
    this.nodeOf = Array.from({ length: clients }, () => rng.pick(ids));
    this.busy = Array.from({ length: clients }, () => false);
    this.env = { status: null, client: { id: 0, name: null }, facts: (): ServerFacts => { throw new Error('no INFO in the simulator'); } };
    cluster.listener = this;
  }

  /** Each idle client starts an operation with probability p. */
  maybeInvoke(p: number): void {
    for (let c = 0; c < this.clients; c++) if (!this.busy[c] && this.rng.chance(p)) this.invoke(c);
  }

  private invoke(client: number): void {
    const node = this.nodeOf[client]!;
    const key = this.rng.pick(this.keys);
    const isWrite = this.rng.chance(0.5);
    const value = `v${++this.nextValue}`;
    const words = isWrite ? ['SET', key, value] : ['GET', key];
    // Half the writes carry a request id, as a careful client's would.
    const args = (isWrite && this.rng.chance(0.5) ? ['REQ', `c${client}-${this.nextValue}`, ...words] : words).map((s) => Buffer.from(s));
    const out = dispatch(COMMANDS, this.env, args);
    const reqId = ++this.nextReqId;
    let req: GatewayRequest;
    if (out.kind === 'write') req = { reqId, kind: 'write', tid: out.tid, data: out.data };
    else if (out.kind === 'read') req = { reqId, kind: 'read', args: out.args };
    else throw new Error(`command ${words.join(' ')} answered at the gateway: ${out.kind === 'admin' ? 'admin' : out.reply.toString()}`);
    if (this.cluster.node(node).replica === null) {
      this.nodeOf[client] = this.rng.pick(this.cluster.nodes.map((n) => n.id));
      return; // the node is down: the client notices at once and tries elsewhere next time
    }
    // Registered first: the replica may answer (BUSY) before request() returns.
    this.busy[client] = true;
    this.stats.invoked++;
    this.inFlight.set(reqId, { client, node, key, op: isWrite ? 'write' : 'read', input: isWrite ? value : null, invokeTime: this.cluster.now });
    this.cluster.log(node, 'invoke', `req ${reqId} c${client} ${args.map((a) => a.toString()).join(' ')}`);
    this.cluster.request(node, [req]);
  }

  /** An operator's CLUSTER TRANSFER [target] at `node`, through the gateway's command table like any client's. */
  clusterTransfer(node: NodeId, target: NodeId | null): void {
    if (this.cluster.node(node).replica === null) return;
    const out = dispatch(COMMANDS, this.env, ['CLUSTER', 'TRANSFER', ...(target === null ? [] : [target])].map((s) => Buffer.from(s)));
    if (out.kind !== 'admin') throw new Error(`CLUSTER TRANSFER gave ${out.kind}`);
    const reqId = ++this.nextReqId;
    this.admin.set(reqId, { node, what: 'transfer', onOk: null });
    this.cluster.log(node, 'invoke', `req ${reqId} CLUSTER TRANSFER ${target ?? ''}`);
    this.cluster.request(node, [adminRequest(reqId, out)]);
  }

  /** An operator's CLUSTER ADD/PROMOTE/REMOVE at `node`, through the command table; onOk runs once it is acknowledged. */
  clusterMember(node: NodeId, words: string[], onOk: (() => void) | null = null): void {
    if (this.cluster.node(node).replica === null) return;
    const out = dispatch(COMMANDS, this.env, ['CLUSTER', ...words].map((s) => Buffer.from(s)));
    if (out.kind !== 'admin') throw new Error(`CLUSTER ${words.join(' ')} gave ${out.kind === 'reply' ? out.reply.toString() : out.kind}`);
    const reqId = ++this.nextReqId;
    this.admin.set(reqId, { node, what: 'member', onOk });
    this.cluster.log(node, 'invoke', `req ${reqId} CLUSTER ${words.join(' ')}`);
    this.cluster.request(node, [adminRequest(reqId, out)]);
  }

  onReply(node: NodeId, reqId: number, reply: ClientReply): void {
    const a = this.admin.get(reqId);
    if (a !== undefined && a.what === 'member') {
      if (a.node !== node) throw new Error(`${node} answered CLUSTER request ${reqId} sent to ${a.node}`);
      this.admin.delete(reqId);
      if (reply.ok) {
        const text = Buffer.from(reply.reply).toString();
        if (text !== '+OK\r\n') throw new Error(`CLUSTER change answered ${JSON.stringify(text)}`);
        this.members.ok++;
        a.onOk?.();
      } else if (reply.code === 'TIMEOUT') this.members.unknown++;
      else this.members.refused++;
      return;
    }
    const asked = a?.node;
    if (asked !== undefined) {
      if (asked !== node) throw new Error(`${node} answered CLUSTER TRANSFER ${reqId} sent to ${asked}`);
      this.admin.delete(reqId);
      if (reply.ok) {
        const text = Buffer.from(reply.reply).toString();
        if (text !== '+OK\r\n') throw new Error(`CLUSTER TRANSFER answered ${JSON.stringify(text)}`);
        this.transfers.ok++;
      } else this.transfers.refused++;
      return;
    }
    const op = this.inFlight.get(reqId);
    if (op === undefined) throw new Error(`${node} answered request ${reqId}, which nobody waits for`);
    if (op.node !== node) throw new Error(`${node} answered request ${reqId} sent to ${op.node}`);
    this.inFlight.delete(reqId);
    this.busy[op.client] = false;
    const base = { process: op.client, key: op.key, op: op.op, invokeTime: op.invokeTime, completeTime: this.cluster.now };
    if (!reply.ok) {
      this.nodeOf[op.client] = this.rng.pick(this.cluster.nodes.map((n) => n.id));
      // TRYAGAIN and BUSY promise the write did not happen; TIMEOUT does not.
      if (reply.code === 'TIMEOUT' && op.op === 'write') this.record({ ...base, input: op.input, outcome: 'unknown' });
      else this.record({ ...base, ...(op.op === 'write' ? { input: op.input } : {}), outcome: 'fail' });
      return;
    }
    const parsed = parseOne(reply.reply);
    if (op.op === 'write') {
      if (parsed !== 'OK') throw new Error(`SET answered ${String(parsed)}`);
      this.record({ ...base, input: op.input, outcome: 'ok' });
    } else {
      if (parsed !== null && !Buffer.isBuffer(parsed)) throw new Error(`GET answered ${String(parsed)}`);
      this.record({ ...base, output: parsed === null ? null : parsed.toString(), outcome: 'ok' });
    }
  }

  /** A crashed node answers nobody: its writes may still take effect, its reads did not matter. */
  onCrash(node: NodeId): void {
    for (const [reqId, asked] of this.admin) if (asked.node === node) this.admin.delete(reqId);
    for (const [reqId, op] of this.inFlight) {
      if (op.node !== node) continue;
      this.inFlight.delete(reqId);
      this.busy[op.client] = false;
      this.nodeOf[op.client] = this.rng.pick(this.cluster.nodes.map((n) => n.id));
      const base = { process: op.client, key: op.key, op: op.op, invokeTime: op.invokeTime };
      if (op.op === 'write') this.record({ ...base, input: op.input, outcome: 'unknown' });
      else this.record({ ...base, completeTime: this.cluster.now, outcome: 'fail' });
    }
  }

  /** Operations still waiting for a reply. */
  get pending(): number {
    return this.inFlight.size;
  }

  /** CLUSTER requests still waiting for a reply. */
  get adminPending(): number {
    return this.admin.size;
  }

  private record(op: Operation): void {
    this.stats[op.outcome]++;
    this.history.push(op);
  }
}

function parseOne(bytes: Uint8Array): RespValue {
  const p = new ReplyParser();
  p.feed(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  const v = p.next();
  if (v === undefined) throw new Error('incomplete reply from the state machine');
  return v;
}
