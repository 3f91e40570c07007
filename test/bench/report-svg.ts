// The plot: throughput against clients (left) and write latency percentiles against
// clients (right, log scale); raftd solid, etcd dashed. Plain SVG, no dependencies.
import type { Workload } from './closed-loop.js';
import type { BenchResults } from './results.js';
import type { ThroughputRow } from './throughput.js';

const W = 460;
const H = 320;
const PAD = { l: 64, r: 16, t: 36, b: 48 };
const WORKLOAD_COLOR: Record<Workload, string> = { write: '#1f77b4', read: '#2ca02c', mix: '#ff7f0e' };
const PCT_COLOR = { p50Ms: '#1f77b4', p99Ms: '#d62728', p999Ms: '#9467bd' } as const;

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');

interface Series {
  label: string;
  color: string;
  dashed: boolean;
  points: [number, number][];
}

function xScale(clients: number[]): (c: number) => number {
  const lo = Math.log2(Math.min(...clients));
  const hi = Math.log2(Math.max(...clients));
  const span = W - PAD.l - PAD.r;
  return (c) => PAD.l + (hi === lo ? span / 2 : ((Math.log2(c) - lo) / (hi - lo)) * span);
}

function panel(ox: number, title: string, yLabel: string, clients: number[], series: Series[], log: boolean): string {
  const ys = series.flatMap((s) => s.points.map((p) => p[1])).filter((v) => v > 0);
  const yMaxRaw = ys.length ? Math.max(...ys) : 1;
  const yMinRaw = ys.length ? Math.min(...ys) : 1;
  const lo = log ? Math.floor(Math.log10(yMinRaw)) : 0;
  const hi = log ? Math.ceil(Math.log10(yMaxRaw)) + (Math.log10(yMaxRaw) % 1 === 0 ? 1 : 0) : niceCeil(yMaxRaw);
  const yOf = (v: number) => {
    const f = log ? (Math.log10(Math.max(v, 10 ** lo)) - lo) / Math.max(1, hi - lo) : v / hi;
    return H - PAD.b - f * (H - PAD.t - PAD.b);
  };
  const x = xScale(clients);
  const g: string[] = [`<g transform="translate(${ox},0)">`];
  g.push(`<text x="${W / 2}" y="20" text-anchor="middle" font-weight="bold">${esc(title)}</text>`);
  g.push(`<line x1="${PAD.l}" y1="${H - PAD.b}" x2="${W - PAD.r}" y2="${H - PAD.b}" stroke="#333"/>`);
  g.push(`<line x1="${PAD.l}" y1="${PAD.t}" x2="${PAD.l}" y2="${H - PAD.b}" stroke="#333"/>`);
  for (const c of clients) {
    g.push(`<text x="${x(c)}" y="${H - PAD.b + 16}" text-anchor="middle">${c}</text>`);
  }
  g.push(`<text x="${W / 2}" y="${H - 10}" text-anchor="middle">clients</text>`);
  const ticks = log ? Array.from({ length: hi - lo + 1 }, (_, i) => 10 ** (lo + i)) : [0, 0.25, 0.5, 0.75, 1].map((f) => f * hi);
  for (const t of ticks) {
    const y = yOf(t).toFixed(1);
    g.push(`<line x1="${PAD.l}" y1="${y}" x2="${W - PAD.r}" y2="${y}" stroke="#ddd"/>`);
    g.push(`<text x="${PAD.l - 6}" y="${(yOf(t) + 4).toFixed(1)}" text-anchor="end">${fmt(t)}</text>`);
  }
  g.push(`<text transform="translate(14,${(H - PAD.b + PAD.t) / 2}) rotate(-90)" text-anchor="middle">${esc(yLabel)}</text>`);
  series.forEach((s, i) => {
    const pts = s.points.filter((p) => p[1] > 0 || !log);
    const d = pts.map((p) => `${x(p[0]).toFixed(1)},${yOf(p[1]).toFixed(1)}`).join(' ');
    g.push(`<polyline points="${d}" fill="none" stroke="${s.color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="6,4"' : ''}/>`);
    for (const p of pts) g.push(`<circle cx="${x(p[0]).toFixed(1)}" cy="${yOf(p[1]).toFixed(1)}" r="3" fill="${s.color}"/>`);
    const ly = PAD.t + 4 + i * 14;
    g.push(`<line x1="${PAD.l + 8}" y1="${ly}" x2="${PAD.l + 30}" y2="${ly}" stroke="${s.color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="6,4"' : ''}/>`);
    g.push(`<text x="${PAD.l + 34}" y="${ly + 4}">${esc(s.label)}</text>`);
  });
  g.push('</g>');
  return g.join('\n');
}

function niceCeil(v: number): number {
  const e = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * e >= v) return m * e;
  return 10 * e;
}

function fmt(v: number): string {
  if (v >= 1000) return `${(v / 1000).toFixed(v % 1000 === 0 ? 0 : 1)}k`;
  if (v < 1) return String(v);
  return String(Math.round(v * 10) / 10);
}

export function renderSvg(res: BenchResults): string {
  const rows = res.throughput;
  const clients = [...new Set(rows.map((r) => r.clients))].sort((a, b) => a - b);
  const systems = [...new Set(rows.map((r) => r.system))];
  const workloads = [...new Set(rows.map((r) => r.workload))];
  const pick = (sys: string, w: Workload) => rows.filter((r) => r.system === sys && r.workload === w).sort((a, b) => a.clients - b.clients);
  const tput: Series[] = [];
  for (const sys of systems) {
    for (const w of workloads) {
      tput.push({ label: `${sys} ${w}`, color: WORKLOAD_COLOR[w], dashed: sys === 'etcd', points: pick(sys, w).map((r) => [r.clients, r.writesPerSec + r.readsPerSec]) });
    }
  }
  const lat: Series[] = [];
  for (const sys of systems) {
    for (const k of ['p50Ms', 'p99Ms', 'p999Ms'] as const) {
      const label = { p50Ms: 'p50', p99Ms: 'p99', p999Ms: 'p99.9' }[k];
      lat.push({ label: `${sys} write ${label}`, color: PCT_COLOR[k], dashed: sys === 'etcd', points: pick(sys, 'write').map((r: ThroughputRow) => [r.clients, r.write[k]]) });
    }
  }
  const body =
    clients.length === 0
      ? `<text x="20" y="40">no throughput rows in this run</text>`
      : panel(0, 'Throughput', 'operations/s', clients, tput, false) + '\n' + panel(W, 'Write latency', 'ms (log)', clients, lat, true);
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${2 * W}" height="${H}" viewBox="0 0 ${2 * W} ${H}" font-family="sans-serif" font-size="11">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    body,
    '</svg>',
    '',
  ].join('\n');
}
