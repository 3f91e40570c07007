// What a key-value log entry holds. Two encodings, both msgpack:
// - an array of byte strings: one command, no stamp (what the gateway encodes, and
//   every entry written before stamps existed);
// - a map: { t?: the leader's clock in ms when it proposed, r?: a 32-bit random seed,
//   c?: one command, or x: a transaction's commands with w: its watched keys as
//   [key, version, alive] }.
// The leader re-encodes a write with its stamp and seed right before proposing it
// (stampWrite), so every replica applies it at the same time with the same randomness.
import { Packr } from 'msgpackr';
import { RaftdError } from '../util/errors.js';
import { COMMAND_ARGS_MAX, decodeCommand, encodeCommand } from './command-codec.js';

const packr = new Packr({ useRecords: false, moreTypes: false, mapsAsObjects: true });

/** Bound on the commands of one transaction. */
export const EXEC_COMMANDS_MAX = 10000;

export interface WatchedKey {
  key: Buffer;
  /** The key's version when WATCH read it (db.ts). */
  version: number;
  /** Whether it was alive (present, not past its deadline) then. */
  alive: boolean;
}

export type WriteBody = { kind: 'command'; args: Buffer[] } | { kind: 'exec'; watched: WatchedKey[]; commands: Buffer[][] };

export interface KvWrite {
  /** The proposer's clock in ms, or null for an unstamped entry. */
  stampMs: number | null;
  /** Seed of the command's randomness, or null. */
  seed: number | null;
  body: WriteBody;
}

export interface StampContext {
  nowMs: number;
  random: () => number;
}

function bad(what: string): never {
  throw new RaftdError('RAFTD_FRAME_MALFORMED', `bad command encoding: ${what}`);
}

function argList(v: unknown): Buffer[] {
  if (!Array.isArray(v) || v.length === 0 || v.length > COMMAND_ARGS_MAX || !v.every((a) => a instanceof Uint8Array)) bad('not a list of byte strings');
  return v.map((a: Uint8Array) => (Buffer.isBuffer(a) ? a : Buffer.from(a)));
}

export function encodeWrite(w: KvWrite): Uint8Array {
  if (w.stampMs === null && w.seed === null && w.body.kind === 'command') return encodeCommand(w.body.args);
  const m: Record<string, unknown> = {};
  if (w.stampMs !== null) m.t = w.stampMs;
  if (w.seed !== null) m.r = w.seed;
  if (w.body.kind === 'command') m.c = w.body.args;
  else {
    m.x = w.body.commands;
    m.w = w.body.watched.map((k) => [k.key, k.version, k.alive]);
  }
  return packr.pack(m);
}

export function decodeWrite(data: Uint8Array): KvWrite {
  const buf = Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  // An array's msgpack type byte is 0x90-0x9f, 0xdc or 0xdd; anything else is the map form.
  const first = buf[0] ?? 0;
  if ((first & 0xf0) === 0x90 || first === 0xdc || first === 0xdd) return { stampMs: null, seed: null, body: { kind: 'command', args: decodeCommand(buf) } };
  let v: unknown;
  try {
    v = packr.unpack(buf);
  } catch (err) {
    bad((err as Error).message);
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) bad('not a command or a map');
  const m = v as Record<string, unknown>;
  const stampMs = m.t === undefined ? null : m.t;
  const seed = m.r === undefined ? null : m.r;
  if (stampMs !== null && (typeof stampMs !== 'number' || !Number.isSafeInteger(stampMs) || stampMs < 0)) bad('bad time stamp');
  if (seed !== null && (typeof seed !== 'number' || !Number.isInteger(seed) || seed < 0 || seed >= 2 ** 32)) bad('bad seed');
  if (m.c !== undefined) return { stampMs, seed, body: { kind: 'command', args: argList(m.c) } };
  if (!Array.isArray(m.x) || m.x.length > EXEC_COMMANDS_MAX || !Array.isArray(m.w) || m.w.length > COMMAND_ARGS_MAX) bad('no command');
  const commands = m.x.map(argList);
  const watched = (m.w as unknown[]).map((e): WatchedKey => {
    if (!Array.isArray(e) || e.length !== 3 || !(e[0] instanceof Uint8Array) || !Number.isSafeInteger(e[1]) || typeof e[2] !== 'boolean') bad('bad watched key');
    return { key: Buffer.from(e[0] as Uint8Array), version: e[1] as number, alive: e[2] as boolean };
  });
  return { stampMs, seed, body: { kind: 'exec', watched, commands } };
}

/**
 * The leader's step right before proposing: the write with the leader's clock and a
 * fresh seed. Data that is not a key-value write is returned as it is (the state
 * machine refuses it at apply time like any bad entry).
 */
export function stampWrite(data: Uint8Array, ctx: StampContext): Uint8Array {
  let w: KvWrite;
  try {
    w = decodeWrite(data);
  } catch {
    return data;
  }
  return encodeWrite({ ...w, stampMs: Math.max(0, Math.floor(ctx.nowMs)), seed: Math.floor(ctx.random() * 2 ** 32) >>> 0 });
}

/** One command, stamped. */
export function prepareWrite(args: Buffer[], ctx: StampContext): Uint8Array {
  return encodeWrite({ stampMs: Math.max(0, Math.floor(ctx.nowMs)), seed: Math.floor(ctx.random() * 2 ** 32) >>> 0, body: { kind: 'command', args } });
}
