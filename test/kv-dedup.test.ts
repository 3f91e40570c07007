// The exactly-once table forgets request ids oldest first (by the window, then by the
// bound), through a long-lived iterator instead of a walk of the Map from its start (which
// crossed every deleted slot). Checked against a plain model over many evictions, across a
// restore from a snapshot and while a snapshot cursor is open.
import t from 'tap';
import { encodeCommand } from '../lib/kv/command-codec.js';
import { KvStateMachine } from '../lib/kv/state-machine.js';
import { Prng } from './sim/prng.js';

const OPTS = { dedupEntriesMax: 50, dedupWindowEntries: 120 };

/** The model: ids with the index they were applied at, oldest first. */
class Model {
  ids: { tid: string; index: number; reply: string }[] = [];
  /** INCRs that ran (not answered from the table). */
  counter = 0;
  replyOf(tid: string): string | undefined {
    return this.ids.find((x) => x.tid === tid)?.reply;
  }
  /** What applying INCR with this id at this index replies. */
  applied(tid: string, index: number): string {
    const seen = tid === '' ? undefined : this.replyOf(tid);
    const reply = seen ?? `:${++this.counter}\r\n`;
    if (tid !== '' && seen === undefined) this.ids.push({ tid, index, reply });
    const cutoff = index - OPTS.dedupWindowEntries;
    while (this.ids.length > 0 && (this.ids[0]!.index <= cutoff || this.ids.length > OPTS.dedupEntriesMax)) this.ids.shift();
    return reply;
  }
}

t.test('request ids are forgotten oldest first, as a model says, across restores and open cursors', (t) => {
  const rnd = new Prng(11);
  let sm = new KvStateMachine(OPTS);
  const model = new Model();
  let index = 0;
  let cursor: ReturnType<KvStateMachine['beginSnapshot']> | null = null;
  let checked = 0;
  for (let i = 0; i < 6000; i++) {
    index++;
    // Fresh ids mostly, sometimes a recent or an old one again, sometimes none.
    const tid = rnd.chance(0.1) ? '' : rnd.chance(0.8) ? `t${index}` : `t${Math.max(1, index - rnd.int(1, 200))}`;
    const reply = sm.apply({ index, term: 1, kind: 'normal', tid, data: encodeCommand([Buffer.from('INCR'), Buffer.from('n')]) }).toString('latin1');
    const expected = model.applied(tid, index);
    if (reply !== expected) {
      t.fail(`index ${index} (${tid}): replied ${JSON.stringify(reply)}, the model ${JSON.stringify(expected)}`);
      break;
    }
    if (sm.dedupSize !== model.ids.length) {
      t.fail(`index ${index}: table holds ${sm.dedupSize}, the model ${model.ids.length}`);
      break;
    }
    checked++;
    if (i % 997 === 500) {
      // Restart from a snapshot: eviction goes on from the restored table's oldest id.
      const chunks = [...sm.snapshot()];
      sm = new KvStateMachine(OPTS);
      sm.restore(chunks);
      cursor = null;
    }
    if (i % 613 === 100) cursor = sm.beginSnapshot(256);
    if (cursor !== null && cursor.next() === null) cursor = null;
  }
  t.equal(checked, 6000, 'every entry agreed with the model');
  t.end();
});
