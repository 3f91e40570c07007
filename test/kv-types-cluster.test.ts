// Redis' data types and transactions on a real 3-node cluster, through the leader and
// a follower with ioredis: hashes, lists, sets, sorted sets, expiry, and a WATCH/MULTI/
// EXEC check-and-set that two clients race on, which must never lose an increment.
import t from 'tap';
import { Redis } from 'ioredis';
import { TestCluster } from './helpers/cluster.js';
import { waitFor } from './helpers/wait.js';

t.test('data types and transactions through leader and follower', async (t) => {
  const c = await TestCluster.create({ size: 3 });
  t.teardown(() => c.stop());
  c.startAll();
  const leader = await c.waitForLeader();
  const L = c.node(leader.id);
  const F = c.nodes.find((n) => n.id !== leader.id)!;
  const clients: Redis[] = [];
  t.teardown(() => clients.forEach((r) => r.disconnect()));
  const connect = async (n: typeof L): Promise<Redis> => {
    const r = new Redis({ host: n.host, port: n.clientPort, lazyConnect: true, maxRetriesPerRequest: 2 });
    clients.push(r);
    await r.connect();
    return r;
  };

  for (const n of [L, F]) {
    const r = await connect(n);
    const p = `${n.id}:`;
    t.test(`hashes, lists, sets, sorted sets via ${n.id === L.id ? 'the leader' : 'a follower'}`, async (t) => {
      t.equal(await r.hset(`${p}h`, 'a', '1', 'b', '2'), 2);
      t.equal(await r.hincrby(`${p}h`, 'a', 5), 6);
      t.same(await r.hgetall(`${p}h`), { a: '6', b: '2' });
      t.equal(await r.rpush(`${p}l`, 'x', 'y', 'z'), 3);
      t.equal(await r.lpop(`${p}l`), 'x');
      t.same(await r.lrange(`${p}l`, 0, -1), ['y', 'z']);
      t.equal(await r.lmove(`${p}l`, `${p}l2`, 'RIGHT', 'LEFT'), 'z');
      t.equal(await r.sadd(`${p}s`, 'm1', 'm2', 'm3'), 3);
      t.equal(await r.scard(`${p}s`), 3);
      const popped = await r.spop(`${p}s`);
      t.ok(popped !== null && ['m1', 'm2', 'm3'].includes(popped), 'SPOP pops a member');
      t.equal(await r.sismember(`${p}s`, popped!), 0, 'the popped member is gone on the node read from');
      t.equal(await r.zadd(`${p}z`, 3, 'c', 1, 'a', 2, 'b'), 3);
      t.same(await r.zrange(`${p}z`, 0, -1, 'WITHSCORES'), ['a', '1', 'b', '2', 'c', '3']);
      t.equal(await r.zrank(`${p}z`, 'c'), 2);
      t.equal(await r.type(`${p}z`), 'zset');
      await t.rejects(r.lpush(`${p}h`, 'x'), /WRONGTYPE/);
      t.equal(await r.set(`${p}ttl`, 'v', 'PX', 300), 'OK');
      const pttl = await r.pttl(`${p}ttl`);
      t.ok(pttl > 0 && pttl <= 300, `PTTL ${pttl}`);
      await waitFor('the key to expire', async () => (await r.exists(`${p}ttl`)) === 0, 10_000);
      t.equal(await r.get(`${p}ttl`), null);
    });
  }

  t.test('MULTI/EXEC and WATCH check-and-set, racing through leader and follower', async (t) => {
    const a = await connect(L);
    const b = await connect(F);
    const res = await b.multi().set('tx', '1').incr('tx').lpush('tx', 'x').get('tx').exec();
    t.same(
      res!.map(([e, v]) => (e ? String(e.message) : v)),
      ['OK', 2, 'WRONGTYPE Operation against a key holding the wrong kind of value', '2'],
      'errors inside EXEC are elements, the rest ran',
    );
    await t.rejects(b.multi().call('set', 'tx').exec(), /EXECABORT/, 'an arity error aborts the transaction');
    t.equal(await b.get('tx'), '2');

    await a.watch('cas');
    await b.set('cas', 'other');
    t.equal(await a.multi().set('cas', 'mine').exec(), null, 'a changed watched key makes EXEC nil');
    t.equal(await a.get('cas'), 'other');

    // Two clients increment one counter by check-and-set, retrying on nil: none is lost.
    await a.set('counter', '0');
    const rounds = 15;
    const bump = async (r: Redis): Promise<number> => {
      let retries = 0;
      for (let done = 0; done < rounds; ) {
        await r.watch('counter');
        const v = Number(await r.get('counter'));
        const out = await r.multi().set('counter', String(v + 1)).exec();
        if (out === null) retries++;
        else done++;
      }
      return retries;
    };
    const [ra, rb] = await Promise.all([bump(a), bump(b)]);
    t.equal(await b.get('counter'), String(2 * rounds), `no increment lost (${ra + rb} retries)`);
  });
});
