// The peer wire codec: round trips, streaming decode under any chunking, validation,
// and a seeded fuzz that bad bytes only ever produce the two frame error codes.
// Set WIRE_FUZZ_SEED to replay a failing run.
import { seededRandom } from '../lib/node/random.js';
import assert from 'node:assert';
import t from 'tap';
import { Packr } from 'msgpackr';
import type { Frame } from '../actors/protocol.js';
import type { Entry, Message } from '../lib/raft/types.js';
import { RaftdError } from '../lib/util/errors.js';
import { decodeFrameBody, encodeFrame, FrameDecoder, FRAME_HEADER_BYTES, SHARED_BODY_BYTES_MIN, transferListOf } from '../lib/wire/frame-codec.js';
import { validateMessage } from '../lib/wire/validate.js';

const MAX = 1 << 20;
const FRAME_CODES = new Set(['RAFTD_FRAME_TOO_LARGE', 'RAFTD_FRAME_MALFORMED']);

/** Seeded, so a failing round replays. */
const prng = seededRandom;
const SEED = Number(process.env.WIRE_FUZZ_SEED ?? Date.now() % 1_000_000);
t.comment(`wire fuzz seed ${SEED} (replay with WIRE_FUZZ_SEED=${SEED})`);

function entry(index: number, term: number, data: number[] | Uint8Array, tid = ''): Entry {
  return { index, term, kind: 'normal', tid, data: data instanceof Uint8Array ? data : Uint8Array.from(data) };
}

const big = new Uint8Array(70_000).map((_, i) => (i * 31) & 0xff);
const ALL: Message[] = [
  { type: 'vote', term: 7, from: 'n1', to: 'n2', pre: false, transfer: false, lastLogIndex: 41, lastLogTerm: 6 },
  { type: 'vote', term: 8, from: 'n1', to: 'n2', pre: true, transfer: false, lastLogIndex: 0, lastLogTerm: 0 },
  { type: 'voteResp', term: 7, from: 'n2', to: 'n1', pre: false, granted: true },
  { type: 'voteResp', term: 9, from: 'n2', to: 'n1', pre: true, granted: false },
  { type: 'append', term: 3, from: 'n1', to: 'n2', prevLogIndex: 10, prevLogTerm: 2, entries: [], leaderCommit: 9, ctx: 0 },
  {
    type: 'append',
    term: 2 ** 40,
    from: 'n1',
    to: 'n2',
    prevLogIndex: 2 ** 45,
    prevLogTerm: 1,
    entries: [
      { ...entry(2 ** 45 + 1, 1, []), kind: 'noop' },
      entry(2 ** 45 + 2, 3, [0, 1, 2, 255, 0xc1], 'client-7:42'),
      entry(2 ** 45 + 3, 3, big, 'ünïcødé ✓ 🚀'),
      entry(2 ** 45 + 4, 2 ** 40, new Uint8Array(0), 'x'.repeat(300)),
    ],
    leaderCommit: 2 ** 45,
    ctx: 17,
  },
  { type: 'appendResp', term: 3, from: 'n2', to: 'n1', success: true, matchIndex: 14, rejectIndex: 0, conflictTerm: 0, conflictIndex: 0, ctx: 17 },
  { type: 'appendResp', term: 3, from: 'n2', to: 'n1', success: false, matchIndex: 0, rejectIndex: 10, conflictTerm: 2, conflictIndex: 8, ctx: 0 },
  { type: 'readIndex', term: 4, from: 'n2', to: 'n1', ctx: 99 },
  { type: 'readIndexResp', term: 4, from: 'n1', to: 'n2', ctx: 99, index: 1234, ok: true },
  { type: 'readIndexResp', term: 4, from: 'n1', to: 'n2', ctx: 98, index: 0, ok: false },
];
const HELLO: Frame = { t: 'hello', cluster: 'raftd-abc', from: 'n1', to: 'n2', version: 1, auth: true, nonce: new Uint8Array(32).fill(7) };

/** Entry data comes back as Buffer; compare bytes, not classes. */
function plain(v: unknown): unknown {
  if (v instanceof Uint8Array) return { bytes: Buffer.from(v.buffer, v.byteOffset, v.length).toString('hex') };
  if (Array.isArray(v)) return v.map(plain);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)]));
  return v;
}

function decodeAll(bytes: Buffer, chunkSizes: () => number, max = MAX): Frame[] {
  const d = new FrameDecoder(max);
  const out: Frame[] = [];
  for (let at = 0; at < bytes.length; ) {
    const n = Math.min(bytes.length - at, Math.max(1, chunkSizes()));
    for (const f of d.push(bytes.subarray(at, at + n))) out.push(f);
    at += n;
  }
  return out;
}

t.test('every message type round-trips, one frame per batch and one per message', async (t) => {
  const frames: Frame[] = [HELLO, { t: 'msgs', m: ALL }, ...ALL.map((m): Frame => ({ t: 'msgs', m: [m] })), { t: 'msgs', m: [] }];
  const bytes = Buffer.concat(frames.map(encodeFrame));
  const got = decodeAll(bytes, () => bytes.length);
  t.same(plain(got), plain(frames));
  const data = (got[1] as Extract<Frame, { t: 'msgs' }>).m[5] as Extract<Message, { type: 'append' }>;
  t.ok(data.entries[2]!.data instanceof Uint8Array, 'entry data is a Uint8Array');
  t.equal(data.entries[2]!.data.length, big.length);
});

t.test('frame format: u32 BE body length, then a plain msgpack map', async (t) => {
  const f = encodeFrame(HELLO);
  t.equal(f.readUInt32BE(0), f.length - FRAME_HEADER_BYTES);
  const tag = f[FRAME_HEADER_BYTES]!;
  t.ok((tag & 0xf0) === 0x80 || tag === 0xde || tag === 0xdf, `body is a msgpack map (tag 0x${tag.toString(16)})`);
  t.same(decodeFrameBody(f.subarray(FRAME_HEADER_BYTES)), HELLO);
  // Frames encoded later never overwrite earlier ones (they may sit in a socket's queue).
  const copy = Buffer.from(f);
  for (let i = 0; i < 2000; i++) encodeFrame({ t: 'msgs', m: ALL });
  t.ok(f.equals(copy), 'earlier frame bytes intact');
});

t.test('streaming decoder: byte by byte and random chunkings give the same frames', async (t) => {
  const rnd = prng(SEED);
  // ALL with its 70 KB entry cut to 2 KB, and one frame that keeps it: ~1 MB in all.
  const small = ALL.map((m) => (m.type === 'append' ? { ...m, entries: m.entries.map((e) => ({ ...e, data: e.data.subarray(0, 2048) })) } : m));
  const frames: Frame[] = [{ t: 'msgs', m: ALL }];
  for (let i = 0; i < 200; i++) frames.push(i % 50 === 0 ? HELLO : { t: 'msgs', m: small.slice(0, 1 + Math.floor(rnd() * small.length)) });
  const bytes = Buffer.concat(frames.map(encodeFrame));
  // The encoding is deterministic, so equal frames re-encode to the same bytes.
  const reencode = (fs: Frame[]) => Buffer.concat(fs.map(encodeFrame));
  const once = decodeAll(bytes, () => bytes.length);
  t.same(plain(once.slice(0, 2)), plain(frames.slice(0, 2)), 'first frames equal field by field');
  t.ok(reencode(decodeAll(bytes, () => 1)).equals(bytes), 'byte by byte');
  for (let round = 0; round < 20; round++) {
    const scale = [3, 50, 1000, 70_000][round % 4]!;
    const got = decodeAll(bytes, () => Math.floor(rnd() * scale));
    t.equal(got.length, frames.length);
    t.ok(reencode(got).equals(bytes), `chunks up to ${scale} bytes`);
  }
});

t.test('byte-by-byte decoding of a large frame stays linear', async (t) => {
  const m: Message = { type: 'append', term: 1, from: 'a', to: 'b', prevLogIndex: 0, prevLogTerm: 0, entries: [entry(1, 1, new Uint8Array(400_000))], leaderCommit: 0, ctx: 0 };
  const bytes = encodeFrame({ t: 'msgs', m: [m] });
  const start = performance.now();
  const got = decodeAll(bytes, () => 1);
  const ms = performance.now() - start;
  t.equal(got.length, 1);
  t.ok(ms < 5000, `400 KB fed one byte at a time in ${ms.toFixed(0)} ms`);
});

t.test('an oversized length prefix is refused before its body is buffered', async (t) => {
  const d = new FrameDecoder(1000);
  const header = Buffer.alloc(4);
  header.writeUInt32BE(1001);
  t.throws(() => [...d.push(header)], { code: 'RAFTD_FRAME_TOO_LARGE' });
  t.equal(d.bufferedBytes, 0);
  t.throws(() => [...d.push(Buffer.alloc(10))], { code: 'RAFTD_FRAME_TOO_LARGE' }, 'stays failed');

  // The header arrives byte by byte, after a good frame; the good frame still comes out.
  const d2 = new FrameDecoder(1000);
  const good = encodeFrame(HELLO);
  t.same([...d2.push(good)], [HELLO]);
  const huge = Buffer.from([0xff, 0xff, 0xff, 0xff]);
  t.same([...d2.push(huge.subarray(0, 3))], []);
  t.throws(() => [...d2.push(huge.subarray(3))], { code: 'RAFTD_FRAME_TOO_LARGE' });

  // A body exactly at the bound is fine.
  const f = encodeFrame(HELLO);
  t.same([...new FrameDecoder(f.length - 4).push(f)], [HELLO]);
  t.throws(() => [...new FrameDecoder(f.length - 5).push(f)], { code: 'RAFTD_FRAME_TOO_LARGE' });
});

t.test('pushed chunks are taken even when the result is not iterated', async (t) => {
  const d = new FrameDecoder(MAX);
  const f = encodeFrame(HELLO);
  d.push(f.subarray(0, 10));
  t.same([...d.push(f.subarray(10))], [HELLO]);
});

t.test('validation refuses ill-typed and inconsistent messages', async (t) => {
  const ok = ALL[5]!;
  const cases: [string, unknown][] = [
    ['not a map', 5],
    ['array', [1, 2]],
    ['unknown type', { ...ok, type: 'snapshot' }],
    ['negative term', { ...ok, term: -1 }],
    ['float index', { ...ALL[0]!, lastLogIndex: 1.5 }],
    ['string number', { ...ALL[0]!, term: '7' }],
    ['missing field', { type: 'voteResp', term: 1, from: 'a', to: 'b', pre: false }],
    ['bool as number', { ...ALL[2]!, granted: 1 }],
    ['empty id', { ...ALL[2]!, from: '' }],
    ['data not binary', { ...ok, entries: [{ index: 2 ** 45 + 1, term: 1, kind: 'normal', tid: '', data: [1, 2] }] }],
    ['bad kind', { ...ok, entries: [{ index: 2 ** 45 + 1, term: 1, kind: 'membership', tid: '', data: new Uint8Array(1) }] }],
    ['index gap', { ...ok, entries: [entry(2 ** 45 + 2, 1, [1])] }],
    ['term goes down', { ...ok, entries: [entry(2 ** 45 + 1, 3, [1]), entry(2 ** 45 + 2, 2, [1])] }],
    ['entry term over message term', { ...ok, term: 3, entries: [entry(2 ** 45 + 1, 4, [1])] }],
    ['entry term under prevLogTerm', { ...ok, prevLogTerm: 5, entries: [entry(2 ** 45 + 1, 4, [1])] }],
    ['unsafe integer', { ...ALL[0]!, term: 2 ** 60 }],
    ['bigint', { ...ALL[0]!, term: 5n }],
    ['toString key', { ...ALL[0]!, type: { toString: 1 } }],
  ];
  for (const [name, v] of cases) t.throws(() => validateMessage(v), { code: 'RAFTD_FRAME_MALFORMED' }, name);
  const clean = validateMessage({ ...ALL[2]!, extra: 'x', ['__proto__']: { polluted: true } });
  t.same(Object.keys(clean).sort(), Object.keys(ALL[2]!).sort(), 'stray keys dropped');
  t.equal(({} as { polluted?: boolean }).polluted, undefined);
});

t.test('well-formed msgpack of the wrong shape is refused as malformed', async (t) => {
  const packr = new Packr({ useRecords: false, moreTypes: true, structuredClone: true });
  const values: unknown[] = [
    null, 0, -1, 'hello', true, [], {}, new Map([['t', 'hello']]), new Set([1]), new Date(0), /re/g, new Error('x'), 2n ** 70n,
    { t: 'hello', cluster: 'c', from: 'a', to: 'b' },
    { t: 'hello', cluster: 'c', from: 'a', to: 'b', version: -1 },
    { t: 'hello', cluster: 'c', from: 'a', to: 'b', version: 1, auth: true },
    { t: 'hello', cluster: 'c', from: 'a', to: 'b', version: 1, auth: true, nonce: new Uint8Array(65) },
    { t: 'challenge', nonce: new Uint8Array(32) },
    { t: 'proof', mac: 'not binary' },
    { t: 'msgs' },
    { t: 'msgs', m: {} },
    { t: 'msgs', m: [null] },
    { t: 'msgs', m: [{ ...ALL[0]!, pre: null }] },
    new Float64Array([1, 2]),
  ];
  for (const v of values) {
    const body = packr.pack(v);
    t.throws(() => decodeFrameBody(body), { code: 'RAFTD_FRAME_MALFORMED' }, `${typeof v} ${String(v).slice(0, 30)}`);
  }
  // Deep nesting must not take the thread down.
  const deep = Buffer.alloc(200_000, 0x91);
  t.throws(() => decodeFrameBody(deep), { code: 'RAFTD_FRAME_MALFORMED' }, 'deep nesting');
  // Trailing bytes after the value.
  const f = encodeFrame(HELLO);
  t.throws(() => decodeFrameBody(Buffer.concat([f.subarray(4), Buffer.from([0xc0])])), { code: 'RAFTD_FRAME_MALFORMED' }, 'trailing byte');
  // An empty body.
  t.throws(() => [...new FrameDecoder(MAX).push(Buffer.alloc(4))], { code: 'RAFTD_FRAME_MALFORMED' }, 'empty body');
});

/** Runs the decoder over bytes in random chunks; returns the error (if any). Anything but a frame error fails. */
function feed(t: { fail(msg: string): unknown }, rnd: () => number, bytes: Uint8Array, what: string, max = 4096): RaftdError | null {
  const d = new FrameDecoder(max);
  try {
    for (let at = 0; at < bytes.length; ) {
      const n = 1 + Math.floor(rnd() * 64);
      for (const f of d.push(bytes.subarray(at, at + n))) {
        // Whatever comes out has passed validation: spot-check its shape.
        if (f.t !== 'hello' && f.t !== 'msgs') t.fail(`${what}: decoded a frame of kind ${String((f as { t: unknown }).t)}`);
      }
      at += n;
    }
    return null;
  } catch (err) {
    if (!(err instanceof RaftdError) || !FRAME_CODES.has(err.code)) {
      t.fail(`${what}: threw ${err instanceof Error ? `${err.name} ${(err as { code?: string }).code} ${err.message}` : String(err)}`);
      return null;
    }
    return err;
  }
}

t.test('fuzz: random bytes, mutations and truncations only ever give the two frame errors', async (t) => {
  const rnd = prng(SEED + 1);
  const byte = () => Math.floor(rnd() * 256);
  const valid = [HELLO, { t: 'msgs', m: ALL.slice(0, 5) } as Frame, { t: 'msgs', m: [ALL[5]!] } as Frame, ...ALL.map((m): Frame => ({ t: 'msgs', m: [m] }))].map(encodeFrame).filter((f) => f.length < 4096);
  let errors = 0;
  let cases = 0;
  const check = (bytes: Uint8Array, what: string) => {
    cases++;
    if (feed(t, rnd, bytes, `${what} (seed ${SEED})`)) errors++;
  };
  for (let i = 0; i < 3000; i++) {
    // Pure noise, and noise behind a plausible length prefix (to reach the msgpack decoder).
    const noise = Buffer.from(Array.from({ length: Math.floor(rnd() * 300) }, byte));
    check(noise, `noise #${i}`);
    const prefixed = Buffer.alloc(4 + noise.length);
    prefixed.writeUInt32BE(noise.length);
    noise.copy(prefixed, 4);
    check(prefixed, `prefixed noise #${i}`);
  }
  for (let i = 0; i < 4000; i++) {
    const f = Buffer.from(valid[i % valid.length]!);
    const k = 1 + Math.floor(rnd() * 4);
    for (let j = 0; j < k; j++) {
      const at = FRAME_HEADER_BYTES + Math.floor(rnd() * (f.length - FRAME_HEADER_BYTES));
      const op = rnd();
      if (op < 0.6) f[at] = byte();
      else if (op < 0.8) f[at] = f[at]! ^ (1 << Math.floor(rnd() * 8));
      else f[at] = [0xc0, 0xc1, 0xdc, 0xdd, 0xde, 0xdf, 0xd4, 0xc7, 0xff, 0x00][Math.floor(rnd() * 10)]!;
    }
    check(f, `mutated #${i}`);
    // Truncated, with the prefix patched to match (a complete but cut body) ...
    const cut = FRAME_HEADER_BYTES + 1 + Math.floor(rnd() * (f.length - FRAME_HEADER_BYTES - 1));
    const truncated = Buffer.from(valid[i % valid.length]!.subarray(0, cut));
    truncated.writeUInt32BE(cut - FRAME_HEADER_BYTES);
    if (cut < valid[i % valid.length]!.length && !feed(t, rnd, truncated, `truncated #${i}`)) t.fail(`truncated #${i} accepted (seed ${SEED})`);
    // ... and cut mid-stream: no frame, no error (the decoder waits for more).
    if (feed(t, rnd, valid[i % valid.length]!.subarray(0, cut - 1), `cut #${i}`)) t.fail(`cut #${i} refused (seed ${SEED})`);
    // Length prefix mutated.
    const g = Buffer.from(valid[i % valid.length]!);
    g[Math.floor(rnd() * 4)] = byte();
    check(Buffer.concat([g, valid[0]!]), `prefix-mutated #${i}`);
  }
  t.ok(errors > 0 && cases > 0, `${cases} cases, ${errors} refused`);
});

t.test('a large body decodes into shared memory (nothing to transfer); a small one into memory of its own', async (t) => {
  const append = (bytes: number): Message => ({ type: 'append', term: 1, from: 'a', to: 'b', prevLogIndex: 0, prevLogTerm: 0, entries: [entry(1, 1, new Uint8Array(bytes).map((_, i) => i & 0xff))], leaderCommit: 0, ctx: 0 });
  for (const [bytes, shared] of [[SHARED_BODY_BYTES_MIN, true], [1000, false]] as const) {
    const m = append(bytes);
    const encoded = encodeFrame({ t: 'msgs', m: [m] });
    // In two pieces: the body is copied out of both.
    const d = new FrameDecoder(MAX);
    const half = encoded.length >> 1;
    const got = [...d.push(encoded.subarray(0, half)), ...d.push(encoded.subarray(half))];
    t.equal(got.length, 1);
    const f = got[0]!;
    assert.ok(f.t === 'msgs' && f.m[0]!.type === 'append');
    const data = f.m[0]!.entries[0]!.data;
    const sent = (m as Extract<Message, { type: 'append' }>).entries[0]!.data;
    t.ok(Buffer.from(data.buffer, data.byteOffset, data.byteLength).equals(Buffer.from(sent)), `${bytes}-byte entry: same bytes`);
    t.equal(data.buffer instanceof SharedArrayBuffer, shared, `${bytes}-byte entry ${shared ? 'in' : 'not in'} shared memory`);
    t.equal(transferListOf(f).length, shared ? 0 : 1, shared ? 'nothing to transfer' : 'its body is transferred');
  }
});
