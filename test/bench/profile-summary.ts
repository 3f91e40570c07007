// Reads the CPU profiles `npm run bench -- --cpu-prof DIR` leaves (one per thread of
// every raftd member) and prints, per thread, which actor it is, how long it was busy
// and the functions with the most self time. Usage:
//   node build/test/bench/profile-summary.js DIR [--top N]
import * as fs from 'node:fs';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export interface ThreadSummary {
  file: string;
  /** The actor module the thread ran (actors/<name>.js), or 'main'. */
  thread: string;
  busyMs: number;
  idleMs: number;
  top: { fn: string; ms: number }[];
}

export function summarize(file: string, topN: number): ThreadSummary {
  const p = JSON.parse(fs.readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  p.samples.forEach((id, i) => selfUs.set(id, (selfUs.get(id) ?? 0) + (p.timeDeltas[i] ?? 0)));
  let busy = 0;
  let idle = 0;
  const byFn = new Map<string, number>();
  for (const [id, us] of selfUs) {
    const cf = byId.get(id)!.callFrame;
    if (cf.functionName === '(idle)') {
      idle += us;
      continue;
    }
    busy += us;
    const where = cf.url === '' ? '' : ` ${cf.url.replace(/^.*\/(build|node_modules)\//, '$1/').replace(/^node:/, 'node:')}:${cf.lineNumber + 1}`;
    const key = `${cf.functionName || '(anonymous)'}${where}`;
    byFn.set(key, (byFn.get(key) ?? 0) + us);
  }
  const actor = p.nodes.map((n) => /\/actors\/([\w-]+?)(?:\.bundle)?\.c?js$/.exec(n.callFrame.url)?.[1]).find((x) => x !== undefined && x !== 'protocol');
  return {
    file,
    thread: actor ?? 'main',
    busyMs: busy / 1000,
    idleMs: idle / 1000,
    top: [...byFn.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, topN)
      .map(([fn, us]) => ({ fn, ms: us / 1000 })),
  };
}

function profilesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...profilesUnder(p));
    else if (e.name.endsWith('.cpuprofile')) out.push(p);
  }
  return out.sort();
}

function main(argv: string[]): void {
  const dir = argv[0];
  if (!dir) {
    process.stderr.write('usage: profile-summary.js DIR [--top N]\n');
    process.exit(2);
  }
  const topAt = argv.indexOf('--top');
  const topN = topAt >= 0 ? Number(argv[topAt + 1]) : 8;
  let lastDir = '';
  for (const f of profilesUnder(dir)) {
    const s = summarize(f, topN);
    const d = path.relative(dir, path.dirname(f));
    if (d !== lastDir) process.stdout.write(`\n## ${d}\n`);
    lastDir = d;
    process.stdout.write(`${s.thread.padEnd(16)} busy ${s.busyMs.toFixed(0).padStart(6)} ms, idle ${s.idleMs.toFixed(0).padStart(6)} ms  (${path.basename(f)})\n`);
    for (const t of s.top) process.stdout.write(`  ${t.ms.toFixed(1).padStart(8)} ms  ${t.fn}\n`);
  }
}

// Run as a program, not when imported (the smoke test uses summarize()).
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) main(process.argv.slice(2));
