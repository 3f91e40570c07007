// The security flags of raftd (peer secret, client passwords and users, TLS, client
// connection bounds) in one block: their yargs definitions, and the checked options
// they make. Files are read once here so a bad one stops the node at start-up with a
// message naming it; the actors read them again (secrets never travel in messages).
import type { ClientSecurity, PeerSecurity, TlsFiles } from '../actor/protocol.js';
import { loadAcl } from '../resp/acl.js';
import { readClusterSecret, readSecretFile } from '../security/secret-file.js';
import { readTlsFiles } from '../security/tls-files.js';
import { RaftdError } from '../util/errors.js';

export const PEER_SECURITY_DEFAULTS: PeerSecurity = { clusterSecretFile: null, tls: null, handshakeTimeoutMs: 3000 };
export const CLIENT_SECURITY_DEFAULTS: ClientSecurity = {
  requirepassFile: null,
  aclFile: null,
  tls: null,
  plainClientPort: 0,
  maxClients: 10_000,
  idleFrameTimeoutMs: 30_000,
};

/** yargs definitions: `.options(SECURITY_FLAGS)`. */
export const SECURITY_FLAGS = {
  'cluster-secret-file': { type: 'string', describe: 'file holding the cluster secret (>= 16 bytes) that authenticates peers to each other; without it the peer port is open to anyone' },
  'requirepass-file': { type: 'string', describe: "file holding the client password (Redis' requirepass: AUTH <password>)" },
  'acl-file': { type: 'string', describe: 'file of client users: `user <name> on|off >password ... ~* +@read|+@write|+@all` lines (AUTH <user> <password>)' },
  'tls-cert-file': { type: 'string', describe: 'PEM certificate: the client port speaks TLS only' },
  'tls-key-file': { type: 'string', describe: 'PEM private key for --tls-cert-file' },
  'tls-ca-file': { type: 'string', describe: 'PEM CA: clients must show a certificate it signed' },
  'plain-client-port': { type: 'number', default: 0, describe: 'with TLS on the client port, also a plain-text port here (0: none)' },
  'peer-tls-cert-file': { type: 'string', describe: 'PEM certificate for mutual TLS between peers' },
  'peer-tls-key-file': { type: 'string', describe: 'PEM private key for --peer-tls-cert-file' },
  'peer-tls-ca-file': { type: 'string', describe: 'PEM CA that signed every peer certificate' },
  'handshake-timeout-ms': { type: 'number', default: PEER_SECURITY_DEFAULTS.handshakeTimeoutMs, describe: 'a peer connection must finish its handshake within this long' },
  'max-clients': { type: 'number', default: CLIENT_SECURITY_DEFAULTS.maxClients, describe: 'most client connections at once (more are refused)' },
  'client-idle-timeout-ms': { type: 'number', default: CLIENT_SECURITY_DEFAULTS.idleFrameTimeoutMs, describe: 'close a client connection stuck this long in a partial command or TLS handshake (0: never)' },
} as const;

export interface SecurityArgs {
  'cluster-secret-file'?: string;
  'requirepass-file'?: string;
  'acl-file'?: string;
  'tls-cert-file'?: string;
  'tls-key-file'?: string;
  'tls-ca-file'?: string;
  'plain-client-port': number;
  'peer-tls-cert-file'?: string;
  'peer-tls-key-file'?: string;
  'peer-tls-ca-file'?: string;
  'handshake-timeout-ms': number;
  'max-clients': number;
  'client-idle-timeout-ms': number;
}

function bad(m: string): never {
  throw new RaftdError('RAFTD_CONFIG', m);
}

function tlsFiles(cert: string | undefined, key: string | undefined, ca: string | undefined, prefix: string, caRequired: boolean): TlsFiles | null {
  if (cert === undefined && key === undefined && ca === undefined) return null;
  if (cert === undefined || key === undefined) bad(`--${prefix}cert-file and --${prefix}key-file go together`);
  if (caRequired && ca === undefined) bad(`--${prefix}ca-file is needed too: peers check each other's certificates`);
  const f: TlsFiles = { certFile: cert, keyFile: key, caFile: ca ?? null };
  readTlsFiles(f);
  return f;
}

/** Checked security options from the flags; throws RAFTD_CONFIG naming the flag or file at fault. */
export function securityOptions(a: SecurityArgs): { peerSecurity: PeerSecurity; clientSecurity: ClientSecurity } {
  if (a['cluster-secret-file'] !== undefined) readClusterSecret(a['cluster-secret-file']);
  loadAcl(a['acl-file'] ?? null, a['requirepass-file'] !== undefined ? readSecretFile(a['requirepass-file'], 'requirepass') : null);
  if (!(Number.isInteger(a['max-clients']) && a['max-clients'] >= 1)) bad('--max-clients must be at least 1');
  if (!(a['client-idle-timeout-ms'] >= 0)) bad('--client-idle-timeout-ms must be >= 0');
  if (!(a['handshake-timeout-ms'] >= 100)) bad('--handshake-timeout-ms must be at least 100');
  const clientTls = tlsFiles(a['tls-cert-file'], a['tls-key-file'], a['tls-ca-file'], 'tls-', false);
  const plain = a['plain-client-port'];
  if (!(Number.isInteger(plain) && plain >= 0 && plain <= 65535)) bad('--plain-client-port must be a port number');
  if (plain !== 0 && clientTls === null) bad('--plain-client-port only makes sense with --tls-cert-file');
  return {
    peerSecurity: {
      clusterSecretFile: a['cluster-secret-file'] ?? null,
      tls: tlsFiles(a['peer-tls-cert-file'], a['peer-tls-key-file'], a['peer-tls-ca-file'], 'peer-tls-', true),
      handshakeTimeoutMs: a['handshake-timeout-ms'],
    },
    clientSecurity: {
      requirepassFile: a['requirepass-file'] ?? null,
      aclFile: a['acl-file'] ?? null,
      tls: clientTls,
      plainClientPort: plain,
      maxClients: a['max-clients'],
      idleFrameTimeoutMs: a['client-idle-timeout-ms'],
    },
  };
}
