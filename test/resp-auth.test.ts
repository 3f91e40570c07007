// Client authentication as pure code: the ACL file syntax, Redis' requirepass, NOAUTH
// before AUTH, WRONGPASS and its per-connection back-off, HELLO AUTH, and the
// read/write/admin rights checked before and after a command is dispatched.
import t from 'tap';
import { createHash } from 'node:crypto';
import { buildAcl, loadAcl, OPEN_ACL, parseAcl } from '../lib/resp/acl.js';
import { AUTH_FAILURES_FREE, AUTH_FAILURES_MAX, AuthSession, NOAUTH, WRONGPASS } from '../lib/resp/auth.js';
import { COMMANDS, dispatch, type CommandEnv, type CommandOutcome } from '../lib/resp/commands.js';

const b = (...words: string[]) => words.map((w) => Buffer.from(w));
const env: CommandEnv = { status: null, client: { id: 1, name: null }, facts: () => { throw new Error('no facts'); } };

/** What a connection would answer: the gate's reply, or the dispatched command's outcome after permit. */
function run(s: AuthSession, nowMs: number, ...words: string[]): string {
  const args = b(...words);
  const out: CommandOutcome = s.gate(args, nowMs) ?? s.permit(args, dispatch(COMMANDS, env, args));
  return out.kind === 'reply' || out.kind === 'close' ? `${out.kind === 'close' ? 'close:' : ''}${out.reply.toString().trim()}` : out.kind;
}

const ACL_TEXT = [
  '# users',
  'user admin on >adminpw ~* +@all',
  `user app on #${createHash('sha256').update('apppw').digest('hex')} ~* +@read +@write`,
  'user report on >r1 >r2 ~* +@read',
  'user gone off >gonepw ~* +@all',
  '',
].join('\n');

t.test('no password, no users: everything runs, AUTH says no password is set', async (t) => {
  const s = new AuthSession(OPEN_ACL);
  t.equal(run(s, 0, 'PING'), '+PONG');
  t.equal(run(s, 0, 'SET', 'k', 'v'), 'write');
  t.equal(run(s, 0, 'FLUSHDB'), 'write');
  t.match(run(s, 0, 'AUTH', 'x'), /called without any password configured/);
  t.equal(run(s, 0, 'AUTH', 'default', 'anything'), '+OK', 'the nopass default user takes any password');
});

t.test('requirepass: NOAUTH before AUTH, except AUTH, HELLO AUTH and QUIT', async (t) => {
  const s = new AuthSession(buildAcl(null, Buffer.from('s3cret')));
  for (const cmd of [['PING'], ['GET', 'k'], ['SET', 'k', 'v'], ['INFO'], ['ECHO', 'x'], ['CLIENT', 'ID'], ['REQ', 'r1', 'SET', 'k', 'v'], ['FLUSHDB']]) {
    t.equal(run(s, 0, ...cmd), `-${NOAUTH}`, `${cmd[0]} refused`);
  }
  // As in Redis, an unknown command or a wrong arity is reported before authentication.
  t.match(run(s, 0, 'NOSUCHCMD'), /^-ERR unknown command 'NOSUCHCMD'/);
  t.equal(run(s, 0, 'GET'), "-ERR wrong number of arguments for 'get' command");
  t.match(run(s, 0, 'HELLO', '2'), /^-NOAUTH HELLO must be called/);
  t.equal(run(s, 0, 'AUTH', 'wrong'), `-${WRONGPASS}`);
  t.equal(run(s, 0, 'AUTH'), "-ERR wrong number of arguments for 'auth' command");
  t.equal(run(s, 0, 'AUTH', 'a', 'b', 'c'), '-ERR syntax error');
  t.equal(run(s, 0, 'AUTH', 's3cret'), '+OK');
  t.equal(s.userName, 'default');
  t.equal(run(s, 0, 'PING'), '+PONG');
  t.equal(run(s, 0, 'FLUSHDB'), 'write', 'the requirepass user is an admin');
  t.equal(run(new AuthSession(buildAcl(null, Buffer.from('s3cret'))), 0, 'QUIT'), 'close:+OK');
  t.equal(run(new AuthSession(buildAcl(null, Buffer.from('s3cret'))), 0, 'AUTH', 'default', 's3cret'), '+OK', 'AUTH default <pw> works too');
});

t.test('HELLO AUTH logs in and then answers HELLO', async (t) => {
  const acl = loadAcl(null, null);
  t.equal(acl, OPEN_ACL);
  const s = new AuthSession(buildAcl(parseAcl(ACL_TEXT, 'acl'), null));
  t.equal(run(s, 0, 'HELLO', '2', 'AUTH', 'report', 'bad'), `-${WRONGPASS}`);
  t.match(run(s, 0, 'HELLO', '2', 'AUTH', 'report', 'r2', 'SETNAME', 'x'), /^\*14/);
  t.equal(s.userName, 'report');
  t.equal(env.client.name, 'x');
});

t.test('ACL users: read-only, read-write and admin rights; disabled users', async (t) => {
  const acl = buildAcl(parseAcl(ACL_TEXT, 'acl'), null);
  t.equal(acl.authRequired, true, 'no default user in the file: every connection must AUTH');
  const report = new AuthSession(acl);
  t.equal(run(report, 0, 'AUTH', 'report', 'r1'), '+OK');
  t.equal(run(report, 0, 'GET', 'k'), 'read');
  t.equal(run(report, 0, 'DBSIZE'), 'read');
  t.equal(run(report, 0, 'SET', 'k', 'v'), "-NOPERM User report has no permissions to run the 'set' command");
  t.equal(run(report, 0, 'REQ', 'r1', 'INCR', 'k'), "-NOPERM User report has no permissions to run the 'incr' command");
  t.equal(run(report, 0, 'ADDENTRY', 't', 'x'), "-NOPERM User report has no permissions to run the 'addentry' command");
  t.equal(run(report, 0, 'FLUSHDB'), "-NOPERM User report has no permissions to run the 'flushdb' command");

  const app = new AuthSession(acl);
  t.equal(run(app, 0, 'AUTH', 'app', 'apppw'), '+OK', 'a #sha256 password');
  t.equal(run(app, 0, 'SET', 'k', 'v'), 'write');
  t.equal(run(app, 0, 'FLUSHDB'), "-NOPERM User app has no permissions to run the 'flushdb' command");
  t.equal(run(app, 0, 'FLUSHALL'), "-NOPERM User app has no permissions to run the 'flushall' command");
  t.equal(run(app, 0, 'CONFIG', 'GET', 'maxmemory'), "-NOPERM User app has no permissions to run the 'config' command");
  t.equal(run(app, 0, 'REQ', 'r2', 'FLUSHDB'), "-NOPERM User app has no permissions to run the 'flushdb' command");

  const admin = new AuthSession(acl);
  t.equal(run(admin, 0, 'AUTH', 'admin', 'adminpw'), '+OK');
  t.equal(run(admin, 0, 'FLUSHDB'), 'write');

  const gone = new AuthSession(acl);
  t.equal(run(gone, 0, 'AUTH', 'gone', 'gonepw'), `-${WRONGPASS}`, 'a disabled user cannot log in');
  t.equal(run(gone, 0, 'AUTH', 'nobody', 'x'), `-${WRONGPASS}`, 'an unknown user gets the same answer');
  t.equal(run(gone, 0, 'AUTH', 'adminpw'), `-${WRONGPASS}`, 'no default user');
});

t.test('wrong passwords are rate-limited per connection, then the connection is closed', async (t) => {
  const s = new AuthSession(buildAcl(null, Buffer.from('pw')));
  let now = 1000;
  for (let i = 0; i < AUTH_FAILURES_FREE; i++) t.equal(run(s, now, 'AUTH', 'bad'), `-${WRONGPASS}`);
  t.match(run(s, now, 'AUTH', 'pw'), /^-ERR too many failed AUTH attempts on this connection; retry in \d+ ms/, 'even the right password waits out the delay');
  now += 10_000;
  t.equal(run(s, now, 'AUTH', 'pw'), '+OK', 'after the delay the right password works');
  // Keep failing: the delay grows, and the connection is closed at the bound.
  let last = '';
  for (let i = 0; i < AUTH_FAILURES_MAX; i++) {
    now += 20_000;
    last = run(s, now, 'AUTH', 'bad');
    if (last.startsWith('close:')) break;
  }
  t.equal(last, `close:-${WRONGPASS}`);
  t.equal(run(new AuthSession(buildAcl(null, Buffer.from('pw'))), 0, 'AUTH', 'pw'), '+OK', 'another connection is not affected');
});

t.test('ACL file errors name the line, never a password', async (t) => {
  const cases: [string, RegExp][] = [
    ['user a on >hunter2 ~* +@read\nuser a on >hunter2 ~* +@read', /acl:2: user a is defined twice/],
    ['user a on >hunter2 +@read', /needs ~\*/],
    ['user a on >hunter2 ~*', /needs \+@read/],
    ['user a on ~* +@read', /on but has no password/],
    ['user a on >hunter2 ~foo:* +@read', /only ~\* is supported/],
    ['user a on >hunter2 ~* -@all', /unsupported rule "-@all"/],
    ['user a on <hunter2 ~* +@read', /unsupported rule word 4/],
    ['user a on #abc ~* +@read', /64 hex digits/],
    ['alice on >hunter2', /a line must read/],
  ];
  for (const [text, re] of cases) {
    t.throws(() => parseAcl(text, 'acl'), { code: 'RAFTD_CONFIG', message: re }, String(re));
    try {
      parseAcl(text, 'acl');
    } catch (err) {
      t.notMatch((err as Error).message, /hunter2/, 'no password in the message');
    }
  }
  t.throws(() => buildAcl(parseAcl('user default on >x ~* +@all', 'acl'), Buffer.from('y')), { code: 'RAFTD_CONFIG' });
  const withDefault = buildAcl(parseAcl('user default on nopass ~* +@read', 'acl'), null);
  t.equal(withDefault.authRequired, false, 'a passwordless default user in the file: no AUTH needed');
  const s = new AuthSession(withDefault);
  t.equal(run(s, 0, 'GET', 'k'), 'read');
  t.equal(run(s, 0, 'SET', 'k', 'v'), "-NOPERM User default has no permissions to run the 'set' command");
});

t.test('client bounds: which connections count as stuck', async (t) => {
  const { ClientGuard } = await import('../lib/security/client-port.js');
  const g = new ClientGuard({ requirepassFile: null, aclFile: null, tls: null, plainClientPort: 0, maxClients: 5, idleFrameTimeoutMs: 1000 });
  t.equal(g.maxClients, 5);
  t.ok(g.stuck({ lastInputMs: 0, commandsRun: 0, bufferedBytes: 0 }, 1000), 'silent since it connected');
  t.ok(g.stuck({ lastInputMs: 0, commandsRun: 3, bufferedBytes: 10 }, 1000), 'holding part of a command');
  t.notOk(g.stuck({ lastInputMs: 0, commandsRun: 3, bufferedBytes: 0 }, 5000), 'idle between commands');
  t.notOk(g.stuck({ lastInputMs: 500, commandsRun: 0, bufferedBytes: 10 }, 1000), 'not yet');
  const never = new ClientGuard({ requirepassFile: null, aclFile: null, tls: null, plainClientPort: 0, maxClients: 5, idleFrameTimeoutMs: 0 });
  t.notOk(never.stuck({ lastInputMs: 0, commandsRun: 0, bufferedBytes: 10 }, 1e9), '0 turns the sweep off');
  t.same(g.noteRefusal('refused', '10.0.0.1:5', 0), { log: true, suppressed: 0 });
  t.same(g.noteRefusal('protocol', '10.0.0.1:6', 1), { log: true, suppressed: 0 }, 'kinds are counted apart');
  t.same(g.noteRefusal('refused', '10.0.0.1:7', 2), { log: false, suppressed: 0 });
});
