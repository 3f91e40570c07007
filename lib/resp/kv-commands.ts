// Key-value commands: arity and syntax are checked here, at the gateway, so a bad
// command costs no round trip; what a command does is the state machine's (lib/kv/).
// The syntax checks are lib/kv/syntax.ts, the same ones the state machine runs again.
//
// Only types come from ./commands.js: it imports this module to build its table, so a
// value imported back from it could still be uninitialized here.
import type { KvCommand } from '../kv/command.js';
import { encodeWrite } from '../kv/entry-codec.js';
import { VALUE_BYTES_MAX } from '../kv/limits.js';
import { isInternal, KV_TABLE } from '../kv/registry.js';
import type { CommandEnv, CommandOutcome, CommandSpec } from './commands.js';
import * as w from '../util/resp-writer.js';

export const ERR_VALUE_TOO_LARGE = `ERR value exceeds the ${VALUE_BYTES_MAX / (1024 * 1024)} MiB limit`;

function reply(buf: Buffer): CommandOutcome {
  return { kind: 'reply', reply: buf };
}

/**
 * A write as the gateway proposes it: stamped with this node's clock and a seed. The
 * leader re-stamps it with its own before proposing (KvStateMachine.stampWrite); until
 * the node does, this stamp is what keeps time moving for expiry.
 */
export function encodeKvWrite(args: Buffer[]): Uint8Array {
  return encodeWrite({ stampMs: Date.now(), seed: Math.floor(Math.random() * 2 ** 32) >>> 0, body: { kind: 'command', args } });
}

/** A row of the command table for one key-value command. */
function kvRow(spec: KvCommand): CommandSpec {
  const name = Buffer.from(spec.name, 'latin1');
  return {
    name: spec.name,
    arity: spec.arity,
    handler(_env: CommandEnv, args: Buffer[]): CommandOutcome {
      const err = spec.check?.(args) ?? null;
      if (err !== null) return reply(w.error(err));
      const rest = args.slice(1);
      if (spec.kind === 'read') return { kind: 'read', args: [name, ...rest] };
      if (rest.some((a) => a.length > VALUE_BYTES_MAX)) return reply(w.error(ERR_VALUE_TOO_LARGE));
      return { kind: 'write', tid: '', data: encodeKvWrite([name, ...rest]) };
    },
  };
}

function lower(b: Buffer): string {
  return b.toString('latin1').toLowerCase();
}

/**
 * CONFIG GET <pattern...> answers an empty list (no parameters are exposed), which is
 * all redis-benchmark and some client libraries ask for at startup.
 */
function config(_env: CommandEnv, args: Buffer[]): CommandOutcome {
  const sub = lower(args[1]!);
  switch (sub) {
    case 'get': {
      if (args.length < 3) return reply(w.error(`ERR wrong number of arguments for 'config|get' command`));
      // The two parameters redis-benchmark asks for; durability here is Raft's, not Redis' persistence.
      const out: Buffer[] = [];
      for (const p of args.slice(2).map(lower)) {
        if (p === 'save') out.push(w.bulk('save'), w.bulk(''));
        else if (p === 'appendonly') out.push(w.bulk('appendonly'), w.bulk('no'));
      }
      return reply(w.array(out));
    }
    case 'set':
    case 'resetstat':
    case 'rewrite':
      return reply(w.error(`ERR CONFIG ${sub.toUpperCase()} is not supported`));
    default:
      return reply(w.error(`ERR unknown subcommand '${args[1]!.toString('utf8').slice(0, 128)}'. Try CONFIG HELP.`));
  }
}

/** ADDENTRY keeps its own row in ./commands.ts (the tid is an argument there). */
export const KV_COMMANDS: CommandSpec[] = [
  ...[...KV_TABLE.values()].filter((s) => s.name !== 'addentry' && !isInternal(s.name)).map(kvRow),
  { name: 'config', arity: -2, handler: config },
];
