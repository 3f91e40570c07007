// The bench's options: flags passed through to every raftd member arrive as separate
// arguments whether the value is glued to --raftd-args or follows it as its own word
// (yargs would read a following "--tick-ms 20" as an unknown flag of the bench's own).
import t from 'tap';
import { parseOptions } from './bench/options.js';

const parse = (...args: string[]) => parseOptions(['node', 'run.js', ...args]);

t.test('--raftd-args: one word or two, split into raftd arguments', async (t) => {
  t.same(parse('--raftd-args', '--heartbeat-ms 100').raftdArgs, ['--heartbeat-ms', '100'], 'two words');
  t.same(parse('--raftd-args=--heartbeat-ms 100').raftdArgs, ['--heartbeat-ms', '100'], 'one word');
  const o = parse('--raftd-args', '--tick-ms 20', '--no-etcd');
  t.same(o.raftdArgs, ['--tick-ms', '20'], 'flags after it are the bench\'s');
  t.equal(o.etcd, false);
  t.same(parse().raftdArgs, [], 'none');
});
