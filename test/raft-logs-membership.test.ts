// raft-logs --summary tells configuration changes and leadership transfers: built
// from the core's transfer events and the node shell's `membership` lines.
import t from 'tap';
import { MembershipStoryBuilder, membershipText } from '../lib/logs/membership-story.js';
import type { LogRecord } from '../lib/logs/record.js';

const T0 = Date.parse('2026-01-01T00:00:00Z');
function rec(ms: number, node: string, term: number, event: string, fields: Record<string, unknown> = {}): LogRecord {
  const time = new Date(T0 + ms).toISOString();
  return { timeMs: T0 + ms, time, node, actor: 'raft', level: 'info', term, event, fields, raw: '' };
}
const m = (id: string, voter = true) => ({ id, host: '127.0.0.1', peerPort: 1, clientPort: 2, voter });

t.test('transfers on request and on a graceful stop, and configurations with what changed', async (t) => {
  const b = new MembershipStoryBuilder();
  const three = [m('n1'), m('n2'), m('n3')];
  for (const n of ['n1', 'n2', 'n3']) b.add(rec(0, n, 1, 'membership', { index: 0, members: three }));
  b.add(rec(100, 'n1', 2, 'transferStarted', { target: 'n2', match: 5, lastIndex: 5 }));
  b.add(rec(110, 'n2', 2, 'timeoutNowReceived', { from: 'n1' }));
  b.add(rec(125, 'n2', 3, 'roleChanged', { from: 'candidate', to: 'leader', reason: 'won' }));
  b.add(rec(200, 'n2', 3, 'handing-over', { to: 'n3' }));
  b.add(rec(201, 'n2', 3, 'transferStarted', { target: 'n3', match: 9, lastIndex: 9 }));
  b.add(rec(900, 'n2', 3, 'transferAborted', { target: 'n3', reason: 'timeout' }));
  b.add(rec(1000, 'n1', 4, 'membership', { index: 12, members: [...three, m('n4', false)] }));
  b.add(rec(1001, 'n4', 4, 'membership', { index: 12, members: [...three, m('n4', false)] }));
  b.add(rec(2000, 'n1', 4, 'membership', { index: 20, members: [m('n1'), m('n2'), m('n4')] }));
  const s = b.finish();
  t.same(
    s.transfers.map((x) => [x.from, x.to, x.cause, x.outcome, x.tookMs ?? null]),
    [
      ['n1', 'n2', 'request', 'done', 25],
      ['n2', 'n3', 'stop', 'aborted', 699],
    ],
  );
  t.same(
    s.configs.map((c) => [c.index, c.voters, c.learners, c.added, c.removed, c.promoted, c.nodes]),
    [
      [0, ['n1', 'n2', 'n3'], [], [], [], [], ['n1', 'n2', 'n3']],
      [12, ['n1', 'n2', 'n3'], ['n4'], ['n4'], [], [], ['n1', 'n4']],
      [20, ['n1', 'n2', 'n4'], [], [], ['n3'], ['n4'], ['n1']],
    ],
  );
  const text = membershipText(s, (iso) => iso.slice(11, 23)).join('\n');
  t.match(text, /Configurations \(3\)/);
  t.match(text, /index 20 from 00:00:02.000: voters n1, n2, n4 \(removed n3; promoted n4\); seen by n1/);
  t.match(text, /Leadership transfers \(2\)/);
  t.match(text, /n1 → n2 on request, done in 25 ms/);
  t.match(text, /n2 → n3 on a graceful stop, aborted after 699 ms \(timeout\)/);
});

t.test('a removed leader\'s handover is told as one on its removal', async (t) => {
  const b = new MembershipStoryBuilder();
  b.add(rec(100, 'n1', 2, 'transferStarted', { target: 'n3', match: 7, lastIndex: 9, reason: 'removed' }));
  b.add(rec(140, 'n3', 2, 'timeoutNowReceived', { from: 'n1' }));
  b.add(rec(150, 'n3', 3, 'roleChanged', { from: 'candidate', to: 'leader', reason: 'won' }));
  const s = b.finish();
  t.same(s.transfers.map((x) => [x.from, x.to, x.cause, x.outcome]), [['n1', 'n3', 'removed', 'done']]);
  t.match(membershipText(s, (iso) => iso.slice(11, 23)).join('\n'), /n1 → n3 on its removal, done in 50 ms/);
});
