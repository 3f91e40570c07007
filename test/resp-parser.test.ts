import { seededRandom } from '../lib/node/random.js';
import t from 'tap';
import { RespProtocolError } from '../lib/resp/errors.js';
import { parseInteger, RespParser, type RespParserLimits } from '../lib/resp/parser.js';
import { splitArgs } from '../lib/resp/split-args.js';
import { ReplyParser, RespError } from '../lib/resp/reply-parser.js';
import * as w from '../lib/util/resp-writer.js';
import { formatReply } from '../lib/client/resp-client.js';

const LIMITS: RespParserLimits = { bulkBytesMax: 1024, argsMax: 16, inlineBytesMax: 64, commandBytesMax: 2048 };

function strs(cmd: Buffer[] | null): string[] | null {
  return cmd === null ? null : cmd.map((b) => b.toString('latin1'));
}

/** Feeds everything and returns every command, as latin1 strings. */
function parseAll(input: string | Buffer, limits = LIMITS): string[][] {
  const p = new RespParser(limits);
  p.feed(typeof input === 'string' ? Buffer.from(input, 'latin1') : input);
  const out: string[][] = [];
  for (let c = p.next(); c !== null; c = p.next()) out.push(strs(c)!);
  return out;
}

function protocolError(input: string, limits = LIMITS): string {
  try {
    parseAll(input, limits);
  } catch (err) {
    if (err instanceof RespProtocolError) return err.message;
    throw err;
  }
  return '(no error)';
}

t.test('multibulk requests as redis-cli sends them', async (t) => {
  t.same(parseAll('*1\r\n$4\r\nPING\r\n'), [['PING']]);
  t.same(parseAll('*3\r\n$8\r\nADDENTRY\r\n$2\r\nt1\r\n$5\r\nhello\r\n'), [['ADDENTRY', 't1', 'hello']]);
  t.same(parseAll('*2\r\n$4\r\nECHO\r\n$0\r\n\r\n'), [['ECHO', '']], 'empty bulk');
  t.same(parseAll('*0\r\n*-1\r\n*1\r\n$4\r\nPING\r\n'), [['PING']], '*0 and *-1 are skipped like Redis');
});

t.test('binary-safe bulk strings', async (t) => {
  const bin = Buffer.from([0, 1, 2, 13, 10, 255, 36, 42, 0]);
  const frame = Buffer.concat([Buffer.from(`*2\r\n$4\r\nECHO\r\n$${bin.length}\r\n`), bin, Buffer.from('\r\n')]);
  const p = new RespParser(LIMITS);
  p.feed(frame);
  const cmd = p.next()!;
  t.same(cmd[1], bin);
  t.equal(p.next(), null);
  t.equal(p.bufferedBytes, 0);
});

t.test('inline commands with Redis quoting', async (t) => {
  t.same(parseAll('PING\r\n'), [['PING']]);
  t.same(parseAll('PING\n'), [['PING']], 'a bare LF ends the line too');
  t.same(parseAll('  ADDENTRY   t1\thello  \r\n'), [['ADDENTRY', 't1', 'hello']]);
  t.same(parseAll('\r\n\n   \r\nPING\r\n'), [['PING']], 'empty lines are skipped');
  t.same(parseAll('ECHO "hello world"\r\n'), [['ECHO', 'hello world']]);
  t.same(parseAll("ECHO 'it''s'\r\n".replace("''", "\\'")), [['ECHO', "it's"]], "\\' inside single quotes");
  t.same(parseAll('ECHO "a\\nb\\r\\t\\x41\\x4a\\"q\\\\"\r\n'), [['ECHO', 'a\nb\r\tAJ"q\\']], 'double-quote escapes');
  t.same(parseAll("ECHO 'a\\nb'\r\n"), [['ECHO', 'a\\nb']], 'no escapes in single quotes');
  t.same(parseAll('ECHO "\\xzz"\r\n'), [['ECHO', 'xzz']], 'a bad \\x escape is the letter x');
  t.same(parseAll('ECHO ""\r\n'), [['ECHO', '']], 'empty quoted argument');
  t.same(parseAll('ECHO foo"bar baz"\r\n'), [['ECHO', 'foobar baz']], 'a quote inside a word opens quoting, as in Redis');
  t.same(parseAll('ECHO "\\xff"\r\n').map((c) => c.map((s) => Buffer.from(s, 'latin1'))), [[Buffer.from('ECHO'), Buffer.from([0xff])]]);
  t.same(strs(splitArgs(Buffer.from('a "b c" \'d e\''))), ['a', 'b c', 'd e']);
});

t.test('unbalanced quotes', async (t) => {
  const msg = 'Protocol error: unbalanced quotes in request';
  t.equal(protocolError('ECHO "abc\r\n'), msg);
  t.equal(protocolError("ECHO 'abc\r\n"), msg);
  t.equal(protocolError('ECHO "abc"def\r\n'), msg, 'closing quote must be followed by a space');
  t.equal(protocolError("ECHO 'abc'def\r\n"), msg);
  t.equal(protocolError('ECHO "abc\\"\r\n'), msg, 'escaped closing quote');
});

t.test('pipelines: many commands in one chunk, mixed forms', async (t) => {
  const one = '*2\r\n$4\r\nECHO\r\n$3\r\nabc\r\n';
  t.same(parseAll(one.repeat(100)).length, 100);
  t.same(parseAll(`PING\r\n${one}ECHO x\r\n*1\r\n$4\r\nPING\r\n`), [['PING'], ['ECHO', 'abc'], ['ECHO', 'x'], ['PING']]);
});

t.test('byte-by-byte feeding gives the same commands', async (t) => {
  const bin = Buffer.alloc(700, 7);
  const input = Buffer.concat([
    Buffer.from('*3\r\n$8\r\nADDENTRY\r\n$2\r\nt1\r\n$700\r\n'),
    bin,
    Buffer.from('\r\nECHO "a b"\r\n*1\r\n$4\r\nPING\r\nPING\n'),
  ]);
  const whole = parseAll(input);
  const p = new RespParser(LIMITS);
  const got: string[][] = [];
  for (const byte of input) {
    p.feed(Buffer.from([byte]));
    for (let c = p.next(); c !== null; c = p.next()) got.push(strs(c)!);
  }
  t.same(got, whole);
  t.equal(got.length, 4);
  t.equal(got[0]![2]!.length, 700);
  t.equal(p.bufferedBytes, 0);
});

t.test('random split points give the same commands', async (t) => {
  const rnd = prng(42);
  const input = Buffer.from('*3\r\n$8\r\nADDENTRY\r\n$2\r\nt1\r\n$5\r\nhello\r\nPING\r\nECHO \'x y\'\r\n'.repeat(20), 'latin1');
  const whole = parseAll(input);
  for (let round = 0; round < 50; round++) {
    const p = new RespParser(LIMITS);
    const got: string[][] = [];
    let at = 0;
    while (at < input.length) {
      const n = 1 + Math.floor(rnd() * 40);
      p.feed(input.subarray(at, at + n));
      at += n;
      for (let c = p.next(); c !== null; c = p.next()) got.push(strs(c)!);
    }
    t.same(got, whole, `round ${round}`);
  }
});

t.test('malformed frames give Redis error wording', async (t) => {
  t.equal(protocolError('*1\r\nPING\r\n'), "Protocol error: expected '$', got 'P'");
  t.equal(protocolError('*2\r\n$4\r\nECHO\r\n:1\r\n'), "Protocol error: expected '$', got ':'");
  t.equal(protocolError('*1\r\n$-1\r\n'), 'Protocol error: invalid bulk length');
  t.equal(protocolError('*1\r\n$abc\r\n'), 'Protocol error: invalid bulk length');
  t.equal(protocolError('*1\r\n$01\r\nx\r\n'), 'Protocol error: invalid bulk length', 'leading zeros are invalid (string2ll)');
  t.equal(protocolError('*1\r\n$1025\r\n'), 'Protocol error: invalid bulk length', 'bulk over bulkBytesMax');
  t.equal(protocolError('*x\r\n'), 'Protocol error: invalid multibulk length');
  t.equal(protocolError('*17\r\n'), 'Protocol error: invalid multibulk length', 'more args than argsMax');
  t.equal(protocolError('*1\r\n$4\r\nPINGxx'), 'Protocol error: invalid bulk terminator');
  t.equal(protocolError('*1\rx'), 'Protocol error: invalid multibulk length', 'CR not followed by LF');
  t.equal(protocolError('*' + '1'.repeat(40)), 'Protocol error: too big mbulk count string');
  t.equal(protocolError('*1\r\n$' + '1'.repeat(40)), 'Protocol error: too big bulk count string');
  t.equal(protocolError('P'.repeat(65)), 'Protocol error: too big inline request');
  t.equal(protocolError('P'.repeat(65) + '\r\n'), 'Protocol error: too big inline request', 'a complete line over the bound too');
  t.equal(protocolError('P'.repeat(62) + '\r\n'), '(no error)', 'a line at the bound is fine');
  t.equal(
    protocolError('*3\r\n$1\r\na\r\n$1024\r\n' + 'x'.repeat(1024) + '\r\n$1024\r\n'),
    'Protocol error: too big request',
    'all arguments together over commandBytesMax',
  );
  t.equal(protocolError('*1\r\n$1024\r\n' + 'x'.repeat(1024) + '\r\n'), '(no error)', 'a bulk at the bound is fine');
});

t.test('the error is sticky and typed', async (t) => {
  const p = new RespParser(LIMITS);
  p.feed(Buffer.from('PING\r\n*1\r\nX'));
  t.same(strs(p.next()), ['PING'], 'commands before the bad frame come out first');
  t.throws(() => p.next(), RespProtocolError);
  p.feed(Buffer.from('PING\r\n'));
  t.throws(() => p.next(), { code: 'RAFTD_FRAME_MALFORMED' }, 'later calls fail the same way');
  const big = new RespParser(LIMITS);
  big.feed(Buffer.from('*1\r\n$9999\r\n'));
  t.throws(() => big.next(), { code: 'RAFTD_FRAME_TOO_LARGE', message: 'Protocol error: invalid bulk length' });
});

t.test('an incomplete frame waits, bounded', async (t) => {
  const p = new RespParser(LIMITS);
  p.feed(Buffer.from('*2\r\n$4\r\nECHO\r\n$1000\r\n'));
  t.equal(p.next(), null);
  p.feed(Buffer.alloc(999, 97));
  t.equal(p.next(), null);
  p.feed(Buffer.from('a\r'));
  t.equal(p.next(), null, 'needs the final LF');
  p.feed(Buffer.from('\n'));
  t.equal(p.next()![1]!.length, 1000);
});

t.test('random garbage only ever raises the typed protocol error', async (t) => {
  const rnd = prng(0xc0ffee);
  const alphabet = Buffer.from('*$:+-\r\n0123456789 "\'\\xaPINGECHO', 'latin1');
  let errors = 0;
  let commands = 0;
  for (let round = 0; round < 3000; round++) {
    const len = Math.floor(rnd() * 200);
    const buf = Buffer.alloc(len);
    for (let i = 0; i < len; i++) buf[i] = rnd() < 0.7 ? alphabet[Math.floor(rnd() * alphabet.length)]! : Math.floor(rnd() * 256);
    const p = new RespParser(LIMITS);
    try {
      let at = 0;
      while (at < len) {
        const n = 1 + Math.floor(rnd() * 16);
        p.feed(buf.subarray(at, at + n));
        at += n;
        for (let c = p.next(); c !== null; c = p.next()) {
          commands++;
          if (c.length === 0 || c.length > LIMITS.argsMax) throw new Error('bad command shape');
        }
      }
    } catch (err) {
      if (!(err instanceof RespProtocolError)) {
        t.fail(`round ${round}: ${String(err)} on ${buf.toString('hex')}`);
        return;
      }
      t.match(err.message, /^Protocol error: /);
      errors++;
    }
  }
  t.ok(errors > 0 && commands > 0, `saw ${errors} errors and ${commands} commands`);
});

t.test('parseInteger follows string2ll', async (t) => {
  const p = (s: string) => parseInteger(Buffer.from(s));
  t.equal(p('0'), 0);
  t.equal(p('123'), 123);
  t.equal(p('-5'), -5);
  for (const bad of ['', '-', '-0', '01', '+1', '1a', ' 1', '99999999999999999999']) t.equal(p(bad), null, `'${bad}'`);
});

t.test('writer encodes every reply type, and the reply parser reads them back', async (t) => {
  t.equal(w.simple('OK').toString(), '+OK\r\n');
  t.equal(w.error('ERR a\r\nb').toString(), '-ERR a  b\r\n', 'errors stay on one line');
  t.equal(w.integer(-42).toString(), ':-42\r\n');
  t.equal(w.bulk('héllo').toString(), '$6\r\nhéllo\r\n');
  t.equal(w.bulk(null).toString(), '$-1\r\n');
  t.equal(w.array([w.integer(1), w.bulk('a')]).toString(), '*2\r\n:1\r\n$1\r\na\r\n');
  t.equal(w.array(null).toString(), '*-1\r\n');
  t.equal(w.request(['SET', 'k', 1]).toString(), '*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\n1\r\n');
  t.throws(() => w.integer(1.5));

  const all = Buffer.concat([
    w.OK,
    w.error('NOTLEADER leader is n2 at 127.0.0.1:6102'),
    w.integer(7),
    w.bulk(Buffer.from([0, 13, 10])),
    w.NULL_BULK,
    w.array([w.bulk('a'), w.array([w.integer(1)]), w.EMPTY_ARRAY]),
    w.NULL_ARRAY,
  ]);
  const rp = new ReplyParser();
  const got: unknown[] = [];
  for (const byte of all) {
    rp.feed(Buffer.from([byte]));
    for (let v = rp.next(); v !== undefined; v = rp.next()) got.push(v);
  }
  t.equal(got.length, 7);
  t.equal(got[0], 'OK');
  t.ok(got[1] instanceof RespError);
  t.equal((got[1] as RespError).code, 'NOTLEADER');
  t.equal(got[2], 7);
  t.same(got[3], Buffer.from([0, 13, 10]));
  t.equal(got[4], null);
  t.same(got[5], [Buffer.from('a'), [1], []]);
  t.equal(got[6], null);
});

t.test('formatReply prints like redis-cli', async (t) => {
  const hello = [Buffer.from('server'), Buffer.from('raftd'), Buffer.from('proto'), 2, Buffer.from('modules'), []];
  t.equal(formatReply(5, { tty: true }), '(integer) 5');
  t.equal(formatReply(5, { tty: false }), '5');
  t.equal(formatReply('PONG', { tty: true }), 'PONG');
  t.equal(formatReply(Buffer.from('a"b\n\x01'), { tty: true }), '"a\\"b\\n\\x01"');
  t.equal(formatReply(Buffer.from('a b'), { tty: false }), 'a b');
  t.equal(formatReply(null, { tty: true }), '(nil)');
  t.equal(formatReply(null, { tty: false }), '');
  t.equal(formatReply(new RespError('ERR x'), { tty: true }), '(error) ERR x');
  t.equal(formatReply(new RespError('ERR x'), { tty: false }), 'ERR x\n');
  t.equal(formatReply([], { tty: true }), '(empty array)');
  t.equal(formatReply(hello, { tty: true }), '1) "server"\n2) "raftd"\n3) "proto"\n4) (integer) 2\n5) "modules"\n6) (empty array)');
  t.equal(formatReply(hello, { tty: false }), 'server\nraftd\nproto\n2\nmodules\n');
  const nested = Array.from({ length: 10 }, (_, i) => (i === 9 ? [Buffer.from('x'), [1, 2]] : i));
  t.equal(
    formatReply(nested, { tty: true }).split('\n').slice(8).join('\n'),
    ' 9) (integer) 8\n10) 1) "x"\n    2) 1) (integer) 1\n       2) (integer) 2',
    'nested arrays indent under their index',
  );
});

/** Seeded, so a failing round replays. */
const prng = seededRandom;
