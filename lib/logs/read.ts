// Streaming one actor's log files line by line into records.
import * as fs from 'node:fs';
import * as readline from 'node:readline';
import { MalformedCounter, parseLine, type LogRecord } from './record.js';
import type { ActorLog } from './sources.js';

/**
 * The records of one actor log, oldest file first, read line by line (never a whole file
 * in memory). Lines that are not records are counted in `malformed` and skipped; blank
 * lines are skipped silently. A file that vanishes (rotated away meanwhile) is skipped.
 * endBytes stops a file at that size (what --follow has already seen of it).
 */
export async function* readActorLog(log: ActorLog, malformed: MalformedCounter, endBytes?: ReadonlyMap<string, number>): AsyncGenerator<LogRecord> {
  for (const file of log.files) {
    let stream: fs.ReadStream;
    const limit = endBytes?.get(file);
    if (limit === 0) continue;
    try {
      stream = fs.createReadStream(file, { encoding: 'utf8', ...(limit !== undefined ? { end: limit - 1 } : {}) });
      await new Promise<void>((resolve, reject) => {
        stream.once('open', () => resolve());
        stream.once('error', reject);
      });
    } catch {
      continue;
    }
    const rl = readline.createInterface({ input: stream, crlfDelay: Infinity });
    let lineNo = 0;
    try {
      for await (const line of rl) {
        lineNo++;
        if (line.trim().length === 0) continue;
        const rec = parseLine(line, { node: log.node, actor: log.actor, file });
        if (rec) yield rec;
        else malformed.add(file, lineNo);
      }
    } finally {
      rl.close();
      stream.destroy();
    }
  }
}
