import type { NodeStatus } from '../replica/messages.js';
import { assertNever } from '../util/assert.js';

/** What INFO reports about the process and its clients. */
export interface ServerFacts {
  version: string;
  nodeId: string;
  tcpPort: number;
  pid: number;
  startedAtMs: number;
  nowMs: number;
  connectedClients: number;
  /** Commands of all connections waiting for consensus or for a leader. */
  pendingRequests: number;
  /** The cluster id of the peer handshake ('' when unknown): a node that joins learns it here. */
  clusterId?: string;
}

type Section = 'server' | 'clients' | 'raft';
const SECTIONS: readonly Section[] = ['server', 'clients', 'raft'];

/**
 * The INFO reply body in Redis' format: `# Section` headers, `field:value` lines ending
 * in CRLF, a blank line between sections. `wanted` are the requested section names
 * (any case); none, `all`, `default` or `everything` mean every section. Unknown
 * names select nothing, as in Redis.
 */
export function infoText(facts: ServerFacts, status: NodeStatus | null, wanted: readonly string[]): string {
  const names = new Set(wanted.map((w) => w.toLowerCase()));
  const all = names.size === 0 || names.has('all') || names.has('default') || names.has('everything');
  const parts: string[] = [];
  for (const s of SECTIONS) {
    if (!all && !names.has(s)) continue;
    parts.push(section(s, facts, status));
  }
  return parts.join('\r\n');
}

function section(s: Section, facts: ServerFacts, status: NodeStatus | null): string {
  switch (s) {
    case 'server': {
      const uptimeS = Math.max(0, Math.floor((facts.nowMs - facts.startedAtMs) / 1000));
      return lines('Server', [
        ['raftd_version', facts.version],
        ['raftd_mode', 'raft'],
        ['arch_bits', process.arch.endsWith('64') ? 64 : 32],
        ['process_id', facts.pid],
        ['tcp_port', facts.tcpPort],
        ['uptime_in_seconds', uptimeS],
        ['uptime_in_days', Math.floor(uptimeS / 86400)],
        ['cluster_id', facts.clusterId ?? ''],
      ]);
    }
    case 'clients':
      return lines('Clients', [
        ['connected_clients', facts.connectedClients],
        ['pending_requests', facts.pendingRequests],
      ]);
    case 'raft': {
      const fields: [string, string | number][] = [
        ['node_id', facts.nodeId],
        ['role', status ? status.role : 'unknown'],
        ['term', status ? status.term : 0],
        ['leader_id', status?.leader ?? ''],
        ['leader_client_addr', status?.leaderClient ?? ''],
        ['commit_index', status ? status.commitIndex : 0],
        ['last_applied', status ? status.appliedIndex : 0],
        ['last_log_index', status ? status.lastIndex : 0],
        ['peer_msgs_sent', status ? status.msgsSent : 0],
        ['db_keys', status ? status.keys : 0],
        ['snapshot_index', status?.snapshot?.index ?? 0],
        ['snapshot_term', status?.snapshot?.term ?? 0],
        ['snapshot_last_bytes', status?.snapshot?.bytes ?? 0],
        ['snapshots_sending', status?.snapshot?.sending ?? 0],
        ['first_log_index', status?.snapshot?.firstLogIndex ?? 1],
      ];
      if (status?.role === 'leader') {
        for (const p of status.peers) {
          fields.push([`peer_${p.id}`, `match=${p.match},lag=${p.lag},connected=${p.connected ? 1 : 0}${p.state === 'snapshot' ? ',state=snapshot' : ''}`]);
        }
      }
      return lines('Raft', fields);
    }
    default:
      return assertNever(s, 'INFO section');
  }
}

function lines(title: string, fields: [string, string | number][]): string {
  let out = `# ${title}\r\n`;
  for (const [k, v] of fields) out += `${k}:${String(v).replace(/[\r\n]/g, ' ')}\r\n`;
  return out;
}
