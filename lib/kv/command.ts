// What a key-value command is: its name, arity, whether it writes, and run(), which
// parses its arguments, checks types and bounds (throwing CommandError before it changes
// anything) and then changes the keyspace through Db. `check` is the part of the parsing
// that needs no state: the gateway runs it to refuse a bad command without a round trip,
// so it must give the error run() would give.
import * as w from '../util/resp-writer.js';
import { CommandError, type Db } from './db.js';
import { ERR_NOT_INTEGER, parseInt64 } from './syntax.js';

export interface KvCommand {
  /** Lower case. */
  name: string;
  /** Redis convention, counting the name: N = exactly N words, -N = at least N. */
  arity: number;
  kind: 'write' | 'read';
  check?: (args: readonly Buffer[]) => string | null;
  run(db: Db, args: Buffer[]): Buffer;
}

/** Runs a command whose arity was checked; a CommandError becomes its error reply. */
export function runCommand(c: KvCommand, db: Db, args: Buffer[]): Buffer {
  try {
    return c.run(db, args);
  } catch (err) {
    if (err instanceof CommandError) return w.error(err.message);
    throw err;
  }
}

/** Turns a parse function (throwing CommandError) into a check. */
export function checkOf(parse: (args: readonly Buffer[]) => unknown): (args: readonly Buffer[]) => string | null {
  return (args) => {
    try {
      parse(args);
      return null;
    } catch (err) {
      if (err instanceof CommandError) return err.message;
      throw err;
    }
  };
}

export function fail(message: string): never {
  throw new CommandError(message);
}

/** A 64-bit integer argument. */
export function int64(b: Buffer, message = ERR_NOT_INTEGER): bigint {
  const v = parseInt64(b);
  if (v === null) fail(message);
  return v;
}

/** An integer argument as a JS number (an index or count: clamped to the safe range). */
export function intArg(b: Buffer, message = ERR_NOT_INTEGER): number {
  const v = int64(b, message);
  const max = BigInt(Number.MAX_SAFE_INTEGER);
  return Number(v > max ? max : v < -max ? -max : v);
}

export function lowerArg(b: Buffer): string {
  return b.toString('latin1').toLowerCase();
}

/** Redis' start/stop index pair over a sequence of `len`: [from, to] inclusive, or null if empty. */
export function indexRange(start: number, stop: number, len: number): [number, number] | null {
  if (start < 0) start = len + start;
  if (stop < 0) stop = len + stop;
  if (start < 0) start = 0;
  if (start > stop || start >= len) return null;
  if (stop >= len) stop = len - 1;
  return [start, stop];
}

export const bulkArray = (items: readonly Buffer[]): Buffer => w.array(items.map((b) => w.bulk(b)));
