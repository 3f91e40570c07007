// The checker's list-append model (the fault suite's RPUSH/LRANGE workload) and the
// register model's cas (its WATCH/MULTI/EXEC workload), and a history mixing both
// kinds of keys with a model per key.
import t from 'tap';
import { checkHistory, listModel, registerModel, type Datum, type Model, type Operation, type OpKind, type Outcome } from '../lib/check/index.js';

function o(
  process: number | string,
  op: OpKind,
  input: Datum | undefined,
  output: Datum | undefined,
  invokeTime: number,
  completeTime: number | null,
  outcome: Outcome = 'ok',
  key = 'l1',
): Operation {
  return { process, key, op, input, output, invokeTime, completeTime, outcome };
}
const push = (p: number, v: string, a: number, b: number | null, outcome: Outcome = 'ok', len?: number) => o(p, 'push', v, outcome === 'ok' ? len : undefined, a, b, outcome);
const lr = (p: number, els: readonly string[] | null, a: number, b: number) => o(p, 'read', undefined, els, a, b);
const list = { model: listModel as Model<unknown> };

t.test('the list model follows RPUSH and LRANGE', async (t) => {
  const m = listModel;
  t.same(m.step(m.init(), push(1, 'a', 0, 1)).state, ['a']);
  t.ok(m.step(['a'], push(1, 'b', 0, 1, 'ok', 2)).ok, 'RPUSH answers the new length');
  t.notOk(m.step(['a'], push(1, 'b', 0, 1, 'ok', 1)).ok, 'a wrong length is impossible');
  t.ok(m.step([], lr(1, null, 0, 1)).ok, 'nil reads as the empty list');
  t.ok(m.step([], lr(1, [], 0, 1)).ok);
  t.notOk(m.step(['a', 'b'], lr(1, ['b', 'a'], 0, 1)).ok, 'order matters');
  t.notOk(m.step(['a'], lr(1, ['a', 'a'], 0, 1)).ok, 'a duplicate is not the list');
  t.not(m.key([]), m.key(['']), 'empty list and [""] are apart');
  t.match(m.invalid(o(1, 'write', 'x', undefined, 0, 1)), /not a list op/);
  t.match(registerModel.invalid(push(1, 'x', 0, 1)), /list op/);
});

t.test('accepts linearizable list histories', async (t) => {
  t.equal(checkHistory([push(1, 'a', 0, 1), push(2, 'b', 2, 3), lr(3, ['a', 'b'], 4, 5)], list).ok, true, 'sequential');
  // Concurrent pushes land in either order; later reads agree on one.
  for (const order of [['a', 'b'], ['b', 'a']]) {
    t.equal(checkHistory([push(1, 'a', 0, 10), push(2, 'b', 1, 9), lr(3, order, 11, 12), lr(3, order, 13, 14)], list).ok, true, order.join(''));
  }
  // An unknown push may take effect later, or never.
  t.equal(checkHistory([push(1, 'a', 0, null, 'unknown'), lr(2, [], 5, 6), lr(2, ['a'], 7, 8)], list).ok, true, 'unknown lands late');
  t.equal(checkHistory([push(1, 'a', 0, null, 'unknown'), lr(2, [], 5, 6)], list).ok, true, 'unknown never lands');
  t.equal(checkHistory([push(1, 'a', 0, 1, 'fail'), lr(2, [], 5, 6)], list).ok, true, 'a failed push is dropped');
});

t.test('rejects lost, duplicated and reordered elements', async (t) => {
  const lost = checkHistory([push(1, 'a', 0, 1), lr(2, [], 2, 3)], list);
  t.equal(lost.ok, false, 'an acknowledged push missing from a later read');
  t.match(lost.report, /read/);
  t.equal(checkHistory([push(1, 'a', 0, 1), lr(2, ['a', 'a'], 2, 3)], list).ok, false, 'applied twice');
  t.equal(checkHistory([push(1, 'a', 0, 1), push(1, 'b', 2, 3), lr(2, ['b', 'a'], 4, 5)], list).ok, false, 'against real-time order');
  t.equal(checkHistory([push(1, 'a', 0, 1), lr(2, ['a'], 2, 3), lr(2, [], 4, 5)], list).ok, false, 'an element vanishes');
  t.equal(checkHistory([lr(2, ['z'], 0, 1)], list).ok, false, 'a value nobody pushed');
  t.equal(checkHistory([push(1, 'a', 0, 10), push(2, 'b', 0, 10), lr(3, ['a', 'b'], 2, 3), lr(3, ['b', 'a'], 4, 5)], list).ok, false, 'two orders seen');
});

const cas = (p: number, from: string | null, to: string, a: number, b: number | null, outcome: Outcome = 'ok') => o(p, 'cas', [from, to], undefined, a, b, outcome, 'x');
const get = (p: number, v: string | null, a: number, b: number) => o(p, 'read', undefined, v, a, b, 'ok', 'x');

t.test('check-and-set histories', async (t) => {
  t.equal(checkHistory([get(1, null, 0, 1), cas(1, null, 'a', 2, 3), cas(2, 'a', 'b', 4, 5), get(3, 'b', 6, 7)]).ok, true, 'a chain of swaps');
  // Two clients read the same value and both try to swap it: one may win, the other's EXEC is nil (fail).
  t.equal(checkHistory([cas(1, null, 'a', 0, 5), cas(2, null, 'b', 0, 5, 'fail'), get(3, 'a', 6, 7)]).ok, true, 'the loser failed');
  t.equal(checkHistory([cas(1, null, 'a', 0, 5), cas(2, null, 'b', 0, 5), get(3, 'b', 6, 7)]).ok, false, 'both won: a lost update');
  t.equal(checkHistory([cas(1, null, 'a', 0, 5), cas(2, 'b', 'c', 6, 7)]).ok, false, 'swapped from a value never there');
  t.equal(checkHistory([cas(1, null, 'a', 0, null, 'unknown'), cas(2, 'a', 'b', 6, 7)]).ok, true, 'an unknown swap took effect');
});

t.test('a model per key', async (t) => {
  const modelFor = (key: string): Model<unknown> | undefined => (key.startsWith('l') ? (listModel as Model<unknown>) : undefined);
  const h = [push(1, 'a', 0, 1), lr(2, ['a'], 2, 3), get(3, null, 0, 1), cas(3, null, 'a', 2, 3), get(3, 'a', 4, 5)];
  t.equal(checkHistory(h, { modelFor }).ok, true, 'lists and registers side by side');
  t.equal(checkHistory([...h, lr(2, [], 6, 7)], { modelFor }).ok, false, 'a list key still checked as a list');
  t.throws(() => checkHistory(h), /list op|not a list|list read/, 'one model for every key refuses the other type');
});
