// The request pacer: a lone client's request goes straight in; requests that arrive
// while `depth` batches of their kind are unanswered wait and go in together; writes
// and reads are paced apart; admin requests never wait; a request waits at most
// holdMsMax; answers of requests it did not hand in are ignored.
import t from 'tap';
import type { GatewayRequest } from '../lib/replica/messages.js';
import { RequestPacer } from '../lib/node/request-pacer.js';

const w = (reqId: number): GatewayRequest => ({ reqId, kind: 'write', tid: '', data: new Uint8Array([reqId]) });
const r = (reqId: number): GatewayRequest => ({ reqId, kind: 'read', args: [] });
const admin = (reqId: number): GatewayRequest => ({ reqId, kind: 'members' });
const ids = (items: GatewayRequest[]) => items.map((i) => i.reqId);

t.test('a lone client never waits', async (t) => {
  const p = new RequestPacer({ depth: 1, holdMsMax: 2, heldMax: 100 });
  for (let id = 1; id <= 5; id++) {
    t.same(p.add([w(id)], id * 10), [], 'the write is taken');
    t.same(ids(p.release(id * 10)), [id], 'and goes in at once');
    t.equal(p.dueInMs(id * 10), null, 'nothing held');
    p.answered([id]);
  }
});

t.test('writes behind a full pipeline go in together once a batch is answered', async (t) => {
  const p = new RequestPacer({ depth: 2, holdMsMax: 5, heldMax: 100 });
  p.add([w(1)], 0);
  t.same(ids(p.release(0)), [1]);
  p.add([w(2), w(3)], 0);
  t.same(ids(p.release(0)), [2, 3], 'a second batch may fly');
  t.same(ids(p.add([w(4), admin(5), w(6)], 1)), [5], 'an admin request goes straight in');
  t.notOk(p.mayRelease(1), 'two batches in flight: held');
  t.same(p.release(1), []);
  t.equal(p.heldCount, 2);
  p.answered([2]);
  t.notOk(p.mayRelease(2), 'half a batch answered is not a batch answered');
  p.answered([3, 5, 99]);
  t.ok(p.mayRelease(2), 'a batch answered (unknown ids ignored)');
  t.same(ids(p.release(2)), [4, 6], 'the held writes, in order, as one batch');
  t.equal(p.heldCount, 0);
});

t.test('reads and writes are paced apart', async (t) => {
  const p = new RequestPacer({ depth: 1, holdMsMax: 5, heldMax: 100 });
  p.add([w(1), r(2)], 0);
  t.same(ids(p.release(0)), [1, 2], 'a batch of each kind');
  p.add([r(3), w(4), r(5)], 1);
  t.same(p.release(1), [], 'both kinds at depth');
  p.answered([1]);
  t.same(ids(p.release(1)), [4], 'the write batch answered: writes go, reads wait');
  p.answered([2]);
  t.same(ids(p.release(1)), [3, 5], 'then the reads, as one batch');
});

t.test('a write is held at most holdMsMax', async (t) => {
  const p = new RequestPacer({ depth: 1, holdMsMax: 3, heldMax: 100 });
  p.add([w(1)], 0);
  p.release(0);
  p.add([w(2)], 10);
  t.equal(p.dueInMs(11), 2);
  t.same(p.release(12), [], 'still within the bound');
  t.same(ids(p.release(13)), [2], 'the stalled batch does not hold it longer');
  p.add([w(3)], 14);
  t.notOk(p.mayRelease(14), 'two stalled batches in flight now');
  p.answered([1]);
  t.notOk(p.mayRelease(14), 'one of two answered: still at depth');
  p.answered([2]);
  t.ok(p.mayRelease(14));
});

t.test('the held writes are bounded', async (t) => {
  const p = new RequestPacer({ depth: 1, holdMsMax: 3, heldMax: 2 });
  p.add([w(1)], 0);
  p.release(0);
  p.add([w(2)], 0);
  t.notOk(p.mayRelease(0));
  p.add([w(3)], 0);
  t.equal(p.dueInMs(0), 0, 'due now');
  t.same(ids(p.release(0)), [2, 3], 'heldMax writes go in whatever is in flight');
});
