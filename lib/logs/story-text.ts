// The story (summary.ts) as readable text.
import { membershipText } from './membership-story.js';
import type { Election, Story, VoteTally } from './summary.js';

/** `08:01:45.420` from an ISO time (UTC, as the logs write it). */
export function clock(iso: string): string {
  const ms = Date.parse(iso);
  return Number.isFinite(ms) ? new Date(ms).toISOString().slice(11, 23) : iso;
}

export function duration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(2)} s`;
  const m = Math.floor(ms / 60_000);
  const s = Math.round((ms % 60_000) / 1000);
  return `${m}m${String(s).padStart(2, '0')}s`;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

function tallyText(name: string, t: VoteTally): string {
  const parts: string[] = [];
  if (t.granted.length > 0) parts.push(`granted by ${t.granted.join(', ')}`);
  if (t.rejected.length > 0) parts.push(`rejected by ${t.rejected.map((r) => `${r.node} (${r.reason})`).join(', ')}`);
  const count = t.grantedCount !== undefined ? ` ${t.grantedCount}/${t.grantedCount + (t.rejectedCount ?? 0)}` : '';
  const result = t.result ? `${t.result}${count}` : 'no result';
  return `${name} ${result}${parts.length > 0 ? ': ' + parts.join('; ') : ''}`;
}

export function electionLine(e: Election): string {
  const phases: string[] = [];
  if (e.preVote) phases.push(tallyText('pre-vote', e.preVote));
  if (e.vote) phases.push(tallyText('vote', e.vote));
  let outcome: string;
  if (e.outcome === 'won') outcome = `won: ${e.candidate} leader of term ${e.leaderTerm} after ${duration(e.tookMs ?? 0)}`;
  else {
    outcome = e.outcome + (e.reason ? ` (${e.reason})` : '');
    if (e.leader !== undefined) outcome += `; leader ${e.leader} of term ${e.leaderTerm} after ${duration(e.tookMs ?? 0)}`;
    else outcome += '; no leader after it';
  }
  const late = e.lateVotes > 0 ? ` [${plural(e.lateVotes, 'late vote')}]` : '';
  return `#${e.id} term ${e.term}  ${e.candidate} at ${clock(e.startedAt)}  ${phases.join('; ')}  → ${outcome}${late}`;
}

/** The story, a section per concern, empty sections left out. */
export function storyText(s: Story): string[] {
  const out: string[] = [];
  if (s.firstTime === null || s.lastTime === null) {
    out.push('No records.');
    if (s.malformed > 0) out.push(`${plural(s.malformed, 'malformed line')} skipped.`);
    return out;
  }
  const span = Date.parse(s.lastTime) - Date.parse(s.firstTime);
  out.push(`${plural(s.records, 'record')} from ${plural(s.nodes.length, 'node')} (${s.nodes.map((n) => n.node).join(', ')}), ${s.firstTime} → ${clock(s.lastTime)} (${duration(span)})` + (s.malformed > 0 ? `; ${plural(s.malformed, 'malformed line')} skipped` : ''));

  out.push('', 'Nodes');
  for (const n of s.nodes) {
    out.push(`  ${n.node}  ${clock(n.firstSeen)} → ${clock(n.lastSeen)}  ${plural(n.starts, 'start')}, last ${n.role} in term ${n.term}, ${plural(n.records, 'record')}`);
  }

  out.push('', `Elections (${s.elections.length})`);
  if (s.elections.length === 0) out.push('  none');
  for (const e of s.elections) out.push('  ' + electionLine(e));

  out.push('', 'Leaders');
  if (s.leaders.length === 0) out.push('  none');
  for (const L of s.leaders) {
    const gap = L.leaderlessMs !== undefined ? `, ${duration(L.leaderlessMs)} without a leader before` : '';
    const via = L.election !== undefined ? ` (election #${L.election})` : L.fromLeaderLog ? '' : ' (seen by followers only)';
    const end = L.lostAt !== undefined ? `; lost at ${clock(L.lostAt)}: ${L.lostHow}` : '';
    const followers = L.followers.length > 0 ? `; followed by ${L.followers.join(', ')}` : '';
    out.push(`  term ${L.term}: ${L.leader} from ${clock(L.electedAt)}${via}${gap}${followers}${end}`);
  }
  if (s.leaderlessTerms.length > 0) out.push(`  no leader in term ${s.leaderlessTerms.join(', ')}`);

  if (s.snapshots.length > 0) {
    out.push('', 'Snapshots');
    for (const c of s.snapshots) out.push(`  ${c.node}: ${c.taken} taken, ${c.sent} sent to followers, ${c.installed} installed from a leader; newest through index ${c.lastIndex}`);
  }
  if (s.stepDowns.length > 0) {
    out.push('', 'Step-downs');
    for (const d of s.stepDowns) out.push(`  ${clock(d.at)} ${d.node} stepped down in term ${d.term}${d.newTerm !== undefined && d.newTerm !== d.term ? ` for term ${d.newTerm}` : ''}: ${d.reason}`);
  }

  out.push(...membershipText(s.membership, clock));

  if (s.restarts.length > 0) {
    out.push('', 'Restarts');
    for (const r of s.restarts) {
      out.push(`  ${r.node} ${r.clean ? 'stopped' : 'gone (crash or kill)'} at ${clock(r.goneAt)}, started again at ${clock(r.at)} (down ${duration(r.downMs)})`);
    }
  }

  out.push('', 'Connections (outbound, per peer pair)');
  if (s.links.length === 0) out.push('  none logged');
  for (const l of s.links) {
    const reasons = Object.entries(l.reasons).map(([r, n]) => `${n}× ${r}`).join(', ');
    let line = `  ${l.from} → ${l.to}  ${plural(l.connects, 'connect')}${l.afterRestart > 0 ? ` (${l.afterRestart} after ${l.from} restarted)` : ''}, ${plural(l.drops, 'drop')}`;
    if (l.drops > 0) line += ` (${reasons}), ${plural(l.reconnects, 'reconnect')}`;
    if (l.reconnects > 0) line += `, longest down ${duration(l.longestDownMs)}`;
    if (l.downAtEnd) line += ', down at the end';
    out.push(line);
    for (const d of l.dropList) out.push(`      dropped ${clock(d.at)} ${d.reason}${d.backAt ? `, back ${clock(d.backAt)} after ${duration(d.downMs ?? 0)}` : ''}`);
  }

  out.push('', 'Warnings and errors');
  if (s.problems.length === 0) out.push('  none');
  for (const p of s.problems) {
    const when = p.count > 1 ? `${clock(p.first)} … ${clock(p.last)}` : clock(p.first);
    out.push(`  ${String(p.count).padStart(4)}× ${p.level.padEnd(5)} ${p.node} ${p.actor} ${p.event}  ${when}  ${p.sample}`);
  }
  return out;
}
