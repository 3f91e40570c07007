// `raft-cluster` driving a cluster in network namespaces through an exec template:
// up with `ip netns exec <prefix>-{id}` and --no-upload, one leader, the leader's link
// taken down and a new leader elected among the others, the link back, logs fetched,
// down leaves no raftd. The tool itself runs in the hub namespace, the only place
// from which the nodes' addresses are reachable. Skipped when not root or when
// `ip netns` does not work here.
import t from 'tap';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ROOT } from './helpers/cluster.js';
import { cleanupStale, NetnsLab, netnsUnavailable } from './helpers/netns.js';
import { waitFor } from './helpers/wait.js';

const CLI = path.join(ROOT, 'bin/raft-cluster.js');
const IDS = ['n1', 'n2', 'n3'];
const PEER_PORT = 7400;
const CLIENT_PORT = 6400;

interface JsonStatus {
  leader: string | null;
  term: number | null;
  up: number;
  agreeing: number;
  nodes: { id: string; state: string; reason: string | null; role: string | null }[];
}

function pidAlive(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

const why = netnsUnavailable();
if (why) {
  t.plan(0, `network namespaces unavailable: ${why}`);
} else {
  t.test('raft-cluster over ip netns exec', async (t) => {
    const stale = cleanupStale();
    if (stale.length > 0) t.comment(`removed namespaces left by earlier runs: ${stale.join(', ')}`);
    const lab = new NetnsLab(IDS);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'raft-cluster-netns-'));
    t.teardown(() => {
      lab.cleanup(); // kills whatever still runs inside the namespaces
      fs.rmSync(dir, { recursive: true, force: true });
    });
    fs.writeFileSync(path.join(dir, 'hosts.txt'), lab.nodes.map((n) => `${n.id} ${n.addr} ${PEER_PORT} ${CLIENT_PORT}`).join('\n') + '\n');
    const dataRoot = path.join(dir, 'data');
    const base = ['--hosts', 'hosts.txt', '--data-root', dataRoot, '--exec', `ip netns exec ${lab.prefix}-{id}`, '--probe-timeout', '500'];
    const run = async (cmd: string[]) => {
      const r = await lab.exec(process.execPath, [CLI, ...base, ...cmd], { cwd: dir, timeoutMs: 30_000 });
      if (process.env.RAFT_CLUSTER_TIMING) t.comment(`${cmd.join(' ')}: exit ${r.code}`);
      return r;
    };
    const status = async (): Promise<JsonStatus> => {
      const r = await run(['status', '--json']);
      if (r.code !== 0) throw new Error(`status --json: ${r.stderr}`);
      return JSON.parse(r.stdout) as JsonStatus;
    };

    const up = await run(['up', '--no-upload', '--timeout', '15000', '--', '--election-timeout-ms', '200', '--heartbeat-ms', '40']);
    t.equal(up.code, 0, `up${up.code ? `: ${up.stdout}${up.stderr}` : ''}`);
    const pids = IDS.map((id) => Number(fs.readFileSync(path.join(dataRoot, id, 'raftd.pid'), 'utf8')));
    IDS.forEach((id, i) => t.ok(lab.pids(id).includes(pids[i]!), `${id} runs inside its namespace`));

    const first = await status();
    t.equal(first.nodes.filter((n) => n.role === 'leader').length, 1, 'exactly one leader');
    t.equal(first.up, 3, 'all three up');
    const old = first.leader!;

    lab.setLink(old, false);
    const moved = await waitFor('a new leader among the other two', async () => {
      const s = await status();
      return s.leader !== null && s.leader !== old && s.agreeing === 2 ? s : undefined;
    }, 20_000, 100);
    t.not(moved.leader, old, `${moved.leader} leads term ${moved.term} while ${old} is cut off`);
    t.not(moved.nodes.find((n) => n.id === old)!.state, 'up', 'the cut-off node does not answer');

    lab.setLink(old, true);
    const healed = await waitFor('the old leader back as a follower', async () => {
      const s = await status();
      return s.up === 3 && s.agreeing === 3 ? s : undefined;
    }, 20_000, 100);
    t.equal(healed.nodes.find((n) => n.id === old)!.role, 'follower', `${old} follows ${healed.leader}`);

    // The same template spelled with {ns} and --ns-map.
    const nsMap = lab.nodes.map((n) => `${n.id}=${n.ns}`).join(',');
    const logs = await lab.exec(process.execPath, [CLI, ...base, '--exec', 'ip netns exec {ns}', '--ns-map', nsMap, 'logs', '--out', path.join(dir, 'fetched')], { cwd: dir });
    t.equal(logs.code, 0, `logs${logs.code ? `: ${logs.stderr}` : ''}`);
    for (const id of IDS) {
      t.ok(fs.existsSync(path.join(dir, 'fetched', id, 'raft.log')), `${id}'s raft.log fetched`);
      t.ok(fs.existsSync(path.join(dir, 'fetched', id, 'raftd.out')), `${id}'s raftd.out fetched`);
    }

    const down = await run(['down']);
    t.equal(down.code, 0, 'down');
    for (const [i, pid] of pids.entries()) t.notOk(pidAlive(pid), `${IDS[i]} (pid ${pid}) is gone`);
    for (const id of IDS) t.same(lab.pids(id), [], `nothing left in ${id}'s namespace`);
  });
}
