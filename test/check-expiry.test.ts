// The fault suite's expiry check: bounds from real time and the nodes' clock skew on
// keys written once with SET PX and then read.
import t from 'tap';
import { checkExpiry } from '../lib/check/expiry.js';
import type { Operation } from '../lib/check/index.js';

const KEY = 'e1.1000';
const ttlMsOf = (k: string) => (k === KEY ? 1000 : undefined);
const set = (a: number, b: number, outcome: Operation['outcome'] = 'ok'): Operation => ({ process: 0, key: KEY, op: 'write', input: 'v', invokeTime: a, completeTime: b, outcome });
const get = (v: string | null, a: number, b: number): Operation => ({ process: 1, key: KEY, op: 'read', output: v, invokeTime: a, completeTime: b, outcome: 'ok' });
const kinds = (ops: Operation[], skewMs = 0) => checkExpiry(ops, { ttlMsOf, skewMs, slackMs: 0 }).violations.map((v) => v.kind);

t.test('no skew: alive until the deadline, gone after, gone for good', async (t) => {
  t.same(kinds([set(0, 10), get('v', 20, 30), get('v', 900, 990), get(null, 1011, 1020), get(null, 2000, 2001)]), []);
  t.same(kinds([set(0, 10), get('v', 1020, 1030)]), ['late'], 'seen after setComplete + ttl');
  t.same(kinds([set(0, 10), get(null, 20, 30)]), ['early'], 'gone before setInvoke + ttl');
  t.same(kinds([set(0, 10), get(null, 995, 1005), get('v', 1006, 1008)]), ['resurrected'], 'seen again after a read found it gone');
  t.same(kinds([set(0, 10), get('w', 20, 30)]), ['wrong-value']);
  t.same(kinds([get(null, 0, 1), set(5, 10), get('v', 20, 30)]), [], 'a read before the SET may find nothing');
  t.same(kinds([set(0, 10, 'unknown'), get(null, 20, 30), get('v', 5000, 5001)]), [], 'an unacknowledged SET is not judged');
  t.same(kinds([{ ...get(null, 20, 30), key: 'r0.1' }]), [], 'other keys are ignored');
});

t.test('skew widens both bounds and allows disagreement across nodes', async (t) => {
  const skew = 3000;
  t.same(kinds([set(0, 10), get(null, 20, 30), get('v', 40, 50)], skew), [], 'a fast node finds it gone early, a slow one still has it');
  t.same(kinds([set(0, 10), get('v', 3900, 3950)], skew), [], 'alive up to skew past the deadline');
  t.same(kinds([set(0, 10), get('v', 4011, 4020)], skew), ['late']);
});
