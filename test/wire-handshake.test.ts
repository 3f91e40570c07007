// The peer handshake as pure code: both ends with the secret agree; without it, with a
// different one, or with one side lacking it, the handshake fails before any message;
// a recorded handshake replayed, a challenge reflected back as a proof, a handshake
// relayed to another node or for another direction all fail.
import { createHash } from 'node:crypto';
import t from 'tap';
import { RefusalLog, sourceOf } from '../lib/security/refusal-log.js';
import { DialerHandshake, handshakeMac, ListenerHandshake, macEqual, NONCE_BYTES, type HandshakeConfig } from '../lib/wire/handshake.js';

const SECRET = Buffer.from('correct horse battery staple 42');
const cfg = (secret: Buffer | null = SECRET): HandshakeConfig => ({ cluster: 'c1', version: 1, secret });
const KNOWN = new Set(['n1', 'n2', 'n3']);
/** Deterministic distinct nonces. */
let nonceSeq = 0;
const nonce = () => createHash('sha256').update(`nonce-${nonceSeq++}`).digest();

function run(dialerCfg: HandshakeConfig, listenerCfg: HandshakeConfig, from = 'n1', to = 'n2') {
  const d = new DialerHandshake(dialerCfg, from, to, nonce());
  const l = new ListenerHandshake(listenerCfg, to, KNOWN, nonce());
  const hello = d.hello();
  const ch = l.onHello(hello);
  if (!ch.ok) return { stage: 'hello', reason: ch.reason, hello };
  const pr = d.onChallenge(ch.value);
  if (!pr.ok) return { stage: 'challenge', reason: pr.reason, hello, challenge: ch.value };
  const done = l.onProof(pr.value);
  if (!done.ok) return { stage: 'proof', reason: done.reason, hello, challenge: ch.value, proof: pr.value };
  return { stage: 'done', peer: done.value, hello, challenge: ch.value, proof: pr.value };
}

t.test('both ends with the same secret authenticate each other', async (t) => {
  const r = run(cfg(), cfg());
  t.equal(r.stage, 'done');
  t.equal(r.peer, 'n1');
  t.equal(r.challenge!.mac.length, 32);
  t.equal(r.proof!.mac.length, 32);
  t.equal(r.hello.auth, true);
  t.equal(r.hello.nonce.length, NONCE_BYTES);
});

t.test('no secret on both ends: the handshake runs with empty MACs', async (t) => {
  const r = run(cfg(null), cfg(null));
  t.equal(r.stage, 'done');
  t.equal(r.challenge!.mac.length, 0);
});

t.test('a wrong secret fails on both sides: neither end proves itself to the other', async (t) => {
  const r = run(cfg(Buffer.from('a different secret, long enough')), cfg());
  t.equal(r.stage, 'challenge', 'the dialer refuses the listener (it cannot prove the secret the dialer holds)');
  t.match(r.reason, /challenge MAC mismatch/);
  // An impostor dialer that ignores the bad challenge and sends a proof of its own still fails.
  const impostor = new DialerHandshake(cfg(Buffer.from('a different secret, long enough')), 'n1', 'n2', nonce());
  const l = new ListenerHandshake(cfg(), 'n2', KNOWN, nonce());
  const ch = l.onHello(impostor.hello());
  t.ok(ch.ok);
  if (!ch.ok) return;
  const forged = handshakeMac(Buffer.from('a different secret, long enough'), 'dialer', 'c1', 'n1', 'n2', impostor.hello().nonce, ch.value.nonce);
  const v = l.onProof({ t: 'proof', mac: forged });
  t.notOk(v.ok);
  t.match(!v.ok && v.reason, /proof MAC mismatch/);
});

t.test('one side without a secret is refused with a reason that says so', async (t) => {
  const a = run(cfg(null), cfg());
  t.equal(a.stage, 'hello');
  t.match(a.reason, /has no cluster secret/);
  const b = run(cfg(), cfg(null));
  t.equal(b.stage, 'hello');
  t.match(b.reason, /has a cluster secret and this node has none/);
  // A dialer with no secret that claims auth and sends garbage MACs: refused at the proof.
  const l = new ListenerHandshake(cfg(), 'n2', KNOWN, nonce());
  const ch = l.onHello({ t: 'hello', cluster: 'c1', from: 'n1', to: 'n2', version: 1, auth: true, nonce: nonce() });
  t.ok(ch.ok);
  for (const mac of [new Uint8Array(0), new Uint8Array(32), new Uint8Array(31), new Uint8Array(33)]) {
    const l2 = new ListenerHandshake(cfg(), 'n2', KNOWN, nonce());
    l2.onHello({ t: 'hello', cluster: 'c1', from: 'n1', to: 'n2', version: 1, auth: true, nonce: nonce() });
    t.notOk(l2.onProof({ t: 'proof', mac }).ok, `proof of ${mac.length} zero bytes refused`);
  }
});

t.test('a recorded handshake replayed to the listener fails: its nonce is fresh', async (t) => {
  const recorded = run(cfg(), cfg());
  t.equal(recorded.stage, 'done');
  // The attacker replays the dialer's hello and proof on a new connection.
  const l = new ListenerHandshake(cfg(), 'n2', KNOWN, nonce());
  const ch = l.onHello(recorded.hello);
  t.ok(ch.ok, 'the hello itself carries no proof, so it is answered');
  const v = l.onProof(recorded.proof!);
  t.notOk(v.ok, 'the old proof does not match the new challenge');
  t.match(!v.ok && v.reason, /proof MAC mismatch/);
  // Replaying the listener's recorded challenge to a dialer fails the same way.
  const d = new DialerHandshake(cfg(), 'n1', 'n2', nonce());
  t.notOk(d.onChallenge(recorded.challenge!).ok, 'an old challenge does not match a new hello');
});

t.test('a reflected challenge is no proof: the role is inside the MAC', async (t) => {
  // An attacker without the secret dials n2 claiming to be n1, and in parallel makes n2
  // (or n1) compute a listener MAC over the nonces it needs, then sends that back as its proof.
  const l = new ListenerHandshake(cfg(), 'n2', KNOWN, nonce());
  const attackerNonce = nonce();
  const ch = l.onHello({ t: 'hello', cluster: 'c1', from: 'n1', to: 'n2', version: 1, auth: true, nonce: attackerNonce });
  t.ok(ch.ok);
  if (!ch.ok) return;
  // Reflect n2's own challenge MAC back as the proof.
  const v1 = l.onProof({ t: 'proof', mac: ch.value.mac });
  t.notOk(v1.ok, 'the challenge MAC sent back as the proof fails');
  // Open a second connection to n2 with the listener's nonce as the dialer nonce, to get a
  // listener MAC over (nonce', Nl) ... it binds role=listener, so it never equals a dialer MAC.
  const l2 = new ListenerHandshake(cfg(), 'n2', KNOWN, nonce());
  const l3 = new ListenerHandshake(cfg(), 'n2', KNOWN, attackerNonce);
  const ch3 = l3.onHello({ t: 'hello', cluster: 'c1', from: 'n1', to: 'n2', version: 1, auth: true, nonce: ch.value.nonce });
  t.ok(ch3.ok);
  if (!ch3.ok) return;
  l2.onHello({ t: 'hello', cluster: 'c1', from: 'n1', to: 'n2', version: 1, auth: true, nonce: attackerNonce });
  t.notOk(l2.onProof({ t: 'proof', mac: ch3.value.mac }).ok, 'a listener MAC over swapped nonces is no dialer proof');
});

t.test('MACs are bound to the cluster, both node ids and the direction', async (t) => {
  const nd = nonce();
  const nl = nonce();
  const base = handshakeMac(SECRET, 'dialer', 'c1', 'n1', 'n2', nd, nl);
  const variants = [
    handshakeMac(SECRET, 'listener', 'c1', 'n1', 'n2', nd, nl),
    handshakeMac(SECRET, 'dialer', 'c2', 'n1', 'n2', nd, nl),
    handshakeMac(SECRET, 'dialer', 'c1', 'n2', 'n1', nd, nl),
    handshakeMac(SECRET, 'dialer', 'c1', 'n3', 'n2', nd, nl),
    handshakeMac(SECRET, 'dialer', 'c1', 'n1', 'n3', nd, nl),
    handshakeMac(SECRET, 'dialer', 'c1', 'n1', 'n2', nl, nd),
    // Field boundaries are length-prefixed: moving a character between ids changes the MAC.
    handshakeMac(SECRET, 'dialer', 'c1', 'n1n', '2', nd, nl),
  ];
  for (const [i, v] of variants.entries()) t.notOk(macEqual(base, v), `variant ${i} differs`);
  t.ok(macEqual(base, handshakeMac(SECRET, 'dialer', 'c1', 'n1', 'n2', nd, nl)), 'deterministic');
  // A handshake relayed to another node: a proof made for n1 -> n2 offered to n3.
  const d = new DialerHandshake(cfg(), 'n1', 'n2', nonce());
  const l2 = new ListenerHandshake(cfg(), 'n2', KNOWN, nonce());
  const l3 = new ListenerHandshake(cfg(), 'n3', KNOWN, nonce());
  const hello = d.hello();
  const ch2 = l2.onHello(hello);
  t.notOk(l3.onHello(hello).ok, 'a hello for n2 is refused by n3');
  t.ok(ch2.ok);
  if (!ch2.ok) return;
  const pr = d.onChallenge(ch2.value);
  t.ok(pr.ok);
  const l3b = new ListenerHandshake(cfg(), 'n3', KNOWN, ch2.value.nonce);
  l3b.onHello({ ...hello, to: 'n3' });
  t.notOk(pr.ok && l3b.onProof(pr.value).ok, 'a proof for n2 is no proof for n3, even with the same nonces');
});

t.test('hello checks and ordering', async (t) => {
  const h = new DialerHandshake(cfg(), 'n1', 'n2', nonce()).hello();
  const cases: [string, Partial<typeof h>, RegExp][] = [
    ['wrong cluster', { cluster: 'other' }, /wrong cluster id "other"/],
    ['wrong version', { version: 9 }, /wire version 9/],
    ['unknown node', { from: 'n9' }, /unknown node "n9"/],
    ['other target', { to: 'n3' }, /meant for "n3"/],
    ['short nonce', { nonce: new Uint8Array(8) }, /nonce of 8 bytes/],
  ];
  for (const [name, over, re] of cases) {
    const v = new ListenerHandshake(cfg(), 'n2', KNOWN, nonce()).onHello({ ...h, ...over });
    t.match(!v.ok && v.reason, re, name);
  }
  const l = new ListenerHandshake(cfg(), 'n2', KNOWN, nonce());
  t.match(l.onProof({ t: 'proof', mac: new Uint8Array(32) }), { ok: false, reason: /before hello/ });
  t.ok(l.onHello(h).ok);
  t.match(l.onHello(h), { ok: false, reason: /second hello/ });
  const d = new DialerHandshake(cfg(), 'n1', 'n2', nonce());
  t.match(d.onChallenge({ t: 'challenge', nonce: new Uint8Array(3), mac: new Uint8Array(32) }), { ok: false, reason: /nonce of 3 bytes/ });
  t.match(d.onChallenge({ t: 'challenge', nonce: nonce(), mac: new Uint8Array(32) }), { ok: false, reason: /second challenge/ });
});

t.test('refusals are logged once per source and interval', async (t) => {
  const r = new RefusalLog({ intervalMs: 1000, sourcesMax: 2 });
  t.same(r.note('10.0.0.1', 0), { log: true, suppressed: 0 });
  t.same(r.note('10.0.0.1', 10), { log: false, suppressed: 0 });
  t.same(r.note('10.0.0.1', 999), { log: false, suppressed: 0 });
  t.same(r.note('10.0.0.2', 999), { log: true, suppressed: 0 }, 'another source logs at once');
  t.same(r.note('10.0.0.1', 1000), { log: true, suppressed: 2 }, 'after the interval, with the count');
  t.same(r.note('10.0.0.3', 1001), { log: true, suppressed: 0 });
  t.equal(r.size, 2, 'bounded: the stalest source is forgotten');
  t.same(r.note('10.0.0.2', 1002), { log: true, suppressed: 0 }, 'a forgotten source starts afresh');
  t.equal(sourceOf('127.0.0.1:5000'), '127.0.0.1');
  t.equal(sourceOf('::1:5000'), '::1');
});
