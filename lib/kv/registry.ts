// Every key-value command by name, and the look-up both the gateway and the state
// machine use: unknown command, wrong arity, then the command's own syntax check.
import { EXPIRY_COMMANDS } from './expiry.js';
import { HASH_COMMANDS } from './hashes.js';
import { KEY_COMMANDS } from './keys.js';
import { LIST_COMMANDS } from './lists.js';
import { SET_COMMANDS } from './sets.js';
import { STRING_COMMANDS } from './strings.js';
import { arityOk, lower, wrongArity } from './syntax.js';
import { ZSET_COMMANDS } from './zsets.js';
import { VERSIONS_COMMAND } from './watch.js';
import type { KvCommand } from './command.js';
import { assert } from '../util/assert.js';

function table(cmds: KvCommand[]): ReadonlyMap<string, KvCommand> {
  const m = new Map<string, KvCommand>();
  for (const c of cmds) {
    assert(!m.has(c.name) && c.name === c.name.toLowerCase(), `bad or duplicate command ${c.name}`);
    m.set(c.name, c);
  }
  return m;
}

export const KV_TABLE: ReadonlyMap<string, KvCommand> = table([
  ...KEY_COMMANDS,
  ...STRING_COMMANDS,
  ...EXPIRY_COMMANDS,
  ...HASH_COMMANDS,
  ...LIST_COMMANDS,
  ...SET_COMMANDS,
  ...ZSET_COMMANDS,
  VERSIONS_COMMAND,
]);

/** Internal commands (names starting `__`): proposed or read by raftd itself, never by a client. */
export function isInternal(name: string): boolean {
  return name.startsWith('__');
}

/** Looks a command up and checks its arity: the command, or the error a client would get. */
export function lookupCommand(args: readonly Buffer[]): { cmd: KvCommand } | { error: string } {
  if (args.length === 0) return { error: 'ERR empty command' };
  const name = lower(args[0]!);
  const cmd = KV_TABLE.get(name);
  if (cmd === undefined) return { error: `ERR unknown command '${args[0]!.toString('utf8').slice(0, 128)}'` };
  if (!arityOk(cmd.arity, args.length)) return { error: wrongArity(name) };
  return { cmd };
}

/**
 * Looks up and checks fully, restricted to writes (a log entry) or reads (a ReadIndex
 * read): the command, or the error.
 */
export function checkCommand(args: readonly Buffer[], kind: 'write' | 'read'): { cmd: KvCommand } | { error: string } {
  if (args.length === 0) return { error: 'ERR empty command' };
  const name = lower(args[0]!);
  const cmd = KV_TABLE.get(name);
  if (cmd === undefined || cmd.kind !== kind) return { error: `ERR unknown ${kind} command '${args[0]!.toString('utf8').slice(0, 128)}'` };
  if (!arityOk(cmd.arity, args.length)) return { error: wrongArity(name) };
  const err = cmd.check?.(args) ?? null;
  return err === null ? { cmd } : { error: err };
}
