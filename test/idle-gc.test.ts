// lib/actor/idle-gc.ts: when a thread collects in full on its own (IdleGcPolicy, with
// made-up numbers), and that an actor on a real worker thread gives back the heap and the
// buffers a burst left behind once it goes quiet. No speed is asserted: a late check only
// collects later, within the bound waited for.
import t from 'tap';
import { spawnActor } from '../lib/actor/spawn.js';
import { collectionKind, EXTERNAL_SLACK_BYTES, FOLLOWER_COMPACT_HEAP_BYTES_MAX, IdleGcPolicy, LEADER_COMPACT_HEAP_BYTES_MAX, MAIN_IDLE_GC, type IdleGcOptions } from '../lib/actor/idle-gc.js';
import { tuneProcessHeap } from '../lib/actor/heap-tuning.js';
import type { ChurnIn, ChurnOut } from './helpers/churn-actor.js';
import { waitFor } from './helpers/wait.js';

const MiB = 1024 * 1024;
const OPTS: IdleGcOptions = { worthBytes: 2 * MiB, quietChecks: 2, quietScavengesMax: 0, passes: 1, compactHeapBytesMax: 24 * MiB, collectHeapBytesMax: 256 * MiB };

/** Memory now: `external` bytes outside a heap of 8 MiB plus `heapGrowth`. */
function mem(external: number, heapGrowth = 0) {
  return { external, heapUsed: 8 * MiB + heapGrowth };
}

function scavenge(p: IdleGcPolicy, n: number): void {
  for (let i = 0; i < n; i++) p.scavenged();
}

t.test('a thread that grew little and went quiet sleeps: no timer, no collection', (t) => {
  const p = new IdleGcPolicy(OPTS, mem(3 * MiB));
  scavenge(p, 5);
  t.equal(p.check(mem(3 * MiB, MiB)), 'wait', 'still working since the last check');
  t.equal(p.check(mem(3 * MiB, MiB)), 'sleep', 'quiet, with too little grown to be worth a collection');
  t.end();
});

t.test('grown enough, a quiet spell of quietChecks checks brings a collection', (t) => {
  const p = new IdleGcPolicy(OPTS, mem(3 * MiB));
  scavenge(p, 3);
  t.equal(p.check(mem(3 * MiB, 3 * MiB)), 'wait', 'working');
  t.equal(p.check(mem(3 * MiB, 3 * MiB)), 'wait', 'quiet for one check of two');
  scavenge(p, 1);
  t.equal(p.check(mem(3 * MiB, 3 * MiB)), 'wait', 'working again: the spell starts over');
  t.equal(p.check(mem(3 * MiB, 3 * MiB)), 'wait');
  t.equal(p.check(mem(3 * MiB, 3 * MiB)), 'collect', 'two quiet checks in a row');
  p.collected(mem(3 * MiB));
  t.equal(p.check(mem(3 * MiB)), 'sleep', 'nothing done since the collection');
  t.end();
});

t.test('dead buffers outside the heap make a quiet collection worth it too', (t) => {
  const p = new IdleGcPolicy(OPTS, mem(3 * MiB));
  scavenge(p, 1);
  t.equal(p.check(mem(5 * MiB)), 'wait');
  t.equal(p.check(mem(5 * MiB)), 'wait');
  t.equal(p.check(mem(5 * MiB)), 'collect');
  t.end();
});

t.test('a quiet spell may allow a few young collections per check', (t) => {
  const p = new IdleGcPolicy({ ...OPTS, quietScavengesMax: 1 }, mem(3 * MiB));
  scavenge(p, 6);
  t.equal(p.check(mem(3 * MiB, 3 * MiB)), 'wait', 'working');
  scavenge(p, 1);
  t.equal(p.check(mem(3 * MiB, 3 * MiB)), 'wait', 'one young collection: quiet, one check of two');
  scavenge(p, 1);
  t.equal(p.check(mem(3 * MiB, 3 * MiB)), 'collect', 'two quiet checks in a row');
  p.collected(mem(3 * MiB));
  scavenge(p, 1);
  t.equal(p.check(mem(3 * MiB)), 'wait', 'too little grown: looks again while anything happens');
  t.equal(p.check(mem(3 * MiB)), 'sleep');
  t.end();
});

t.test('memory outside the heap growing by the slack brings a collection even under load', (t) => {
  const p = new IdleGcPolicy(OPTS, mem(3 * MiB));
  scavenge(p, 1);
  t.equal(p.check(mem(3 * MiB + EXTERNAL_SLACK_BYTES - 1)), 'wait', 'just under the slack');
  scavenge(p, 1);
  t.equal(p.check(mem(3 * MiB + EXTERNAL_SLACK_BYTES)), 'collect', 'at the slack, while working');
  p.collected(mem(5 * MiB));
  scavenge(p, 1);
  t.equal(p.check(mem(3 * MiB + EXTERNAL_SLACK_BYTES)), 'wait', 'measured from what the collection left');
  t.end();
});

t.test('heap growth alone brings no collection while the thread works (it would throw away optimized code)', (t) => {
  const p = new IdleGcPolicy(OPTS, mem(3 * MiB));
  for (const grown of [4, 16, 64]) {
    scavenge(p, 3);
    t.equal(p.check(mem(3 * MiB, grown * MiB)), 'wait', `${grown} MiB grown, still working`);
  }
  t.equal(p.check(mem(3 * MiB, 64 * MiB)), 'wait', 'quiet for one check of two');
  t.equal(p.check(mem(3 * MiB, 64 * MiB)), 'collect', 'then collected once quiet');
  t.end();
});

t.test('a full collection resets what counts as grown', (t) => {
  const p = new IdleGcPolicy(OPTS, mem(3 * MiB));
  scavenge(p, 10);
  p.collected(mem(3 * MiB, 3 * MiB));
  t.equal(p.check(mem(3 * MiB, 3 * MiB)), 'sleep');
  t.end();
});

t.test('the pause is bounded: a big heap is collected without compaction, a huge one not at all', (t) => {
  t.equal(collectionKind(24 * MiB, 24 * MiB), 'compact', 'a small heap is compacted');
  t.equal(collectionKind(24 * MiB, 24 * MiB + 1), 'plain', 'a bigger one is only collected');
  t.ok(LEADER_COMPACT_HEAP_BYTES_MAX < FOLLOWER_COMPACT_HEAP_BYTES_MAX, "a leader's pause stops its heartbeats: it compacts less");
  t.equal(MAIN_IDLE_GC.compactHeapBytesMax, LEADER_COMPACT_HEAP_BYTES_MAX, 'a node starts with the leader bound, until it knows its role');
  const p = new IdleGcPolicy(OPTS, mem(3 * MiB, 100 * MiB));
  scavenge(p, 5);
  t.equal(p.check(mem(3 * MiB, 150 * MiB)), 'wait', 'working');
  t.equal(p.check(mem(3 * MiB, 150 * MiB)), 'wait', 'quiet for one check of two');
  t.equal(p.check(mem(3 * MiB, 248 * MiB + 1)), 'sleep', 'quiet long enough, but one byte over collectHeapBytesMax (256 MiB used): never forced');
  t.equal(p.check(mem(3 * MiB + EXTERNAL_SLACK_BYTES, 248 * MiB + 1)), 'sleep', 'not even for the buffers outside it');
  t.equal(p.check(mem(3 * MiB, 150 * MiB)), 'collect', 'back under it: collected');
  t.end();
});

t.test('an actor gives back what a burst left behind once it goes quiet', async (t) => {
  // A node's flags (process-wide, so the actor's isolate has them too). V8's memory
  // reducer may collect too, but never forced: a forced full collection is the idle collector's.
  tuneProcessHeap();
  let resolveNext: ((m: ChurnOut) => void) | null = null;
  const actor = spawnActor<ChurnIn, ChurnOut>({
    name: 'churn',
    file: new URL('./helpers/churn-actor.js', import.meta.url),
    workerData: null,
    onMessage: (m) => {
      const r = resolveNext;
      resolveNext = null;
      r?.(m);
    },
    onFatal: (err) => t.fail(err.message),
  });
  t.teardown(() => actor.terminate());
  await actor.ready;
  const ask = (msg: ChurnIn) =>
    new Promise<ChurnOut>((res) => {
      resolveNext = res;
      actor.post(msg);
    });
  const stats = async () => {
    const m = await ask({ type: 'stats' });
    if (m.type !== 'stats') throw new Error(`expected stats, got ${m.type}`);
    return m;
  };
  const before = await stats();
  await ask({ type: 'churn', rounds: 200_000 });
  const after = await stats();
  t.ok(after.heapUsed > before.heapUsed + 3 * MiB, `the burst left its last batch: ${(after.heapUsed / MiB).toFixed(1)} MiB used, ${(before.heapUsed / MiB).toFixed(1)} before`);
  await ask({ type: 'drop' }); // now garbage, and the actor goes quiet
  const settled = await waitFor('the quiet actor to collect', async () => {
    const s = await stats();
    return s.forcedFullGcs > after.forcedFullGcs && s.heapUsed < before.heapUsed + MiB && s.external < before.external + MiB ? s : undefined;
  }, 20_000, 200);
  // A forced collection is ours (V8's memory reducer's are not forced).
  t.pass(`collected by the idle collector (${settled.forcedFullGcs - after.forcedFullGcs} forced full collections), back to ${(settled.heapUsed / MiB).toFixed(1)} MiB used, ${(settled.external / MiB).toFixed(1)} MiB outside the heap`);
});
