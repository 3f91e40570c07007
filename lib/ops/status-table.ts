// The status table as text: one row per node, the leader in green and nodes that do
// not answer in red when the output is a terminal.
import type { ClusterStatus, NodeRow } from './probe.js';

const COLUMNS = ['ID', 'ADDRESS', 'STATE', 'ROLE', 'TERM', 'LEADER', 'COMMIT', 'APPLIED', 'LAG', 'HEALTH'] as const;

const GREEN = '\x1b[32m';
const RED = '\x1b[31m';
const YELLOW = '\x1b[33m';
const BOLD = '\x1b[1m';
const RESET = '\x1b[0m';

function cell(v: string | number | null): string {
  return v === null ? '-' : String(v);
}

function cells(n: NodeRow): string[] {
  const state = n.state === 'up' ? 'up' : n.state === 'timeout' ? 'timeout' : `down (${n.reason ?? 'unknown'})`;
  return [n.id, n.address, state, cell(n.role), cell(n.term), cell(n.leaderId), cell(n.commitIndex), cell(n.appliedIndex), cell(n.lag), cell(n.health)];
}

export function renderStatus(s: ClusterStatus, opts: { color: boolean }): string {
  const rows = s.nodes.map(cells);
  const widths = COLUMNS.map((c, i) => Math.max(c.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: readonly string[]) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ');
  const paint = (text: string, code: string) => (opts.color ? `${code}${text}${RESET}` : text);
  const out: string[] = [];
  const head = s.leader ? `leader ${s.leader} (term ${s.term}), commit ${cell(s.leaderCommit)}, ${s.up}/${s.total} up` : `no leader, ${s.up}/${s.total} up`;
  out.push(paint(head, s.leader ? BOLD : RED));
  out.push(paint(line(COLUMNS), BOLD));
  s.nodes.forEach((n, i) => {
    const text = line(rows[i]!);
    if (n.state === 'down') out.push(paint(text, RED));
    else if (n.state === 'timeout') out.push(paint(text, YELLOW));
    else if (n.id === s.leader) out.push(paint(text, GREEN));
    else out.push(text);
  });
  return out.join('\n');
}

/** The JSON form for scripts: the summary plus one object per node. */
export function statusJson(s: ClusterStatus): string {
  return JSON.stringify(s, null, 2);
}
