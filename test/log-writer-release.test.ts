// A write's `release` messages leave the log writer through the peer's port once the
// write is durable, before its `written`; a peer without a port (it left) gets nothing
// and the writer goes on; a port replaced or removed is closed.
import t from 'tap';
import { MessageChannel, type MessagePort } from 'node:worker_threads';
import type { PeerMessage } from '../lib/replica/messages.js';
import { entries, load, startWriter, tmpDir } from './helpers/log-writer.js';
import { waitFor } from './helpers/wait.js';

function ack(to: string, matchIndex: number): PeerMessage {
  return { type: 'appendResp', term: 1, from: 'n1', to, success: true, matchIndex, rejectIndex: 0, conflictTerm: 0, conflictIndex: 0, ctx: 0 };
}

t.test('released messages go to their peers after the sync, before written', async (t) => {
  const w = startWriter(tmpDir(t));
  await load(w);
  const order: string[] = [];
  const got = new Map<string, PeerMessage[]>();
  const listen = (peer: string): MessagePort => {
    const ch = new MessageChannel();
    ch.port2.on('message', (m: { type: string; messages: PeerMessage[] }) => {
      t.equal(m.type, 'send');
      order.push(`send ${peer}`);
      got.set(peer, [...(got.get(peer) ?? []), ...m.messages]);
    });
    ch.port2.unref();
    w.handle.post({ type: 'peerPort', peer, port: ch.port1 }, [ch.port1]);
    return ch.port2;
  };
  const p2 = listen('n2');
  const p3 = listen('n3');
  w.handle.post({ type: 'write', seq: 1, hardState: { term: 1, vote: null }, entries: entries(1, 3, 1), release: [ack('n2', 3), ack('n3', 3), ack('n2', 3)] });
  w.handle.post({ type: 'write', seq: 2, hardState: null, entries: entries(4, 1, 1), release: [ack('n4', 4)] });
  await w.until((m) => m.type === 'written' && m.seq === 2);
  // Port messages and the 'written' come over different channels: wait for both sends.
  await waitFor('the sends to n2 and n3', () => got.size >= 2, 5000, 5);
  t.same(got.get('n2')?.map((m) => m.type === 'appendResp' && m.matchIndex), [3, 3], 'both of n2, in order, in one send');
  t.same(got.get('n3')?.length, 1);
  t.same(order.filter((o) => o === 'send n2').length, 1, 'one send per peer per sync');
  t.same(w.fatal, [], 'a peer without a port (n4) is skipped');

  // Removing a port closes the writer's end: the other end sees 'close'.
  const closed = new Promise<void>((res) => p3.once('close', () => res()));
  w.handle.post({ type: 'peerPort', peer: 'n3', port: null });
  await closed;
  w.handle.post({ type: 'write', seq: 3, hardState: null, entries: entries(5, 1, 1), release: [ack('n3', 5)] });
  await w.until((m) => m.type === 'written' && m.seq === 3);
  t.same(got.get('n3')?.length, 1, 'nothing more for a removed peer');
  p2.close();
  await w.handle.stop({ type: 'stop' }, 5000);
  t.same(w.fatal, []);
});

// A quiet write (a follower's, LogWrite.quiet) is reported late: after a linger of its
// own, or with the next write that is not quiet, whose `written` covers it. Its released
// messages still leave right after its sync.
t.test('quiet writes are reported late, or with the next write that is not quiet', async (t) => {
  const w = startWriter(tmpDir(t));
  await load(w);
  const sent: PeerMessage[] = [];
  const ch = new MessageChannel();
  ch.port2.on('message', (m: { messages: PeerMessage[] }) => sent.push(...m.messages));
  ch.port2.unref();
  w.handle.post({ type: 'peerPort', peer: 'n2', port: ch.port1 }, [ch.port1]);
  const written = () => w.out.flatMap((m) => (m.type === 'written' ? [m.seq] : []));

  w.handle.post({ type: 'write', seq: 1, hardState: { term: 1, vote: null }, entries: entries(1, 2, 1), release: [ack('n2', 2)], quiet: true });
  await waitFor('the acknowledgement of a quiet write', () => sent.length === 1, 5000, 1);
  t.same(written(), [], 'not reported with its sync');
  t.equal(w.durable.load(), 1, 'but known durable in shared memory, where main reads it each round');
  await w.until((m) => m.type === 'written' && m.seq === 1);
  t.same(written(), [1], 'reported once, after the linger');

  // Back to back: one group, or two whose second's report clears the first's linger.
  w.handle.post({ type: 'write', seq: 2, hardState: null, entries: entries(3, 1, 1), release: [ack('n2', 3)], quiet: true });
  w.handle.post({ type: 'write', seq: 3, hardState: null, entries: entries(4, 1, 1), quiet: false });
  await w.until((m) => m.type === 'written' && m.seq === 3);
  await waitFor('the acknowledgement of the second quiet write', () => sent.length === 2, 5000, 1);
  // Longer than the linger (25 ms), bounded: a report of 2 would have come by now.
  await new Promise((r) => setTimeout(r, 100));
  await w.handle.stop({ type: 'stop' }, 5000);
  t.same(written(), [1, 3], "the later write's report covers the quiet one, which gets none of its own");
  t.equal(w.durable.load(), 3, 'the shared durable seq is the last sync\'s');
  t.same(w.fatal, []);
});
