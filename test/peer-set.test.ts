// Which peers the node shell keeps replicators for as the membership changes
// (lib/node/peer-set.ts): members, the members a pending configuration dropped, the
// leader it follows even when that leader removed itself, and the cluster a joining
// node asked to join; and how a configuration on disk differs from hosts.txt.
import t from 'tap';
import { differencesFromHosts, planPeers, wantedPeers } from '../lib/node/peer-set.js';
import type { Member } from '../lib/replica/membership-types.js';

const m = (id: string, voter = true, port = 7000): Member => ({ id, host: `127.0.0.${id.slice(1)}`, peerPort: port, clientPort: 6000, voter });
const ids = (xs: { id: string }[]) => xs.map((x) => x.id).sort();

t.test('wanted peers', async (t) => {
  const three = [m('n1'), m('n2'), m('n3')];
  const two = [m('n1'), m('n2')];
  t.same(ids(wantedPeers({ current: { index: 0, members: three }, previous: [], committed: true, leader: 'n2' }, 'n1', [])), ['n2', 'n3'], 'the members but itself');
  t.same(ids(wantedPeers({ current: { index: 9, members: two }, previous: three, committed: false, leader: 'n1' }, 'n1', [])), ['n2', 'n3'], 'a dropped member hears from the leader until the change commits');
  t.same(ids(wantedPeers({ current: { index: 9, members: two }, previous: three, committed: true, leader: 'n1' }, 'n1', [])), ['n2'], 'and is let go once it committed');
  t.same(ids(wantedPeers({ current: { index: 9, members: [m('n2'), m('n3')] }, previous: three, committed: true, leader: 'n1' }, 'n2', [])), ['n1', 'n3'], 'a follower keeps the leader that removed itself');
  t.same(ids(wantedPeers({ current: { index: 0, members: [] }, previous: [], committed: true, leader: null }, 'n6', three)), ['n1', 'n2', 'n3'], 'a joining node without a configuration: the cluster it joins');
});

t.test('plans: add, remove, and a changed address is both', async (t) => {
  const cur = new Map([
    ['n2', { id: 'n2', host: 'a', peerPort: 1 }],
    ['n3', { id: 'n3', host: 'b', peerPort: 2 }],
  ]);
  const p = planPeers(cur, [
    { id: 'n2', host: 'a', peerPort: 1 },
    { id: 'n3', host: 'b', peerPort: 3 },
    { id: 'n4', host: 'c', peerPort: 4 },
  ]);
  t.same(p.remove, ['n3']);
  t.same(ids(p.add), ['n3', 'n4']);
  t.same(planPeers(cur, []).remove.sort(), ['n2', 'n3']);
});

t.test('differences from hosts.txt', async (t) => {
  const hosts = [m('n1'), m('n2'), m('n3')].map((x) => ({ ...x, metricsPort: null }));
  const d = differencesFromHosts({ index: 12, members: [m('n1'), m('n2', true, 7999), m('n4', false)] }, hosts);
  t.same(d, ['n2 is at 127.0.0.2 peer 7999 client 6000, hosts.txt says 127.0.0.2 peer 7000 client 6000', 'n4 (127.0.0.4:7000) is a learner but not in hosts.txt', 'n3 is in hosts.txt but not a member']);
  t.same(differencesFromHosts({ index: 0, members: [m('n1'), m('n2'), m('n3')] }, hosts), []);
});
