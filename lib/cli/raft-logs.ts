// `node bin/raft-logs.js`: reads the per-actor logs of one node (--data) or a cluster
// (--dir), merges them by time, filters, and prints them as text or JSON, tells their
// story (--summary), draws them (--html) or follows them (--follow).
import * as fs from 'node:fs';
import * as path from 'node:path';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { filtered, matcher, parseTermArg, parseTimeArg, type Filter } from '../logs/filter.js';
import { Follower } from '../logs/follow.js';
import { TextFormatter } from '../logs/format.js';
import { renderHtml } from '../logs/html.js';
import { mergeByTime } from '../logs/merge.js';
import { readActorLog } from '../logs/read.js';
import { LEVELS, MalformedCounter, recordJson, type Level, type LogRecord } from '../logs/record.js';
import { findActorLogs } from '../logs/sources.js';
import { storyText } from '../logs/story-text.js';
import { StoryBuilder } from '../logs/summary.js';
import { TimelineBuilder } from '../logs/timeline.js';
import { RaftdError } from '../util/errors.js';

/** Where the output goes; process.stdout/stderr by default, a collector in tests. */
export interface Io {
  stdout: { write(chunk: string): boolean; once?(event: 'drain', cb: () => void): unknown; isTTY?: boolean };
  stderr: { write(chunk: string): boolean };
}

/** Writes with backpressure; after EPIPE (`| head`) it drops everything quietly. */
class Out {
  private buf = '';
  closed = false;

  constructor(private readonly sink: Io['stdout']) {
    const s = sink as { on?: (ev: string, cb: (err: NodeJS.ErrnoException) => void) => void };
    s.on?.('error', (err) => {
      if (err.code === 'EPIPE') this.closed = true;
      else throw err;
    });
  }

  async line(s: string): Promise<void> {
    if (this.closed) return;
    this.buf += s + '\n';
    if (this.buf.length >= 64 * 1024) await this.flush();
  }

  async flush(): Promise<void> {
    if (this.closed || this.buf.length === 0) return;
    const chunk = this.buf;
    this.buf = '';
    if (!this.sink.write(chunk) && this.sink.once) {
      await new Promise<void>((resolve) => this.sink.once!('drain', resolve));
    }
  }
}

function asList(v: unknown): string[] | undefined {
  if (v === undefined) return undefined;
  return (Array.isArray(v) ? v : [v]).map(String);
}

export async function main(argv: string[], io: Io = { stdout: process.stdout, stderr: process.stderr }): Promise<void> {
  const args = await yargs(hideBin(argv))
    .scriptName('raft-logs')
    .usage(
      '$0 [--dir data | --data data/n1] [filters] [--summary | --html FILE | --follow | --json]\n\n' +
        'Merges the per-actor logs (logs/<actor>.log and rotated .log.N) of one node or a whole cluster into one time-ordered view.',
    )
    .option('dir', { type: 'string', describe: 'cluster folder: one data directory (or logs folder) per node (default: data)' })
    .option('data', { type: 'string', array: true, describe: "one node's data directory (repeatable)" })
    .option('node', { type: 'string', array: true, describe: 'only these nodes (comma list or repeated, * globs)' })
    .option('actor', { type: 'string', array: true, describe: 'only these actors, e.g. raft, replicator-*' })
    .option('level', { choices: LEVELS, describe: 'minimum level' })
    .option('term', { type: 'string', describe: 'only this term: N, A..B, A.. or ..B' })
    .option('since', { type: 'string', describe: 'from this time: ISO, or a duration before now (5m, 1h30m)' })
    .option('until', { type: 'string', describe: 'up to this time: ISO, or a duration before now' })
    .option('grep', { type: 'string', describe: 'JavaScript regex over the raw JSON line' })
    .option('json', { type: 'boolean', default: false, describe: 'records (or the --summary) as JSON' })
    .option('summary', { type: 'boolean', default: false, describe: 'tell the story: elections, leaders per term, step-downs, connection drops, restarts, warnings and errors' })
    .option('html', { type: 'string', describe: 'write a self-contained HTML timeline to this file' })
    .option('follow', { alias: 'f', type: 'boolean', default: false, describe: 'keep printing lines as they are appended (rotation handled); Ctrl-C stops' })
    .option('lines', { alias: 'n', type: 'number', describe: 'with --follow: print only the last N existing records first' })
    .option('color', { type: 'boolean', describe: 'colours (default: when stdout is a terminal)' })
    .strict()
    .help()
    .parse();

  if (args.follow && (args.summary || args.html !== undefined)) throw new RaftdError('RAFTD_CONFIG', '--follow does not go with --summary or --html');
  if (args.dir !== undefined && args.data !== undefined) throw new RaftdError('RAFTD_CONFIG', 'give --dir or --data, not both');
  const roots = args.data && args.data.length > 0 ? args.data.map((d) => path.resolve(d)) : [path.resolve(args.dir ?? 'data')];
  const now = Date.now();
  const filter: Filter = {};
  const nodes = asList(args.node);
  const actors = asList(args.actor);
  if (nodes) filter.nodes = nodes;
  if (actors) filter.actors = actors;
  if (args.level) filter.level = args.level as Level;
  if (args.term !== undefined) Object.assign(filter, parseTermArg(args.term));
  if (args.since !== undefined) filter.sinceMs = parseTimeArg(args.since, now, '--since');
  if (args.until !== undefined) filter.untilMs = parseTimeArg(args.until, now, '--until');
  if (args.grep !== undefined) {
    try {
      filter.grep = new RegExp(args.grep);
    } catch (err) {
      throw new RaftdError('RAFTD_CONFIG', `--grep: ${(err as Error).message}`);
    }
  }

  const logs = findActorLogs(roots);
  if (logs.length === 0 && !args.follow) throw new RaftdError('RAFTD_CONFIG', `no log files under ${roots.join(', ')} (want <node>/logs/<actor>.log)`);
  const malformed = new MalformedCounter();
  const out = new Out(io.stdout);
  const colour = args.color ?? (io.stdout.isTTY === true && !process.env.NO_COLOR);
  const formatter = new TextFormatter({ colour, nodes: [...new Set(logs.map((l) => l.node))], actors: [...new Set(logs.map((l) => l.actor))] });
  const print = (r: LogRecord): Promise<void> => out.line(args.json ? JSON.stringify(recordJson(r)) : formatter.format(r));

  if (args.follow) {
    const follower = new Follower(roots, malformed);
    const ends = follower.snapshot();
    const existing = filtered(mergeByTime(logs.map((l) => readActorLog(l, malformed, ends))), filter);
    if (args.lines !== undefined) {
      const keep = Math.max(0, Math.floor(args.lines));
      const last: LogRecord[] = [];
      for await (const r of existing) {
        last.push(r);
        if (last.length > keep) last.shift();
      }
      for (const r of last) await print(r);
    } else {
      for await (const r of existing) await print(r);
    }
    await out.flush();
    io.stderr.write(`raft-logs: following ${follower.fileCount} files under ${roots.join(', ')} (Ctrl-C to stop)\n`);
    const ac = new AbortController();
    const stop = (): void => ac.abort();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    const ok = matcher(filter);
    try {
      await follower.run(ac.signal, (records) => {
        for (const r of records) if (ok(r)) void print(r);
        void out.flush();
      });
    } finally {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
    }
    await out.flush();
    reportMalformed(malformed, io);
    return;
  }

  const records = filtered(mergeByTime(logs.map((l) => readActorLog(l, malformed))), filter);
  if (args.summary || args.html !== undefined) {
    const story = new StoryBuilder();
    const timeline = args.html !== undefined ? new TimelineBuilder(filter.level ?? 'info') : null;
    for await (const r of records) {
      story.add(r);
      timeline?.add(r);
    }
    const s = story.finish(malformed.total);
    if (timeline && args.html !== undefined) {
      const file = path.resolve(args.html);
      fs.writeFileSync(file, renderHtml(timeline.finish(), s, { title: 'raftd logs', source: roots.join(', ') }));
      io.stderr.write(`raft-logs: wrote ${file}\n`);
    }
    if (args.summary) {
      if (args.json) await out.line(JSON.stringify(s, null, 2));
      else for (const line of storyText(s)) await out.line(line);
    }
  } else {
    for await (const r of records) {
      await print(r);
      if (out.closed) break;
    }
  }
  await out.flush();
  reportMalformed(malformed, io);
}

function reportMalformed(m: MalformedCounter, io: Io): void {
  if (m.total === 0) return;
  const where = [...m.byFile.entries()].map(([f, c]) => `${c.count} in ${f} (first at line ${c.firstLine})`).join(', ');
  io.stderr.write(`raft-logs: skipped ${m.total} malformed line${m.total === 1 ? '' : 's'}: ${where}\n`);
}
