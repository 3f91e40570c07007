// How a client reaches a node's client port when it is protected: TLS (checking the
// node's certificate against a CA, optionally showing a client certificate) and AUTH
// (a password, optionally a user). Shared by raft-client, the leader finder and
// `raft-cluster status`; the flags are the same everywhere and mirror redis-cli's.
import * as fs from 'node:fs';
import type * as tls from 'node:tls';
import { readSecretFile } from '../security/secret-file.js';
import { RaftdError } from '../util/errors.js';

export interface ClientAccess {
  /** null: plain TCP. */
  tls: tls.ConnectionOptions | null;
  /** null: no AUTH. `user` null: AUTH <password> (the default user). */
  auth: { user: string | null; password: Buffer } | null;
}

export const PLAIN_ACCESS: ClientAccess = { tls: null, auth: null };

/** yargs definitions: `.options(ACCESS_FLAGS)`. */
export const ACCESS_FLAGS = {
  tls: { type: 'boolean', default: false, describe: 'connect to client ports over TLS' },
  cacert: { type: 'string', describe: "PEM CA that signed the nodes' certificates (default: the system's)" },
  cert: { type: 'string', describe: 'PEM client certificate, for nodes that require one' },
  key: { type: 'string', describe: 'PEM private key for --cert' },
  user: { type: 'string', describe: 'ACL user to AUTH as (with --password-file)' },
  'password-file': { type: 'string', describe: 'file holding the password to AUTH with (never on the command line)' },
} as const;

export interface AccessArgs {
  tls: boolean;
  cacert?: string;
  cert?: string;
  key?: string;
  user?: string;
  'password-file'?: string;
}

function read(file: string, what: string): Buffer {
  try {
    return fs.readFileSync(file);
  } catch (err) {
    throw new RaftdError('RAFTD_CONFIG', `cannot read ${what} ${file}: ${(err as Error).message}`);
  }
}

export function accessFromArgs(a: AccessArgs): ClientAccess {
  if (a.user !== undefined && a['password-file'] === undefined) throw new RaftdError('RAFTD_CONFIG', '--user needs --password-file');
  if ((a.cert === undefined) !== (a.key === undefined)) throw new RaftdError('RAFTD_CONFIG', '--cert and --key go together');
  if (!a.tls && (a.cacert !== undefined || a.cert !== undefined)) throw new RaftdError('RAFTD_CONFIG', '--cacert, --cert and --key need --tls');
  const tlsOpts: tls.ConnectionOptions | null = a.tls
    ? {
        ...(a.cacert !== undefined ? { ca: read(a.cacert, 'CA file') } : {}),
        ...(a.cert !== undefined ? { cert: read(a.cert, 'certificate file'), key: read(a.key!, 'key file') } : {}),
        minVersion: 'TLSv1.2',
      }
    : null;
  const auth = a['password-file'] !== undefined ? { user: a.user ?? null, password: readSecretFile(a['password-file'], 'password') } : null;
  return { tls: tlsOpts, auth };
}
