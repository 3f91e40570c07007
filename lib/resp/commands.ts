import type { GatewayRequest, NodeStatus } from '../replica/messages.js';
import type { MemberChange } from '../replica/membership-types.js';
import { isPort } from '../replica/membership.js';
import { assert } from '../util/assert.js';
import { infoText, type ServerFacts } from './info.js';
import { parseInteger } from './parser.js';
import * as w from '../util/resp-writer.js';
import { encodeCommand } from '../kv/command-codec.js';
import { KV_COMMANDS } from './kv-commands.js';

/**
 * The client command table: {name, arity, handler}. Handlers are pure: they read the
 * node as the gateway last heard of it (CommandEnv) and return what should happen
 * (CommandOutcome); the gateway does the I/O, the ordering, the bounds and the
 * waiting. A command that needs consensus returns `propose`.
 */
export const RAFTD_VERSION = '0.1.0';

/** Per-connection state a command may read or set. */
export interface ClientState {
  readonly id: number;
  name: string | null;
}

export interface CommandEnv {
  status: NodeStatus | null;
  /** Computed on demand: only INFO needs them. */
  facts(): ServerFacts;
  client: ClientState;
}

export type CommandOutcome =
  /** Answer now. */
  | { kind: 'reply'; reply: Buffer }
  /** Answer, then close the connection once everything before it is written. */
  | { kind: 'close'; reply: Buffer }
  /**
   * Replicate one command through the leader (from any node: a follower forwards it).
   * `data` is the entry payload (lib/kv/command-codec.ts); `tid` the client's request id
   * ('' for none): a retry with the same id is applied once and gets the first reply.
   * The reply is whatever the state machine answered, already RESP-encoded.
   */
  | { kind: 'write'; tid: string; data: Uint8Array; prepare?: () => Uint8Array }
  /** A linearizable read (ReadIndex): main runs `args` against the state machine once it is safe. */
  | { kind: 'read'; args: Buffer[]; onReply?: (reply: Buffer) => Buffer }
  /** An operation on the cluster itself, decided by main (see AdminOp). */
  | ({ kind: 'admin' } & AdminOp);

/**
 * transfer: hand leadership to `target` (null: the most up-to-date follower); members:
 * this node's view of the configuration; member: a membership change (any node; the
 * leader answers once its config entry commits).
 */
export type AdminOp = { op: 'transfer'; target: string | null } | { op: 'members' } | { op: 'member'; change: MemberChange };

/** The replica's request for an admin operation. */
export function adminRequest(reqId: number, a: AdminOp): GatewayRequest {
  switch (a.op) {
    case 'transfer':
      return { reqId, kind: 'transfer', target: a.target };
    case 'members':
      return { reqId, kind: 'members' };
    case 'member':
      return { reqId, kind: 'member', change: a.change };
  }
}
// prepare: builds `data` when the gateway sends the write (after the connection's earlier
// reads are answered); onReply: turns the read's reply into the client's. Both are for
// transactions (./transaction.ts).

export interface CommandSpec {
  /** Lower case. */
  name: string;
  /** Redis convention, counting the name: N = exactly N words, -N = at least N. */
  arity: number;
  handler(env: CommandEnv, args: Buffer[]): CommandOutcome;
}

export type CommandTable = ReadonlyMap<string, CommandSpec>;

export function commandTable(specs: readonly CommandSpec[]): CommandTable {
  const table = new Map<string, CommandSpec>();
  for (const s of specs) {
    assert(s.name === s.name.toLowerCase() && s.arity !== 0, `bad command spec ${s.name}`);
    assert(!table.has(s.name), `duplicate command ${s.name}`);
    table.set(s.name, s);
  }
  return table;
}

export function arityOk(arity: number, argc: number): boolean {
  return arity > 0 ? argc === arity : argc >= -arity;
}

/** Looks the command up, checks its arity and runs it. `args` is non-empty. */
export function dispatch(table: CommandTable, env: CommandEnv, args: Buffer[]): CommandOutcome {
  assert(args.length > 0, 'empty command');
  const name = args[0]!.toString('latin1').toLowerCase();
  const spec = table.get(name);
  if (!spec) return reply(w.error(unknownCommand(args)));
  if (!arityOk(spec.arity, args.length)) return reply(w.error(wrongArity(spec.name)));
  return spec.handler(env, args);
}

/** Redis' wording, quoting at most about 128 bytes of the arguments. */
export function unknownCommand(args: readonly Buffer[]): string {
  let quoted = '';
  for (let i = 1; i < args.length && quoted.length < 128; i++) {
    quoted += `'${args[i]!.toString('utf8').slice(0, 128 - quoted.length)}' `;
  }
  return `ERR unknown command '${args[0]!.toString('utf8').slice(0, 128)}', with args beginning with: ${quoted}`;
}

export function wrongArity(fullName: string): string {
  return `ERR wrong number of arguments for '${fullName}' command`;
}

function unknownSubcommand(sub: Buffer, command: string): string {
  return `ERR unknown subcommand '${sub.toString('utf8').slice(0, 128)}'. Try ${command} HELP.`;
}

function reply(buf: Buffer): CommandOutcome {
  return { kind: 'reply', reply: buf };
}

function lower(b: Buffer): string {
  return b.toString('latin1').toLowerCase();
}

// ---------------------------------------------------------------- handlers

function ping(_env: CommandEnv, args: Buffer[]): CommandOutcome {
  if (args.length > 2) return reply(w.error(wrongArity('ping')));
  return reply(args.length === 2 ? w.bulk(args[1]!) : w.PONG);
}

function echo(_env: CommandEnv, args: Buffer[]): CommandOutcome {
  return reply(w.bulk(args[1]!));
}

function quit(): CommandOutcome {
  return { kind: 'close', reply: w.OK };
}

/** LEADER: the leader's id and client address, or a null array while none is known. */
function leader(env: CommandEnv): CommandOutcome {
  const st = env.status;
  if (!st || st.leader === null) return reply(w.NULL_ARRAY);
  return reply(w.array([w.bulk(st.leader), w.bulk(st.leaderClient ?? '')]));
}

function isLeader(env: CommandEnv): CommandOutcome {
  return reply(env.status?.role === 'leader' ? w.ONE : w.ZERO);
}

/**
 * CLUSTER TRANSFER [id]: hand leadership over (the leader answers once the target leads).
 * CLUSTER MEMBERS | ADD id host peer-port client-port [LEARNER] | PROMOTE id | REMOVE id: the
 * membership (ADD makes a learner, promoted once it caught up unless LEARNER is given).
 */
function cluster(_env: CommandEnv, args: Buffer[]): CommandOutcome {
  const sub = args[1]!.toString('utf8').toLowerCase();
  const word = (i: number): string => args[i]!.toString('utf8');
  switch (sub) {
    case 'transfer':
      if (args.length > 3) return reply(w.error(wrongArity('cluster|transfer')));
      return { kind: 'admin', op: 'transfer', target: args.length === 3 ? word(2) : null };
    case 'members':
      if (args.length !== 2) return reply(w.error(wrongArity('cluster|members')));
      return { kind: 'admin', op: 'members' };
    case 'add': {
      if (args.length !== 6 && args.length !== 7) return reply(w.error(wrongArity('cluster|add')));
      const learner = args.length === 7;
      if (learner && word(6).toLowerCase() !== 'learner') return reply(w.error(`ERR syntax error: CLUSTER ADD id host peer-port client-port [LEARNER]`));
      const id = word(2);
      const host = word(3);
      const peerPort = parseInteger(args[4]!);
      const clientPort = parseInteger(args[5]!);
      if (id.length === 0 || id.length > 256 || /\s/.test(id)) return reply(w.error('ERR invalid member id'));
      if (host.length === 0 || host.length > 256) return reply(w.error('ERR invalid host'));
      if (!isPort(peerPort) || !isPort(clientPort)) return reply(w.error('ERR invalid port: ports are integers in 1..65535'));
      if (peerPort === clientPort) return reply(w.error('ERR the peer port and the client port must differ'));
      return { kind: 'admin', op: 'member', change: { op: 'add', member: { id, host, peerPort, clientPort }, learner } };
    }
    case 'promote':
    case 'remove':
      if (args.length !== 3) return reply(w.error(wrongArity(`cluster|${sub}`)));
      return { kind: 'admin', op: 'member', change: { op: sub, id: word(2) } };
    default:
      return reply(w.error(`ERR unknown subcommand '${sub.slice(0, 64)}'. raftd supports CLUSTER MEMBERS, ADD, PROMOTE, REMOVE and TRANSFER`));
  }
}

function info(env: CommandEnv, args: Buffer[]): CommandOutcome {
  const wanted = args.slice(1).map((a) => a.toString('utf8'));
  return reply(w.bulk(infoText(env.facts(), env.status, wanted)));
}

/** ADDENTRY tid data: the original interface; the tid doubles as the request id. */
function addEntry(_env: CommandEnv, args: Buffer[]): CommandOutcome {
  if (args[1]!.length > 0 && args[1]![0] === 0) return reply(w.error('ERR tid must not start with a NUL byte')); // reserved for the replica's own ids
  return { kind: 'write', tid: args[1]!.toString('utf8'), data: encodeCommand([Buffer.from('addentry'), args[2]!]) };
}

/** REQ <request-id> <command> [args...]: run a write exactly once per request id. */
function req(env: CommandEnv, args: Buffer[]): CommandOutcome {
  const rid = args[1]!.toString('utf8');
  if (rid === '' || rid.length > REQUEST_ID_BYTES_MAX) return reply(w.error(`ERR request id must be 1..${REQUEST_ID_BYTES_MAX} bytes`));
  if (rid.startsWith('\u0000')) return reply(w.error('ERR request id must not start with a NUL byte')); // reserved for the replica's own ids
  const inner = args.slice(2);
  const name = lower(inner[0]!);
  if (name === 'req') return reply(w.error('ERR REQ cannot be nested'));
  const out = dispatch(COMMANDS, env, inner);
  return out.kind === 'write' ? { ...out, tid: rid } : out;
}

export const REQUEST_ID_BYTES_MAX = 128;

/** Enough of COMMAND for redis-cli's startup: no command docs, so no hints. */
function command(_env: CommandEnv, args: Buffer[]): CommandOutcome {
  if (args.length === 1) return reply(w.EMPTY_ARRAY);
  const sub = lower(args[1]!);
  switch (sub) {
    case 'docs':
    case 'info':
      return reply(w.EMPTY_ARRAY);
    case 'count':
      return args.length === 2 ? reply(w.integer(COMMANDS.size)) : reply(w.error(wrongArity('command|count')));
    default:
      return reply(w.error(unknownSubcommand(args[1]!, 'COMMAND')));
  }
}

/** HELLO [protover [AUTH user pass] [SETNAME name]]: RESP2 only; the map comes as a flat array. */
function hello(env: CommandEnv, args: Buffer[]): CommandOutcome {
  if (args.length >= 2) {
    const ver = parseInteger(args[1]!);
    if (ver === null) return reply(w.error('ERR Protocol version is not an integer or out of range'));
    if (ver !== 2) return reply(w.error('NOPROTO unsupported protocol version'));
    let setName: string | null = null;
    for (let i = 2; i < args.length; i++) {
      const opt = lower(args[i]!);
      const more = args.length - i - 1;
      if (opt === 'auth' && more >= 2) {
        i += 2; // No users or passwords here: anyone may talk to the gateway.
      } else if (opt === 'setname' && more >= 1) {
        setName = args[++i]!.toString('utf8');
        if (!validClientName(setName)) return reply(w.error(BAD_CLIENT_NAME));
      } else {
        return reply(w.error(`ERR Syntax error in HELLO option '${args[i]!.toString('utf8').slice(0, 128)}'`));
      }
    }
    if (setName !== null) env.client.name = setName;
  }
  const role = env.status?.role === 'leader' ? 'master' : 'replica';
  return reply(
    w.array([
      w.bulk('server'),
      w.bulk('raftd'),
      w.bulk('version'),
      w.bulk(RAFTD_VERSION),
      w.bulk('proto'),
      w.integer(2),
      w.bulk('id'),
      w.integer(env.client.id),
      w.bulk('mode'),
      w.bulk('cluster'),
      w.bulk('role'),
      w.bulk(role),
      w.bulk('modules'),
      w.EMPTY_ARRAY,
    ]),
  );
}

const BAD_CLIENT_NAME = 'ERR Client names cannot contain spaces, newlines or special characters.';

function validClientName(name: string): boolean {
  return /^[!-~]*$/.test(name);
}

function client(env: CommandEnv, args: Buffer[]): CommandOutcome {
  const sub = lower(args[1]!);
  switch (sub) {
    case 'setname': {
      if (args.length !== 3) return reply(w.error(wrongArity('client|setname')));
      const name = args[2]!.toString('utf8');
      if (!validClientName(name)) return reply(w.error(BAD_CLIENT_NAME));
      env.client.name = name === '' ? null : name;
      return reply(w.OK);
    }
    case 'getname':
      if (args.length !== 2) return reply(w.error(wrongArity('client|getname')));
      return reply(w.bulk(env.client.name));
    case 'setinfo':
      if (args.length !== 4) return reply(w.error(wrongArity('client|setinfo')));
      return reply(w.OK);
    case 'id':
      if (args.length !== 2) return reply(w.error(wrongArity('client|id')));
      return reply(w.integer(env.client.id));
    default:
      return reply(w.error(unknownSubcommand(args[1]!, 'CLIENT')));
  }
}

function select(_env: CommandEnv, args: Buffer[]): CommandOutcome {
  const db = parseInteger(args[1]!);
  if (db === null) return reply(w.error('ERR value is not an integer or out of range'));
  return reply(db === 0 ? w.OK : w.error('ERR DB index is out of range'));
}

export const COMMANDS: CommandTable = commandTable([
  { name: 'ping', arity: -1, handler: ping },
  { name: 'echo', arity: 2, handler: echo },
  { name: 'quit', arity: -1, handler: quit },
  { name: 'isleader', arity: 1, handler: isLeader },
  { name: 'leader', arity: 1, handler: leader },
  { name: 'info', arity: -1, handler: info },
  { name: 'addentry', arity: 3, handler: addEntry },
  { name: 'command', arity: -1, handler: command },
  { name: 'hello', arity: -1, handler: hello },
  { name: 'client', arity: -2, handler: client },
  { name: 'select', arity: 2, handler: select },
  { name: 'req', arity: -3, handler: req },
  { name: 'cluster', arity: -2, handler: cluster },
  ...KV_COMMANDS,
]);
