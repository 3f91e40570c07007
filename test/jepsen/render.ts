// `node build/test/jepsen/render.js DIR`: rebuilds DIR/report.html (and prints the
// summary) from a run's DIR/run.json and DIR/history.jsonl, e.g. after the report
// code changed. The checker's verdict is the one recorded; add --recheck to run it again.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { checkHistory } from '../../lib/check/index.js';
import type { OpRecord } from './history.js';
import { renderHtml, textSummary, type RunData } from './report.js';

const args = process.argv.slice(2);
const dir = args.find((a) => !a.startsWith('--'));
if (dir === undefined) {
  process.stderr.write('usage: render.js DIR [--recheck]\n');
  process.exit(2);
}
const run = JSON.parse(fs.readFileSync(path.join(dir, 'run.json'), 'utf8')) as Omit<RunData, 'ops'>;
const ops = fs
  .readFileSync(path.join(dir, 'history.jsonl'), 'utf8')
  .split('\n')
  .filter((l) => l !== '')
  .map((l) => JSON.parse(l) as OpRecord);
let data: RunData = { ...run, ops };
if (args.includes('--recheck')) data = { ...data, check: checkHistory(ops, { contextOps: 12 }) };
fs.writeFileSync(path.join(dir, 'report.html'), renderHtml(data));
process.stdout.write(textSummary(data) + '\n');
