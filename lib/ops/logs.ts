// Fetching every node's per-actor logs (and raftd.out) into <out>/<id>/.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { lastLine, runShell, shq } from './shell.js';
import { onNode, type NodeTarget } from './target.js';
import { tarLogsScript } from './scripts.js';

const FETCH_TIMEOUT_MS = 120_000;

export interface FetchResult {
  id: string;
  ok: boolean;
  files: number;
  message: string;
}

function countFiles(dir: string): number {
  let n = 0;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) n += e.isDirectory() ? countFiles(path.join(dir, e.name)) : 1;
  return n;
}

export async function fetchLogs(t: NodeTarget, outRoot: string): Promise<FetchResult> {
  const id = t.entry.id;
  const dest = path.join(outRoot, id);
  fs.mkdirSync(dest, { recursive: true });
  if (t.placement === 'local') {
    if (!fs.existsSync(t.logsDir)) return { id, ok: false, files: 0, message: `no logs at ${t.logsDir}` };
    fs.cpSync(t.logsDir, dest, { recursive: true });
    if (fs.existsSync(t.outFile)) fs.copyFileSync(t.outFile, path.join(dest, 'raftd.out'));
  } else {
    const r = await runShell(`${onNode(t, tarLogsScript(t))} | tar -C ${shq(dest)} -xf -`, { timeoutMs: FETCH_TIMEOUT_MS });
    if (r.code !== 0 || r.timedOut) return { id, ok: false, files: 0, message: `cannot fetch ${t.logsDir}: ${r.timedOut ? 'timed out' : lastLine(r.stderr) || `exit code ${r.code}`}` };
    const outCopy = path.join(dest, 'raftd.out');
    const out = await runShell(`${onNode(t, `cat ${shq(t.outFile)}`)} > ${shq(outCopy)}`, { timeoutMs: FETCH_TIMEOUT_MS });
    if (out.code !== 0) fs.rmSync(outCopy, { force: true });
  }
  const files = countFiles(dest);
  return { id, ok: true, files, message: `${files} files in ${dest}` };
}
