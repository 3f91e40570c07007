// What 100 B string keys cost in the state machine's heap (issue 9: a node's memory
// follows its live keys): 150,000 SETs over 50,000 keys, the heap measured after full
// collections in a child process started with --expose-gc. Measured 339 bytes a key
// (key, value, value record, the values Map, the scan index, the key order); 507 when
// versions and key positions were Maps of their own and the scan index held a row
// object per key. The bound sits between: a Map per key added again fails it.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { ROOT } from './helpers/cluster.js';

const BYTES_PER_KEY_MAX = 420;

const SCRIPT = `
  const v8 = require('node:v8');
  const { KvStateMachine } = await import(${JSON.stringify(path.join(ROOT, 'build/lib/kv/state-machine.js'))});
  const { encodeWrite } = await import(${JSON.stringify(path.join(ROOT, 'build/lib/kv/entry-codec.js'))});
  const used = () => { gc(); gc(); return v8.getHeapStatistics().used_heap_size; };
  const base = used();
  const sm = new KvStateMachine({ dedupEntriesMax: 100000, dedupWindowEntries: 1000000 });
  const val = Buffer.alloc(100, 'x');
  let seed = 1;
  for (let i = 1; i <= 150000; i++) {
    seed = (seed * 48271) % 2147483647;
    const k = Buffer.from('key:' + String(seed % 50000).padStart(12, '0'));
    const data = encodeWrite({ stampMs: 1000 + i, seed: i, body: { kind: 'command', args: [Buffer.from('SET'), k, val] } });
    sm.apply({ index: i, term: 1, kind: 'normal', tid: '', data });
  }
  const bytes = used() - base;
  console.log(JSON.stringify({ keys: sm.keyCount, bytes }));
`;

t.test('100 B string keys cost at most BYTES_PER_KEY_MAX of heap each', (t) => {
  const r = spawnSync(process.execPath, ['--expose-gc', '--input-type=module', '-e', `import { createRequire } from 'node:module'; const require = createRequire(import.meta.url); ${SCRIPT}`], { encoding: 'utf8' });
  t.equal(r.status, 0, r.stderr);
  const { keys, bytes } = JSON.parse(r.stdout.trim()) as { keys: number; bytes: number };
  t.ok(keys > 45_000, `${keys} keys held`);
  const perKey = bytes / keys;
  t.ok(perKey <= BYTES_PER_KEY_MAX, `${Math.round(perKey)} bytes of heap a key (bound ${BYTES_PER_KEY_MAX})`);
  t.end();
});
