// A new node joins a running cluster through any member's client port (RESP, the same
// commands an operator types): INFO gives the cluster id of the peer handshake, CLUSTER
// MEMBERS the members and their addresses, CLUSTER ADD (forwarded to the leader by
// whichever member gets it) makes this node a learner that the leader promotes once it
// caught up. The node then waits for the leader's snapshot and log like any follower.
import type { ClientAccess } from '../client/access.js';
import { RespClient, RespError, type Arg, type RespValue } from '../client/resp-client.js';
import type { Member } from '../replica/membership-types.js';
import { RaftdError } from '../util/errors.js';

export interface Seed {
  host: string;
  port: number;
}

export interface Joiner {
  id: string;
  host: string;
  peerPort: number;
  clientPort: number;
  /** Stay a learner (CLUSTER ADD ... LEARNER) instead of being promoted once caught up. */
  learner: boolean;
}

export interface ClusterView {
  clusterId: string;
  members: Member[];
}

/** Between attempts while the seed is unreachable or the cluster answers TRYAGAIN. */
const RETRY_PAUSE_MS = 250;
/** One command's bound: CLUSTER ADD answers once its entry commits. */
const COMMAND_TIMEOUT_MS = 10_000;

export function parseSeed(text: string): Seed {
  const m = /^(.*):(\d{1,5})$/.exec(text.trim());
  const port = m ? Number(m[2]) : NaN;
  if (!m || m[1] === '' || !(port >= 1 && port <= 65535)) throw new RaftdError('RAFTD_CONFIG', `--join takes a member's client address host:port, got "${text}"`);
  return { host: m[1]!.replace(/^\[(.*)\]$/, '$1'), port };
}

async function command(seed: Seed, args: Arg[], access: ClientAccess | undefined): Promise<RespValue> {
  const c = await RespClient.connect(seed.host, seed.port, { connectTimeoutMs: 2000, access });
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      c.command(...args),
      new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`no answer to ${String(args[0])} within ${COMMAND_TIMEOUT_MS} ms`)), COMMAND_TIMEOUT_MS))),
    ]);
  } finally {
    clearTimeout(timer);
    c.destroy();
  }
}

const text = (v: RespValue): string | null => (Buffer.isBuffer(v) ? v.toString('utf8') : typeof v === 'string' ? v : null);

/** CLUSTER MEMBERS' reply: [id, host, peer-port, client-port, voter|learner, match, leader] per member. */
export function parseMembers(v: RespValue): Member[] {
  if (!Array.isArray(v)) throw new RaftdError('RAFTD_JOIN_FAILED', `CLUSTER MEMBERS: expected an array, got ${v instanceof RespError ? v.reply : String(v)}`);
  return v.map((row) => {
    if (!Array.isArray(row) || row.length < 5) throw new RaftdError('RAFTD_JOIN_FAILED', 'CLUSTER MEMBERS: malformed row');
    const [id, host, peer, client, role] = row.map(text);
    const peerPort = Number(row[2]);
    const clientPort = Number(row[3]);
    if (!id || !host || !(peerPort >= 1) || !(clientPort >= 1) || peer === undefined || client === undefined) throw new RaftdError('RAFTD_JOIN_FAILED', 'CLUSTER MEMBERS: malformed row');
    return { id, host, peerPort, clientPort, voter: role === 'voter' };
  });
}

/** What the seed knows: the cluster id and the members. Retries an unreachable seed until the deadline. */
export async function discover(seed: Seed, deadlineMs: number, access?: ClientAccess): Promise<ClusterView> {
  let last = '';
  for (;;) {
    try {
      const info = text(await command(seed, ['INFO'], access)) ?? '';
      const clusterId = /^cluster_id:(.*)$/m.exec(info)?.[1]?.trim() ?? '';
      if (clusterId === '') throw new RaftdError('RAFTD_JOIN_FAILED', `${seed.host}:${seed.port} does not tell its cluster id (INFO has no cluster_id): is it a raftd member?`);
      const members = parseMembers(await command(seed, ['CLUSTER', 'MEMBERS'], access));
      if (members.length > 0) return { clusterId, members };
      last = `${seed.host}:${seed.port} has no configuration yet (is it joining itself?)`;
    } catch (err) {
      if (err instanceof RaftdError && err.code === 'RAFTD_JOIN_FAILED') throw err;
      last = (err as Error).message;
    }
    if (Date.now() >= deadlineMs) throw new RaftdError('RAFTD_JOIN_FAILED', `nobody answers at ${seed.host}:${seed.port} (${last}); give --join the client address of a running member`);
    await new Promise((r) => setTimeout(r, RETRY_PAUSE_MS));
  }
}

function sameAddress(m: Member, j: Joiner): boolean {
  return m.host === j.host && m.peerPort === j.peerPort && m.clientPort === j.clientPort;
}

/**
 * Is `j` already a member with this address (a join that was cut short after the add, or
 * a retry)? Refuses an id the cluster has at another address.
 */
export function alreadyMember(members: readonly Member[], j: Joiner): boolean {
  const m = members.find((x) => x.id === j.id);
  if (m === undefined) return false;
  if (!sameAddress(m, j)) {
    throw new RaftdError('RAFTD_JOIN_FAILED', `the cluster already has a member ${j.id} at ${m.host} peer ${m.peerPort} client ${m.clientPort}: pick another id (or CLUSTER REMOVE ${j.id} first if it is gone for good)`);
  }
  return true;
}

/**
 * Asks the cluster to add `j` (as a learner it promotes once caught up, unless
 * `j.learner`) and waits until the change commits. TRYAGAIN (no leader, another change
 * pending, a transfer) and unknown outcomes are retried until the deadline, checking
 * CLUSTER MEMBERS first so a change that did commit is never asked for twice.
 */
export async function askToJoin(seed: Seed, j: Joiner, deadlineMs: number, access?: ClientAccess): Promise<void> {
  let last = '';
  for (;;) {
    try {
      if (alreadyMember(parseMembers(await command(seed, ['CLUSTER', 'MEMBERS'], access)), j)) return;
      const r = await command(seed, ['CLUSTER', 'ADD', j.id, j.host, j.peerPort, j.clientPort, ...(j.learner ? ['LEARNER'] : [])], access);
      if (r === 'OK') return;
      if (r instanceof RespError) {
        // Refusals that no retry mends: the cluster's words, as they are.
        if (r.code === 'ERR' && !/one membership change at a time/.test(r.reply)) throw new RaftdError('RAFTD_JOIN_FAILED', `CLUSTER ADD ${j.id} refused by ${seed.host}:${seed.port}: ${r.reply}`);
        last = r.reply;
      } else last = `unexpected reply ${String(text(r) ?? r)}`;
    } catch (err) {
      if (err instanceof RaftdError && err.code === 'RAFTD_JOIN_FAILED') throw err;
      last = (err as Error).message;
    }
    if (Date.now() >= deadlineMs) throw new RaftdError('RAFTD_JOIN_FAILED', `could not join through ${seed.host}:${seed.port}: ${last}`);
    await new Promise((r) => setTimeout(r, RETRY_PAUSE_MS));
  }
}
