// A replicated command is the client's argument list (name first, lower case),
// msgpack-encoded as an array of byte strings: compact, binary-safe, and decodable
// by the state machine on every node and by the log dump.
import { Packr } from 'msgpackr';
import { RaftdError } from '../util/errors.js';

const packr = new Packr({ useRecords: false, moreTypes: false });

/** Bound on the arguments of one replicated command (MSET with many pairs). */
export const COMMAND_ARGS_MAX = 65536;

export function encodeCommand(args: readonly Uint8Array[]): Uint8Array {
  return packr.pack(args.map((a) => (Buffer.isBuffer(a) ? a : Buffer.from(a.buffer, a.byteOffset, a.byteLength))));
}

export function decodeCommand(data: Uint8Array): Buffer[] {
  let v: unknown;
  try {
    v = packr.unpack(Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength));
  } catch (err) {
    throw new RaftdError('RAFTD_FRAME_MALFORMED', `bad command encoding: ${(err as Error).message}`);
  }
  if (!Array.isArray(v) || v.length === 0 || v.length > COMMAND_ARGS_MAX || !v.every((a) => a instanceof Uint8Array))
    throw new RaftdError('RAFTD_FRAME_MALFORMED', 'bad command encoding: not a list of byte strings');
  return v.map((a: Uint8Array) => (Buffer.isBuffer(a) ? a : Buffer.from(a)));
}
