// Large values on real processes: on the leader they travel in shared memory to the log
// writer and the replicators (lib/replica/shared-entries.ts), and snapshot chunks are moved
// to the log writer, not copied. Every node must hold every value byte for byte, after
// snapshots, and after every node restarts from its snapshot plus its log.
import t from 'tap';
import { TestCluster } from './helpers/cluster.js';
import { waitFor } from './helpers/wait.js';

// Above SHARE_ENTRY_BYTES_MIN; every other value also above STRING_INLINE_BYTES_MAX, which
// the state machine keeps as a view of the entry's memory (lib/kv/values.ts stringBytes).
const valueBytes = (i: number): number => (i % 2 === 0 ? 40_000 : 70_000);
const KEYS = 12;
const WRITES = 60;
const RETAIN_BYTES = 100_000;

/** A value whose bytes depend on the key and the write, so a mix-up of buffers shows. */
const value = (k: number, i: number): string => {
  const head = `k${k}w${i}:`;
  let s = head;
  for (let j = 0; s.length < valueBytes(i); j++) s += String.fromCharCode(97 + ((j * 31 + k * 7 + i) % 26));
  return s;
};

t.test('large values: the same bytes on every node, through snapshots and restarts', async (t) => {
  // A snapshot every 20 entries (or 512 KiB of entries): several are taken while values
  // arrive. Behind each, 5 entries are kept, but only as many as hold 100 KB: one or two values.
  const c = await TestCluster.create({ size: 3, extraArgs: ['--snapshot-entries', '20', '--snapshot-retain-entries', '5', '--snapshot-retain-bytes', String(RETAIN_BYTES), '--snapshot-log-bytes', String(512 * 1024)] });
  t.teardown(() => c.stop());
  c.startAll();
  const last = new Map<number, number>();
  for (let i = 0; i < WRITES; i++) {
    const k = i % KEYS;
    await waitFor(`SET k${k} (write ${i})`, async () => {
      const l = (await c.waitForLeader()).id;
      return (await c.command(l, 'SET', `k${k}`, value(k, i))) === 'OK' ? true : undefined;
    }, 30_000);
    last.set(k, i);
  }
  const check = async (when: string): Promise<void> => {
    for (const n of c.nodes) {
      for (const [k, i] of last) {
        // A follower's GET is a ReadIndex read: it waits until the node applied the leader's commit.
        const got = await waitFor(`GET k${k} on ${n.id}`, async () => {
          const v = await c.command(n.id, 'GET', `k${k}`);
          return typeof v === 'string' ? v : undefined;
        }, 30_000);
        if (got !== value(k, i)) t.fail(`k${k} on ${n.id} ${when}: ${got.length} bytes, not write ${i}'s`);
      }
      t.pass(`${n.id} holds every value ${when}`);
    }
  };
  await check('after the writes');
  for (const n of c.nodes) {
    const snap = await waitFor(`${n.id} to take a snapshot`, async () => {
      const s = Number((await c.info(n.id))['snapshot_index']);
      return s > 0 ? s : undefined;
    }, 30_000);
    t.ok(snap > 0, `${n.id} took a snapshot (index ${snap})`);
    // The byte bound, not the count, sets what is kept: at most two values and a small
    // entry (a leader's no-op) can follow the compaction point, never five.
    const info = await c.info(n.id);
    const kept = Number(info['snapshot_index']) - Number(info['first_log_index']) + 1;
    t.ok(kept >= 0 && kept <= 3, `${n.id} keeps ${kept} entries behind its snapshot at ${info['snapshot_index']} (first log index ${info['first_log_index']})`);
  }
  for (const n of c.nodes) await c.kill(n.id);
  c.startAll();
  await c.waitForLeader();
  await check('after every node restarted');
});
