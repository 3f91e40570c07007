// `node bin/raft-client.js`: a netcat-style client for a raftd cluster. Finds the
// leader from hosts.txt (or talks to the one node of -h/-p), then runs one command from
// the command line, every line of a piped stdin (pipelined, replies in order), or an
// interactive prompt. Writes go out as `REQ <id> ...` and are resent with the same id
// after a lost connection or a retry error, so no write is applied twice.
import * as path from 'node:path';
import * as readline from 'node:readline';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { readHosts } from '../config/hosts.js';
import { commandKind, RequestIds, toWire } from '../client/command-kind.js';
import { findNode, type Seed } from '../client/leader-finder.js';
import { ACCESS_FLAGS, accessFromArgs } from '../client/access.js';
import { formatReply } from '../client/resp-client.js';
import { RetryingClient, type ClientEvent, type Result } from '../client/retrying-client.js';
import { splitArgs } from '../resp/split-args.js';

/** Lines of a piped stdin read ahead of their replies; reading pauses past this. */
const PIPED_PENDING_MAX = 4096;
const INVALID_ARGS = 'Invalid argument(s)';

interface Session {
  client: RetryingClient;
  ids: RequestIds;
  tty: boolean;
}

export async function main(argv: string[]): Promise<number> {
  const args = await yargs(hideBin(argv))
    .scriptName('raft-client')
    .usage('$0 [options] [command [arg ...]]')
    .epilogue(
      [
        'A client for a raftd cluster (its Redis-protocol client port). With a command: runs it and',
        'exits. With a piped stdin: runs each line, pipelined, replies in order. On a terminal: an',
        'interactive prompt. Writes go out as REQ <id> ... and are resent with the same id after a',
        'lost connection or a TRYAGAIN, TIMEOUT, NOTLEADER or BUSY reply, so each is applied once.',
        'Exit status 1 when any command failed.',
      ].join('\n'),
    )
    .parserConfiguration({ 'halt-at-non-option': true, 'parse-positional-numbers': false })
    .option('hosts', { type: 'string', default: 'hosts.txt', describe: 'cluster file (`id host peer-port client-port` a line)' })
    .option('h', { alias: 'host', type: 'string', describe: 'talk to this node only (it forwards writes)' })
    .option('p', { alias: 'port', type: 'number', describe: 'client port of the -h node' })
    .option('retry-ms', { type: 'number', default: 10_000, describe: 'retry a command this long (same request id) before failing' })
    .option('probe-timeout-ms', { type: 'number', default: 1000, describe: 'bound on asking one node INFO while finding the leader' })
    .option('reply-timeout-ms', { type: 'number', default: 15_000, describe: 'drop a connection silent this long and retry' })
    .option('pipeline', { type: 'number', default: 256, describe: 'most commands in flight (piped stdin)' })
    .option('raw', { type: 'boolean', describe: 'raw replies (default when stdout is no terminal); --no-raw: (integer) 5' })
    // TLS and AUTH (lib/client/access.ts).
    .options(ACCESS_FLAGS)
    .check((a) => {
      for (const k of ['retry-ms', 'probe-timeout-ms', 'reply-timeout-ms'] as const) {
        if (!(Number.isFinite(a[k]) && a[k] >= 0)) throw new Error(`--${k} must be a number >= 0`);
      }
      if (!(Number.isInteger(a.pipeline) && a.pipeline >= 1 && a.pipeline <= 1024)) throw new Error('--pipeline must be 1..1024');
      if (a.p !== undefined && !(Number.isInteger(a.p) && a.p >= 1 && a.p <= 65535)) throw new Error('-p must be a port number');
      if (a.h !== undefined && a.p === undefined) throw new Error('-h needs -p');
      return true;
    })
    .wrap(null)
    .strictOptions()
    .help()
    .parse();

  // `raft-client ... | head`: a closed stdout ends the session quietly.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw err;
  });
  const pinned = args.h !== undefined || args.p !== undefined;
  const seeds: Seed[] = pinned
    ? [{ id: null, host: args.h ?? '127.0.0.1', port: args.p! }]
    : readHosts(path.resolve(args.hosts)).map((h) => ({ id: h.id, host: h.host, port: h.clientPort }));
  const words = args._.map(String);
  const interactive = words.length === 0 && process.stdin.isTTY === true;
  const retryMs = args['retry-ms'];
  const access = accessFromArgs(args);

  const client = new RetryingClient({
    connect: () => findNode(seeds, { probeTimeoutMs: args['probe-timeout-ms'], replyTimeoutMs: args['reply-timeout-ms'], pinned, access }),
    retryMs,
    pipelineMax: args.pipeline,
    giveUpFast: !interactive,
    onEvent: diagnostics(retryMs),
  });
  const s: Session = { client, ids: new RequestIds(), tty: args.raw === undefined ? process.stdout.isTTY === true : !args.raw };
  try {
    if (words.length > 0) return await oneShot(s, words);
    if (interactive) return await prompt(s);
    return await piped(s);
  } finally {
    client.close();
  }
}

/** Short notes on stderr about connections: the replies on stdout stay as redis-cli prints them. */
function diagnostics(retryMs: number): (e: ClientEvent) => void {
  let troubled = false;
  let gaveUp = false;
  const note = (m: string) => process.stderr.write(`raft-client: ${m}\n`);
  return (e) => {
    switch (e.type) {
      case 'connected':
        if (troubled) note(`connected to ${e.node}`);
        troubled = gaveUp = false;
        return;
      case 'lost':
        troubled = true;
        note(`lost ${e.node} (${e.reason}); finding the leader again`);
        return;
      case 'connect-failed':
        troubled = true;
        if (e.streak === 1) note(`cannot reach the cluster (${e.reason}); retrying for up to ${retryMs} ms`);
        return;
      case 'gave-up':
        if (!gaveUp) note(`gave up on a command: ${e.reply.reply}`);
        gaveUp = true;
        return;
      default: {
        const never: never = e;
        throw new Error(`unknown client event ${JSON.stringify(never)}`);
      }
    }
  };
}

function print(s: Session, r: Result | string): void {
  if (typeof r === 'string') process.stdout.write(s.tty ? `(error) ${r}\n` : `${r}\n`);
  else process.stdout.write(formatReply(r.reply, { tty: s.tty }) + '\n');
}

/** A command line as the client runs it: null for a blank line, a string for a local error. */
function parseLine(line: string): Buffer[] | string | null {
  const words = splitArgs(line);
  if (words === null) return INVALID_ARGS;
  return words.length === 0 ? null : words;
}

async function oneShot(s: Session, words: string[]): Promise<number> {
  const args = words.map((w) => Buffer.from(w, 'utf8'));
  if (commandKind(words[0]!) === 'quit') {
    print(s, { ok: true, reply: 'OK' });
    return 0;
  }
  const r = await s.client.submit(toWire(args, s.ids));
  print(s, r);
  return r.ok ? 0 : 1;
}

/** Every line a command, many in flight, replies printed in line order. */
async function piped(s: Session): Promise<number> {
  let failed = false;
  let stopped = false;
  let waiting = 0;
  let printed: Promise<void> = Promise.resolve();
  const rl = readline.createInterface({ input: process.stdin, crlfDelay: Infinity, terminal: false });
  const closed = new Promise<void>((resolve) => rl.once('close', resolve));
  rl.on('line', (line) => {
    if (stopped) return;
    const parsed = parseLine(line);
    if (parsed === null) return;
    let outcome: Promise<Result | string>;
    if (typeof parsed === 'string') {
      outcome = Promise.resolve(parsed);
    } else if (commandKind(parsed[0]!.toString('latin1')) === 'quit') {
      stopped = true;
      outcome = Promise.resolve({ ok: true, reply: 'OK' });
      rl.close();
    } else {
      outcome = s.client.submit(toWire(parsed, s.ids));
    }
    waiting++;
    if (waiting >= PIPED_PENDING_MAX) rl.pause();
    printed = printed
      .then(() => outcome)
      .then((r) => {
        waiting--;
        if (waiting === PIPED_PENDING_MAX >> 1) rl.resume();
        if (typeof r === 'string' || !r.ok) failed = true;
        print(s, r);
      });
  });
  await closed;
  await printed;
  return failed ? 1 : 0;
}

/** The interactive prompt: one command at a time, the prompt naming the node it talks to. */
async function prompt(s: Session): Promise<number> {
  const rl = readline.createInterface({ input: process.stdin, output: process.stdout, terminal: true, historySize: 1000, removeHistoryDuplicates: true });
  rl.on('SIGINT', () => rl.close());
  const setPrompt = () => rl.setPrompt(`raftd ${s.client.connectedTo ?? '(not connected)'}> `);
  await s.client.connectNow();
  setPrompt();
  rl.prompt();
  for await (const line of rl) {
    const parsed = parseLine(line);
    if (typeof parsed === 'string') {
      print(s, parsed);
    } else if (parsed !== null) {
      if (commandKind(parsed[0]!.toString('latin1')) === 'quit') break;
      s.client.forgiveFailures();
      print(s, await s.client.submit(toWire(parsed, s.ids)));
    }
    setPrompt();
    rl.prompt();
  }
  rl.close();
  return 0;
}
