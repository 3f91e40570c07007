// Client users and their rights, from --acl-file and --requirepass-file. The file is a
// small subset of Redis' ACL file syntax, one user a line (# comments, blank lines):
//
//   user alice  on  >s3cret           ~* +@all      admin: everything
//   user app    on  #<sha256 hex>     ~* +@write    reads and writes, no admin commands
//   user report on  >pw1 >pw2         ~* +@read     reads only
//   user old    off >pw               ~* +@read     disabled: AUTH always fails
//
// Rights nest: read < write (+@read +@write, or +@write) < admin (+@all, allcommands,
// +@admin). Only `~*`/allkeys is accepted as a key pattern: raftd has no per-key rules
// and refuses to pretend otherwise. Passwords are kept as SHA-256 digests and compared
// in constant time. `--requirepass-file` makes the user `default` (admin) with that
// password, as Redis' requirepass does. Unlike Redis, an ACL file that does not list
// `default` leaves no default user: every connection must AUTH.
import { createHash, timingSafeEqual } from 'node:crypto';
import * as fs from 'node:fs';
import { RaftdError } from '../util/errors.js';

export type Right = 'read' | 'write' | 'admin';
const RANK: Record<Right, number> = { read: 0, write: 1, admin: 2 };

export interface AclUser {
  name: string;
  enabled: boolean;
  /** Any password works (Redis' nopass). */
  nopass: boolean;
  /** SHA-256 digests of the accepted passwords. */
  passwordHashes: Buffer[];
  right: Right;
}

export interface Acl {
  users: ReadonlyMap<string, AclUser>;
  /** Whether a connection must AUTH before running commands (no usable passwordless default user). */
  authRequired: boolean;
}

export const DEFAULT_USER = 'default';
/** Bound on users in one file. */
const USERS_MAX = 10_000;

/** No passwords and no users: the default user may do everything. */
export const OPEN_ACL: Acl = {
  users: new Map([[DEFAULT_USER, { name: DEFAULT_USER, enabled: true, nopass: true, passwordHashes: [], right: 'admin' }]]),
  authRequired: false,
};

export function hashPassword(p: Uint8Array): Buffer {
  return createHash('sha256').update(p).digest();
}

export function atLeast(have: Right, need: Right): boolean {
  return RANK[have] >= RANK[need];
}

/** Constant time in the password (digests of equal length are compared). */
export function passwordMatches(u: AclUser, password: Uint8Array): boolean {
  if (!u.enabled) return false;
  if (u.nopass) return true;
  const h = hashPassword(password);
  let ok = false;
  for (const want of u.passwordHashes) ok = timingSafeEqual(h, want) || ok;
  return ok;
}

function parseUser(words: string[], where: string): AclUser {
  const bad = (m: string): never => {
    throw new RaftdError('RAFTD_CONFIG', `${where}: ${m}`);
  };
  if (words[0] !== 'user' || words.length < 2) bad('a line must read `user <name> <rules...>`');
  const name = words[1]!;
  if (!/^[!-~]+$/.test(name)) bad(`bad user name`);
  const u: AclUser = { name, enabled: false, nopass: false, passwordHashes: [], right: 'read' };
  let keys = false;
  let rights = false;
  for (const w of words.slice(2)) {
    const lw = w.toLowerCase();
    if (lw === 'on') u.enabled = true;
    else if (lw === 'off') u.enabled = false;
    else if (lw === 'nopass') u.nopass = true;
    else if (w.startsWith('>')) u.passwordHashes.push(hashPassword(Buffer.from(w.slice(1), 'utf8')));
    else if (w.startsWith('#')) {
      if (!/^#[0-9a-fA-F]{64}$/.test(w)) bad('a #<hash> password must be 64 hex digits (SHA-256)');
      u.passwordHashes.push(Buffer.from(w.slice(1), 'hex'));
    } else if (lw === '~*' || lw === 'allkeys') keys = true;
    else if (w.startsWith('~') || w.startsWith('%')) bad(`key pattern ${w}: only ~* is supported`);
    else if (lw === '+@read') {
      rights = true;
    } else if (lw === '+@write') {
      rights = true;
      if (!atLeast(u.right, 'write')) u.right = 'write';
    } else if (lw === '+@all' || lw === 'allcommands' || lw === '+@admin') {
      rights = true;
      u.right = 'admin';
    } else if (lw === '&*' || lw === 'allchannels' || lw === 'resetchannels') {
      // Pub/sub channels: raftd has none.
    } else {
      // A mistyped password rule must not end up in a log: only command rules are quoted.
      const shown = /^[+-]/.test(w) ? JSON.stringify(w.slice(0, 32)) : `word ${words.indexOf(w) + 1}`;
      bad(`unsupported rule ${shown} (supported: on off nopass >password #sha256 ~* +@read +@write +@all)`);
    }
  }
  if (!keys) bad(`user ${name} needs ~* (allkeys)`);
  if (!rights) bad(`user ${name} needs +@read, +@write or +@all`);
  if (u.enabled && !u.nopass && u.passwordHashes.length === 0) bad(`user ${name} is on but has no password (add >password or nopass)`);
  return u;
}

/** Parses an ACL file's text; `file` names it in errors (never a password). */
export function parseAcl(text: string, file: string): Map<string, AclUser> {
  const users = new Map<string, AclUser>();
  text.split(/\r?\n/).forEach((line, i) => {
    const trimmed = line.trim();
    if (trimmed === '' || trimmed.startsWith('#')) return;
    const u = parseUser(trimmed.split(/\s+/), `${file}:${i + 1}`);
    if (users.has(u.name)) throw new RaftdError('RAFTD_CONFIG', `${file}:${i + 1}: user ${u.name} is defined twice`);
    if (users.size >= USERS_MAX) throw new RaftdError('RAFTD_CONFIG', `${file}: more than ${USERS_MAX} users`);
    users.set(u.name, u);
  });
  return users;
}

/** The ACL from a parsed file (or none) and a requirepass password (or none). */
export function buildAcl(fileUsers: Map<string, AclUser> | null, requirepass: Buffer | null): Acl {
  if (fileUsers === null && requirepass === null) return OPEN_ACL;
  const users = new Map(fileUsers ?? []);
  if (requirepass !== null) {
    if (users.has(DEFAULT_USER)) throw new RaftdError('RAFTD_CONFIG', 'the ACL file defines user default and --requirepass-file sets its password: use one');
    users.set(DEFAULT_USER, { name: DEFAULT_USER, enabled: true, nopass: false, passwordHashes: [hashPassword(requirepass)], right: 'admin' });
  }
  const d = users.get(DEFAULT_USER);
  return { users, authRequired: !(d && d.enabled && d.nopass) };
}

/** Reads --acl-file (and the requirepass password, when given). Throws RAFTD_CONFIG. */
export function loadAcl(aclFile: string | null, requirepass: Buffer | null): Acl {
  let fileUsers: Map<string, AclUser> | null = null;
  if (aclFile !== null) {
    let text: string;
    try {
      text = fs.readFileSync(aclFile, 'utf8');
    } catch (err) {
      throw new RaftdError('RAFTD_CONFIG', `cannot read ACL file ${aclFile}: ${(err as Error).message}`);
    }
    fileUsers = parseAcl(text, aclFile);
  }
  return buildAcl(fileUsers, requirepass);
}
