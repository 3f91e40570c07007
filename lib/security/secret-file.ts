// Secrets come from files (never the command line, where `ps` shows them to every
// user), are read once at start-up, and never appear in a log line or an error message.
import * as fs from 'node:fs';
import { RaftdError } from '../util/errors.js';

/** The cluster secret is an HMAC key: shorter than this is too easy to guess. */
export const CLUSTER_SECRET_BYTES_MIN = 16;
/** Bound on a secret or password file: anything larger is the wrong file. */
const SECRET_FILE_BYTES_MAX = 64 * 1024;

/**
 * The file's bytes without one trailing newline (`echo secret > file` works).
 * Throws RAFTD_CONFIG naming the file (never its content) when it cannot be used.
 */
export function readSecretFile(file: string, what: string, bytesMin = 1): Buffer {
  let raw: Buffer;
  try {
    const st = fs.statSync(file);
    if (!st.isFile()) throw new Error('not a regular file');
    if (st.size > SECRET_FILE_BYTES_MAX) throw new Error(`larger than ${SECRET_FILE_BYTES_MAX} bytes`);
    raw = fs.readFileSync(file);
  } catch (err) {
    throw new RaftdError('RAFTD_CONFIG', `cannot read ${what} file ${file}: ${(err as Error).message}`);
  }
  let end = raw.length;
  if (end > 0 && raw[end - 1] === 0x0a) end--;
  if (end > 0 && raw[end - 1] === 0x0d) end--;
  const secret = raw.subarray(0, end);
  if (secret.length < bytesMin) throw new RaftdError('RAFTD_CONFIG', `${what} file ${file} holds ${secret.length} bytes; at least ${bytesMin} are needed`);
  return Buffer.from(secret);
}

/** The cluster secret of --cluster-secret-file. */
export function readClusterSecret(file: string): Buffer {
  return readSecretFile(file, 'cluster secret', CLUSTER_SECRET_BYTES_MIN);
}
