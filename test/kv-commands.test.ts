// The key-value rows of the gateway's command table: what each command turns into
// (a write with the encoded command, a read, or an error now, in Redis' words), and a
// whole session run through gateway and state machine together.
import t from 'tap';
import { decodeWrite } from '../lib/kv/entry-codec.js';
import { VALUE_BYTES_MAX } from '../lib/kv/limits.js';
import { KvStateMachine } from '../lib/kv/state-machine.js';
import { COMMANDS, dispatch, type CommandEnv, type CommandOutcome } from '../lib/resp/commands.js';
import { KV_COMMANDS } from '../lib/resp/kv-commands.js';

const env: CommandEnv = {
  status: null,
  facts: () => {
    throw new Error('no INFO here');
  },
  client: { id: 1, name: null },
};

const b = (s: string): Buffer => Buffer.from(s, 'latin1');
const run = (...args: (string | Buffer)[]): CommandOutcome => dispatch(COMMANDS, env, args.map((a) => (typeof a === 'string' ? b(a) : a)));

/** The error text of a 'reply' outcome. */
function replyOf(o: CommandOutcome): string {
  if (o.kind !== 'reply') throw new Error(`expected a reply, got ${o.kind}`);
  return o.reply.toString('latin1');
}

function writeOf(o: CommandOutcome): { tid: string; args: string[] } {
  if (o.kind !== 'write') throw new Error(`expected a write, got ${o.kind}: ${o.kind === 'reply' ? o.reply.toString() : ''}`);
  const w = decodeWrite(o.data);
  if (w.body.kind !== 'command') throw new Error('expected one command');
  return { tid: o.tid, args: w.body.args.map((a) => a.toString('latin1')) };
}

function readOf(o: CommandOutcome): string[] {
  if (o.kind !== 'read') throw new Error(`expected a read, got ${o.kind}: ${o.kind === 'reply' ? o.reply.toString() : ''}`);
  return o.args.map((a) => a.toString('latin1'));
}

const err = (m: string): string => `-${m}\r\n`;
const arity = (name: string): string => err(`ERR wrong number of arguments for '${name}' command`);

t.test('writes become the encoded command, name in lower case', (t) => {
  t.same(writeOf(run('SET', 'k', 'v')), { tid: '', args: ['set', 'k', 'v'] });
  t.same(writeOf(run('set', 'k', 'v', 'nx', 'GET')), { tid: '', args: ['set', 'k', 'v', 'nx', 'GET'] });
  t.same(writeOf(run('Del', 'a', 'b')).args, ['del', 'a', 'b']);
  t.same(writeOf(run('incr', 'n')).args, ['incr', 'n']);
  t.same(writeOf(run('decr', 'n')).args, ['decr', 'n']);
  t.same(writeOf(run('incrby', 'n', '-3')).args, ['incrby', 'n', '-3']);
  t.same(writeOf(run('decrby', 'n', '3')).args, ['decrby', 'n', '3']);
  t.same(writeOf(run('append', 'k', 'x')).args, ['append', 'k', 'x']);
  t.same(writeOf(run('MSET', 'a', '1', 'b', '2')).args, ['mset', 'a', '1', 'b', '2']);
  t.same(writeOf(run('getset', 'a', '1')).args, ['getset', 'a', '1']);
  t.same(writeOf(run('flushdb')).args, ['flushdb']);
  t.same(writeOf(run('FLUSHALL', 'async')).args, ['flushall', 'async']);
  const bin = Buffer.from([0, 0xff, 13, 10]);
  const o = run('set', bin, bin);
  t.ok(o.kind === 'write' && Buffer.from(writeOf(o).args[2]!, 'latin1').equals(bin), 'binary-safe');
  t.end();
});

t.test('REQ gives a write its request id', (t) => {
  t.same(writeOf(run('REQ', 'r-17', 'incr', 'n')), { tid: 'r-17', args: ['incr', 'n'] });
  t.equal(replyOf(run('REQ', 'r-18', 'set', 'k')), arity('set'));
  t.same(readOf(run('REQ', 'r-19', 'get', 'k')), ['get', 'k'], 'a read stays a read');
  t.end();
});

t.test('reads', (t) => {
  t.same(readOf(run('GET', 'k')), ['get', 'k']);
  t.same(readOf(run('mget', 'a', 'b')), ['mget', 'a', 'b']);
  t.same(readOf(run('EXISTS', 'a', 'a')), ['exists', 'a', 'a']);
  t.same(readOf(run('strlen', 'a')), ['strlen', 'a']);
  t.same(readOf(run('TYPE', 'a')), ['type', 'a']);
  t.same(readOf(run('keys', '*')), ['keys', '*']);
  t.same(readOf(run('SCAN', '0', 'MATCH', 'a*', 'COUNT', '100', 'TYPE', 'string')), ['scan', '0', 'MATCH', 'a*', 'COUNT', '100', 'TYPE', 'string']);
  t.same(readOf(run('dbsize')), ['dbsize']);
  t.end();
});

t.test('arity and syntax are refused at once, in Redis words', (t) => {
  t.equal(replyOf(run('get')), arity('get'));
  t.equal(replyOf(run('get', 'a', 'b')), arity('get'));
  t.equal(replyOf(run('set', 'k')), arity('set'));
  t.equal(replyOf(run('mset', 'a')), arity('mset'));
  t.equal(replyOf(run('mset', 'a', '1', 'b')), arity('mset'), 'an odd count');
  t.equal(replyOf(run('del')), arity('del'));
  t.equal(replyOf(run('incr')), arity('incr'));
  t.equal(replyOf(run('dbsize', 'x')), arity('dbsize'));
  t.equal(replyOf(run('keys')), arity('keys'));
  t.equal(replyOf(run('scan')), arity('scan'));
  t.equal(replyOf(run('set', 'k', 'v', 'NX', 'XX')), err('ERR syntax error'));
  t.equal(replyOf(run('set', 'k', 'v', 'bogus')), err('ERR syntax error'));
  for (const o of ['EX', 'px', 'EXAT', 'PXAT']) {
    t.equal(replyOf(run('set', 'k', 'v', o, '-5')), err("ERR invalid expire time in 'set' command"), o);
  }
  t.equal(replyOf(run('set', 'k', 'v', 'keepttl', 'ex', '5')), err('ERR syntax error'));
  t.equal(replyOf(run('incrby', 'n', '1.5')), err('ERR value is not an integer or out of range'));
  t.equal(replyOf(run('incrby', 'n', '99999999999999999999')), err('ERR value is not an integer or out of range'));
  t.equal(replyOf(run('decrby', 'n', 'x')), err('ERR value is not an integer or out of range'));
  t.equal(replyOf(run('decrby', 'n', '-9223372036854775808')), err('ERR decrement would overflow'));
  t.equal(replyOf(run('flushdb', 'later')), err('ERR syntax error'));
  t.equal(replyOf(run('scan', 'abc')), err('ERR invalid cursor'));
  t.equal(replyOf(run('scan', '-1')), err('ERR invalid cursor'));
  t.equal(replyOf(run('scan', '0', 'COUNT', '0')), err('ERR syntax error'));
  t.equal(replyOf(run('scan', '0', 'COUNT', 'ten')), err('ERR value is not an integer or out of range'));
  t.equal(replyOf(run('scan', '0', 'MATCH')), err('ERR syntax error'));
  t.equal(replyOf(run('scan', '0', 'TYPE', 'nope')), err("ERR unknown type name 'nope'"));
  t.end();
});

t.test('keys and values over 1 MiB are refused', (t) => {
  const max = Buffer.alloc(VALUE_BYTES_MAX, 0x61);
  const over = Buffer.alloc(VALUE_BYTES_MAX + 1, 0x61);
  t.equal(VALUE_BYTES_MAX, 1024 * 1024);
  const tooLarge = err('ERR value exceeds the 1 MiB limit');
  t.equal(writeOf(run('set', 'k', max)).args[2]!.length, VALUE_BYTES_MAX, 'exactly 1 MiB is fine');
  t.equal(replyOf(run('set', 'k', over)), tooLarge);
  t.equal(replyOf(run('set', over, 'v')), tooLarge, 'keys too');
  t.equal(replyOf(run('mset', 'a', '1', 'b', over)), tooLarge);
  t.equal(replyOf(run('append', 'k', over)), tooLarge);
  t.equal(replyOf(run('getset', 'k', over)), tooLarge);
  t.end();
});

t.test('CONFIG: GET answers what redis-benchmark asks for, the rest is refused', (t) => {
  t.equal(replyOf(run('CONFIG', 'GET', 'save')), '*2\r\n$4\r\nsave\r\n$0\r\n\r\n');
  t.equal(replyOf(run('config', 'get', 'appendonly', 'maxmemory')), '*2\r\n$10\r\nappendonly\r\n$2\r\nno\r\n');
  t.equal(replyOf(run('config', 'get', 'maxmemory')), '*0\r\n');
  t.equal(replyOf(run('config', 'get')), arity('config|get'));
  t.equal(replyOf(run('config', 'set', 'save', '')), err('ERR CONFIG SET is not supported'));
  t.equal(replyOf(run('config', 'resetstat')), err('ERR CONFIG RESETSTAT is not supported'));
  t.equal(replyOf(run('config', 'rewrite')), err('ERR CONFIG REWRITE is not supported'));
  t.equal(replyOf(run('config', 'frob')), err("ERR unknown subcommand 'frob'. Try CONFIG HELP."));
  t.equal(replyOf(run('config')), arity('config'));
  t.end();
});

t.test('the table: every key-value command once, ADDENTRY kept by the base table', (t) => {
  const names = KV_COMMANDS.map((c) => c.name).sort();
  for (const n of ['append', 'config', 'dbsize', 'decr', 'decrby', 'del', 'exists', 'flushall', 'flushdb', 'get', 'getset', 'incr', 'incrby', 'keys', 'mget', 'mset', 'scan', 'set', 'strlen', 'type', 'hset', 'lpush', 'sadd', 'zadd', 'expire'])
    t.ok(names.includes(n), n);
  t.equal(new Set(names).size, names.length, 'each once');
  t.notOk(names.some((n) => n.startsWith('__')), 'no internal command');
  for (const n of names) t.equal(COMMANDS.get(n)?.name, n);
  t.equal(COMMANDS.get('addentry')?.arity, 3);
  t.end();
});

t.test('a session through gateway and state machine, reply bytes as Redis sends them', (t) => {
  const sm = new KvStateMachine({ dedupEntriesMax: 100, dedupWindowEntries: 100 });
  let index = 0;
  const exec = (...args: string[]): string => {
    const o = run(...args);
    switch (o.kind) {
      case 'write':
        return sm.apply({ index: ++index, term: 1, kind: 'normal', tid: o.tid, data: o.data }).toString('latin1');
      case 'read':
        return sm.read(o.args).toString('latin1');
      case 'reply':
      case 'close':
        return o.reply.toString('latin1');
      case 'admin':
        throw new Error('no cluster operations in this session');
    }
  };
  const session: [string[], string][] = [
    [['SET', 'foo', 'bar'], '+OK\r\n'],
    [['GET', 'foo'], '$3\r\nbar\r\n'],
    [['SET', 'foo', 'baz', 'NX'], '$-1\r\n'],
    [['SET', 'foo', 'baz', 'XX', 'GET'], '$3\r\nbar\r\n'],
    [['APPEND', 'foo', '!!'], ':5\r\n'],
    [['STRLEN', 'foo'], ':5\r\n'],
    [['INCR', 'counter'], ':1\r\n'],
    [['INCRBY', 'counter', '10'], ':11\r\n'],
    [['DECRBY', 'counter', '20'], ':-9\r\n'],
    [['INCR', 'foo'], '-ERR value is not an integer or out of range\r\n'],
    [['MSET', 'a', '1', 'b', '2'], '+OK\r\n'],
    [['MGET', 'a', 'b', 'nope'], '*3\r\n$1\r\n1\r\n$1\r\n2\r\n$-1\r\n'],
    [['EXISTS', 'a', 'a', 'nope'], ':2\r\n'],
    [['TYPE', 'a'], '+string\r\n'],
    [['TYPE', 'nope'], '+none\r\n'],
    [['KEYS', '[ab]'], '*2\r\n$1\r\na\r\n$1\r\nb\r\n'],
    [['DBSIZE'], ':4\r\n'],
    [['DEL', 'a', 'b', 'nope'], ':2\r\n'],
    [['GETSET', 'counter', '0'], '$2\r\n-9\r\n'],
    [['SET', 'big', '9223372036854775807'], '+OK\r\n'],
    [['INCR', 'big'], '-ERR increment or decrement would overflow\r\n'],
    [['REQ', 'once', 'INCR', 'counter'], ':1\r\n'],
    [['REQ', 'once', 'INCR', 'counter'], ':1\r\n'],
    [['GET', 'counter'], '$1\r\n1\r\n'],
    [['ADDENTRY', 't1', 'hello'], ''], // its own index: checked below
    [['SCAN', '0', 'COUNT', '100'], '*2\r\n$1\r\n0\r\n*3\r\n$3\r\nbig\r\n$7\r\ncounter\r\n$3\r\nfoo\r\n'],
    [['FLUSHALL'], '+OK\r\n'],
    [['DBSIZE'], ':0\r\n'],
  ];
  for (const [args, want] of session) {
    if (args[0] === 'ADDENTRY') {
      const next = index + 1;
      t.equal(exec(...args), `:${next}\r\n`, args.join(' '));
      continue;
    }
    if (args[0] === 'SCAN') {
      // Hash order: compare as a set of keys.
      const got = exec(...args);
      t.match(got, /^\*2\r\n\$1\r\n0\r\n\*3\r\n/, args.join(' '));
      for (const k of ['big', 'counter', 'foo']) t.ok(got.includes(`$${k.length}\r\n${k}\r\n`), `SCAN has ${k}`);
      t.equal(got.length, want.length);
      continue;
    }
    t.equal(exec(...args), want, args.join(' '));
  }
  t.end();
});
