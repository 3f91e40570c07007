// Certificates a test makes itself with the openssl CLI: a CA, certificates it signs
// (for IP addresses, so TLS clients can check them), an expired one, and one signed by
// another CA. EC P-256 keys: fast to make.
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

export function opensslAvailable(): boolean {
  return spawnSync('sh', ['-c', 'command -v openssl']).status === 0;
}

export interface Ca {
  cert: string;
  key: string;
}

export interface CertFiles {
  cert: string;
  key: string;
}

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

export function makeCa(dir: string, name: string): Ca {
  fs.mkdirSync(dir, { recursive: true });
  const cert = path.join(dir, `${name}.pem`);
  const key = path.join(dir, `${name}.key`);
  openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-out', cert, '-days', '2', '-subj', `/CN=${name}`], dir);
  return { cert, key };
}

/** A certificate signed by `ca` for these IP addresses; `days` -1 makes it expired. */
export function makeCert(dir: string, ca: Ca, name: string, ips: string[], days = 2): CertFiles {
  const cert = path.join(dir, `${name}.pem`);
  const key = path.join(dir, `${name}.key`);
  const csr = path.join(dir, `${name}.csr`);
  const ext = path.join(dir, `${name}.ext`);
  const san = ips.length > 0 ? `subjectAltName=${ips.map((ip) => `IP:${ip}`).join(',')}\n` : '';
  fs.writeFileSync(ext, `${san}extendedKeyUsage=serverAuth,clientAuth\n`);
  openssl(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-out', csr, '-subj', `/CN=${name}`], dir);
  openssl(['x509', '-req', '-in', csr, '-CA', ca.cert, '-CAkey', ca.key, '-CAcreateserial', '-out', cert, '-days', String(days), '-extfile', ext], dir);
  fs.chmodSync(key, 0o600);
  return { cert, key };
}
