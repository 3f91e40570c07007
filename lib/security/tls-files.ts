// TLS material from PEM files, read once when an actor starts. Errors name the file.
import * as fs from 'node:fs';
import type * as tls from 'node:tls';
import type { TlsFiles } from '../actor/protocol.js';
import { RaftdError } from '../util/errors.js';

function read(file: string, what: string): Buffer {
  try {
    return fs.readFileSync(file);
  } catch (err) {
    throw new RaftdError('RAFTD_CONFIG', `cannot read TLS ${what} file ${file}: ${(err as Error).message}`);
  }
}

export interface TlsMaterial {
  cert: Buffer;
  key: Buffer;
  ca: Buffer | null;
}

export function readTlsFiles(f: TlsFiles): TlsMaterial {
  return { cert: read(f.certFile, 'certificate'), key: read(f.keyFile, 'key'), ca: f.caFile ? read(f.caFile, 'CA') : null };
}

/** A server that, with a CA, requires and checks the client's certificate. */
export function serverTlsOptions(m: TlsMaterial): tls.TlsOptions {
  return {
    cert: m.cert,
    key: m.key,
    minVersion: 'TLSv1.2',
    ...(m.ca ? { ca: m.ca, requestCert: true, rejectUnauthorized: true } : {}),
  };
}

/**
 * A peer's outbound side: shows its certificate and checks the listener's chain
 * against the cluster CA. The host name is not checked: the CA is the cluster's own,
 * and which node is on the other end is proven by the handshake (lib/wire/handshake.ts).
 */
export function peerClientTlsOptions(m: TlsMaterial): tls.ConnectionOptions {
  return {
    cert: m.cert,
    key: m.key,
    ...(m.ca ? { ca: m.ca } : {}),
    rejectUnauthorized: true,
    minVersion: 'TLSv1.2',
    checkServerIdentity: () => undefined,
  };
}
