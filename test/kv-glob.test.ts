// Redis' glob (stringmatchlen): wildcards, classes, ranges, escapes and its quirks.
import t from 'tap';
import { globMatch, globMatchLatin1, keyMatcher } from '../lib/kv/glob.js';

const cases: [string, string, boolean][] = [
  ['*', 'anything', true],
  ['*', '', false], // stringmatchlen itself; KEYS and SCAN special-case a lone '*'
  ['', '', true],
  ['', 'a', false],
  ['h?llo', 'hello', true],
  ['h?llo', 'hallo', true],
  ['h?llo', 'hllo', false],
  ['h*llo', 'hllo', true],
  ['h*llo', 'heeeello', true],
  ['h*llo', 'hello world', false],
  ['h[ae]llo', 'hello', true],
  ['h[ae]llo', 'hallo', true],
  ['h[ae]llo', 'hillo', false],
  ['h[^e]llo', 'hallo', true],
  ['h[^e]llo', 'hello', false],
  ['h[a-b]llo', 'hallo', true],
  ['h[a-b]llo', 'hbllo', true],
  ['h[a-b]llo', 'hcllo', false],
  ['h[b-a]llo', 'hallo', true], // a reversed range is swapped
  ['h[^a-c]llo', 'hbllo', false],
  ['h[^a-c]llo', 'hdllo', true],
  ['[a-cx-z]', 'y', true],
  ['[a-cx-z]', 'm', false],
  ['h\\*llo', 'h*llo', true],
  ['h\\*llo', 'hello', false],
  ['\\?', '?', true],
  ['\\?', 'a', false],
  ['\\\\', '\\', true],
  ['a\\', 'a\\', true], // a trailing backslash is literal
  ['[\\]]', ']', true],
  ['[\\^a]', '^', true],
  ['[\\-]', '-', true],
  ['[\\-]', 'a', false],
  ['[a-]', ']', true], // Redis quirk: the range a..']' (swapped to ']'..'a')
  ['[a-]', '_', true],
  ['[a-]', '-', false],
  ['[abc', 'b', true], // unclosed: the class runs to the end of the pattern
  ['[abc', 'd', false],
  ['[', 'a', false],
  ['[^', 'a', true],
  ['[]', 'a', false],
  ['a*', 'a', true],
  ['a**', 'a', true],
  ['a*b*', 'ab', true],
  ['*a*b', 'xaxxb', true],
  ['*a*b', 'xaxxbx', false],
  ['**a', 'a', true],
  ['?', '', false],
  ['user:*:name', 'user:42:name', true],
  ['user:*:name', 'user:42:mail', false],
];

t.test('patterns', (t) => {
  for (const [p, s, want] of cases) t.equal(globMatchLatin1(p, s), want, `${JSON.stringify(p)} ~ ${JSON.stringify(s)}`);
  t.end();
});

t.test('bytes: NUL and high bytes are ordinary characters, compared unsigned', (t) => {
  t.ok(globMatch(Buffer.from([0x61, 0x00, 0x2a]), Buffer.from([0x61, 0x00, 0xff, 0xfe])));
  t.notOk(globMatch(Buffer.from([0x61, 0x00]), Buffer.from([0x61, 0x01])));
  t.ok(globMatch(Buffer.from('[\x80-\xff]', 'latin1'), Buffer.from([0xc3])));
  t.notOk(globMatch(Buffer.from('[\x80-\xff]', 'latin1'), Buffer.from([0x7f])));
  t.ok(globMatch(Buffer.from('?'), Buffer.from([0xe9])), '? is one byte');
  t.notOk(globMatch(Buffer.from('?'), Buffer.from('é', 'utf8')), 'not one character');
  t.end();
});

t.test('keyMatcher: a lone * matches every key, the empty one included', (t) => {
  t.ok(keyMatcher('*')(''));
  t.ok(keyMatcher('*')('x'));
  t.notOk(keyMatcher('?*')(''));
  t.ok(keyMatcher('k?')('k1'));
  t.end();
});

t.test('backtracking stays cheap on hostile patterns', (t) => {
  const start = process.hrtime.bigint();
  t.notOk(globMatchLatin1('a*'.repeat(30) + 'b', 'a'.repeat(200)));
  t.notOk(globMatchLatin1('*a*a*a*a*a*a*a*a*a*a*a*a*b', 'a'.repeat(5000)));
  t.ok(Number(process.hrtime.bigint() - start) / 1e6 < 2000, 'well under a second or two');
  t.ok(globMatchLatin1('*a*a*a*b', 'xxaxxaxxaxxb'));
  t.end();
});
