// The best proof of "replies exactly as Redis": the same random command sequences run
// against a real redis-server (installed by test/install-deps.sh) and against the state
// machine, reply by reply. Replies whose order Redis leaves to its hash tables (SMEMBERS,
// KEYS, ...) are compared sorted; commands whose reply depends on chance or on the
// millisecond (SPOP, PTTL) are covered by unit tests instead.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import * as net from 'node:net';
import { encodeWrite } from '../lib/kv/entry-codec.js';
import { KV_TABLE } from '../lib/kv/registry.js';
import { KvStateMachine } from '../lib/kv/state-machine.js';
import { COMMANDS, dispatch, type CommandEnv } from '../lib/resp/commands.js';
import { Transaction } from '../lib/resp/transaction.js';
import { request } from '../lib/util/resp-writer.js';
import { freePort } from './helpers/ports.js';
import { waitFor } from './helpers/wait.js';
import { Prng } from './sim/prng.js';

const SEQUENCES = Number(process.env.KV_DIFF_SEQUENCES ?? 6);
const COMMANDS_PER_SEQUENCE = Number(process.env.KV_DIFF_COMMANDS ?? 600);

/** Replies compared as sorted arrays (Redis' order comes from its hash tables). */
const UNORDERED = new Set(['smembers', 'sinter', 'sunion', 'sdiff', 'keys']);

type Gen = (r: Prng) => string[];

function commandGenerators(farFutureS: number): Gen[] {
  const keys = ['s1', 's2', 'h1', 'h2', 'l1', 'l2', 'e1', 'e2', 'z1', 'z2', 'n1', 'x'];
  const k = (r: Prng): string => r.pick(keys);
  const v = (r: Prng): string => r.pick(['a', 'b', 'c', 'd', 'ab', '', '10', '-3', '7', 'xyz', '3.5', 'é']);
  const i = (r: Prng): string => String(r.int(-6, 6));
  const n = (r: Prng): string => r.pick(['0', '1', '2', '5', '-1', '-2', '9223372036854775807', '-9223372036854775808', 'x', '1.5', '']);
  const f = (r: Prng): string => r.pick(['0', '1', '0.5', '-2.25', '1.5e3', '10', 'inf', '-inf', 'nan', 'x', '+inf', '(1', '(2.5']);
  const fields = (r: Prng): string[] => Array.from({ length: r.int(1, 3) }, () => r.pick(['f1', 'f2', 'f3', 'g']));
  const lex = (r: Prng): string => r.pick(['-', '+', '[a', '(b', '[c', 'a', '(']);
  const opt = (r: Prng, os: string[]): string[] => (r.chance(0.5) ? [r.pick(os)] : []);
  return [
    // strings and keys
    (r) => ['set', k(r), v(r), ...opt(r, ['NX', 'XX', 'GET', 'KEEPTTL', 'nx', 'xx']), ...(r.chance(0.3) ? ['EX', r.pick(['100', '0', '-1', 'x'])] : [])],
    (r) => ['get', k(r)],
    (r) => ['setnx', k(r), v(r)],
    (r) => ['setex', k(r), r.pick(['100', '0', 'x']), v(r)],
    (r) => ['getset', k(r), v(r)],
    (r) => ['getdel', k(r)],
    (r) => ['getex', k(r), ...opt(r, ['PERSIST', 'BOGUS'])],
    (r) => ['getex', k(r), r.pick(['EX', 'PXAT']), r.pick(['0', 'x', '-1'])],
    (r) => ['setex', k(r), r.pick(['x', '-2']), v(r)],
    (r) => ['lpos', k(r), v(r), 'RANK', r.pick(['x', '0'])],
    (r) => ['mset', k(r), v(r), k(r), v(r)],
    (r) => ['msetnx', k(r), v(r), k(r), v(r)],
    (r) => ['mget', k(r), k(r), k(r)],
    (r) => ['append', k(r), v(r)],
    (r) => ['strlen', k(r)],
    (r) => ['incr', k(r)],
    (r) => ['decr', k(r)],
    (r) => ['incrby', k(r), n(r)],
    (r) => ['decrby', k(r), n(r)],
    (r) => ['incrby', 'fl', r.pick(['1', '-1', '5'])],
    // Floats on keys of their own: Redis adds in long double, raftd in double, so the
    // integer extremes above would differ past the 17th digit (README).
    (r) => ['incrbyfloat', 'fl', f(r)],
    (r) => ['getrange', k(r), i(r), i(r)],
    (r) => ['substr', k(r), i(r), i(r)],
    (r) => ['setrange', k(r), r.pick(['0', '2', '5', '-1', 'x']), v(r)],
    (r) => ['setbit', k(r), r.pick(['0', '7', '13', '-1', 'x']), r.pick(['0', '1', '2'])],
    (r) => ['getbit', k(r), r.pick(['0', '7', '13', '100'])],
    (r) => ['bitcount', k(r), ...(r.chance(0.5) ? [i(r), i(r), ...opt(r, ['BIT', 'BYTE', 'bogus'])] : [])],
    (r) => ['del', k(r), k(r)],
    (r) => ['unlink', k(r)],
    (r) => ['exists', k(r), k(r)],
    (r) => ['touch', k(r), k(r)],
    (r) => ['type', k(r)],
    (r) => ['rename', k(r), k(r)],
    (r) => ['renamenx', k(r), k(r)],
    (r) => ['copy', k(r), k(r), ...opt(r, ['REPLACE', 'bogus'])],
    (r) => ['keys', r.pick(['*', 's*', '?1', 'z[12]'])],
    (r) => ['dbsize'],
    // expiry (seconds far enough ahead that TTL cannot round differently)
    (r) => ['expire', k(r), r.pick(['1000', '2000', '-5', 'x']), ...opt(r, ['NX', 'XX', 'GT', 'LT', 'bogus'])],
    (r) => ['pexpire', k(r), r.pick(['1500000', '3000000']), ...opt(r, ['NX', 'XX', 'GT', 'LT'])],
    (r) => ['expireat', k(r), String(farFutureS + r.int(0, 3) * 100), ...opt(r, ['NX', 'XX', 'GT', 'LT'])],
    (r) => ['ttl', k(r)],
    (r) => ['expiretime', k(r)],
    (r) => ['persist', k(r)],
    // hashes
    (r) => ['hset', k(r), ...fields(r).flatMap((x) => [x, v(r)])],
    (r) => ['hsetnx', k(r), r.pick(['f1', 'f2']), v(r)],
    (r) => ['hget', k(r), r.pick(['f1', 'f2', 'g'])],
    (r) => ['hmget', k(r), ...fields(r)],
    (r) => ['hdel', k(r), ...fields(r)],
    (r) => ['hexists', k(r), r.pick(['f1', 'g'])],
    (r) => ['hgetall', k(r)],
    (r) => ['hkeys', k(r)],
    (r) => ['hvals', k(r)],
    (r) => ['hlen', k(r)],
    (r) => ['hstrlen', k(r), r.pick(['f1', 'g'])],
    (r) => ['hincrby', k(r), r.pick(['f1', 'n']), n(r)],
    (r) => ['hincrbyfloat', k(r), 'fl', f(r)],
    // lists
    (r) => [r.pick(['lpush', 'rpush', 'lpushx', 'rpushx']), k(r), v(r), ...(r.chance(0.5) ? [v(r)] : [])],
    (r) => [r.pick(['lpop', 'rpop']), k(r), ...(r.chance(0.4) ? [r.pick(['0', '1', '3', '-1', 'x'])] : [])],
    (r) => ['lrange', k(r), i(r), i(r)],
    (r) => ['llen', k(r)],
    (r) => ['lindex', k(r), i(r)],
    (r) => ['lset', k(r), i(r), v(r)],
    (r) => ['linsert', k(r), r.pick(['BEFORE', 'after', 'middle']), v(r), v(r)],
    (r) => ['lrem', k(r), i(r), v(r)],
    (r) => ['ltrim', k(r), i(r), i(r)],
    (r) => ['lpos', k(r), v(r), ...(r.chance(0.5) ? [r.pick(['RANK', 'COUNT', 'MAXLEN']), r.pick(['0', '1', '-1', '2', 'x'])] : [])],
    (r) => ['lmove', k(r), k(r), r.pick(['LEFT', 'RIGHT']), r.pick(['LEFT', 'RIGHT', 'UP'])],
    (r) => ['rpoplpush', k(r), k(r)],
    // sets
    (r) => ['sadd', k(r), v(r), ...(r.chance(0.5) ? [v(r)] : [])],
    (r) => ['srem', k(r), v(r), v(r)],
    (r) => ['smembers', k(r)],
    (r) => ['sismember', k(r), v(r)],
    (r) => ['smismember', k(r), v(r), v(r)],
    (r) => ['scard', k(r)],
    (r) => [r.pick(['sinter', 'sunion', 'sdiff']), k(r), k(r)],
    (r) => [r.pick(['sinterstore', 'sunionstore', 'sdiffstore']), k(r), k(r), k(r)],
    (r) => ['smove', k(r), k(r), v(r)],
    (r) => ['srandmember', k(r), r.pick(['0'])],
    // sorted sets
    (r) => ['zadd', k(r), ...opt(r, ['NX', 'XX', 'GT', 'LT', 'CH', 'INCR']), ...opt(r, ['CH', 'GT', 'XX']), f(r), v(r), ...(r.chance(0.4) ? [f(r), v(r)] : [])],
    (r) => ['zincrby', k(r), f(r), v(r)],
    (r) => ['zrem', k(r), v(r), v(r)],
    (r) => ['zscore', k(r), v(r)],
    (r) => ['zmscore', k(r), v(r), v(r)],
    (r) => ['zcard', k(r)],
    (r) => ['zcount', k(r), f(r), f(r)],
    (r) => ['zlexcount', k(r), lex(r), lex(r)],
    (r) => [r.pick(['zrank', 'zrevrank']), k(r), v(r)],
    (r) => ['zrange', k(r), i(r), i(r), ...opt(r, ['WITHSCORES', 'REV', 'LIMIT'])],
    (r) => ['zrange', k(r), f(r), f(r), 'BYSCORE', ...opt(r, ['REV', 'WITHSCORES']), ...(r.chance(0.4) ? ['LIMIT', i(r), i(r)] : [])],
    (r) => ['zrange', k(r), lex(r), lex(r), 'BYLEX', ...opt(r, ['REV', 'WITHSCORES']), ...(r.chance(0.4) ? ['LIMIT', i(r), i(r)] : [])],
    (r) => ['zrangebyscore', k(r), f(r), f(r), ...opt(r, ['WITHSCORES']), ...(r.chance(0.3) ? ['LIMIT', i(r), i(r)] : [])],
    (r) => ['zrevrangebyscore', k(r), f(r), f(r), ...opt(r, ['WITHSCORES'])],
    (r) => ['zrevrange', k(r), i(r), i(r), ...opt(r, ['WITHSCORES'])],
    (r) => ['zrangebylex', k(r), lex(r), lex(r)],
    (r) => [r.pick(['zpopmin', 'zpopmax']), k(r), ...(r.chance(0.5) ? [r.pick(['0', '1', '2', '-1'])] : [])],
    (r) => ['zscan', k(r), '0'],
    (r) => ['hscan', k(r), '0', ...opt(r, ['MATCH'])],
  ];
}

/**
 * One RESP2 reply at `pos` as text that keeps its type (+simple, -error, :int, $bulk,
 * nil, [array], sorted if asked), and where it ends; null if incomplete.
 */
function render(buf: Buffer, pos: number, sort = false): { text: string; end: number } | null {
  const eol = buf.indexOf('\r\n', pos, 'latin1');
  if (eol < 0) return null;
  const head = buf.toString('latin1', pos, eol);
  const tag = head[0];
  if (tag === '+' || tag === '-' || tag === ':') return { text: head, end: eol + 2 };
  const n = Number(head.slice(1));
  if (n < 0) return { text: 'nil', end: eol + 2 };
  if (tag === '$') {
    if (buf.length < eol + 2 + n + 2) return null;
    return { text: '$' + buf.toString('latin1', eol + 2, eol + 2 + n), end: eol + 2 + n + 2 };
  }
  if (tag !== '*') throw new Error(`bad reply ${head}`);
  const items: string[] = [];
  let at = eol + 2;
  for (let i = 0; i < n; i++) {
    const r = render(buf, at);
    if (r === null) return null;
    items.push(r.text);
    at = r.end;
  }
  if (sort) items.sort();
  return { text: `[${items.join(', ')}]`, end: at };
}

/** A raw connection: sends a command, resolves with its reply's bytes. */
class RawClient {
  private buf = Buffer.alloc(0);
  private waiting: ((b: Buffer) => void) | null = null;
  constructor(private readonly socket: net.Socket) {
    socket.on('data', (d: Buffer) => {
      this.buf = Buffer.concat([this.buf, d]);
      this.deliver();
    });
  }
  private deliver(): void {
    if (this.waiting === null) return;
    const r = render(this.buf, 0);
    if (r === null) return;
    const reply = this.buf.subarray(0, r.end);
    this.buf = this.buf.subarray(r.end);
    const w = this.waiting;
    this.waiting = null;
    w(reply);
  }
  command(args: Buffer[]): Promise<Buffer> {
    return new Promise((resolve) => {
      this.waiting = resolve;
      this.socket.write(request(args));
      this.deliver();
    });
  }
}

let redis: ChildProcess | null = null;
let dir = '';

t.teardown(() => {
  redis?.kill('SIGKILL');
  if (dir !== '') rmSync(dir, { recursive: true, force: true });
});

t.test('random command sequences reply as redis-server does', async (t) => {
  const which = spawnSync('redis-server', ['--version']);
  if (which.error) {
    t.fail('redis-server is not installed: run test/install-deps.sh (apt-get install redis-server)');
    return;
  }
  dir = mkdtempSync(join(tmpdir(), 'raftd-kv-diff-'));
  const port = await freePort('127.0.0.1');
  redis = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], { stdio: 'ignore' });
  const socket = await waitFor('redis-server to accept connections', () =>
    new Promise<net.Socket | undefined>((resolve) => {
      const s = net.connect({ host: '127.0.0.1', port });
      s.once('connect', () => resolve(s));
      s.once('error', () => resolve(undefined));
    }),
  );
  t.teardown(() => socket.destroy());
  const client = new RawClient(socket);
  const farFutureS = Math.floor(Date.now() / 1000) + 100_000;
  const gens = commandGenerators(farFutureS);
  let compared = 0;
  for (let seq = 0; seq < SEQUENCES; seq++) {
    const seed = 1000 + seq;
    const r = new Prng(seed);
    await client.command([Buffer.from('flushall')]);
    const sm = new KvStateMachine({ dedupEntriesMax: 100, dedupWindowEntries: 100 });
    let index = 0;
    const mismatches: string[] = [];
    for (let c = 0; c < COMMANDS_PER_SEQUENCE; c++) {
      const args = r.pick(gens)(r);
      const bufs = args.map((a) => Buffer.from(a, 'utf8'));
      const spec = KV_TABLE.get(args[0]!.toLowerCase())!;
      const now = Date.now();
      const ours =
        spec.kind === 'write'
          ? sm.apply({ index: ++index, term: 1, kind: 'normal', tid: '', data: encodeWrite({ stampMs: now, seed: null, body: { kind: 'command', args: bufs } }) })
          : sm.read(bufs, now);
      const theirs = await client.command(bufs);
      const sort = UNORDERED.has(args[0]!.toLowerCase());
      const a = render(ours, 0, sort)!.text;
      const b = render(theirs, 0, sort)!.text;
      compared++;
      if (a !== b) mismatches.push(`seed ${seed} #${c} ${args.map((x) => JSON.stringify(x)).join(' ')}\n  raftd: ${a}\n  redis: ${b}`);
      if (mismatches.length >= 5) break;
    }
    t.same(mismatches, [], `sequence ${seed}: every reply as Redis'`);
    t.doesNotThrow(() => sm.checkInvariants(), 'invariants hold');
  }
  t.ok(compared >= SEQUENCES, `${compared} replies compared`);

  // Transactions: the same generators, with WATCH/MULTI/EXEC/DISCARD/UNWATCH and
  // queue-time errors mixed in, through the gateway's Transaction on our side.
  for (let seq = 0; seq < SEQUENCES; seq++) {
    const seed = 5000 + seq;
    const r = new Prng(seed);
    await client.command([Buffer.from('flushall')]);
    const sm = new KvStateMachine({ dedupEntriesMax: 100, dedupWindowEntries: 100 });
    const tx = new Transaction();
    let index = 0;
    const mismatches: string[] = [];
    const txGens: Gen[] = [
      () => ['multi'],
      () => ['exec'],
      (r) => [r.pick(['exec', 'discard'])],
      (r) => ['watch', r.pick(['s1', 'h1', 'l1', 'z1', 'x']), ...(r.chance(0.3) ? ['s2'] : [])],
      () => ['unwatch'],
      (r) => [r.pick(['set', 'lpush', 'hset', 'zadd'])],
      () => ['ping'],
    ];
    for (let c = 0; c < COMMANDS_PER_SEQUENCE; c++) {
      let args = (r.chance(0.3) ? r.pick(txGens) : r.pick(gens))(r);
      while (UNORDERED.has(args[0]!)) args = r.pick(gens)(r); // Their order inside an EXEC reply is Redis' hash order.
      const bufs = args.map((a) => Buffer.from(a, 'utf8'));
      const now = Date.now();
      const o = tx.handle(bufs, (a) => dispatch(COMMANDS, env, a));
      let ours: Buffer;
      if (o.kind === 'reply' || o.kind === 'close') ours = o.reply;
      else if (o.kind === 'read') {
        const rr = sm.read(o.args, now);
        ours = o.onReply ? o.onReply(rr) : rr;
      } else if (o.kind === 'write') {
        const data = sm.stampWrite(o.prepare ? o.prepare() : o.data, { nowMs: now, random: Math.random });
        ours = sm.apply({ index: ++index, term: 1, kind: 'normal', tid: o.tid, data });
      } else throw new Error('no cluster operations in the differential test');
      const theirs = await client.command(bufs);
      const a = render(ours, 0)!.text;
      const b = render(theirs, 0)!.text;
      if (a !== b) mismatches.push(`seed ${seed} #${c} ${args.map((x) => JSON.stringify(x)).join(' ')}\n  raftd: ${a}\n  redis: ${b}`);
      if (mismatches.length >= 5) break;
    }
    if (tx.active) await client.command([Buffer.from('discard')]);
    t.same(mismatches, [], `transactions ${seed}: every reply as Redis'`);
    t.doesNotThrow(() => sm.checkInvariants(), 'invariants hold');
  }
});

const env: CommandEnv = {
  status: null,
  facts: () => {
    throw new Error('no INFO here');
  },
  client: { id: 1, name: null },
};
