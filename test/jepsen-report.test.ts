// The Jepsen harness's own checks and report, without a cluster: a history with a
// stale read fails the checker and the report shows the stretch; conflicting committed
// entries, diverging final logs and lost writes are all reported; parsing the nemesis.
import t from 'tap';
import { checkHistory } from '../lib/check/index.js';
import type { OpRecord } from './jepsen/history.js';
import { parseNemesis } from './jepsen/nemesis.js';
import { recoveries, renderHtml, textSummary, verdictOf, type RunData } from './jepsen/report.js';
import { CommittedLog, compareFinalLogs, lostWrites, type LogEntry } from './jepsen/verify.js';

function op(o: Partial<OpRecord> & Pick<OpRecord, 'process' | 'op' | 'invokeTime'>): OpRecord {
  return {
    key: 'k',
    outcome: 'ok',
    worker: typeof o.process === 'number' ? o.process : 0,
    attempts: 1,
    completeTime: o.invokeTime + 5,
    endTime: (o.completeTime ?? o.invokeTime + 5) as number,
    ...o,
  } as OpRecord;
}

function runData(ops: OpRecord[], problems: string[] = []): RunData {
  return {
    options: { seed: 7, timeMs: 1000, nemesis: 'kill', overlap: false, kinds: ['kill-leader'], nodes: 5, clients: 2, electionTimeoutMs: 300, heartbeatMs: 50, netem: false, faultMs: [1, 2], quietMs: [1, 2] },
    ops,
    faults: [{ kind: 'kill-leader', detail: 'kill -9 n1 (leader)', start: 15, end: 40 }],
    events: [{ time: 15, text: 'nemesis: kill-leader' }],
    check: checkHistory(ops),
    problems,
    faultCounts: { 'kill-leader': 1 },
    phasesMs: { run: 1000 },
    logSamples: 3,
    committedIndexes: 10,
    finalCommitIndex: 10,
  };
}

t.test('a stale read fails the checker, and the report shows where', async (t) => {
  const ops = [
    op({ process: 0, op: 'write', input: 'a', invokeTime: 0, completeTime: 10, requestId: 'j0.1' }),
    op({ process: 1, op: 'write', input: 'b', invokeTime: 20, completeTime: 30, requestId: 'j1.1' }),
    op({ process: 0, op: 'read', output: 'a', invokeTime: 50, completeTime: 60 }),
  ];
  const d = runData(ops);
  t.equal(d.check!.ok, false, 'not linearizable');
  t.equal(verdictOf(d), 'FAIL');
  const text = textSummary(d);
  t.match(text, /verdict: FAIL/);
  t.match(text, /not linearizable: key "k"/);
  t.match(text, /replay: node build\/test\/jepsen\/run\.js --time 1 --seed 7 --nemesis kill/);
  const html = renderHtml(d);
  t.match(html, /<h3>The stretch that is not linearizable/);
  t.match(html, /stroke="#000"/, 'the offending op is outlined');
  t.notMatch(html, /<script/, 'no scripts');
  t.match(html, /kill-leader/, 'fault window drawn');
});

t.test('a linearizable history with an unknown write passes', async (t) => {
  const ops = [
    op({ process: 0, op: 'write', input: 'a', invokeTime: 0, completeTime: 10 }),
    { ...op({ process: 1, op: 'append', input: 'x', invokeTime: 20 }), outcome: 'unknown', completeTime: undefined, endTime: 70 } as OpRecord,
    op({ process: 0, op: 'read', output: 'ax', invokeTime: 80, completeTime: 90 }),
    op({ process: 0, op: 'write', input: 'c', invokeTime: 100, completeTime: 110 }),
  ];
  const d = runData(ops);
  t.equal(d.check!.ok, true);
  t.equal(verdictOf(d), 'PASS');
  t.match(textSummary(d), /recovery \(first acknowledged write after a heal\): median 70\.0ms/);
  t.same(recoveries(d).map((r) => r.ms), [70]);
});

t.test('other problems fail the run', async (t) => {
  const d = runData([op({ process: 0, op: 'write', input: 'a', invokeTime: 0 })], ['lost write: j0.1']);
  t.equal(verdictOf(d), 'FAIL');
  t.match(renderHtml(d), /lost write: j0\.1/);
});

const e = (index: number, term: number, tid: string, data = `SET k ${tid}`): LogEntry => ({ index, term, kind: 'normal', tid, data });

t.test('committed entries that differ between nodes or samples are divergence', async (t) => {
  const log = new CommittedLog();
  log.add('n1', 2, [e(1, 1, 'a'), e(2, 1, 'b'), e(3, 1, 'c')], 100);
  log.add('n2', 3, [e(1, 1, 'a'), e(2, 1, 'b'), e(3, 2, 'x')], 200);
  t.same(log.conflicts, [], 'index 3 was not committed on n1: no conflict');
  log.add('n3', 3, [e(1, 1, 'a'), e(2, 2, 'z'), e(3, 2, 'x')], 300);
  t.equal(log.conflicts.length, 1);
  t.match(log.conflicts[0]!, /index 2 committed as \[2 t1 normal b SET k b\] on n1 .* and as \[2 t2 normal z SET k z\] on n3/);
  t.same([...log.tids()].sort(), ['a', 'b', 'x']);
});

t.test('final logs: identical up to the commit index, complete', async (t) => {
  const same = new Map([
    ['n1', [e(1, 1, 'a'), e(2, 1, 'b')]],
    ['n2', [e(1, 1, 'a'), e(2, 1, 'b')]],
  ]);
  t.same(compareFinalLogs(same, 2), []);
  const differ = new Map([
    ['n1', [e(1, 1, 'a'), e(2, 1, 'b')]],
    ['n2', [e(1, 1, 'a'), e(2, 2, 'q')]],
    ['n3', [e(1, 1, 'a')]],
  ]);
  const problems = compareFinalLogs(differ, 2);
  t.match(problems.join('\n'), /index 2: n1 has \[2 t1 normal b SET k b\], n2 has \[2 t2 normal q SET k q\]/);
  t.match(problems.join('\n'), /n3 holds 1 entries from 1 up to the commit index 2, want 2/);
});

t.test('lost writes: acknowledged, yet not in the committed log', async (t) => {
  const ops = [
    op({ process: 0, op: 'write', input: 'a', invokeTime: 0, requestId: 'j0.1' }),
    op({ process: 0, op: 'write', input: 'b', invokeTime: 10, requestId: 'j0.2' }),
    { ...op({ process: 0, op: 'write', input: 'c', invokeTime: 20, requestId: 'j0.3' }), outcome: 'unknown' } as OpRecord,
  ];
  t.same(lostWrites(ops, new Set(['j0.1'])).map((o) => o.requestId), ['j0.2']);
});

t.test('nemesis specs', async (t) => {
  t.same(parseNemesis('kill'), ['kill-leader', 'kill-random', 'kill-majority', 'kill-all']);
  t.same(parseNemesis('pause,partition-ring'), ['pause-leader', 'pause-random', 'partition-ring']);
  t.equal(parseNemesis('all').length, 12);
  t.same(parseNemesis('none'), []);
  t.throws(() => parseNemesis('flood'), /unknown nemesis "flood"/);
});
