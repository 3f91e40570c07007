// One argument splitter for the server's inline commands and the netcat-style client,
// with Redis' sdssplitargs semantics (the cases below are what redis-server 7 does with
// the same inline line), and the server's parser agreeing with it byte for byte.
import t from 'tap';
import { RespParser, parserLimits } from '../lib/resp/parser.js';
import { splitArgs } from '../lib/resp/split-args.js';

const words = (line: string | Buffer) => splitArgs(line)?.map((b) => b.toString('latin1')) ?? null;

/** What the server's RESP parser makes of `line` sent as an inline command. */
function serverArgs(line: Buffer): string[] | 'error' {
  const p = new RespParser(parserLimits(1 << 20));
  p.feed(Buffer.concat([line, Buffer.from('\r\n')]));
  try {
    return (p.next() ?? []).map((b) => b.toString('latin1'));
  } catch {
    return 'error';
  }
}

const CASES: [string, string | Buffer, string[] | null][] = [
  ['blank', ' \t\x0b\x0c ', []],
  ['words', 'SET a 1', ['SET', 'a', '1']],
  ['double quotes and escapes', 'SET k "a\\nb\\r\\t\\b\\a\\"\\\\\\q"', ['SET', 'k', 'a\nb\r\t\b\x07"\\q']],
  ['hex escapes, any byte', 'SET k "\\x00\\x41\\xfF"', ['SET', 'k', '\x00A\xff']],
  ['a bad hex escape is the letter x', 'SET k "\\xg1"', ['SET', 'k', 'xg1']],
  ['single quotes: only \\\' escapes', "SET k 'a\\'b\\n'", ['SET', 'k', "a'b\\n"]],
  ['a quote inside a word opens quoting', 'SET k a"b c"', ['SET', 'k', 'ab c']],
  ['empty quoted', 'SET k ""', ['SET', 'k', '']],
  ['closing quote then \\v is fine', 'SET "k"\x0bv', ['SET', 'k', 'v']],
  ['\\v and \\f do not end a word', 'SET k\x0bx\x0cy v', ['SET', 'k\x0bx\x0cy', 'v']],
  ['closing quote glued to a word', 'SET k "v"x', null],
  ['unterminated double', 'SET k "v', null],
  ['unterminated single', "SET k 'v", null],
  ['a backslash at the very end inside quotes', 'SET k "v\\', null],
  // The line is a C string in Redis: a NUL ends it.
  ['NUL ends the line', Buffer.from('SET k v\x00 ignored "', 'latin1'), ['SET', 'k', 'v']],
  ['NUL inside a word cuts it', Buffer.from('SET k ab\x00cd', 'latin1'), ['SET', 'k', 'ab']],
  ['NUL inside quotes is an unterminated quote', Buffer.from('SET k "ab\x00cd"', 'latin1'), null],
  ['NUL first: an empty line', Buffer.from('\x00SET k v', 'latin1'), []],
];

t.test('sdssplitargs semantics', async (t) => {
  for (const [what, line, expected] of CASES) t.same(words(line), expected, what);
});

t.test('the server parser splits inline commands with the same function', async (t) => {
  for (const [what, line, expected] of CASES) {
    const buf = typeof line === 'string' ? Buffer.from(line, 'latin1') : line;
    if (buf.includes(0x0a) || buf.includes(0x0d)) continue; // a line break ends the inline command first
    const got = serverArgs(buf);
    if (expected === null) t.equal(got, 'error', what);
    else if (expected.length === 0) t.same(got, [], what);
    else t.same(got, expected, what);
  }
});

t.test('text is UTF-8; arguments are bytes', async (t) => {
  t.same(splitArgs('SET k é')![2], Buffer.from('é', 'utf8'));
  t.same(splitArgs('SET k "\\xff"')![2], Buffer.from([0xff]));
});
