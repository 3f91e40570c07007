// Finding the per-actor log files under a node's data directory or a cluster's folder.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { RaftdError } from '../util/errors.js';

/** One actor's log of one node: its rotated files oldest first, then the live file. */
export interface ActorLog {
  node: string;
  actor: string;
  /** Oldest first: `<actor>.log.2`, `<actor>.log.1`, `<actor>.log`. */
  files: string[];
  /** The live file (`<actor>.log`), also when it does not exist yet. */
  live: string;
}

const LOG_FILE = /^(.+)\.log(?:\.(\d+))?$/;

function isDir(p: string): boolean {
  try {
    return fs.statSync(p).isDirectory();
  } catch {
    return false;
  }
}

function hasLogFiles(dir: string): boolean {
  try {
    return fs.readdirSync(dir).some((f) => LOG_FILE.test(f));
  } catch {
    return false;
  }
}

/** The actor logs in one `logs/` folder. */
export function actorLogs(logsDir: string, node: string): ActorLog[] {
  const groups = new Map<string, { rotation: number; file: string }[]>();
  for (const f of fs.readdirSync(logsDir).sort()) {
    const m = LOG_FILE.exec(f);
    if (!m) continue;
    const full = path.join(logsDir, f);
    if (!fs.statSync(full).isFile()) continue;
    const actor = m[1]!;
    const rotation = m[2] === undefined ? 0 : Number(m[2]);
    let g = groups.get(actor);
    if (!g) groups.set(actor, (g = []));
    g.push({ rotation, file: full });
  }
  return [...groups.entries()].map(([actor, g]) => ({
    node,
    actor,
    files: g.sort((a, b) => b.rotation - a.rotation).map((x) => x.file),
    live: path.join(logsDir, `${actor}.log`),
  }));
}

/**
 * The logs folders under `root`, each with the node it belongs to (its folder's name):
 * `root` may be a node's data directory (holding `logs/`), a `logs/` folder itself, or a
 * cluster folder holding one such data directory (or logs folder) per node.
 */
export function logDirs(root: string): { node: string; dir: string }[] {
  if (!isDir(root)) throw new RaftdError('RAFTD_CONFIG', `no such directory: ${root}`);
  const own = path.join(root, 'logs');
  if (isDir(own)) return [{ node: path.basename(root), dir: own }];
  if (hasLogFiles(root)) {
    const base = path.basename(root);
    return [{ node: base === 'logs' ? path.basename(path.dirname(root)) : base, dir: root }];
  }
  const out: { node: string; dir: string }[] = [];
  for (const name of fs.readdirSync(root).sort()) {
    const sub = path.join(root, name);
    if (!isDir(sub)) continue;
    if (isDir(path.join(sub, 'logs'))) out.push({ node: name, dir: path.join(sub, 'logs') });
    else if (hasLogFiles(sub)) out.push({ node: name, dir: sub });
  }
  return out;
}

/** Every actor log under `roots` (see logDirs). */
export function findActorLogs(roots: string[]): ActorLog[] {
  const out: ActorLog[] = [];
  for (const root of roots) for (const d of logDirs(root)) out.push(...actorLogs(d.dir, d.node));
  return out;
}
