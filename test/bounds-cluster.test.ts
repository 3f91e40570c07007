// The state machine's per-key bounds and the reply bound, set from the command line on a
// real node: past them a command gets a clear error and the node keeps serving.
import t from 'tap';
import { RespError } from '../lib/client/resp-client.js';
import { TestCluster } from './helpers/cluster.js';

t.test('--elements-max, --value-bytes-max and --reply-bytes-max', async (t) => {
  const c = await TestCluster.create({ size: 1, extraArgs: ['--elements-max', '3', '--value-bytes-max', '4096', '--reply-bytes-max', '2048'] });
  t.teardown(() => c.stop());
  c.startAll();
  const { id } = await c.waitForLeader();
  t.equal(await c.command(id, 'SADD', 's', 'a', 'b', 'c'), 3);
  const tooMany = await c.command(id, 'SADD', 's', 'd');
  t.ok(tooMany instanceof RespError, `a fourth element is refused: ${String(tooMany)}`);
  t.equal(await c.command(id, 'SCARD', 's'), 3, 'and nothing changed');
  const big = await c.command(id, 'SET', 'big', 'x'.repeat(5000));
  t.ok(big instanceof RespError, `a value over 4096 bytes is refused: ${String(big)}`);
  for (const k of ['a', 'b', 'c']) t.equal(await c.command(id, 'SET', k, 'y'.repeat(1000)), 'OK');
  const reply = await c.command(id, 'MGET', 'a', 'b', 'c');
  t.ok(reply instanceof RespError && /reply bound/.test(reply.message), `a 3 KB reply over the 2 KB bound is an error: ${String(reply)}`);
  t.equal(((await c.command(id, 'MGET', 'a')) as string[])[0]!.length, 1000, 'a reply within the bound is served');
  t.equal(await c.command(id, 'PING'), 'PONG', 'the node keeps serving');
});
