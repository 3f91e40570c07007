// The cluster id checked in every peer handshake stays the cluster's for life: it is
// fixed once, when a node bootstraps (from hosts.txt or --cluster-id) or joins (from
// the member it joins through), and kept in <dataDir>/cluster-id. A restart reads it
// from there, so editing hosts.txt (adding a line for a node that joined) never turns
// a member into a stranger.
import * as path from 'node:path';
import { readTextIfExists, writeTextDurable } from '../storage/durable-fs.js';
import { RaftdError } from '../util/errors.js';

export const CLUSTER_ID_FILE = 'cluster-id';
const CLUSTER_ID_PATTERN = /^[A-Za-z0-9_.:-]{1,128}$/;

export function validClusterId(id: string): boolean {
  return CLUSTER_ID_PATTERN.test(id);
}

/** The id kept in the data directory, or null when there is none yet. */
export function readClusterId(dataDir: string): string | null {
  const file = path.join(dataDir, CLUSTER_ID_FILE);
  const text = readTextIfExists(file);
  if (text === null) return null;
  const id = text.trim();
  if (!validClusterId(id)) throw new RaftdError('RAFTD_CONFIG', `${file} holds no valid cluster id ("${id.slice(0, 64)}"); it is written once when the node first starts`);
  return id;
}

/** Writes the id atomically and durably (temp file, fsync, rename, fsync of the directory). */
export function writeClusterId(dataDir: string, id: string): void {
  if (!validClusterId(id)) throw new RaftdError('RAFTD_CONFIG', `bad cluster id "${id.slice(0, 64)}"`);
  writeTextDurable(dataDir, CLUSTER_ID_FILE, id + '\n');
}

export interface SettledClusterId {
  id: string;
  /** Where it came from: the data directory, or it was written there just now. */
  source: 'disk' | 'bootstrap';
}

/**
 * The cluster id this node runs with. On disk: that one (a --cluster-id that names
 * another is a mistake, refused). Else `bootstrap` (the flag, or hosts.txt's hash, or
 * what the joined member said), persisted now.
 */
export function settleClusterId(dataDir: string, bootstrap: string, explicit: boolean): SettledClusterId {
  const onDisk = readClusterId(dataDir);
  if (onDisk !== null) {
    if (explicit && onDisk !== bootstrap) {
      throw new RaftdError('RAFTD_CONFIG', `--cluster-id ${bootstrap} differs from ${onDisk}, kept in ${path.join(dataDir, CLUSTER_ID_FILE)} since this node first started: a cluster's id never changes`);
    }
    return { id: onDisk, source: 'disk' };
  }
  writeClusterId(dataDir, bootstrap);
  return { id: bootstrap, source: 'bootstrap' };
}
