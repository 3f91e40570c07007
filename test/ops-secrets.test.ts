// `raft-cluster up` ships the files named by raftd's security flags: the flags are made
// absolute, and each file is written on the node's machine through the exec template,
// on its stdin (never its command line), owner-only.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import t from 'tap';
import { fileFlagArgs, fileFlagValue, shipSecretFiles } from '../lib/ops/secrets.js';
import { targetsFor, type ClusterConfig } from '../lib/ops/target.js';

t.test('security file flags are made absolute and listed', async (t) => {
  const r = fileFlagArgs(['--election-timeout-ms', '150', '--cluster-secret-file', 'sec/cluster', '--tls-cert-file=/etc/raftd/n.pem', '--acl-file', 'sec/cluster2', '--cluster-secret-file', 'sec/cluster'], '/home/op');
  t.same(r.args, ['--election-timeout-ms', '150', '--cluster-secret-file=/home/op/sec/cluster', '--tls-cert-file=/etc/raftd/n.pem', '--acl-file=/home/op/sec/cluster2', '--cluster-secret-file=/home/op/sec/cluster']);
  t.same(r.files, ['/home/op/sec/cluster', '/etc/raftd/n.pem', '/home/op/sec/cluster2']);
  t.throws(() => fileFlagArgs(['--requirepass-file'], '/'), { code: 'OPS_CONFIG' });
  t.equal(fileFlagValue(r.args, '--cluster-secret-file'), '/home/op/sec/cluster');
  t.equal(fileFlagValue(r.args, '--requirepass-file'), undefined);
});

t.test('the files reach the remote machine through the exec template, mode 600, never on a command line', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'raftd-ops-secrets-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const secret = 'the-cluster-secret-value-0123456789';
  const local = path.join(dir, 'local', 'cluster.secret');
  fs.mkdirSync(path.dirname(local));
  fs.writeFileSync(local, secret, { mode: 0o644 });
  // The "remote machine" is this one, reached through a stand-in for ssh that logs its arguments.
  const argLog = path.join(dir, 'ssh-args.log');
  const fakeSsh = path.join(dir, 'ssh');
  fs.writeFileSync(fakeSsh, `#!/bin/sh\necho "$*" >> ${argLog}\nshift\nexec sh -c "$*"\n`, { mode: 0o755 });
  fs.writeFileSync(path.join(dir, 'hosts.txt'), 'n1 10.9.9.9 7001 7101\n');
  const c: ClusterConfig = {
    hostsFile: path.join(dir, 'hosts.txt'),
    hosts: [{ id: 'n1', host: '10.9.9.9', peerPort: 7001, clientPort: 7101, metricsPort: null }],
    exec: `${fakeSsh} {host}`,
    nsMap: new Map(),
    remoteDir: path.join(dir, 'remote'),
    dataRoot: path.join(dir, 'data'),
    upload: false,
    raftdArgs: [],
    nodeBin: null,
  };
  const targets = targetsFor(c);
  t.equal(targets[0]!.placement, 'remote');
  await shipSecretFiles(targets, [local]);
  t.equal(fs.readFileSync(local, 'utf8'), secret, 'the content arrived');
  t.equal(fs.statSync(local).mode & 0o777, 0o600, 'owner-only on the node');
  t.notOk(fs.readFileSync(argLog, 'utf8').includes(secret), 'the secret was never an argument');
  await t.rejects(shipSecretFiles(targets, [path.join(dir, 'missing')]), { code: 'OPS_CONFIG' });
});
