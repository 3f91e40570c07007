// MULTI/EXEC/WATCH: the per-connection state (lib/resp/transaction.ts) driven as the
// gateway drives it, against a state machine that applies the EXEC entry and decides
// it at apply time (lib/kv/exec.ts): queueing, Redis' errors, EXECABORT, WATCH with a
// change, a deletion, an expiry, exactly-once by request id.
import t from 'tap';
import { EXEC_COMMANDS_MAX, encodeWrite } from '../lib/kv/entry-codec.js';
import { KvStateMachine } from '../lib/kv/state-machine.js';
import { COMMANDS, dispatch, type CommandEnv, type CommandOutcome } from '../lib/resp/commands.js';
import { Transaction } from '../lib/resp/transaction.js';

const env: CommandEnv = { status: null, facts: () => ({}) as never, client: { id: 1, name: null } };
const b = (s: string): Buffer => Buffer.from(s, 'latin1');

/** One client connection: a Transaction and the gateway's routing, applied in order. */
class Session {
  readonly tx = new Transaction();
  constructor(
    readonly sm: KvStateMachine,
    readonly log: { index: number; nowMs: number },
  ) {}

  /** Runs a command as gateway + node would; the reply as a latin1 string. */
  run(...args: string[]): string {
    const o: CommandOutcome = this.tx.handle(args.map(b), (a) => dispatch(COMMANDS, env, a));
    switch (o.kind) {
      case 'reply':
      case 'close':
        return o.reply.toString('latin1');
      case 'read': {
        const r = this.sm.read(o.args, this.log.nowMs);
        return (o.onReply ? o.onReply(r) : r).toString('latin1');
      }
      case 'write': {
        // The leader re-stamps every write with its clock right before proposing.
        const data = this.sm.stampWrite(o.prepare ? o.prepare() : o.data, { nowMs: this.log.nowMs, random: Math.random });
        return this.sm.apply({ index: ++this.log.index, term: 1, kind: 'normal', tid: o.tid, data }).toString('latin1');
      }
      case 'admin':
        throw new Error('no cluster operations in these sessions');
    }
  }
}

function setup(): { a: Session; other: Session; log: { index: number; nowMs: number }; sm: KvStateMachine } {
  const sm = new KvStateMachine({ dedupEntriesMax: 100, dedupWindowEntries: 100 });
  const log = { index: 0, nowMs: Date.now() };
  return { a: new Session(sm, log), other: new Session(sm, log), log, sm };
}

t.test('MULTI queues, EXEC applies everything in one entry', (t) => {
  const { a, log } = setup();
  t.equal(a.run('multi'), '+OK\r\n');
  t.equal(a.run('set', 'k', '1'), '+QUEUED\r\n');
  t.equal(a.run('incr', 'k'), '+QUEUED\r\n');
  t.equal(a.run('lpush', 'k', 'x'), '+QUEUED\r\n', 'a runtime error is queued');
  t.equal(a.run('get', 'k'), '+QUEUED\r\n', 'a read is queued and runs inside the entry');
  t.equal(a.run('ping'), '+QUEUED\r\n');
  const before = log.index;
  t.equal(
    a.run('exec'),
    '*5\r\n+OK\r\n:2\r\n-WRONGTYPE Operation against a key holding the wrong kind of value\r\n$1\r\n2\r\n+PONG\r\n',
    'errors are elements, the rest ran',
  );
  t.equal(log.index, before + 1, 'one log entry');
  t.equal(a.run('exec'), '-ERR EXEC without MULTI\r\n');
  t.equal(a.run('discard'), '-ERR DISCARD without MULTI\r\n');
  t.end();
});

t.test('queue-time errors: EXECABORT, nested MULTI, WATCH inside MULTI, DISCARD', (t) => {
  const { a } = setup();
  a.run('multi');
  t.equal(a.run('multi'), '-ERR MULTI calls can not be nested\r\n');
  t.equal(a.run('watch', 'x'), '-ERR WATCH inside MULTI is not allowed\r\n');
  t.equal(a.run('set', 'k', 'v'), '+QUEUED\r\n');
  t.equal(a.run('exec'), '*1\r\n+OK\r\n', 'neither error dooms the transaction (as Redis)');
  a.run('multi');
  t.equal(a.run('set', 'k'), "-ERR wrong number of arguments for 'set' command\r\n");
  t.match(a.run('frob', 'x'), /^-ERR unknown command 'frob'/);
  t.equal(a.run('info'), '-ERR Command not allowed inside a transaction\r\n');
  t.equal(a.run('exec'), '-EXECABORT Transaction discarded because of previous errors.\r\n');
  t.equal(a.run('get', 'k'), '$1\r\nv\r\n', 'nothing of it ran; MULTI is over');
  a.run('multi');
  a.run('set', 'k', 'discarded');
  t.equal(a.run('discard'), '+OK\r\n');
  t.equal(a.run('get', 'k'), '$1\r\nv\r\n');
  a.run('multi');
  t.equal(a.run('exec'), '*0\r\n', 'an empty transaction');
  t.end();
});

t.test('WATCH: EXEC is nil when a watched key changed, was deleted or expired', (t) => {
  const { a, other, log } = setup();
  other.run('set', 'k', '1');
  t.equal(a.run('watch', 'k', 'absent'), '+OK\r\n');
  a.run('multi');
  a.run('incr', 'k');
  t.equal(a.run('exec'), '*1\r\n:2\r\n', 'unchanged: it runs');

  a.run('watch', 'k');
  other.run('set', 'k', '10');
  a.run('multi');
  a.run('incr', 'k');
  t.equal(a.run('exec'), '*-1\r\n', 'changed by another client: nil');
  t.equal(a.run('get', 'k'), '$2\r\n10\r\n');

  a.run('watch', 'k');
  other.run('set', 'k', '10', 'XX', 'NX');
  a.run('multi');
  a.run('incr', 'k');
  t.equal(a.run('exec'), '*1\r\n:11\r\n', 'a refused write changes nothing');

  a.run('watch', 'absent');
  other.run('set', 'absent', 'now');
  other.run('del', 'absent');
  a.run('multi');
  a.run('get', 'k');
  t.equal(a.run('exec'), '*-1\r\n', 'created and deleted again: still a change');

  other.run('set', 'ttl', 'v', 'PX', '1000');
  a.run('watch', 'ttl');
  log.nowMs += 5000; // the next entry's stamp: the key expired
  a.run('multi');
  a.run('set', 'x', '1');
  t.equal(a.run('exec'), '*-1\r\n', 'alive when watched, expired at EXEC: nil (Redis 7)');

  a.run('watch', 'k');
  a.run('unwatch');
  other.run('set', 'k', 'changed');
  a.run('multi');
  a.run('get', 'k');
  t.equal(a.run('exec'), '*1\r\n$7\r\nchanged\r\n', 'UNWATCH forgets');

  a.run('watch', 'k');
  other.run('flushdb');
  a.run('multi');
  t.equal(a.run('exec'), '*-1\r\n', 'FLUSHDB touches every key');
  t.end();
});

t.test('a transaction is bounded in commands and bytes', (t) => {
  const { a } = setup();
  a.run('multi');
  for (let i = 0; i < EXEC_COMMANDS_MAX; i++) a.run('incr', 'n');
  t.match(a.run('incr', 'n'), /^-ERR raftd limit: a transaction holds at most 10000 commands/);
  t.equal(a.run('exec'), '-EXECABORT Transaction discarded because of previous errors.\r\n');
  a.run('multi');
  const big = 'x'.repeat(1024 * 1024);
  for (let i = 0; i < 3; i++) t.equal(a.run('set', `k${i}`, big), '+QUEUED\r\n');
  t.match(a.run('set', 'k4', big), /^-ERR raftd limit/, 'past 4 MiB');
  t.match(a.run('set', 'k5', big + 'y'), /^-ERR value exceeds the 1 MiB limit/);
  t.equal(a.run('exec'), '-EXECABORT Transaction discarded because of previous errors.\r\n');
  t.end();
});

t.test('REQ <id> EXEC is exactly-once for the whole transaction', (t) => {
  const { a, sm, log } = setup();
  a.run('multi');
  a.run('incr', 'n');
  a.run('incr', 'n');
  const o = a.tx.handle(['req', 'r1', 'exec'].map(b), () => {
    throw new Error('not dispatched');
  });
  t.equal(o.kind, 'write');
  if (o.kind !== 'write') return;
  t.equal(o.tid, 'r1');
  const data = o.prepare!();
  const first = sm.apply({ index: ++log.index, term: 1, kind: 'normal', tid: 'r1', data }).toString('latin1');
  const again = sm.apply({ index: ++log.index, term: 1, kind: 'normal', tid: 'r1', data }).toString('latin1');
  t.equal(first, '*2\r\n:1\r\n:2\r\n');
  t.equal(again, first, 'the retry gets the first reply');
  t.equal(sm.read([b('get'), b('n')]).toString('latin1'), '$1\r\n2\r\n', 'applied once');
  t.end();
});

t.test('REQ-wrapped MULTI and queued commands (bin/raft-client.js wraps every write)', (t) => {
  const { a } = setup();
  t.equal(a.run('req', 'r1', 'multi'), '+OK\r\n');
  t.equal(a.run('req', 'r2', 'set', 'k', 'v'), '+QUEUED\r\n');
  t.equal(a.run('get', 'k'), '+QUEUED\r\n');
  t.equal(a.run('req', 'r3', 'req', 'r4', 'set', 'k', 'v'), '-ERR Command not allowed inside a transaction\r\n');
  t.equal(a.run('req', 'r5', 'exec'), '-EXECABORT Transaction discarded because of previous errors.\r\n');
  a.run('req', 'r6', 'multi');
  a.run('req', 'r7', 'set', 'k', 'v');
  t.equal(a.run('req', 'r8', 'exec'), '*1\r\n+OK\r\n');
  t.end();
});

t.test('a WATCH whose read failed makes EXEC abort', (t) => {
  const { a, sm, log } = setup();
  const o = a.tx.handle(['watch', 'k'].map(b), () => {
    throw new Error('not dispatched');
  });
  t.equal(o.kind, 'read');
  if (o.kind !== 'read') return;
  t.equal(o.onReply!(Buffer.from('-TRYAGAIN no leader\r\n')).toString(), '-TRYAGAIN no leader\r\n', 'the client sees the error');
  a.run('multi');
  a.run('set', 'k', 'v');
  const e = a.tx.handle([b('exec')], () => {
    throw new Error('not dispatched');
  });
  if (e.kind !== 'write') return t.fail('EXEC is a write');
  t.equal(sm.apply({ index: ++log.index, term: 1, kind: 'normal', tid: '', data: e.prepare!() }).toString(), '*-1\r\n');
  t.end();
});

t.test('a malformed EXEC entry changes nothing', (t) => {
  const sm = new KvStateMachine({ dedupEntriesMax: 10, dedupWindowEntries: 10 });
  const data = encodeWrite({ stampMs: 1, seed: null, body: { kind: 'exec', watched: [], commands: [[b('set'), b('a'), b('1')], [b('__expire'), b('a')]] } });
  t.equal(sm.apply({ index: 1, term: 1, kind: 'normal', tid: '', data }).toString(), '-EXECABORT Transaction discarded because of previous errors.\r\n');
  t.equal(sm.keyCount, 0);
  t.end();
});
