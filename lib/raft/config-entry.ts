// A cluster configuration as the data of a 'config' log entry, and in a snapshot's
// header. JSON: small, rare, and readable in a log dump. Decoding checks every field,
// since a configuration decides who votes: a damaged one must stop the node, not
// quietly shrink the quorum.
import type { Member, Membership } from '../replica/membership-types.js';
import { assert } from './assert.js';
import type { NodeId } from './types.js';

/** Bound on the members of one configuration. */
export const MEMBERS_MAX = 1024;

const utf8 = new TextDecoder('utf-8', { fatal: true });

export function encodeConfig(members: readonly Member[]): Uint8Array {
  checkMembers(members);
  return new TextEncoder().encode(JSON.stringify({ members: members.map(plainMember) }));
}

/** The membership a config entry at `index` sets. Throws (RAFTD_ASSERT) on damaged data. */
export function decodeConfig(data: Uint8Array, index: number): Membership {
  let v: unknown;
  try {
    v = JSON.parse(utf8.decode(data));
  } catch (err) {
    assert(false, `config entry ${index} is not JSON: ${(err as Error).message}`);
  }
  return { index, members: membersOf(v, `config entry ${index}`) };
}

/** The Membership stored in a snapshot header (an opaque value to storage); null when there is none. */
export function configFromSnapshot(v: unknown, index: number): Membership | null {
  if (v === null || v === undefined) return null;
  assert(typeof v === 'object', `snapshot ${index} config is not an object`);
  const members = membersOf(v, `snapshot ${index} config`);
  const at = (v as { index?: unknown }).index;
  assert(typeof at === 'number' && Number.isSafeInteger(at) && at >= 0 && at <= index, `snapshot ${index} config index ${String(at)}`);
  return { index: at, members };
}

/** What a snapshot header stores: plain data, msgpack-able. */
export function configForSnapshot(m: Membership): { index: number; members: Member[] } {
  return { index: m.index, members: m.members.map(plainMember) };
}

function membersOf(v: unknown, what: string): Member[] {
  const raw = (v as { members?: unknown } | null)?.members;
  assert(Array.isArray(raw) && raw.length <= MEMBERS_MAX, `${what}: members is not an array of at most ${MEMBERS_MAX}`);
  const out = raw.map((x: unknown, i: number): Member => {
    const r = x as Record<string, unknown>;
    const w = `${what}: member ${i}`;
    assert(typeof r === 'object' && r !== null, `${w} is not an object`);
    assert(typeof r['id'] === 'string' && r['id'].length > 0 && r['id'].length <= 256, `${w}: bad id`);
    assert(typeof r['host'] === 'string' && r['host'].length <= 256, `${w}: bad host`);
    assert(isPort(r['peerPort']) && isPort(r['clientPort']), `${w}: bad ports`);
    assert(typeof r['voter'] === 'boolean', `${w}: bad voter flag`);
    const m: Member = { id: r['id'], host: r['host'], peerPort: r['peerPort'] as number, clientPort: r['clientPort'] as number, voter: r['voter'] };
    if (r['autoPromote'] === true) m.autoPromote = true;
    return m;
  });
  checkMembers(out);
  return out;
}

function checkMembers(members: readonly Member[]): void {
  assert(members.length <= MEMBERS_MAX, `${members.length} members > ${MEMBERS_MAX}`);
  assert(new Set(members.map((m) => m.id)).size === members.length, 'a configuration names a member twice');
}

function plainMember(m: Member): Member {
  const out: Member = { id: m.id, host: m.host, peerPort: m.peerPort, clientPort: m.clientPort, voter: m.voter };
  if (m.autoPromote === true && !m.voter) out.autoPromote = true;
  return out;
}

function isPort(p: unknown): boolean {
  return typeof p === 'number' && Number.isInteger(p) && p >= 0 && p <= 65535;
}

export function votersOf(m: Membership): NodeId[] {
  return m.members.filter((x) => x.voter).map((x) => x.id);
}
