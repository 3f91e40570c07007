// The cluster id is fixed when a node first starts and read back from its data
// directory afterwards, whatever hosts.txt says then.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import t from 'tap';
import { CLUSTER_ID_FILE, readClusterId, settleClusterId } from '../lib/node/cluster-id.js';

t.test('bootstrap persists the id, a restart reads it back', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'raftd-cid-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const data = path.join(dir, 'n1');
  t.equal(readClusterId(data), null, 'nothing before the first start');
  t.same(settleClusterId(data, 'raftd-aaaa', false), { id: 'raftd-aaaa', source: 'bootstrap' });
  t.equal(fs.readFileSync(path.join(data, CLUSTER_ID_FILE), 'utf8'), 'raftd-aaaa\n');
  // hosts.txt changed (a joined node was added to it): its hash is ignored.
  t.same(settleClusterId(data, 'raftd-bbbb', false), { id: 'raftd-aaaa', source: 'disk' });
  // An explicit --cluster-id that contradicts the disk is refused.
  t.throws(() => settleClusterId(data, 'raftd-bbbb', true), { code: 'RAFTD_CONFIG', message: /never changes/ });
  t.same(settleClusterId(data, 'raftd-aaaa', true), { id: 'raftd-aaaa', source: 'disk' });
  fs.writeFileSync(path.join(data, CLUSTER_ID_FILE), 'bad id with spaces\n');
  t.throws(() => readClusterId(data), { code: 'RAFTD_CONFIG' });
});
