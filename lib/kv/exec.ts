// Transactions at apply time. WATCH reads each key's version through `__versions`
// (a ReadIndex read, like GET); EXEC is one log entry with the watched versions and
// the queued commands. Applying it compares the versions first, so every replica
// decides the same: nil if a watched key changed (or was alive when watched and is
// gone now, expired included), else every command runs, none interleaved.
import * as w from '../util/resp-writer.js';
import { runCommand, type KvCommand } from './command.js';
import { key, type Db } from './db.js';
import type { WatchedKey } from './entry-codec.js';
import { isInternal, lookupCommand } from './registry.js';
import { lower } from './syntax.js';

export const EXECABORT = 'EXECABORT Transaction discarded because of previous errors.';

/** Commands that only a transaction carries: the state machine answers them as Redis would inside EXEC. */
export const EXEC_ONLY_COMMANDS: ReadonlyMap<string, KvCommand> = new Map(
  (
    [
      { name: 'unwatch', arity: 1, kind: 'read', run: () => w.OK },
      { name: 'ping', arity: -1, kind: 'read', run: (_db, a) => (a.length === 1 ? w.PONG : a.length === 2 ? w.bulk(a[1]!) : w.error("ERR wrong number of arguments for 'ping' command")) },
      { name: 'echo', arity: 2, kind: 'read', run: (_db, a) => w.bulk(a[1]!) },
    ] satisfies KvCommand[]
  ).map((c) => [c.name, c] as const),
);

export function applyExec(db: Db, watched: WatchedKey[], commands: Buffer[][]): Buffer {
  for (const wk of watched) {
    const now = db.ks.version(key(wk.key), db.nowMs);
    if (now.version !== wk.version || (wk.alive && !now.alive)) return w.NULL_ARRAY;
  }
  const found: KvCommand[] = [];
  for (const args of commands) {
    const only = EXEC_ONLY_COMMANDS.get(lower(args[0]!));
    if (only !== undefined) {
      found.push(only);
      continue;
    }
    const c = lookupCommand(args);
    if ('error' in c || isInternal(lower(args[0]!))) return w.error(EXECABORT); // The gateway queues none of these.
    found.push(c.cmd);
  }
  return w.array(commands.map((args, i) => runCommand(found[i]!, db, args)));
}
