// What the client does with a command before sending it. Writes go out as
// `REQ <request-id> <command> ...` so that a resend after a lost connection or a
// TRYAGAIN is applied at most once; reads and node-local commands are idempotent and
// go out as they are; ADDENTRY and REQ carry their own id already.
import { randomBytes } from 'node:crypto';
import type { Arg } from './resp-client.js';

export type CommandKind =
  /** Changes the state machine: wrapped in REQ with a fresh request id. */
  | 'write'
  /** Reads the state machine: sent as is, retried freely. */
  | 'read'
  /** Answered by the node it is sent to (PING, INFO, ...): sent as is, retried freely. */
  | 'node'
  /** Carries its own request id (ADDENTRY tid data, REQ id ...): sent as is, resent with that id. */
  | 'tagged'
  /** QUIT / EXIT: handled by the client, never sent. */
  | 'quit';

const READS: ReadonlySet<string> = new Set([
  'get', 'mget', 'exists', 'keys', 'scan', 'dbsize', 'strlen', 'getrange', 'substr', 'type', 'ttl', 'pttl', 'randomkey',
]);

const NODE_LOCAL: ReadonlySet<string> = new Set([
  'ping', 'echo', 'info', 'isleader', 'leader', 'command', 'hello', 'client', 'select', 'time', 'role',
]);

/** Anything not known to be a read or node-local is a write: the safe side for exactly-once. */
export function commandKind(name: string): CommandKind {
  const n = name.toLowerCase();
  if (n === 'quit' || n === 'exit') return 'quit';
  if (n === 'addentry' || n === 'req') return 'tagged';
  if (READS.has(n)) return 'read';
  if (NODE_LOCAL.has(n)) return 'node';
  return 'write';
}

/** Request ids: a random prefix per client run and a counter, e.g. `c3f9a01b7e42-17`. */
export class RequestIds {
  private counter = 0;
  constructor(readonly prefix: string = randomBytes(6).toString('hex')) {}

  next(): string {
    this.counter++;
    return `${this.prefix}-${this.counter}`;
  }
}

/**
 * The words to send for `args` (non-empty, command name first). A write gets the next
 * request id; everything else is sent unchanged. The result is fixed: a resend of the
 * command sends exactly these words again.
 */
export function toWire(args: readonly Buffer[], ids: RequestIds): Arg[] {
  if (args.length === 0) throw new RangeError('empty command');
  const kind = commandKind(args[0]!.toString('latin1'));
  return kind === 'write' ? ['REQ', ids.next(), ...args] : [...args];
}
