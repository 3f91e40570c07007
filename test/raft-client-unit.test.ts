// The client's pure parts: splitting a line like redis-cli, telling writes from reads,
// the backoff, and the retrying session over a fake connection and a fake clock.
import t from 'tap';
import { commandKind, RequestIds, toWire } from '../lib/client/command-kind.js';
import { parseAddr, parseInfo } from '../lib/client/leader-finder.js';
import { RespError, type Arg, type RespValue } from '../lib/client/resp-client.js';
import { backoffMs, BACKOFF_MAX_MS, isRetryReply } from '../lib/client/retry-policy.js';
import { RetryingClient, type Clock, type Conn, type Result } from '../lib/client/retrying-client.js';
import { splitArgs } from '../lib/resp/split-args.js';

const words = (line: string) => splitArgs(line)?.map((b) => b.toString('latin1')) ?? null;

t.test('split-args: like redis-cli', async (t) => {
  t.same(words(''), []);
  t.same(words('   \t '), []);
  t.same(words('SET a 1'), ['SET', 'a', '1']);
  t.same(words('  SET   a\t1  '), ['SET', 'a', '1']);
  t.same(words('SET k "hello world"'), ['SET', 'k', 'hello world']);
  t.same(words("SET k 'hello world'"), ['SET', 'k', 'hello world']);
  t.same(words('SET k "a\\nb\\tc\\"d\\\\e"'), ['SET', 'k', 'a\nb\tc"d\\e']);
  t.same(words('SET k "\\x41\\x7a\\xff"'), ['SET', 'k', 'Az\xff']);
  t.same(words("SET k 'it\\'s \\n'"), ['SET', 'k', "it's \\n"]);
  t.same(words('SET k ""'), ['SET', 'k', '']);
  t.same(words('SET k a"b c"'), ['SET', 'k', 'ab c'], 'a quote inside a word opens a quoted part');
  t.equal(words('SET k "unterminated'), null);
  t.equal(words("SET k 'unterminated"), null);
  t.equal(words('SET k "closed"x'), null, 'a closing quote must end the word');
  t.same(splitArgs('SET k "\\xff"')![2], Buffer.from([0xff]), 'bytes, not text');
  t.same(splitArgs('SET k é')![2], Buffer.from('é', 'utf8'));
});

t.test('command-kind: writes wrapped in REQ, the rest sent as is', async (t) => {
  for (const w of ['SET', 'set', 'DEL', 'INCR', 'INCRBY', 'DECR', 'APPEND', 'MSET', 'FLUSHDB', 'FROBNICATE']) t.equal(commandKind(w), 'write', w);
  for (const r of ['GET', 'mget', 'EXISTS', 'KEYS', 'SCAN', 'DBSIZE']) t.equal(commandKind(r), 'read', r);
  for (const n of ['PING', 'INFO', 'ISLEADER', 'LEADER', 'ECHO']) t.equal(commandKind(n), 'node', n);
  t.equal(commandKind('ADDENTRY'), 'tagged');
  t.equal(commandKind('req'), 'tagged');
  t.equal(commandKind('QUIT'), 'quit');
  t.equal(commandKind('exit'), 'quit');

  const ids = new RequestIds('abc');
  const b = (...s: string[]) => s.map((x) => Buffer.from(x));
  t.same(toWire(b('SET', 'a', '1'), ids).map(String), ['REQ', 'abc-1', 'SET', 'a', '1']);
  t.same(toWire(b('INCR', 'c'), ids).map(String), ['REQ', 'abc-2', 'INCR', 'c']);
  t.same(toWire(b('GET', 'a'), ids).map(String), ['GET', 'a']);
  t.same(toWire(b('ADDENTRY', 't1', 'x'), ids).map(String), ['ADDENTRY', 't1', 'x'], 'ADDENTRY: its tid is the id');
  t.same(toWire(b('REQ', 'mine', 'SET', 'a', '1'), ids).map(String), ['REQ', 'mine', 'SET', 'a', '1']);
  t.same(toWire(b('INCR', 'c'), ids).map(String), ['REQ', 'abc-3', 'INCR', 'c'], 'the counter goes on');
  t.not(new RequestIds().prefix, new RequestIds().prefix, 'a random prefix per run');
  t.throws(() => toWire([], ids));
});

t.test('retry-policy: which replies are retried, bounded backoff', async (t) => {
  for (const c of ['TRYAGAIN no leader', 'TIMEOUT request timed out', 'NOTLEADER leader is n2 at 127.0.0.2:6102', 'BUSY too many', 'ERR REMOVED this node is not a member of the cluster (configuration 7); ask a member: n1 127.0.0.1:6101']) t.ok(isRetryReply(new RespError(c)), c);
  for (const v of [new RespError('ERR unknown command'), new RespError('ERR REMOVEDX'), new RespError('WRONGTYPE x'), 'OK', 5, null, Buffer.from('TRYAGAIN')] as RespValue[]) t.notOk(isRetryReply(v));
  let prev = 0;
  for (let f = 1; f <= 40; f++) {
    const lo = backoffMs(f, () => 0);
    const hi = backoffMs(f, () => 0.999999);
    t.ok(lo >= prev / 2 && lo <= hi && hi <= BACKOFF_MAX_MS, `failures ${f}: ${lo}..${hi}`);
    prev = lo;
  }
  t.equal(backoffMs(40, () => 0.5), Math.round(BACKOFF_MAX_MS * 0.75));
  t.throws(() => backoffMs(0, Math.random));
});

t.test('leader-finder: INFO fields and addresses', async (t) => {
  const v = parseInfo('# Raft\r\nnode_id:n1\r\nrole:follower\r\nterm:7\r\nleader_id:n2\r\nleader_client_addr:127.0.0.2:6102\r\n');
  t.same(v, { nodeId: 'n1', role: 'follower', term: 7, leaderId: 'n2', leaderClientAddr: '127.0.0.2:6102' });
  t.same(parseInfo('role:candidate\r\nleader_id:\r\nleader_client_addr:\r\n'), { nodeId: null, role: 'candidate', term: 0, leaderId: null, leaderClientAddr: null });
  t.same(parseAddr('127.0.0.2:6102'), { host: '127.0.0.2', port: 6102 });
  t.same(parseAddr('[::1]:7000'), { host: '::1', port: 7000 });
  t.equal(parseAddr('nohost'), null);
  t.equal(parseAddr('h:0'), null);
});

// ------------------------------------------------------------- the retrying session

class FakeClock implements Clock {
  t = 0;
  private seq = 0;
  private timers = new Map<number, { at: number; fn: () => void }>();
  now(): number {
    return this.t;
  }
  setTimeout(fn: () => void, ms: number): unknown {
    const id = ++this.seq;
    this.timers.set(id, { at: this.t + ms, fn });
    return id;
  }
  clearTimeout(h: unknown): void {
    this.timers.delete(h as number);
  }
  /** Runs every timer due within `ms`, letting promises settle in between. */
  async advance(ms: number): Promise<void> {
    const end = this.t + ms;
    for (;;) {
      await settle();
      let next: [number, { at: number; fn: () => void }] | undefined;
      for (const e of this.timers) if (e[1].at <= end && (!next || e[1].at < next[1].at)) next = e;
      if (!next) break;
      this.timers.delete(next[0]);
      this.t = Math.max(this.t, next[1].at);
      next[1].fn();
    }
    this.t = end;
    await settle();
  }
}

function settle(): Promise<void> {
  return new Promise((r) => setImmediate(r));
}

/**
 * A fake cluster behind fake connections: INCR with exactly-once REQ ids, GET; every
 * request it receives is logged. `script` may answer a request differently (a retry
 * error, a dropped connection) before it runs.
 */
class FakeCluster {
  counter = 0;
  readonly seen: string[] = [];
  readonly firstReply = new Map<string, RespValue>();
  connects = 0;
  refuseConnects = 0;
  conns: FakeConn[] = [];
  /** Returns 'drop' to fail the connection instead of answering, a value to answer it instead. */
  script: (wire: string[], n: number) => 'drop' | RespValue | undefined = () => undefined;
  /** Hold replies until release() (to have many in flight). */
  hold = false;
  private held: (() => void)[] = [];

  connect = async (): Promise<Conn> => {
    this.connects++;
    if (this.refuseConnects > 0) {
      this.refuseConnects--;
      throw new Error('connection refused');
    }
    const c = new FakeConn(this, `n${this.connects}`);
    this.conns.push(c);
    return c;
  };

  release(): void {
    for (const f of this.held.splice(0)) f();
  }

  handle(conn: FakeConn, args: readonly Arg[]): Promise<RespValue> {
    const wire = args.map(String);
    this.seen.push(wire.join(' '));
    const n = this.seen.length;
    const answer = (): RespValue | 'drop' => {
      if (conn.dead) return 'drop';
      const scripted = this.script(wire, n);
      if (scripted !== undefined) return scripted;
      return this.run(wire);
    };
    return new Promise((resolve, reject) => {
      const go = () => {
        const a = answer();
        if (a === 'drop') {
          conn.kill();
          reject(new Error('connection closed'));
        } else resolve(a);
      };
      if (this.hold) this.held.push(go);
      else queueMicrotask(go);
    });
  }

  run(wire: string[]): RespValue {
    if (wire[0] === 'REQ') {
      const rid = wire[1]!;
      const prior = this.firstReply.get(rid);
      if (prior !== undefined) return prior;
      const r = this.run(wire.slice(2));
      this.firstReply.set(rid, r);
      return r;
    }
    switch (wire[0]!.toUpperCase()) {
      case 'INCR':
        return ++this.counter;
      case 'GET':
        return Buffer.from(String(this.counter));
      default:
        return new RespError(`ERR unknown command '${wire[0]}'`);
    }
  }
}

class FakeConn implements Conn {
  dead = false;
  private rejecters: (() => void)[] = [];
  constructor(
    private readonly cluster: FakeCluster,
    readonly name: string,
  ) {}
  send(args: readonly Arg[]): Promise<RespValue> {
    if (this.dead) return Promise.reject(new Error('connection closed'));
    return this.cluster.handle(this, args);
  }
  kill(): void {
    this.dead = true;
    for (const r of this.rejecters.splice(0)) r();
  }
  close(): void {
    this.dead = true;
  }
}

function session(cluster: FakeCluster, clock: FakeClock, over: Partial<ConstructorParameters<typeof RetryingClient>[0]> = {}) {
  return new RetryingClient({ connect: cluster.connect, retryMs: 1000, pipelineMax: 16, clock, random: () => 0.5, ...over });
}

const incr = (ids: RequestIds) => toWire([Buffer.from('INCR'), Buffer.from('c')], ids);

t.test('retrying client: pipelined, answered in order', async (t) => {
  const cluster = new FakeCluster();
  const clock = new FakeClock();
  const c = session(cluster, clock);
  t.teardown(() => c.close());
  const ids = new RequestIds('x');
  const got = Array.from({ length: 50 }, () => c.submit(incr(ids)));
  await clock.advance(0);
  const results = await Promise.all(got);
  t.same(results.map((r) => r.reply), Array.from({ length: 50 }, (_, i) => i + 1));
  t.equal(cluster.connects, 1);
  t.equal(c.connectedTo, 'n1');
  t.equal(c.pending, 0);
});

t.test('retrying client: a dropped connection resends the same request ids, applied once', async (t) => {
  const cluster = new FakeCluster();
  const clock = new FakeClock();
  const c = session(cluster, clock);
  t.teardown(() => c.close());
  const ids = new RequestIds('x');
  // The 10th request is applied, then its connection drops before the reply: a lost reply.
  cluster.script = (wire, n) => {
    if (n === 10) {
      cluster.run(wire);
      return 'drop';
    }
    return undefined;
  };
  cluster.hold = true;
  const got = Array.from({ length: 30 }, () => c.submit(incr(ids)));
  await clock.advance(0);
  cluster.hold = false;
  cluster.release();
  await clock.advance(5000);
  const results = await Promise.all(got);
  t.ok(results.every((r) => r.ok));
  t.same(results.map((r) => r.reply), Array.from({ length: 30 }, (_, i) => i + 1), 'in order, each once');
  t.equal(cluster.counter, 30, 'exactly once');
  t.ok(cluster.connects >= 2, 'reconnected');
  const resent = cluster.seen.filter((s) => s.startsWith('REQ x-10 '));
  t.ok(resent.length >= 2, 'the lost one was resent with its id');
});

t.test('retrying client: retry replies are retried with backoff, then succeed', async (t) => {
  const cluster = new FakeCluster();
  const clock = new FakeClock();
  const c = session(cluster, clock);
  t.teardown(() => c.close());
  let tryagains = 3;
  cluster.script = () => (tryagains-- > 0 ? new RespError('TRYAGAIN no leader elected yet') : undefined);
  const ids = new RequestIds('x');
  const p = c.submit(incr(ids));
  await clock.advance(0);
  t.equal(cluster.seen.length, 1);
  await clock.advance(2000);
  const r = await p;
  t.same(r, { ok: true, reply: 1 });
  t.equal(cluster.seen.length, 4);
  t.ok(new Set(cluster.seen).size === 1, 'the same words each time');
  t.ok(cluster.connects >= 2, 'a retry reply makes it look for the leader again');
});

t.test('retrying client: error replies are answers, not retried', async (t) => {
  const cluster = new FakeCluster();
  const clock = new FakeClock();
  const c = session(cluster, clock);
  t.teardown(() => c.close());
  const p = c.submit(['FROB']);
  await clock.advance(0);
  const r = await p;
  t.equal(r.ok, false);
  t.match((r.reply as RespError).reply, /unknown command/);
  t.equal(cluster.seen.length, 1);
});

t.test('retrying client: retries are bounded by retryMs; then later commands fail fast', async (t) => {
  const cluster = new FakeCluster();
  const clock = new FakeClock();
  const c = session(cluster, clock, { giveUpFast: true });
  t.teardown(() => c.close());
  cluster.script = () => new RespError('TRYAGAIN no leader elected yet');
  const ids = new RequestIds('x');
  const a = c.submit(incr(ids));
  let done: Result | null = null;
  void a.then((r) => (done = r));
  await clock.advance(900);
  t.equal(done, null, 'still retrying within the budget');
  await clock.advance(200);
  t.same(done, { ok: false, reply: new RespError('TRYAGAIN no leader elected yet') }, 'the last retry reply once retryMs is spent');
  const tries = cluster.seen.length;
  t.ok(tries >= 4, `${tries} attempts`);
  const b = c.submit(incr(ids));
  await clock.advance(100);
  const rb = await b;
  t.equal(rb.ok, false, 'after a give-up, one attempt only');
  t.equal(cluster.seen.length, tries + 1);
  // Once the cluster answers again, the full budget is back.
  cluster.script = () => undefined;
  t.same(await (async () => {
    const p = c.submit(incr(ids));
    await clock.advance(2000);
    return p;
  })(), { ok: true, reply: 1 });
});

t.test('retrying client: no node reachable fails after retryMs with a connection error', async (t) => {
  const cluster = new FakeCluster();
  const clock = new FakeClock();
  const events: string[] = [];
  const c = session(cluster, clock, { onEvent: (e) => events.push(e.type) });
  t.teardown(() => c.close());
  cluster.refuseConnects = 1000;
  const p = c.submit(['PING']);
  await clock.advance(1500);
  const r = await p;
  t.equal(r.ok, false);
  t.match((r.reply as RespError).reply, /^ERR no node of the cluster answered \(connection refused\)/);
  t.ok(cluster.connects >= 3 && cluster.connects < 40, `${cluster.connects} bounded connect attempts with backoff`);
  t.ok(events.includes('connect-failed') && events.includes('gave-up'));
});

t.test('retrying client: recovers when the cluster comes back within retryMs', async (t) => {
  const cluster = new FakeCluster();
  const clock = new FakeClock();
  const c = session(cluster, clock);
  t.teardown(() => c.close());
  cluster.refuseConnects = 4;
  const ids = new RequestIds('x');
  const ps = [c.submit(incr(ids)), c.submit(incr(ids)), c.submit(['GET', 'c'])];
  await clock.advance(1000);
  const rs = await Promise.all(ps);
  t.same(rs.map((r) => r.reply), [1, 2, Buffer.from('2')]);
  t.equal(await c.connectNow(), 'n5');
});

t.test('retrying client: close fails what is pending', async (t) => {
  const cluster = new FakeCluster();
  const clock = new FakeClock();
  const c = session(cluster, clock);
  cluster.hold = true;
  const p = c.submit(['PING']);
  await clock.advance(0);
  c.close();
  const r = await p;
  t.equal(r.ok, false);
  t.same(await c.submit(['PING']), { ok: false, reply: new RespError('ERR client closed') });
});
