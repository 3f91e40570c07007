// MULTI/EXEC/DISCARD/WATCH/UNWATCH on one client connection. The gateway hands every
// command to Transaction.handle() first; outside a transaction it passes through.
//
// - WATCH k... is a read (ReadIndex, like GET) of `__versions k...`; its reply is kept
//   here (the client gets +OK) and EXEC carries the versions.
// - Inside MULTI commands are queued (+QUEUED) after the checks Redis makes at queue
//   time (known command, arity, and raftd's size bounds); a failed check flags the
//   transaction and EXEC replies EXECABORT.
// - EXEC proposes ONE log entry holding the watched versions and the queued commands
//   (lib/kv/entry-codec.ts); the state machine decides it at apply time (lib/kv/exec.ts),
//   so every replica agrees. `REQ <id> EXEC` makes the whole transaction exactly-once.
// - The entry's data is built when the gateway sends it, not when EXEC is parsed: the
//   gateway sends a connection's write only after its earlier reads are answered, so by
//   then the WATCH replies are here. A WATCH that failed (no leader, timeout) makes EXEC
//   abort (nil), the safe answer for a check-and-set.
import { EXEC_COMMANDS_MAX, encodeWrite, type WatchedKey } from '../kv/entry-codec.js';
import { EXECABORT, EXEC_ONLY_COMMANDS } from '../kv/exec.js';
import { VALUE_BYTES_MAX } from '../kv/limits.js';
import { isInternal, KV_TABLE } from '../kv/registry.js';
import { arityOk } from '../kv/syntax.js';
import { parseVersionsReply, WATCH_VERSIONS } from '../kv/watch.js';
import { COMMANDS, unknownCommand, type CommandOutcome } from './commands.js';
import { ERR_VALUE_TOO_LARGE } from './kv-commands.js';
import * as w from '../util/resp-writer.js';

/** Bound on the bytes of a transaction's queued commands (one log entry). */
export const MULTI_BYTES_MAX = 4 * 1024 * 1024; // One entry: well inside a peer frame (16 MiB by default).
/** Bound on keys one connection watches. */
export const WATCHED_KEYS_MAX = 10000;

const QUEUED = w.simple('QUEUED');
const TRANSACTION_COMMANDS = new Set(['multi', 'exec', 'discard', 'watch', 'unwatch']);

/** A watched key: its version once WATCH's read came back, 'pending' before, 'failed' if it did not. */
type Watch = WatchedKey | 'pending' | 'failed';

function lower(b: Buffer): string {
  return b.toString('latin1').toLowerCase();
}

const reply = (r: Buffer): CommandOutcome => ({ kind: 'reply', reply: r });

export class Transaction {
  private inMulti = false;
  private queued: Buffer[][] = [];
  private queuedBytes = 0;
  private aborted = false;
  /** Replaced, never cleared: a WATCH reply still in flight lands in the map it was made for. */
  private watched = new Map<string, Watch>();

  get active(): boolean {
    return this.inMulti;
  }

  /**
   * What to do with a command: a transaction command, a command queued inside MULTI,
   * or (neither) whatever `dispatch` says.
   */
  handle(args: Buffer[], dispatch: (args: Buffer[]) => CommandOutcome): CommandOutcome {
    const name = lower(args[0]!);
    if (name === 'req' && args.length >= 3) {
      // REQ <id> EXEC: the id covers the whole transaction. A client that wraps every
      // write in REQ (bin/raft-client.js) also wraps MULTI and the queued commands: those
      // are local until EXEC, so their ids are dropped.
      const inner = args.slice(2);
      const innerName = lower(inner[0]!);
      if (innerName === 'exec') {
        if (inner.length !== 1) return this.refuse("ERR wrong number of arguments for 'exec' command");
        return this.exec(args[1]!.toString('utf8'));
      }
      if (TRANSACTION_COMMANDS.has(innerName)) return this.control(innerName, inner);
      if (this.inMulti && innerName !== 'req') return this.queue(innerName, inner);
    }
    if (TRANSACTION_COMMANDS.has(name)) return this.control(name, args);
    if (!this.inMulti) return dispatch(args);
    if (name === 'quit') return dispatch(args);
    return this.queue(name, args);
  }

  private control(name: string, args: Buffer[]): CommandOutcome {
    const arity = (n: number): boolean => arityOk(n, args.length);
    switch (name) {
      case 'multi':
        if (!arity(1)) return this.refuse("ERR wrong number of arguments for 'multi' command");
        if (this.inMulti) return reply(w.error('ERR MULTI calls can not be nested'));
        this.inMulti = true;
        return reply(w.OK);
      case 'exec':
        if (!arity(1)) return this.refuse("ERR wrong number of arguments for 'exec' command");
        return this.exec('');
      case 'discard':
        if (!arity(1)) return this.refuse("ERR wrong number of arguments for 'discard' command");
        if (!this.inMulti) return reply(w.error('ERR DISCARD without MULTI'));
        this.reset();
        return reply(w.OK);
      case 'watch':
        if (!arity(-2)) return this.refuse("ERR wrong number of arguments for 'watch' command");
        if (this.inMulti) return reply(w.error('ERR WATCH inside MULTI is not allowed'));
        return this.watch(args.slice(1));
      case 'unwatch':
        if (!arity(1)) return this.refuse("ERR wrong number of arguments for 'unwatch' command");
        if (this.inMulti) return this.queue(name, args);
        this.watched = new Map();
        return reply(w.OK);
      default:
        throw new Error(`not a transaction command: ${name}`);
    }
  }

  /** An error that, inside MULTI, also dooms the transaction (Redis' flagTransaction). */
  private refuse(message: string): CommandOutcome {
    if (this.inMulti) this.aborted = true;
    return reply(w.error(message));
  }

  private queue(name: string, args: Buffer[]): CommandOutcome {
    const spec = KV_TABLE.get(name) ?? EXEC_ONLY_COMMANDS.get(name);
    if (spec === undefined || name === 'addentry' || isInternal(name)) {
      // raftd's own commands (ADDENTRY, REQ, INFO, ...) are not replicated state: refused.
      return this.refuse(COMMANDS.has(name) ? 'ERR Command not allowed inside a transaction' : unknownCommand(args));
    }
    if (!arityOk(spec.arity, args.length)) return this.refuse(`ERR wrong number of arguments for '${name}' command`);
    if (args.some((a) => a.length > VALUE_BYTES_MAX)) return this.refuse(ERR_VALUE_TOO_LARGE);
    const bytes = args.reduce((n, a) => n + a.length + 8, 0);
    if (this.queued.length >= EXEC_COMMANDS_MAX || this.queuedBytes + bytes > MULTI_BYTES_MAX)
      return this.refuse(`ERR raftd limit: a transaction holds at most ${EXEC_COMMANDS_MAX} commands and ${MULTI_BYTES_MAX} bytes`);
    this.queued.push([Buffer.from(name, 'latin1'), ...args.slice(1).map((a) => Buffer.from(a))]);
    this.queuedBytes += bytes;
    return reply(QUEUED);
  }

  private exec(tid: string): CommandOutcome {
    if (!this.inMulti) return reply(w.error('ERR EXEC without MULTI'));
    const aborted = this.aborted;
    const commands = this.queued;
    const watched = this.watched;
    this.reset();
    if (aborted) return reply(w.error(EXECABORT));
    const data = (): Uint8Array => {
      // A watch whose read failed gets a version no key has: EXEC answers nil.
      const keys = [...watched].map(([k, v]): WatchedKey => (typeof v === 'string' ? { key: Buffer.from(k, 'latin1'), version: -1, alive: false } : v));
      return encodeWrite({ stampMs: Date.now(), seed: Math.floor(Math.random() * 2 ** 32) >>> 0, body: { kind: 'exec', watched: keys, commands } });
    };
    return { kind: 'write', tid, data: new Uint8Array(0), prepare: data };
  }

  private watch(keys: Buffer[]): CommandOutcome {
    const fresh = keys.filter((k) => !this.watched.has(k.toString('latin1')));
    if (this.watched.size + fresh.length > WATCHED_KEYS_MAX) return reply(w.error(`ERR raftd limit: a connection watches at most ${WATCHED_KEYS_MAX} keys`));
    if (fresh.length === 0) return reply(w.OK);
    const map = this.watched;
    for (const k of fresh) map.set(k.toString('latin1'), 'pending');
    const onReply = (r: Buffer): Buffer => {
      const versions = r[0] === 0x2a ? parseVersionsReply(r, fresh) : null;
      for (const [i, k] of fresh.entries()) map.set(k.toString('latin1'), versions?.[i] ?? 'failed');
      return versions === null ? r : w.OK;
    };
    return { kind: 'read', args: [Buffer.from(WATCH_VERSIONS), ...fresh], onReply };
  }

  /** Leaves MULTI and forgets queued commands and watched keys (after EXEC, DISCARD). */
  private reset(): void {
    this.inMulti = false;
    this.queued = [];
    this.queuedBytes = 0;
    this.aborted = false;
    this.watched = new Map();
  }
}
