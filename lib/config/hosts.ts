import * as fs from 'node:fs';
import * as os from 'node:os';
import { RaftdError } from '../util/errors.js';

/** One line of hosts.txt: `id host peer-port client-port [metrics-port]`. */
export interface HostEntry {
  id: string;
  host: string;
  peerPort: number;
  clientPort: number;
  /** HTTP port of /metrics, /health, /ready on `host`; null when the line has no fifth column. */
  metricsPort: number | null;
}

export const HOSTS_MAX = 64;

export function parseHosts(text: string, source = 'hosts.txt'): HostEntry[] {
  const out: HostEntry[] = [];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.replace(/#.*$/, '').trim();
    if (line === '') continue;
    const parts = line.split(/\s+/);
    const where = `${source}:${i + 1}`;
    if (parts.length !== 4 && parts.length !== 5) throw new RaftdError('RAFTD_CONFIG', `${where}: expected "id host peer-port client-port [metrics-port]", got "${line}"`);
    const [id, host, peer, client, metrics] = parts as [string, string, string, string, string | undefined];
    if (!/^[A-Za-z0-9_.-]{1,64}$/.test(id)) throw new RaftdError('RAFTD_CONFIG', `${where}: bad node id "${id}"`);
    const peerPort = port(peer, where);
    const clientPort = port(client, where);
    const metricsPort = metrics === undefined ? null : port(metrics, where);
    if (metricsPort !== null && (metricsPort === peerPort || metricsPort === clientPort)) throw new RaftdError('RAFTD_CONFIG', `${where}: metrics port ${metricsPort} is also the peer or client port`);
    if (out.some((h) => h.id === id)) throw new RaftdError('RAFTD_CONFIG', `${where}: duplicate node id "${id}"`);
    if (out.some((h) => h.host === host && (h.peerPort === peerPort || h.clientPort === peerPort || h.peerPort === clientPort || h.clientPort === clientPort)) || peerPort === clientPort)
      throw new RaftdError('RAFTD_CONFIG', `${where}: address ${host} port already used by another line`);
    if (metricsPort !== null && out.some((h) => h.host === host && (h.peerPort === metricsPort || h.clientPort === metricsPort || h.metricsPort === metricsPort)))
      throw new RaftdError('RAFTD_CONFIG', `${where}: address ${host} port ${metricsPort} already used by another line`);
    out.push({ id, host, peerPort, clientPort, metricsPort });
  }
  if (out.length === 0) throw new RaftdError('RAFTD_CONFIG', `${source}: no nodes`);
  if (out.length > HOSTS_MAX) throw new RaftdError('RAFTD_CONFIG', `${source}: more than ${HOSTS_MAX} nodes`);
  return out;
}

function port(s: string, where: string): number {
  const n = Number(s);
  if (!Number.isInteger(n) || n < 1 || n > 65535) throw new RaftdError('RAFTD_CONFIG', `${where}: bad port "${s}"`);
  return n;
}

export function readHosts(file: string): HostEntry[] {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new RaftdError('RAFTD_CONFIG', `cannot read ${file}: ${(err as Error).message}`);
  }
  return parseHosts(text, file);
}

/** Loopback addresses and this machine's interface addresses count as local. */
export function isLocalHost(host: string): boolean {
  if (host === 'localhost' || host === '::1' || /^127\./.test(host)) return true;
  for (const addrs of Object.values(os.networkInterfaces())) {
    for (const a of addrs ?? []) if (a.address === host) return true;
  }
  return host === os.hostname();
}
