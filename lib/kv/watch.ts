// WATCH's read: each key's version (db.ts) and whether it is alive, read through
// ReadIndex like GET; and the parse of its reply the gateway keeps until EXEC.
import * as w from '../util/resp-writer.js';
import type { KvCommand } from './command.js';
import { key } from './db.js';
import type { WatchedKey } from './entry-codec.js';

export const WATCH_VERSIONS = '__versions';

/** `__versions key...`: for each key an array [version, alive 0|1]. */
export const VERSIONS_COMMAND: KvCommand = {
  name: WATCH_VERSIONS,
  arity: -2,
  kind: 'read',
  run(db, a) {
    return w.array(
      a.slice(1).map((k) => {
        const v = db.ks.version(key(k), db.nowMs);
        return w.array([w.integer(v.version), v.alive ? w.ONE : w.ZERO]);
      }),
    );
  },
};

/** Parses the reply of `__versions` back (the gateway keeps it until EXEC). */
export function parseVersionsReply(reply: Buffer, keys: Buffer[]): WatchedKey[] | null {
  const m = /^\*(\d+)\r\n/.exec(reply.toString('latin1'));
  if (m === null || Number(m[1]) !== keys.length) return null;
  const out: WatchedKey[] = [];
  const re = /\*2\r\n:(\d+)\r\n:([01])\r\n/y;
  re.lastIndex = m[0].length;
  const text = reply.toString('latin1');
  for (const k of keys) {
    const e = re.exec(text);
    if (e === null) return null;
    out.push({ key: k, version: Number(e[1]), alive: e[2] === '1' });
  }
  return out;
}

