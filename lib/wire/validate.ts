// Checks that a decoded value is a well-formed Frame. Peers' bytes are untrusted, and
// the Raft core asserts on what it is given, so nothing reaches it unchecked: every
// field must have its type (numbers are non-negative safe integers, ids non-empty
// strings, entry data bytes), and an append's entries must be the consecutive run
// that a correct leader sends. The result is a fresh object holding only the known
// fields, so stray keys in the input never travel further.
import type { Frame } from '../actor/protocol.js';
import type { ForwardMessage, PeerMessage, SnapAck, SnapshotMessage } from '../replica/messages.js';
import type { Entry, Message } from '../raft/types.js';
import { RaftdError } from '../util/errors.js';

/** Node ids in hosts.txt are at most 64 characters; allow slack, refuse absurd ones. */
const ID_CHARS_MAX = 256;

type Rec = Record<string, unknown>;

function bad(what: string): never {
  throw new RaftdError('RAFTD_FRAME_MALFORMED', `malformed frame: ${what}`);
}

/** Never calls into the value (a decoded map may carry a `toString` key). */
function describe(v: unknown): string {
  return typeof v === 'string' ? JSON.stringify(v.slice(0, 32)) : typeof v;
}

function rec(v: unknown, what: string): Rec {
  if (typeof v !== 'object' || v === null || Array.isArray(v) || v instanceof Uint8Array) bad(`${what} is not a map`);
  return v as Rec;
}

function own(r: Rec, key: string): unknown {
  return Object.prototype.hasOwnProperty.call(r, key) ? r[key] : undefined;
}

function uint(r: Rec, key: string, what: string): number {
  const v = own(r, key);
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) bad(`${what}.${key} is not a non-negative integer`);
  return v;
}

function str(r: Rec, key: string, what: string, charsMax: number): string {
  const v = own(r, key);
  if (typeof v !== 'string' || v.length > charsMax) bad(`${what}.${key} is not a string`);
  return v;
}

function id(r: Rec, key: string, what: string): string {
  const v = str(r, key, what, ID_CHARS_MAX);
  if (v.length === 0) bad(`${what}.${key} is empty`);
  return v;
}

function bool(r: Rec, key: string, what: string): boolean {
  const v = own(r, key);
  if (typeof v !== 'boolean') bad(`${what}.${key} is not a boolean`);
  return v;
}

/** Nonces and MACs are 32 bytes; anything much longer is garbage. */
const HANDSHAKE_BYTES_MAX = 64;

function bytes(r: Rec, key: string, what: string, bytesMax: number): Uint8Array {
  const v = own(r, key);
  if (!(v instanceof Uint8Array) || v.length > bytesMax) bad(`${what}.${key} is not binary of at most ${bytesMax} bytes`);
  return v;
}

function validateEntry(v: unknown, what: string): Entry {
  const r = rec(v, what);
  const kind = own(r, 'kind');
  if (kind !== 'normal' && kind !== 'noop' && kind !== 'config') bad(`${what}.kind is not 'normal', 'noop' or 'config'`);
  const data = own(r, 'data');
  if (!(data instanceof Uint8Array)) bad(`${what}.data is not binary`);
  return {
    index: uint(r, 'index', what),
    term: uint(r, 'term', what),
    kind,
    tid: str(r, 'tid', what, Number.MAX_SAFE_INTEGER),
    data,
  };
}

/** Bound on the items of one forwarded batch (writes or replies). */
export const FORWARD_ITEMS_MAX = 65536;

function validateForward(r: Rec, type: ForwardMessage['type'], what: string): ForwardMessage {
  const term = uint(r, 'term', what);
  const from = id(r, 'from', what);
  const to = id(r, 'to', what);
  const epoch = uint(r, 'epoch', what);
  const key = type === 'fwdWrite' ? 'items' : 'replies';
  const raw = own(r, key);
  if (!Array.isArray(raw) || raw.length > FORWARD_ITEMS_MAX) bad(`${what}.${key} is not an array of at most ${FORWARD_ITEMS_MAX}`);
  const bin = (x: Rec, k: string, w: string): Uint8Array => {
    const b = own(x, k);
    if (!(b instanceof Uint8Array)) bad(`${w}.${k} is not binary`);
    return b;
  };
  if (type === 'fwdWrite') {
    const items = raw.map((x, i) => {
      const w = `${what}.items[${i}]`;
      const it = rec(x, w);
      return { fid: uint(it, 'fid', w), tid: str(it, 'tid', w, 1024), data: bin(it, 'data', w) };
    });
    return { type, term, from, to, epoch, items };
  }
  const replies = raw.map((x, i) => {
    const w = `${what}.replies[${i}]`;
    const it = rec(x, w);
    return { fid: uint(it, 'fid', w), ok: bool(it, 'ok', w), reply: bin(it, 'reply', w), code: str(it, 'code', w, 64), message: str(it, 'message', w, 4096) };
  });
  return { type, term, from, to, epoch, replies };
}

/** Bound on one InstallSnapshot chunk's bytes (the sender's chunk size is far below). */
export const SNAP_CHUNK_BYTES_MAX = 8 * 1024 * 1024;
const SNAP_ACK_STATUSES = ['appended', 'ignored', 'gap', 'installed', 'invalid', 'refused'] as const;

function validateSnapshotMessage(r: Rec, type: SnapshotMessage['type'], what: string): SnapshotMessage {
  const base = { term: uint(r, 'term', what), from: id(r, 'from', what), to: id(r, 'to', what), index: uint(r, 'index', what), snapTerm: uint(r, 'snapTerm', what) };
  if (type === 'snapChunk') {
    const data = own(r, 'data');
    if (!(data instanceof Uint8Array) || data.length > SNAP_CHUNK_BYTES_MAX) bad(`${what}.data is not binary of at most ${SNAP_CHUNK_BYTES_MAX} bytes`);
    return { type, ...base, offset: uint(r, 'offset', what), data, done: bool(r, 'done', what) };
  }
  const status = own(r, 'status');
  if (!SNAP_ACK_STATUSES.includes(status as SnapAck['status'])) bad(`${what}.status is not a snapshot ack status`);
  return { type, ...base, status: status as SnapAck['status'], nextOffset: uint(r, 'nextOffset', what) };
}

/** A Raft message, a forwarded client request/reply, or an InstallSnapshot chunk or answer. */
export function validatePeerMessage(v: unknown, what = 'message'): PeerMessage {
  const r = rec(v, what);
  const type = own(r, 'type');
  if (type === 'fwdWrite' || type === 'fwdReply') return validateForward(r, type, what);
  if (type === 'snapChunk' || type === 'snapAck') return validateSnapshotMessage(r, type, what);
  return validateMessage(v, what);
}

export function validateMessage(v: unknown, what = 'message'): Message {
  const r = rec(v, what);
  const type = own(r, 'type');
  const term = uint(r, 'term', what);
  const from = id(r, 'from', what);
  const to = id(r, 'to', what);
  switch (type) {
    case 'vote':
      return {
        type,
        term,
        from,
        to,
        pre: bool(r, 'pre', what),
        transfer: bool(r, 'transfer', what),
        lastLogIndex: uint(r, 'lastLogIndex', what),
        lastLogTerm: uint(r, 'lastLogTerm', what),
      };
    case 'voteResp':
      return { type, term, from, to, pre: bool(r, 'pre', what), granted: bool(r, 'granted', what), ...(own(r, 'removed') === true ? { removed: true } : {}) };
    case 'timeoutNow':
      return { type, term, from, to };
    case 'append': {
      const prevLogIndex = uint(r, 'prevLogIndex', what);
      const prevLogTerm = uint(r, 'prevLogTerm', what);
      const raw = own(r, 'entries');
      if (!Array.isArray(raw)) bad(`${what}.entries is not an array`);
      const entries = new Array<Entry>(raw.length);
      let lastTerm = prevLogTerm;
      for (let i = 0; i < raw.length; i++) {
        const e = validateEntry(raw[i], `${what}.entries[${i}]`);
        // A leader sends a consecutive run of its log: indexes follow prevLogIndex one
        // by one, terms never decrease along the log and never exceed the leader's term.
        if (e.index !== prevLogIndex + 1 + i) bad(`${what}.entries[${i}].index ${e.index} does not follow ${prevLogIndex + i}`);
        if (e.term < lastTerm || e.term > term) bad(`${what}.entries[${i}].term ${e.term} out of order`);
        lastTerm = e.term;
        entries[i] = e;
      }
      return {
        type,
        term,
        from,
        to,
        prevLogIndex,
        prevLogTerm,
        entries,
        leaderCommit: uint(r, 'leaderCommit', what),
        ctx: uint(r, 'ctx', what),
      };
    }
    case 'appendResp':
      return {
        type,
        term,
        from,
        to,
        success: bool(r, 'success', what),
        matchIndex: uint(r, 'matchIndex', what),
        rejectIndex: uint(r, 'rejectIndex', what),
        conflictTerm: uint(r, 'conflictTerm', what),
        conflictIndex: uint(r, 'conflictIndex', what),
        ctx: uint(r, 'ctx', what),
      };
    case 'readIndex':
      return { type, term, from, to, ctx: uint(r, 'ctx', what) };
    case 'readIndexResp':
      return { type, term, from, to, ctx: uint(r, 'ctx', what), index: uint(r, 'index', what), ok: bool(r, 'ok', what) };
    default:
      return bad(`${what}.type ${describe(type)} is unknown`);
  }
}

export function validateFrame(v: unknown): Frame {
  const r = rec(v, 'frame');
  const t = own(r, 't');
  switch (t) {
    case 'hello':
      return {
        t,
        cluster: str(r, 'cluster', 'hello', ID_CHARS_MAX),
        from: id(r, 'from', 'hello'),
        to: id(r, 'to', 'hello'),
        version: uint(r, 'version', 'hello'),
        auth: bool(r, 'auth', 'hello'),
        nonce: bytes(r, 'nonce', 'hello', HANDSHAKE_BYTES_MAX),
      };
    case 'challenge':
      return { t, nonce: bytes(r, 'nonce', 'challenge', HANDSHAKE_BYTES_MAX), mac: bytes(r, 'mac', 'challenge', HANDSHAKE_BYTES_MAX) };
    case 'proof':
      return { t, mac: bytes(r, 'mac', 'proof', HANDSHAKE_BYTES_MAX) };
    case 'msgs': {
      const raw = own(r, 'm');
      if (!Array.isArray(raw)) bad('msgs.m is not an array');
      const m = new Array<PeerMessage>(raw.length);
      for (let i = 0; i < raw.length; i++) m[i] = validatePeerMessage(raw[i], `msgs.m[${i}]`);
      return { t, m };
    }
    default:
      return bad(`frame.t ${describe(t)} is unknown`);
  }
}
