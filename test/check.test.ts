import t from 'tap';
import { checkHistory, formatOp, registerModel, type Datum, type Operation, type OpKind, type Outcome } from '../lib/check/index.js';

/** One op, terse: o(process, kind, input, output, invoke, complete, outcome) on key k1. */
function o(
  process: number | string,
  op: OpKind,
  input: Datum | undefined,
  output: Datum | undefined,
  invokeTime: number,
  completeTime: number | null,
  outcome: Outcome = 'ok',
  key = 'k1',
): Operation {
  return { process, key, op, input, output, invokeTime, completeTime, outcome };
}
const w = (p: number, v: string, a: number, b: number | null, outcome: Outcome = 'ok') => o(p, 'write', v, undefined, a, b, outcome);
const r = (p: number, v: string | null, a: number, b: number) => o(p, 'read', undefined, v, a, b);
const ap = (p: number, v: string, a: number, b: number | null, outcome: Outcome = 'ok') => o(p, 'append', v, undefined, a, b, outcome);
const inc = (p: number, out: number | undefined, a: number, b: number | null, outcome: Outcome = 'ok') => o(p, 'incr', undefined, out, a, b, outcome);

t.test('the model follows Redis', async (t) => {
  const m = registerModel;
  const run = (ops: Operation[]) => ops.reduce((s, op) => (t.ok(m.step(s, op).ok, formatOp(op)), m.step(s, op).state), m.init());
  t.equal(run([ap(1, 'a', 0, 1), ap(1, 'b', 2, 3)]), 'ab', 'append on absent is the value');
  t.equal(run([inc(1, 1, 0, 1), inc(1, 2, 2, 3)]), '2', 'incr on absent counts from 0');
  t.equal(run([w(1, '41', 0, 1), inc(1, 42, 2, 3)]), '42');
  t.equal(run([w(1, 'x', 0, 1), o(1, 'delete', undefined, 1, 2, 3), o(1, 'delete', undefined, 0, 4, 5)]), null);
  t.notOk(m.step('x', inc(1, 1, 0, 1)).ok, 'incr of a non-integer is impossible');
  t.notOk(m.step('007', inc(1, 8, 0, 1)).ok, 'Redis refuses non-canonical integers');
  t.notOk(m.step(null, r(1, '', 0, 1)).ok, 'absent is not the empty string');
  t.ok(m.step('ab', o(1, 'append', 'c', 3, 0, 1)).ok, 'append output is the new length');
  t.notOk(m.step('ab', o(1, 'append', 'c', 2, 0, 1)).ok);
  t.ok(m.step('1', o(1, 'cas', ['1', '2'], undefined, 0, 1)).ok);
  t.notOk(m.step('3', o(1, 'cas', ['1', '2'], undefined, 0, 1)).ok);
  t.not(m.key(null), m.key(''), 'absent and empty are apart');
});

t.test('accepts linearizable histories', async (t) => {
  t.equal(checkHistory([]).ok, true, 'empty');
  t.equal(checkHistory([w(1, '1', 0, 1), r(2, '1', 2, 3), w(1, '2', 4, 5), r(2, '2', 6, 7)]).ok, true, 'sequential');
  t.equal(checkHistory([r(1, null, 0, 1), w(1, '1', 2, 3), o(1, 'delete', undefined, 1, 4, 5), r(1, null, 6, 7)]).ok, true);
  // A read overlapping a write may see either value.
  for (const seen of [null, '1']) {
    t.equal(checkHistory([w(1, '1', 0, 10), r(2, seen, 2, 3)]).ok, true, `overlapping read sees ${String(seen)}`);
  }
  // Two overlapping writes, reads after both agree on one order.
  for (const last of ['1', '2']) {
    const h = [w(1, '1', 0, 10), w(2, '2', 1, 9), r(3, last, 11, 12), r(4, last, 13, 14)];
    t.equal(checkHistory(h).ok, true, `writes race, ${last} wins`);
  }
  // The read that completes first may see the newer value when both overlap the write.
  t.equal(checkHistory([w(1, '1', 0, 1), w(1, '2', 2, 20), r(2, '2', 3, 4), r(3, '2', 5, 6), r(3, '2', 7, 8)]).ok, true);
  t.equal(checkHistory([w(1, '1', 0, 1), w(1, '2', 2, 20), r(2, '2', 3, 4), r(3, '1', 3.5, 6)]).ok, true, 'touching ends count as overlapping');
  // Appends interleave in some order.
  t.equal(checkHistory([ap(1, 'a', 0, 10), ap(2, 'b', 1, 9), r(3, 'ba', 2, 12), r(3, 'ba', 13, 14)]).ok, true);
  t.equal(checkHistory([inc(1, 2, 0, 10), inc(2, 1, 1, 9), r(3, '2', 11, 12)]).ok, true, 'incr results in either order');
  // Equal instants: completion at t and invocation at t overlap.
  t.equal(checkHistory([w(1, '1', 0, 5), r(2, null, 5, 6)]).ok, true);
  // Failed ops are dropped.
  t.equal(checkHistory([w(1, '1', 0, 1), w(2, '9', 2, 3, 'fail'), r(1, '1', 4, 5)]).ok, true);
  // Independent keys.
  const other = { ...w(5, 'z', 0, 1), key: 'k2' };
  t.equal(checkHistory([w(1, '1', 0, 1), other, r(2, '1', 2, 3), { ...r(6, 'z', 2, 3), key: 'k2' }]).keys.length, 2);
});

t.test('indeterminate ops may take effect later or never', async (t) => {
  // The client timed out at 2; the write took effect after: a later read sees it.
  const late = [w(1, '1', 0, 1), w(2, '2', 1, 2, 'unknown'), r(3, '1', 3, 4), r(3, '2', 50, 51), r(4, '2', 60, 61)];
  t.equal(checkHistory(late).ok, true, 'took effect long after the timeout');
  const never = [w(1, '1', 0, 1), w(2, '2', 1, null, 'unknown'), r(3, '1', 3, 4), r(3, '1', 50, 51)];
  t.equal(checkHistory(never).ok, true, 'never took effect');
  const appendNever = [ap(1, 'a', 0, 1), ap(2, 'x', 1, null, 'unknown'), ap(1, 'b', 2, 3), r(3, 'ab', 4, 5)];
  t.equal(checkHistory(appendNever).ok, true, 'an indeterminate append left out');
  const incrLater = [inc(1, 1, 0, 1), inc(2, undefined, 1, 2, 'unknown'), r(3, '1', 3, 4), inc(1, 3, 5, 6)];
  t.equal(checkHistory(incrLater).ok, true, 'an indeterminate incr applied between a read and an incr');
  // But it cannot take effect before it was invoked.
  const early = [w(1, '1', 0, 1), r(3, '2', 2, 3), w(2, '2', 4, null, 'unknown')];
  t.equal(checkHistory(early).ok, false, 'not before its invocation');
  // Nor twice.
  const twice = [w(1, '1', 0, 1), w(2, '2', 2, null, 'unknown'), r(3, '2', 3, 4), w(1, '3', 5, 6), r(3, '2', 7, 8)];
  t.equal(checkHistory(twice).ok, false, 'not twice');
  // Indeterminate reads say nothing.
  t.equal(checkHistory([w(1, '1', 0, 1), o(2, 'read', undefined, '7', 2, null, 'unknown')]).ok, true);
});

t.test('rejects a stale read, and names it', async (t) => {
  const stale = r(3, '1', 12, 13);
  const h = [w(1, '1', 0, 1), w(2, '2', 5, 10), stale];
  const res = checkHistory(h);
  t.equal(res.ok, false);
  t.equal(res.key, 'k1');
  t.equal(res.failure!.blocked, stale, 'the stale read is the offending op');
  t.same(res.failure!.prefix, [h[0], h[1]], 'both writes linearize before it');
  t.equal(res.failure!.stateShown, '"2"');
  t.match(res.report, /offending op: p3 read k1 -> "1" ok \[t=12\.0ms\.\.13\.0ms\]/);
  t.match(res.report, /p2 write k1 "2" ok \[t=5\.0ms\.\.10\.0ms\]/);
});

t.test('rejects a lost write', async (t) => {
  const h = [w(1, '1', 0, 1), w(2, '2', 2, 3), r(3, '2', 4, 5), w(4, '3', 6, 7), r(3, '2', 8, 9), r(5, '2', 10, 11)];
  const res = checkHistory(h);
  t.equal(res.ok, false, 'the acknowledged write of 3 is never seen');
  t.equal(res.failure!.blocked, h[4]);
  t.match(res.report, /p3 read k1 -> "2" ok \[t=8\.0ms/);
});

t.test('rejects a read of a value never written', async (t) => {
  const h = [w(1, '1', 0, 10), w(2, '2', 0, 10), r(3, '3', 5, 6)];
  const res = checkHistory(h);
  t.equal(res.ok, false);
  t.equal(res.failure!.blocked, h[2]);
  t.equal(res.failure!.prefix.length, 2, 'the deepest attempt placed both writes');
});

t.test('rejects an append applied twice', async (t) => {
  const h = [ap(1, 'a', 0, 1), ap(2, 'b', 2, 8), r(3, 'abb', 9, 10)];
  const res = checkHistory(h);
  t.equal(res.ok, false);
  t.equal(res.failure!.blocked, h[2]);
  t.match(res.report, /state after the prefix: "ab"/);
  // Even when the append is indeterminate: it may apply once, not twice.
  t.equal(checkHistory([ap(1, 'a', 0, 1), ap(2, 'b', 2, null, 'unknown'), r(3, 'ab', 9, 10), r(3, 'abb', 11, 12)]).ok, false);
});

t.test('rejects an incr whose result skips', async (t) => {
  const h = [inc(1, 1, 0, 1), inc(2, 3, 2, 3)];
  const res = checkHistory(h);
  t.equal(res.ok, false);
  t.equal(res.failure!.blocked, h[1]);
  t.match(res.report, /p2 incr k1 -> 3 ok/);
  // With an indeterminate incr in between, 3 is fine.
  t.equal(checkHistory([inc(1, 1, 0, 1), inc(3, undefined, 1, null, 'unknown'), inc(2, 3, 2, 3)]).ok, true);
});

t.test('only the bad key fails', async (t) => {
  const good = [w(1, 'x', 0, 1, 'ok'), r(2, 'x', 2, 3)].map((op) => ({ ...op, key: 'a' }));
  const bad = [w(1, '1', 0, 1), r(2, '0', 2, 3)].map((op) => ({ ...op, key: 'b' }));
  const res = checkHistory([...good, ...bad]);
  t.equal(res.ok, false);
  t.equal(res.key, 'b');
  t.same(
    res.keys.map((k) => [k.key, k.ok]),
    [
      ['a', true],
      ['b', false],
    ],
  );
});

t.test('budgets turn a long search into unknown', async (t) => {
  // Many concurrent writes of distinct values then a read of a value none wrote: the
  // search tries many orders before giving up.
  const h: Operation[] = [];
  for (let p = 0; p < 12; p++) h.push(w(p, String(p), 0, 100));
  h.push(r(99, 'none', 101, 102));
  const res = checkHistory(h, { stepsMax: 50 });
  t.equal(res.ok, 'unknown');
  t.equal(res.keys[0]!.reason, 'steps');
  t.match(res.report, /unknown: key "k1" ran out of its steps budget/);
  t.equal(checkHistory(h).ok, false, 'with the default budget it is decided');
  let clock = 0;
  const timed = checkHistory(h, { timeBudgetMs: 5, now: () => (clock += 1) });
  t.equal(timed.ok, 'unknown', 'the injected clock runs out');
  t.equal(checkHistory(h, { cacheEntriesMax: 10 }).keys[0]!.reason, 'cache');
});

t.test('report lines', async (t) => {
  t.equal(formatOp(w(3, '5', 12.3, 14.1)), 'p3 write k1 "5" ok [t=12.3ms..14.1ms]');
  t.equal(formatOp(r(1, null, 0, 1)), 'p1 read k1 -> nil ok [t=0.0ms..1.0ms]');
  t.equal(formatOp(w(2, 'x', 5e6, null, 'unknown'), { timeUnit: 'ns', originTime: 1e6 }), 'p2 write k1 "x" unknown [t=4.0ms..?]');
  t.equal(formatOp(o('c7', 'cas', ['1', null], undefined, 0, 1, 'fail')), 'c7 cas k1 ["1", nil] fail [t=0.0ms..1.0ms]');
  t.equal(formatOp(inc(2, undefined, 0, null, 'unknown')), 'p2 incr k1 -> ? unknown [t=0.0ms..?]');
});

t.test('malformed histories are refused loudly', async (t) => {
  t.throws(() => checkHistory([w(1, '1', 5, 4)]), /before invokeTime/);
  t.throws(() => checkHistory([w(1, '1', 0, null)]), /needs a finite completeTime/);
  t.throws(() => checkHistory([o(1, 'write', null, undefined, 0, 1)]), /needs a string input/);
});
