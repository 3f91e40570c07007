// <dataDir>/joined.json: written once a node's CLUSTER ADD committed. It says the node
// joined an existing cluster (so a restart never bootstraps from hosts.txt, which may not
// even list it), its own addresses (so `--id n6 --data DIR` is enough to restart it), and
// the members it joined (whom to accept until its log or snapshot gives the configuration).
import * as path from 'node:path';
import type { HostEntry } from '../config/hosts.js';
import type { Member } from '../replica/membership-types.js';
import { readTextIfExists, writeTextDurable } from '../storage/durable-fs.js';
import { RaftdError } from '../util/errors.js';

export const JOINED_FILE = 'joined.json';

export interface JoinedState {
  self: { id: string; host: string; peerPort: number; clientPort: number };
  /** The seed it joined through (host:port), for the log. */
  via: string;
  members: Member[];
  /**
   * Its log once reached what the leader had committed when it joined (Replica.joining
   * turned false): from then on it starts like any member, from its disk. Until then it
   * starts with `join` again, which keeps it from campaigning over a log the cluster has
   * moved past.
   */
  caughtUp?: boolean;
}

export function readJoined(dataDir: string): JoinedState | null {
  const file = path.join(dataDir, JOINED_FILE);
  const text = readTextIfExists(file);
  if (text === null) return null;
  try {
    const v = JSON.parse(text) as JoinedState;
    if (typeof v.self?.id !== 'string' || typeof v.self.host !== 'string' || !Array.isArray(v.members)) throw new Error('missing fields');
    return v;
  } catch (err) {
    throw new RaftdError('RAFTD_CONFIG', `${file} is damaged (${(err as Error).message}); it is written when a node joins`);
  }
}

export function writeJoined(dataDir: string, s: JoinedState): void {
  writeTextDurable(dataDir, JOINED_FILE, JSON.stringify(s, null, 2) + '\n');
}

export function hostEntryOf(s: JoinedState['self']): HostEntry {
  return { id: s.id, host: s.host, peerPort: s.peerPort, clientPort: s.clientPort, metricsPort: null };
}
