// raft-logs over the hand-made cluster logs of test/fixtures/logs: three nodes, a
// rotated raft.log.1 on n2, two elections won and one superseded, a check-quorum
// step-down, connection drops, warnings, an error, a clean restart and two bad lines.
import t from 'tap';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ROOT } from './helpers/cluster.js';
import { main, type Io } from '../lib/cli/raft-logs.js';
import { filtered, parseDuration, parseTermArg, parseTimeArg, type Filter } from '../lib/logs/filter.js';
import { TextFormatter } from '../lib/logs/format.js';
import { mergeByTime } from '../lib/logs/merge.js';
import { readActorLog } from '../lib/logs/read.js';
import { MalformedCounter, type LogRecord } from '../lib/logs/record.js';
import { findActorLogs } from '../lib/logs/sources.js';
import { storyText } from '../lib/logs/story-text.js';
import { StoryBuilder, type Story } from '../lib/logs/summary.js';

const FIXTURE = path.join(ROOT, 'test/fixtures/logs');
const T0 = Date.parse('2025-01-01T00:00:00Z');

async function read(filter: Filter = {}, roots = [FIXTURE]): Promise<{ records: LogRecord[]; malformed: MalformedCounter }> {
  const malformed = new MalformedCounter();
  const records: LogRecord[] = [];
  for await (const r of filtered(mergeByTime(findActorLogs(roots).map((l) => readActorLog(l, malformed))), filter)) records.push(r);
  return { records, malformed };
}

async function story(): Promise<Story> {
  const { records, malformed } = await read();
  const b = new StoryBuilder();
  for (const r of records) b.add(r);
  return b.finish(malformed.total);
}

async function run(...args: string[]): Promise<{ out: string; err: string }> {
  let out = '';
  let err = '';
  const io: Io = {
    stdout: { write: (s: string) => ((out += s), true) },
    stderr: { write: (s: string) => ((err += s), true) },
  };
  await main(['node', 'raft-logs', ...args], io);
  return { out, err };
}

t.test('finds every actor log, rotated files first', async (t) => {
  const logs = findActorLogs([FIXTURE]);
  t.same([...new Set(logs.map((l) => l.node))], ['n1', 'n2', 'n3']);
  const n2raft = logs.find((l) => l.node === 'n2' && l.actor === 'raft')!;
  t.same(n2raft.files.map((f) => path.basename(f)), ['raft.log.1', 'raft.log'], 'the rotated file is read before the live one');
  t.same(findActorLogs([path.join(FIXTURE, 'n3')]).map((l) => l.node), Array(5).fill('n3'), '--data of one node');
  t.same(findActorLogs([path.join(FIXTURE, 'n3', 'logs')]).map((l) => l.node), Array(5).fill('n3'), 'a logs folder itself');
});

t.test('merges all files into one time order and counts malformed lines', async (t) => {
  const { records, malformed } = await read();
  t.equal(records.length, 88, 'every good line of every file');
  for (let i = 1; i < records.length; i++) {
    if (records[i]!.timeMs < records[i - 1]!.timeMs) t.fail(`out of order at ${i}: ${records[i]!.time} after ${records[i - 1]!.time}`);
  }
  t.same(records.slice(0, 3).map((r) => `${r.node} ${r.event}`), ['n1 starting', 'n2 starting', 'n3 starting'], 'starts interleave across nodes');
  const n2raft = records.filter((r) => r.node === 'n2' && r.actor === 'raft');
  t.equal(n2raft[0]!.event, 'starting', 'n2 raft begins in the rotated raft.log.1');
  t.ok(n2raft.some((r) => r.event === 'electionWon'), 'and goes on in raft.log');
  // Same-millisecond records keep their file's order (termChanged before roleChanged).
  const at = records.filter((r) => r.node === 'n1' && r.timeMs === T0 + 1010).map((r) => r.event);
  t.same(at, ['electionWon', 'termChanged', 'roleChanged', 'electionStarted']);
  t.equal(malformed.total, 2);
  t.same(
    [...malformed.byFile.entries()].map(([f, c]) => [path.relative(FIXTURE, f), c.count, c.firstLine]).sort(),
    [
      ['n1/logs/election-timer.log', 1, 2],
      ['n3/logs/raft.log', 1, 10],
    ],
  );
});

t.test('filters', async (t) => {
  const count = async (f: Filter): Promise<number> => (await read(f)).records.length;
  const { records: n3 } = await read({ nodes: ['n3'] });
  t.ok(n3.length > 0 && n3.every((r) => r.node === 'n3'), '--node');
  t.equal(await count({ nodes: ['n1,n3'] }), (await count({ nodes: ['n1'] })) + n3.length, '--node with a comma list');
  const { records: repl } = await read({ actors: ['replicator-*'] });
  t.ok(repl.length > 0 && repl.every((r) => r.actor.startsWith('replicator-')), '--actor with a glob');
  const { records: warn } = await read({ level: 'warn' });
  t.same(warn.map((r) => `${r.level} ${r.event}`), ['warn timer-late', 'warn timer-late', 'error server-error', 'warn steppedDown'], '--level warn');
  t.equal((await read({ level: 'debug' })).records.length, 88, 'debug is everything');
  t.equal((await read({ level: 'info' })).records.length, 87, 'info hides the debug line');
  const { records: t2 } = await read({ ...parseTermArg('2') });
  t.ok(t2.length > 0 && t2.every((r) => r.term === 2), '--term 2');
  t.equal(await count(parseTermArg('1..2')), (await count(parseTermArg('1'))) + t2.length, '--term 1..2');
  t.same(parseTermArg('3..'), { termMin: 3 });
  t.throws(() => parseTermArg('x'));
  const since = parseTimeArg('2025-01-01T00:00:04.000Z', Date.now(), '--since');
  const until = parseTimeArg('2025-01-01T00:00:04.420Z', Date.now(), '--until');
  const { records: win } = await read({ sinceMs: since, untilMs: until });
  t.ok(win.length > 0 && win.every((r) => r.timeMs >= T0 + 4000 && r.timeMs <= T0 + 4420), '--since/--until with ISO times');
  t.equal(win[win.length - 1]!.event, 'leaderChanged', 'until is inclusive');
  t.equal(parseDuration('1h30m'), 5_400_000);
  t.equal(parseDuration('250ms'), 250);
  t.equal(parseTimeArg('5m', 1_000_000, '--since'), 700_000, 'a duration counts back from now');
  t.equal(await count({ sinceMs: parseTimeArg('5m', Date.now(), '--since') }), 0, 'nothing in the last 5 minutes');
  const { records: grep } = await read({ grep: /"reason":"timeout"/ });
  t.equal(grep.length, 8, '--grep over the raw line');
});

t.test('--json prints the records as JSON lines; text lines up in columns', async (t) => {
  const { out, err } = await run('--dir', FIXTURE, '--node', 'n2', '--actor', 'raft', '--json');
  const lines = out.trimEnd().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  const n2raft = ['raft.log.1', 'raft.log'].map((f) => fs.readFileSync(path.join(FIXTURE, 'n2/logs', f), 'utf8').trimEnd().split('\n').length);
  t.equal(lines.length, n2raft[0]! + n2raft[1]!, "n2's raft lines, rotated file included");
  t.same(Object.keys(lines[0]!).slice(0, 6), ['time', 'node', 'actor', 'level', 'term', 'event']);
  t.same(lines[0], { time: '2025-01-01T00:00:00.010Z', node: 'n2', actor: 'raft', level: 'info', term: 0, event: 'starting', host: '127.0.0.2', peerPort: 7002, clientPort: 6002 });
  t.match(err, /skipped 2 malformed lines/, 'malformed lines are reported on stderr');

  const text = (await run('--dir', FIXTURE)).out.trimEnd().split('\n');
  t.equal(text.length, 88, 'every record, debug included, by default');
  t.notMatch(text.join('\n'), /\u001b\[/, 'no colours when stdout is not a terminal');
  const levelCol = (l: string): number => l.search(/ (debug|info |warn |error) /);
  t.equal(new Set(text.map(levelCol)).size, 1, 'the level column is aligned');
  const eventCol = new Set(text.map((l) => l.indexOf(' t', levelCol(l) + 6)));
  t.equal(eventCol.size, 1, 'the term column is aligned');
  t.match(text.find((l) => l.includes('server-error'))!, /n3\s+peer-server\s+error t1\s+server-error\s+err=\{"message":"EMFILE/);
  const coloured = new TextFormatter({ colour: true, nodes: ['n1'] }).format((await read({ level: 'error' })).records[0]!);
  t.match(coloured, /\u001b\[1;31merror/, '--color paints the level');
});

t.test('the story of the fixture', async (t) => {
  const s = await story();
  t.equal(s.records, 88);
  t.equal(s.malformed, 2);
  t.same(
    s.elections.map((e) => [e.id, e.candidate, e.term, e.outcome, e.leader, e.leaderTerm, e.tookMs]),
    [
      [1, 'n1', 1, 'won', 'n1', 1, 40],
      [2, 'n2', 2, 'won', 'n2', 2, 20],
      [3, 'n3', 2, 'superseded', 'n2', 2, 19],
    ],
    'who ran, for which term, the outcome, the leader after and how long it took',
  );
  const [e1, e2, e3] = s.elections;
  t.same(e1!.preVote, { granted: ['n2', 'n3'], rejected: [], result: 'won', at: '2025-01-01T00:00:01.010Z', grantedCount: 2, rejectedCount: 0 });
  t.same(e1!.vote!.granted, ['n2', 'n3']);
  t.same(e2!.vote!.granted, ['n3']);
  t.same(e3!.preVote!.rejected, [{ node: 'n2', reason: 'log behind' }]);
  t.equal(e3!.reason, 'higher term from n2 (vote)');

  t.same(
    s.leaders.map((L) => [L.term, L.leader, L.electedAt, L.election, L.followers, L.leaderlessMs]),
    [
      [1, 'n1', '2025-01-01T00:00:01.040Z', 1, ['n2', 'n3'], undefined],
      [2, 'n2', '2025-01-01T00:00:04.420Z', 2, ['n3', 'n1'], 410],
    ],
    'one leader per term, with the gap between them',
  );
  t.equal(s.leaders[0]!.lostHow, 'n2 lost its connection to n1 (timeout)');
  t.same(s.stepDowns, [{ node: 'n1', term: 1, at: '2025-01-01T00:00:04.300Z', reason: 'check-quorum', newTerm: 1 }]);
  const link = (from: string, to: string) => s.links.find((l) => l.from === from && l.to === to)!;
  t.match(link('n2', 'n3'), { connects: 2, drops: 1, reconnects: 1, longestDownMs: 500, reasons: { 'connection reset': 1 }, downAtEnd: false });
  t.match(link('n1', 'n2'), { drops: 1, reconnects: 1, longestDownMs: 900 });
  t.match(link('n1', 'n3'), { drops: 1, reconnects: 0, downAtEnd: true });
  t.equal(s.links.length, 6, 'every directed pair');
  t.same(s.restarts.map((r) => [r.node, r.clean, r.downMs]), [['n3', true, 450]]);
  t.same(
    s.problems.map((p) => [p.level, p.node, p.event, p.count]),
    [
      ['error', 'n3', 'server-error', 1],
      ['warn', 'n2', 'timer-late', 2],
      ['warn', 'n1', 'steppedDown', 1],
    ],
  );
  t.same(s.nodes.map((n) => [n.node, n.role, n.term, n.starts]), [
    ['n1', 'follower', 2, 1],
    ['n2', 'leader', 2, 1],
    ['n3', 'follower', 2, 2],
  ]);

  const text = storyText(s).join('\n');
  t.match(text, /#1 term 1 {2}n1 at 00:00:01\.000 .*→ won: n1 leader of term 1 after 40 ms/);
  t.match(text, /#3 term 2 {2}n3 .*superseded \(higher term from n2 \(vote\)\); leader n2 of term 2 after 19 ms/);
  t.match(text, /term 2: n2 from 00:00:04\.420 \(election #2\), 410 ms without a leader before/);
  t.match(text, /n2 → n3 {2}2 connects, 1 drop \(1× connection reset\), 1 reconnect, longest down 500 ms/);
  t.match(text, /2× warn {2}n2 election-timer timer-late/);

  const cli = await run('--dir', FIXTURE, '--summary');
  t.equal(cli.out.trimEnd(), text, '--summary prints the same story');
  const json = JSON.parse((await run('--dir', FIXTURE, '--summary', '--json')).out) as Story;
  t.same(json.leaders.map((L) => L.leader), ['n1', 'n2'], '--summary --json');
  const filteredStory = JSON.parse((await run('--dir', FIXTURE, '--summary', '--json', '--until', '2025-01-01T00:00:03Z')).out) as Story;
  t.same(filteredStory.leaders.map((L) => L.term), [1], 'filters narrow the story too');
});

t.test('bad arguments are errors with a code', async (t) => {
  await t.rejects(run('--dir', path.join(FIXTURE, 'nope')), { code: 'RAFTD_CONFIG' });
  await t.rejects(run('--dir', FIXTURE, '--grep', '('), { code: 'RAFTD_CONFIG' });
  await t.rejects(run('--dir', FIXTURE, '--since', 'yesterday-ish'), { code: 'RAFTD_CONFIG' });
  await t.rejects(run('--dir', FIXTURE, '--follow', '--summary'), { code: 'RAFTD_CONFIG' });
});
