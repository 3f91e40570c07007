// raft-logs on the logs of a real 3-node cluster: the leader is killed, another takes
// over, and the summary names both; --follow prints lines appended after it started,
// also across a rotation.
import t from 'tap';
import { execFile, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { ROOT, TestCluster } from './helpers/cluster.js';
import { waitFor } from './helpers/wait.js';
import type { Story } from '../lib/logs/summary.js';

const RAFT_LOGS = path.join(ROOT, 'bin/raft-logs.js');
const execFileP = promisify(execFile);

async function raftLogs(...args: string[]): Promise<string> {
  const { stdout } = await execFileP(process.execPath, [RAFT_LOGS, ...args], { encoding: 'utf8', timeout: 30_000, maxBuffer: 64 << 20 });
  return stdout;
}

t.test('a leader change in a real cluster, told and followed', async (t) => {
  const c = await TestCluster.create({ size: 3 });
  t.teardown(() => c.stop());
  c.startAll();
  const first = await c.waitForLeader();
  await c.kill(first.id);
  const second = await c.waitForLeader(30_000, [first.id]);
  t.not(second.id, first.id, `${first.id} led term ${first.term}, then ${second.id} term ${second.term}`);
  // Let the followers log that they follow the new leader, then stop everything.
  await new Promise((r) => setTimeout(r, 200));
  await Promise.all(c.nodes.map((n) => c.kill(n.id)));

  const text = await raftLogs('--dir', c.dir, '--summary');
  t.match(text, new RegExp(`term ${first.term}: ${first.id} from `), 'the summary names the first leader and its term');
  t.match(text, new RegExp(`term ${second.term}: ${second.id} from .*without a leader before`), 'and the second, with the gap');
  const story = JSON.parse(await raftLogs('--dir', c.dir, '--summary', '--json')) as Story;
  const leaders = story.leaders.map((L) => [L.term, L.leader]);
  t.same(leaders.filter(([term]) => term === first.term || term === second.term), [
    [first.term, first.id],
    [second.term, second.id],
  ]);
  const won = story.elections.filter((e) => e.outcome === 'won').map((e) => [e.candidate, e.term]);
  t.ok(won.some(([c2, term]) => c2 === second.id && term === second.term), `an election won by ${second.id} for term ${second.term}`);
  const took = story.elections.find((e) => e.outcome === 'won' && e.candidate === second.id)!.tookMs!;
  t.ok(took >= 0 && took < 5000, `it took ${took} ms from start to leader`);
  t.ok(story.links.some((l) => l.to === first.id && l.drops > 0), `the connections to ${first.id} dropped`);
  t.equal(story.malformed, 0, 'the node writes no malformed lines');

  const one = await raftLogs('--data', c.node(second.id).dataDir, '--actor', 'raft', '--json');
  const recs = one.trimEnd().split('\n').map((l) => JSON.parse(l) as { node: string; actor: string });
  t.ok(recs.length > 0 && recs.every((r) => r.node === second.id && r.actor === 'raft'), '--data reads one node');

  // --follow: start it, then append lines, one across a rotation like the logger's.
  const logFile = path.join(c.node(second.id).dataDir, 'logs', 'raft.log');
  const line = (n: number): string =>
    JSON.stringify({ time: new Date().toISOString(), node: second.id, actor: 'raft', level: 'info', term: second.term, event: 'followTest', n }) + '\n';
  const child = spawn(process.execPath, [RAFT_LOGS, '--dir', c.dir, '--follow', '--grep', 'followTest'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  t.teardown(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  await waitFor('raft-logs --follow to start', () => err.includes('following'), 10_000);
  t.equal(out, '', 'nothing matched before');
  fs.appendFileSync(logFile, line(1));
  await waitFor('the appended line', () => out.includes('n=1'), 10_000);
  t.match(out, new RegExp(`${second.id}\\s+raft\\s+info\\s+t${second.term}\\s+followTest\\s+n=1`), 'the appended line, formatted');
  // Rotation: one more line in the old file, rename, a line in the new one.
  fs.appendFileSync(logFile, line(2));
  fs.renameSync(logFile, logFile + '.1');
  fs.appendFileSync(logFile, line(3));
  await waitFor('the lines around the rotation', () => out.includes('n=2') && out.includes('n=3'), 10_000);
  t.ok(out.indexOf('n=2') < out.indexOf('n=3'), 'in order');
  t.equal(out.split('\n').filter((l) => l.includes('followTest')).length, 3, 'each line once');
  child.kill('SIGINT');
  let timer: NodeJS.Timeout | undefined;
  const code = await Promise.race([exited, new Promise<string>((r) => (timer = setTimeout(() => r('timeout'), 10_000)))]);
  clearTimeout(timer);
  t.equal(code, 0, 'SIGINT stops it cleanly');
});
