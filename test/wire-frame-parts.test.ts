// Frames with large byte strings are encoded in parts (lib/wire/frame-parts.ts): the
// parts together are one valid frame that decodes to exactly what msgpackr's encoding
// of the same frame decodes to, every msgpack size class included, and each large byte
// string is a part of its own over the entry's own memory (not a copy).
import t from 'tap';
import type { Frame, PeerMessage } from '../actors/protocol.js';
import type { Entry } from '../lib/raft/types.js';
import { encodeBatch, partsBytes } from '../lib/wire/batch.js';
import { decodeFrameBody, encodeFrame, FRAME_HEADER_BYTES, FrameDecoder } from '../lib/wire/frame-codec.js';
import { encodeFrameParts, hasLargeBytes, PART_BYTES_MIN } from '../lib/wire/frame-parts.js';

function filled(n: number, seed: number, shared = false): Uint8Array {
  const u = new Uint8Array(shared ? new SharedArrayBuffer(n + 7) : new ArrayBuffer(n + 7)).subarray(3, 3 + n);
  for (let i = 0; i < n; i++) u[i] = (i * 13 + seed) & 0xff;
  return u;
}

function entry(index: number, n: number, shared = false): Entry {
  return { index, term: 7, kind: index % 2 === 0 ? 'normal' : 'config', tid: index % 3 === 0 ? '' : `tid-${index}-€`, data: filled(n, index, shared) };
}

/** What a frame decodes to: binary as hex, so Buffer and Uint8Array compare alike. */
function plain(v: unknown): unknown {
  if (v instanceof Uint8Array) return { hex: Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('hex') };
  if (Array.isArray(v)) return v.map(plain);
  if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)]));
  return v;
}

function concat(parts: readonly Buffer[]): Buffer {
  return Buffer.concat(parts.map((p) => Buffer.from(p)));
}

const appendFrame = (entries: Entry[], extra: Partial<PeerMessage> = {}): Frame => ({
  t: 'msgs',
  m: [{ type: 'append', term: 7, from: 'n1', to: 'n2', prevLogIndex: 99, prevLogTerm: 6, entries, leaderCommit: 98, ctx: 0, ...extra } as PeerMessage],
});

t.test('the parts are one frame that decodes as msgpackr encoded it, with large values uncopied', async (t) => {
  const entries = [entry(100, 5), entry(101, PART_BYTES_MIN, true), entry(102, 300), entry(103, 100_000, true), entry(104, 70_000), entry(105, 0)];
  const frame = appendFrame(entries);
  t.ok(hasLargeBytes(frame));
  const parts = encodeFrameParts(frame);
  const whole = concat(parts);
  t.equal(whole.readUInt32BE(0), whole.length - FRAME_HEADER_BYTES, 'length prefix');
  t.same(plain(decodeFrameBody(whole.subarray(FRAME_HEADER_BYTES))), plain(decodeFrameBody(encodeFrame(frame).subarray(FRAME_HEADER_BYTES))));
  for (const e of entries.filter((x) => x.data.byteLength >= PART_BYTES_MIN)) {
    t.ok(
      parts.some((p) => p.buffer === e.data.buffer && p.byteOffset === e.data.byteOffset && p.length === e.data.byteLength),
      `entry ${e.index} (${e.data.byteLength} B) is a part over its own memory`,
    );
  }
  t.equal(parts.length, 1 + 2 * 3, 'prefix-and-head, then each large value and the msgpack after it');
});

t.test('every msgpack size class and value kind round-trips', async (t) => {
  const long = (n: number) => 'x'.repeat(n);
  const odd = {
    ints: [0, 1, 127, 128, 255, 256, 65535, 65536, 0xffff_ffff, 0x1_0000_0000, Number.MAX_SAFE_INTEGER, -1, -32, -33, -128, -129, -32768, -32769, -0x8000_0000, -0x8000_0001, 1.5, -2.25],
    strings: ['', 'é€😀', long(31), long(32), long(255), long(256), long(65535), long(65536)],
    bytes: [filled(0, 1), filled(255, 2), filled(256, 3), filled(65535, 4), filled(65536, 5)],
    flags: [true, false, null, undefined],
    arrays: [[], Array.from({ length: 15 }, (_, i) => i), Array.from({ length: 16 }, (_, i) => i), Array.from({ length: 70_000 }, (_, i) => i & 7)],
    maps: [Object.fromEntries(Array.from({ length: 15 }, (_, i) => [`k${i}`, i])), Object.fromEntries(Array.from({ length: 16 }, (_, i) => [`k${i}`, i])), Object.fromEntries(Array.from({ length: 70_000 }, (_, i) => [`k${i}`, i]))],
  };
  // Carried in a snapshot chunk's place so the frame has one large value and the odd fields.
  const frame = { t: 'msgs', m: [{ type: 'snapChunk', term: 1, from: 'n1', to: 'n2', index: 5, snapTerm: 1, offset: 0, data: filled(PART_BYTES_MIN + 1, 9, true), done: false, odd }] } as unknown as Frame;
  const whole = concat(encodeFrameParts(frame));
  t.equal(whole.readUInt32BE(0), whole.length - FRAME_HEADER_BYTES);
  const { Unpackr } = await import('msgpackr');
  const raw = new Unpackr({ useRecords: false, mapsAsObjects: true, structuredClone: false }).unpack(whole.subarray(FRAME_HEADER_BYTES)) as { m: { odd: unknown }[] };
  t.same(plain(raw.m[0]!.odd), plain(odd));
  t.equal((raw.m[0]!.odd as { flags: unknown[] }).flags[3], undefined, 'undefined stays undefined');
  t.equal(Object.keys((raw.m[0]!.odd as { maps: object[] }).maps[2]!).length, 70_000);
});

t.test('frames without large values are msgpackr buffers as before; with them, parts', async (t) => {
  const small = appendFrame([entry(100, 10), entry(101, PART_BYTES_MIN - 1)]);
  t.notOk(hasLargeBytes(small));
  const bulk: PeerMessage[] = [
    (appendFrame([entry(100, 40_000), entry(101, 40_000), entry(102, 40_000)]) as { m: PeerMessage[] }).m[0]!,
    { type: 'appendResp', term: 7, from: 'n1', to: 'n2', success: true, matchIndex: 3, rejectIndex: 0, conflictTerm: 0, conflictIndex: 0, ctx: 0 },
  ];
  const max = 100_000;
  const { frames, dropped } = encodeBatch(bulk, max);
  t.same(dropped, []);
  t.ok(frames.length >= 2, `split into ${frames.length} frames under ${max} B`);
  const d = new FrameDecoder(max);
  const got: PeerMessage[] = [];
  for (const parts of frames) {
    t.ok(partsBytes(parts) - FRAME_HEADER_BYTES <= max, 'each frame within the bound');
    t.ok(parts.length > 1, 'large values as their own parts');
    for (const p of parts) for (const f of d.push(p)) got.push(...(f as Extract<Frame, { t: 'msgs' }>).m);
  }
  const entries = got.flatMap((m) => (m.type === 'append' ? m.entries : []));
  t.same(
    entries.map((e) => e.index),
    [100, 101, 102],
  );
  t.same(plain(entries), plain((bulk[0] as { entries: Entry[] }).entries));
  t.equal(got.at(-1)!.type, 'appendResp', 'order kept');
});
