// Finding a node to talk to: every known node is asked INFO in parallel with a short
// timeout; the one that says it leads wins (the highest term if two do), then the
// leader's client address as a follower reports it, then any live node (a follower
// forwards writes to the leader). Also the Conn the retrying client sends over: a
// RespClient with a stall bound, so a node that stops answering counts as a lost
// connection instead of hanging the session.
import { RespClient, RespError, type Arg, type RespValue } from './resp-client.js';
import type { Conn } from './retrying-client.js';
import type { ClientAccess } from './access.js';
import { RaftdError } from '../util/errors.js';

/** A node to ask: its id when the hosts file names it. */
export interface Seed {
  id: string | null;
  host: string;
  port: number;
}

export interface FindOptions {
  /** Bound on connecting to and hearing INFO from one node. */
  probeTimeoutMs: number;
  /** A connection with commands in flight and no reply for this long is dropped. */
  replyTimeoutMs: number;
  /** Only the seeds, never a leader address they report (`-h/-p`: this one node). */
  pinned?: boolean;
  /** TLS and AUTH for every connection (lib/client/access.ts). */
  access?: ClientAccess;
}

/** What INFO's raft section says, the fields the finder needs. */
export interface NodeView {
  nodeId: string | null;
  role: string | null;
  term: number;
  leaderId: string | null;
  leaderClientAddr: string | null;
}

export function parseInfo(text: string): NodeView {
  const f = new Map<string, string>();
  for (const line of text.split(/\r?\n/)) {
    const m = /^([^#:][^:]*):(.*)$/.exec(line);
    if (m) f.set(m[1]!, m[2]!.trim());
  }
  const opt = (k: string) => {
    const v = f.get(k);
    return v === undefined || v === '' ? null : v;
  };
  const term = Number(f.get('term') ?? 0);
  return {
    nodeId: opt('node_id'),
    role: opt('role'),
    term: Number.isFinite(term) ? term : 0,
    leaderId: opt('leader_id'),
    leaderClientAddr: opt('leader_client_addr'),
  };
}

/** `host:port` (the host may hold colons: IPv6). */
export function parseAddr(addr: string): { host: string; port: number } | null {
  const i = addr.lastIndexOf(':');
  if (i <= 0) return null;
  const port = Number(addr.slice(i + 1));
  if (!Number.isInteger(port) || port < 1 || port > 65535) return null;
  return { host: addr.slice(0, i).replace(/^\[(.*)\]$/, '$1'), port };
}

interface Probe {
  seed: Seed;
  client: RespClient;
  view: NodeView;
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string, onLate: (v: T) => void): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let late = false;
    const timer = setTimeout(() => {
      late = true;
      reject(new Error(`${what} timed out after ${ms} ms`));
    }, ms);
    p.then(
      (v) => {
        clearTimeout(timer);
        if (late) onLate(v);
        else resolve(v);
      },
      (err: unknown) => {
        clearTimeout(timer);
        if (!late) reject(err instanceof Error ? err : new Error(String(err)));
      },
    );
  });
}

async function probe(seed: Seed, timeoutMs: number, access: ClientAccess | undefined): Promise<Probe> {
  const client = await withTimeout(RespClient.connect(seed.host, seed.port, { connectTimeoutMs: timeoutMs, access }), timeoutMs, `connecting to ${seed.host}:${seed.port}`, (c) => c.destroy());
  try {
    const reply = await withTimeout(client.command('INFO', 'raft'), timeoutMs, `INFO from ${seed.host}:${seed.port}`, () => {});
    if (!Buffer.isBuffer(reply) && typeof reply !== 'string') throw new Error(`INFO gave ${reply instanceof RespError ? reply.reply : typeof reply}`);
    return { seed, client, view: parseInfo(reply.toString()) };
  } catch (err) {
    client.destroy();
    throw err;
  }
}

function label(seed: Seed): string {
  return seed.id ?? `${seed.host}:${seed.port}`;
}

/**
 * Connects to the best node of `seeds` as described at the top of the file; rejects with
 * every node's reason when none answers.
 */
export async function findNode(seeds: readonly Seed[], opts: FindOptions): Promise<Conn> {
  if (seeds.length === 0) throw new Error('no nodes to ask');
  const settled = await Promise.allSettled(seeds.map((s) => probe(s, opts.probeTimeoutMs, opts.access)));
  const live: Probe[] = [];
  const reasons: string[] = [];
  settled.forEach((r, i) => {
    if (r.status === 'fulfilled') live.push(r.value);
    else reasons.push(`${label(seeds[i]!)}: ${r.reason instanceof Error ? r.reason.message : String(r.reason)}`);
  });
  const pick = await choose(live, opts);
  for (const p of live) if (p.client !== pick?.client) p.client.destroy();
  if (!pick) {
    // A refused password is not fixed by asking again: say so, with the server's words.
    const auth = settled.find((r) => r.status === 'rejected' && r.reason instanceof RaftdError && r.reason.code === 'RAFTD_AUTH_FAILED');
    if (auth) throw (auth as PromiseRejectedResult).reason;
    throw new Error(reasons.join('; ') || 'no node answered');
  }
  return new RespConn(pick.client, pick.name, opts.replyTimeoutMs);
}

async function choose(live: Probe[], opts: FindOptions): Promise<{ client: RespClient; name: string } | null> {
  const byTerm = live.slice().sort((a, b) => b.view.term - a.view.term);
  const name = (p: Probe) => p.view.nodeId ?? label(p.seed);
  const leader = byTerm.find((p) => p.view.role === 'leader');
  if (leader) return { client: leader.client, name: name(leader) };
  if (!opts.pinned) {
    // A leader that did not answer us in time but that a follower has heard from.
    const seen = new Set(live.map((p) => `${p.seed.host}:${p.seed.port}`));
    for (const p of byTerm) {
      const addr = p.view.leaderClientAddr ? parseAddr(p.view.leaderClientAddr) : null;
      if (!addr || seen.has(`${addr.host}:${addr.port}`)) continue;
      try {
        const client = await RespClient.connect(addr.host, addr.port, { connectTimeoutMs: opts.probeTimeoutMs, access: opts.access });
        return { client, name: p.view.leaderId ?? `${addr.host}:${addr.port}` };
      } catch {
        seen.add(`${addr.host}:${addr.port}`);
      }
    }
  }
  // A follower that knows a leader forwards at once; one that does not waits for an election.
  const any = byTerm.find((p) => p.view.leaderId !== null) ?? byTerm[0];
  return any ? { client: any.client, name: name(any) } : null;
}

/** A RespClient as the retrying client's Conn, dropped when replies stall. */
export class RespConn implements Conn {
  private inflight = 0;
  private lastProgressMs = Date.now();
  private readonly timer: ReturnType<typeof setInterval>;

  constructor(
    private readonly client: RespClient,
    readonly name: string,
    private readonly replyTimeoutMs: number,
  ) {
    this.timer = setInterval(() => this.check(), Math.max(10, Math.floor(replyTimeoutMs / 4)));
    this.timer.unref();
    void client.closed.then(() => clearInterval(this.timer));
  }

  send(args: readonly Arg[]): Promise<RespValue> {
    if (this.inflight === 0) this.lastProgressMs = Date.now();
    this.inflight++;
    const done = () => {
      this.inflight--;
      this.lastProgressMs = Date.now();
    };
    const p = this.client.command(...args);
    p.then(done, done);
    return p;
  }

  close(): void {
    clearInterval(this.timer);
    this.client.destroy();
  }

  private check(): void {
    if (this.inflight > 0 && Date.now() - this.lastProgressMs > this.replyTimeoutMs) this.client.destroy(`no reply for ${this.replyTimeoutMs} ms`);
  }
}
