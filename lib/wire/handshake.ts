// The peer handshake, as pure code (no I/O, no clock; nonces are given). Three frames:
//
//   dialer   -> listener  hello     {cluster, from, to, version, auth, nonce: Nd}
//   listener -> dialer    challenge {nonce: Nl, mac: HMAC(secret, 'listener' | cluster | from | to | Nd | Nl)}
//   dialer   -> listener  proof     {mac: HMAC(secret, 'dialer'   | cluster | from | to | Nd | Nl)}
//
// Each side proves it holds the cluster secret over a nonce the other side just chose,
// so a recorded handshake replayed later fails (the listener's fresh Nl differs), and a
// MAC seen in one direction or between other nodes is useless elsewhere: the role and
// both node ids are inside it, so a reflected challenge (sent back as a proof) or a
// handshake relayed to a third node fails. MACs are compared with timingSafeEqual.
//
// With no secret configured on both ends the same frames flow with empty MACs: it keeps
// one code path, and a node with a secret refuses one without (and the other way round)
// with a reason that says so, instead of a confusing MAC mismatch.
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Frame } from '../actor/protocol.js';
import type { NodeId } from '../raft/types.js';
import { assert } from '../util/assert.js';

export const NONCE_BYTES = 32;
export const MAC_BYTES = 32;
/** Prefix of every MAC input: a new handshake format changes it, so old MACs never verify. */
const MAC_DOMAIN = 'raftd-peer-handshake-v1';

export type Hello = Extract<Frame, { t: 'hello' }>;
export type Challenge = Extract<Frame, { t: 'challenge' }>;
export type Proof = Extract<Frame, { t: 'proof' }>;

export type HandshakeRole = 'dialer' | 'listener';

/** What both ends must agree on. `secret` null: this node has none (peer port open to anyone). */
export interface HandshakeConfig {
  cluster: string;
  version: number;
  secret: Buffer | null;
}

export type Verdict<T> = { ok: true; value: T } | { ok: false; reason: string };

const refuse = <T>(reason: string): Verdict<T> => ({ ok: false, reason });

/** One field of the MAC input: its length, then its bytes, so no two field lists encode alike. */
function field(h: ReturnType<typeof createHmac>, v: string | Uint8Array): void {
  const b = typeof v === 'string' ? Buffer.from(v, 'utf8') : v;
  const len = Buffer.alloc(4);
  len.writeUInt32BE(b.length, 0);
  h.update(len);
  h.update(b);
}

/** The MAC `role` sends for the connection dialer -> listener with these nonces. */
export function handshakeMac(
  secret: Buffer,
  role: HandshakeRole,
  cluster: string,
  dialer: NodeId,
  listener: NodeId,
  dialerNonce: Uint8Array,
  listenerNonce: Uint8Array,
): Buffer {
  assert(secret.length > 0, 'empty cluster secret');
  const h = createHmac('sha256', secret);
  for (const f of [MAC_DOMAIN, role, cluster, dialer, listener, dialerNonce, listenerNonce]) field(h, f);
  return h.digest();
}

/** Constant-time for equal lengths; the length of a MAC is no secret. */
export function macEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Why a hello's auth flag and this node's secret do not match, or null when they do. */
function authMismatch(secret: Buffer | null, peerAuth: boolean, peer: string): string | null {
  if (secret !== null && !peerAuth) return `${peer} has no cluster secret (this node requires one)`;
  if (secret === null && peerAuth) return `${peer} has a cluster secret and this node has none`;
  return null;
}

/** The dialing side (a replicator): sends hello, checks the challenge, answers with a proof. */
export class DialerHandshake {
  private done = false;

  constructor(
    private readonly cfg: HandshakeConfig,
    readonly self: NodeId,
    readonly peer: NodeId,
    private readonly nonce: Uint8Array,
  ) {
    assert(nonce.length === NONCE_BYTES, 'dialer nonce size');
  }

  hello(): Hello {
    const { cluster, version, secret } = this.cfg;
    return { t: 'hello', cluster, from: this.self, to: this.peer, version, auth: secret !== null, nonce: this.nonce };
  }

  /** Checks the listener's proof of the secret; on success the proof frame to send. Once only. */
  onChallenge(c: Challenge): Verdict<Proof> {
    if (this.done) return refuse('second challenge');
    this.done = true;
    const { cluster, secret } = this.cfg;
    if (c.nonce.length !== NONCE_BYTES) return refuse(`challenge nonce of ${c.nonce.length} bytes`);
    const mismatch = authMismatch(secret, c.mac.length > 0, `peer ${this.peer}`);
    if (mismatch) return refuse(mismatch);
    if (secret === null) return { ok: true, value: { t: 'proof', mac: new Uint8Array(0) } };
    const want = handshakeMac(secret, 'listener', cluster, this.self, this.peer, this.nonce, c.nonce);
    if (!macEqual(c.mac, want)) return refuse(`peer ${this.peer} does not know the cluster secret (challenge MAC mismatch)`);
    return { ok: true, value: { t: 'proof', mac: handshakeMac(secret, 'dialer', cluster, this.self, this.peer, this.nonce, c.nonce) } };
  }
}

/** The listening side (the peer server), for one inbound connection. */
export class ListenerHandshake {
  private hello: Hello | null = null;
  private finished = false;

  constructor(
    private readonly cfg: HandshakeConfig,
    readonly self: NodeId,
    private readonly known: ReadonlySet<NodeId>,
    private readonly nonce: Uint8Array,
  ) {
    assert(nonce.length === NONCE_BYTES, 'listener nonce size');
  }

  /** The peer the hello claims to be (not yet proven), for log lines. */
  get claimed(): NodeId | null {
    return this.hello?.from ?? null;
  }

  /** Checks the hello; on success the challenge frame to send. */
  onHello(f: Hello): Verdict<Challenge> {
    const { cluster, version, secret } = this.cfg;
    if (this.hello !== null || this.finished) return refuse('second hello');
    if (f.cluster !== cluster) return refuse(`wrong cluster id "${f.cluster}" (this node is in "${cluster}")`);
    if (f.version !== version) return refuse(`wire version ${f.version} (this node speaks ${version})`);
    if (!this.known.has(f.from)) return refuse(`unknown node "${f.from}"`);
    if (f.to !== this.self) return refuse(`hello meant for "${f.to}", this is "${this.self}"`);
    if (f.nonce.length !== NONCE_BYTES) return refuse(`hello nonce of ${f.nonce.length} bytes`);
    const mismatch = authMismatch(secret, f.auth, `node ${f.from}`);
    if (mismatch) return refuse(mismatch);
    this.hello = f;
    const mac = secret === null ? new Uint8Array(0) : handshakeMac(secret, 'listener', cluster, f.from, this.self, f.nonce, this.nonce);
    return { ok: true, value: { t: 'challenge', nonce: this.nonce, mac } };
  }

  /** Checks the dialer's proof; on success the authenticated peer id. */
  onProof(p: Proof): Verdict<NodeId> {
    const h = this.hello;
    if (h === null) return refuse('proof before hello');
    if (this.finished) return refuse('second proof');
    this.finished = true;
    const { cluster, secret } = this.cfg;
    if (secret === null) return p.mac.length === 0 ? { ok: true, value: h.from } : refuse(`node ${h.from} sent a MAC and this node has no secret`);
    const want = handshakeMac(secret, 'dialer', cluster, h.from, this.self, h.nonce, this.nonce);
    if (!macEqual(p.mac, want)) return refuse(`node ${h.from} does not know the cluster secret (proof MAC mismatch)`);
    return { ok: true, value: h.from };
  }
}
