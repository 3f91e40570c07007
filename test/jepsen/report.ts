// A run's report: a text summary for stdout, and one self-contained HTML file (inline
// SVG, no scripts or external assets) with the operations over time per client, the
// fault windows shaded, latency and throughput plots, the checker's verdict and, on
// failure, the stretch of history that is not linearizable.
import { formatOp, type CheckResult, type Operation } from '../../lib/check/index.js';
import type { FaultWindow, OpRecord, RunEvent } from './history.js';

export interface RunData {
  readonly options: {
    readonly seed: number;
    readonly timeMs: number;
    readonly nemesis: string;
    readonly overlap: boolean;
    readonly kinds: readonly string[];
    readonly nodes: number;
    readonly clients: number;
    readonly electionTimeoutMs: number;
    readonly heartbeatMs: number;
    readonly netem: boolean;
    readonly faultMs: readonly [number, number];
    readonly quietMs: readonly [number, number];
    /** Absent in runs recorded before workloads had names: 'register'. */
    readonly workload?: string;
    readonly clockOffsetsMs?: readonly number[];
  };
  readonly ops: readonly OpRecord[];
  readonly faults: readonly FaultWindow[];
  readonly events: readonly RunEvent[];
  readonly check: CheckResult | null;
  readonly problems: readonly string[];
  readonly faultCounts: Readonly<Record<string, number>>;
  readonly phasesMs: Readonly<Record<string, number>>;
  readonly logSamples: number;
  readonly committedIndexes: number;
  readonly finalCommitIndex: number | null;
}

export function verdictOf(d: RunData): 'PASS' | 'FAIL' | 'UNKNOWN' {
  if (d.problems.length > 0 || d.check === null || d.check.ok === false) return 'FAIL';
  return d.check.ok === true ? 'PASS' : 'UNKNOWN';
}

function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

const ms = (x: number) => (Number.isNaN(x) ? '-' : x >= 1000 ? `${(x / 1000).toFixed(2)}s` : `${x.toFixed(1)}ms`);

function clientOps(d: RunData): OpRecord[] {
  return d.ops.filter((o) => typeof o.process === 'number');
}

function runSeconds(d: RunData): number {
  let end = d.options.timeMs;
  for (const o of d.ops) end = Math.max(end, o.endTime);
  return end / 1000;
}

/**
 * For each healed fault: how long after the heal the first write invoked after it was
 * acknowledged (null when none was). Long recoveries point at liveness problems.
 */
export function recoveries(d: RunData): { window: FaultWindow; ms: number | null }[] {
  const writes = clientOps(d)
    .filter((o) => o.outcome === 'ok' && o.op !== 'read')
    .sort((a, b) => a.invokeTime - b.invokeTime);
  return d.faults
    .filter((w) => w.end !== null)
    .map((w) => {
      let best: number | null = null;
      for (const o of writes) {
        if (o.invokeTime < w.end!) continue;
        const done = o.endTime - w.end!;
        if (best === null || done < best) best = done;
        if (o.invokeTime - w.end! > (best ?? Infinity)) break;
      }
      return { window: w, ms: best };
    });
}

export function replayCommand(d: RunData): string {
  const o = d.options;
  return `node build/test/jepsen/run.js --time ${o.timeMs / 1000} --seed ${o.seed} --nemesis ${o.nemesis}${o.overlap ? ' --overlap' : ''} --fault-ms ${o.faultMs.join('-')} --quiet-ms ${o.quietMs.join('-')}${o.workload !== undefined && o.workload !== 'register' ? ` --workload ${o.workload}` : ''}${o.clockOffsetsMs !== undefined && o.clockOffsetsMs.length > 0 ? ` --clock-offsets-ms=${o.clockOffsetsMs.join(',')}` : ''}`;
}

/** A few lines for stdout: counts, latencies, faults, checks, verdict, how to replay. */
export function textSummary(d: RunData): string {
  const ops = clientOps(d);
  const lines: string[] = [];
  const o = d.options;
  lines.push(
    `jepsen run: seed ${o.seed}, ${o.timeMs / 1000}s, workload ${o.workload ?? 'register'}, nemesis ${o.nemesis}${o.overlap ? ' (process and network faults overlapping)' : ''}, ` +
      `${o.nodes} nodes, ${o.clients} clients${o.clockOffsetsMs?.some((x) => x !== 0) ? `, clock offsets ${o.clockOffsetsMs.join(',')} ms` : ''}`,
  );
  const count = (f: (x: OpRecord) => boolean) => ops.filter(f).length;
  lines.push(
    `ops: ${ops.length} (ok ${count((x) => x.outcome === 'ok')}, fail ${count((x) => x.outcome === 'fail')}, unknown ${count((x) => x.outcome === 'unknown')})`,
  );
  const kinds = [...new Set(ops.map((x) => x.op))];
  lines.push(
    '  ' +
      kinds
        .map((k) => {
          const of = ops.filter((x) => x.op === k);
          return `${k} ${of.length} (${of.filter((x) => x.outcome === 'ok').length} ok)`;
        })
        .join(', '),
  );
  const lat = ops.filter((x) => x.outcome === 'ok').map((x) => x.endTime - x.invokeTime).sort((a, b) => a - b);
  const secs = o.timeMs / 1000;
  lines.push(
    `throughput: ${(lat.length / secs).toFixed(0)} ok ops/s; latency of ok ops p50 ${ms(quantile(lat, 0.5))} p95 ${ms(quantile(lat, 0.95))} ` +
      `p99 ${ms(quantile(lat, 0.99))} max ${ms(lat[lat.length - 1] ?? NaN)}`,
  );
  const errors = new Map<string, number>();
  for (const x of ops) {
    if (x.outcome === 'ok' || x.error === undefined) continue;
    const e = x.error.replace(/^n\d+: /, '').replace(/\d+(\.\d+)*(:\d+)?/g, 'N').slice(0, 80);
    errors.set(e, (errors.get(e) ?? 0) + 1);
  }
  if (errors.size > 0) {
    const top = [...errors].sort((a, b) => b[1] - a[1]).slice(0, 5);
    lines.push(`last errors of failed/unknown ops: ${top.map(([e, n]) => `${n}× ${e}`).join('; ')}`);
  }
  const faults = Object.entries(d.faultCounts);
  lines.push(`faults: ${faults.length === 0 ? 'none' : faults.map(([k, n]) => `${k} ×${n}`).join(', ')}`);
  const rec = recoveries(d);
  if (rec.length > 0) {
    const known = rec.filter((r) => r.ms !== null).sort((a, b) => b.ms! - a.ms!);
    const worst = known[0];
    const median = known.length > 0 ? known[Math.floor(known.length / 2)]!.ms! : NaN;
    lines.push(
      `recovery (first acknowledged write after a heal): median ${ms(median)}` +
        (worst ? `, worst ${ms(worst.ms!)} after ${worst.window.kind} healed at ${(worst.window.end! / 1000).toFixed(1)}s` : '') +
        (rec.length > known.length ? `, ${rec.length - known.length} heal(s) with no write after them` : ''),
    );
  }
  lines.push(
    `logs: ${d.logSamples} log samples, ${d.committedIndexes} committed indexes compared across nodes` +
      (d.finalCommitIndex !== null ? `, final commit index ${d.finalCommitIndex} on every node` : ''),
  );
  if (d.check === null) lines.push('checker: not run');
  else lines.push(`checker: ${d.check.report.split('\n').join('\n  ')}`);
  if (d.problems.length === 0) lines.push('problems: none (no lost acknowledged write, no divergence, nodes converged)');
  else {
    lines.push(`problems (${d.problems.length}):`);
    for (const p of d.problems.slice(0, 30)) lines.push(`  - ${p}`);
  }
  lines.push(`phases: ${Object.entries(d.phasesMs).map(([k, v]) => `${k} ${(v / 1000).toFixed(1)}s`).join(', ')}`);
  lines.push(`verdict: ${verdictOf(d)}`);
  lines.push(`replay: ${replayCommand(d)}`);
  return lines.join('\n');
}

// ---- HTML ----

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

const OUTCOME_COLOR: Record<string, string> = { ok: '#2e9d4f', fail: '#d33b3b', unknown: '#f0a020' };

function faultColor(kind: string): string {
  if (kind.startsWith('kill')) return '#e45756';
  if (kind.startsWith('pause')) return '#9467bd';
  if (kind.startsWith('partition')) return '#4c78a8';
  return '#72b7b2';
}

interface Frame {
  readonly width: number;
  readonly left: number;
  readonly right: number;
  readonly t0: number;
  readonly t1: number;
}

function xOf(f: Frame, t: number): number {
  return f.left + ((t - f.t0) / (f.t1 - f.t0)) * (f.width - f.left - f.right);
}

function timeAxis(f: Frame, y: number): string {
  const span = (f.t1 - f.t0) / 1000;
  const step = [1, 2, 5, 10, 20, 30, 60, 120, 300].find((s) => span / s <= 15) ?? 600;
  let out = `<line x1="${f.left}" y1="${y}" x2="${f.width - f.right}" y2="${y}" stroke="#888"/>`;
  for (let s = Math.ceil(f.t0 / 1000 / step) * step; s <= f.t1 / 1000; s += step) {
    const x = xOf(f, s * 1000).toFixed(1);
    out += `<line x1="${x}" y1="${y}" x2="${x}" y2="${y + 4}" stroke="#888"/><text x="${x}" y="${y + 15}" font-size="10" text-anchor="middle">${s}s</text>`;
  }
  return out;
}

function faultBands(f: Frame, faults: readonly FaultWindow[], top: number, height: number, labels: boolean): string {
  let out = '';
  for (const w of faults) {
    const x0 = xOf(f, w.start);
    const x1 = xOf(f, w.end ?? f.t1);
    const c = faultColor(w.kind);
    out += `<rect x="${x0.toFixed(1)}" y="${top}" width="${Math.max(1, x1 - x0).toFixed(1)}" height="${height}" fill="${c}" fill-opacity="0.13"><title>${esc(`${w.kind}: ${w.detail} [${(w.start / 1000).toFixed(1)}s..${w.end === null ? '?' : (w.end / 1000).toFixed(1) + 's'}]`)}</title></rect>`;
    if (labels && x1 - x0 >= 6 * w.kind.length) out += `<text x="${(x0 + 2).toFixed(1)}" y="${top + 10}" font-size="9" fill="${c}">${esc(w.kind)}</text>`;
  }
  return out;
}

function timelineSvg(d: RunData, f: Frame): string {
  const rowH = 16;
  const rows = d.options.clients + 1;
  const top = 16;
  const h = top + rows * rowH + 24;
  const many = d.ops.length > 20_000;
  let out = `<svg xmlns="http://www.w3.org/2000/svg" width="${f.width}" height="${h}" font-family="sans-serif">`;
  out += faultBands(f, d.faults, 0, top + rows * rowH, true);
  for (let r = 0; r < rows; r++) {
    const y = top + r * rowH;
    out += `<text x="${f.left - 6}" y="${y + 11}" font-size="10" text-anchor="end">${r < d.options.clients ? `client ${r}` : 'final'}</text>`;
    out += `<line x1="${f.left}" y1="${y + rowH}" x2="${f.width - f.right}" y2="${y + rowH}" stroke="#eee"/>`;
  }
  for (const o of d.ops) {
    const y = top + Math.min(o.worker, rows - 1) * rowH + (o.op === 'read' ? 9 : 3);
    const x0 = xOf(f, o.invokeTime);
    const x1 = Math.max(x0 + 1.2, xOf(f, o.endTime));
    const tip = many ? '' : `<title>${esc(formatOp(o) + (o.node ? ` via ${o.node}` : '') + (o.error ? ` (${o.error})` : ''))}</title>`;
    out += `<rect x="${x0.toFixed(1)}" y="${y}" width="${(x1 - x0).toFixed(1)}" height="5" fill="${OUTCOME_COLOR[o.outcome]}">${tip}</rect>`;
  }
  out += timeAxis(f, top + rows * rowH);
  return out + '</svg>';
}

function latencySvg(d: RunData, f: Frame): string {
  const h = 260;
  const top = 10;
  const bottom = h - 30;
  const ops = clientOps(d);
  let maxLat = 1;
  for (const o of ops) maxLat = Math.max(maxLat, o.endTime - o.invokeTime);
  const lo = Math.log10(0.1);
  const hi = Math.log10(maxLat * 1.2);
  const yOf = (v: number) => bottom - ((Math.log10(Math.max(0.1, v)) - lo) / (hi - lo)) * (bottom - top);
  let out = `<svg xmlns="http://www.w3.org/2000/svg" width="${f.width}" height="${h}" font-family="sans-serif">`;
  out += faultBands(f, d.faults, top, bottom - top, false);
  for (let p = -1; p <= Math.ceil(hi); p++) {
    const v = 10 ** p;
    if (Math.log10(v) > hi) break;
    const y = yOf(v).toFixed(1);
    out += `<line x1="${f.left}" y1="${y}" x2="${f.width - f.right}" y2="${y}" stroke="#eee"/><text x="${f.left - 6}" y="${y}" font-size="10" text-anchor="end" dominant-baseline="middle">${ms(v)}</text>`;
  }
  for (const o of ops) {
    const x = xOf(f, o.invokeTime).toFixed(1);
    const y = yOf(o.endTime - o.invokeTime).toFixed(1);
    const c = OUTCOME_COLOR[o.outcome];
    out += o.op === 'read'
      ? `<circle cx="${x}" cy="${y}" r="1.6" fill="${c}" fill-opacity="0.6"/>`
      : `<rect x="${x}" y="${y}" width="2.6" height="2.6" fill="${c}" fill-opacity="0.6"/>`;
  }
  out += timeAxis(f, bottom);
  out += `<text x="${f.left}" y="${h - 2}" font-size="10">latency by invocation time (log scale); dots: reads, squares: writes/appends/incrs/deletes</text>`;
  return out + '</svg>';
}

function throughputSvg(d: RunData, f: Frame): string {
  const h = 200;
  const top = 10;
  const bottom = h - 30;
  const buckets = Math.ceil((f.t1 - f.t0) / 1000);
  const series: Record<string, number[]> = { ok: new Array(buckets).fill(0), fail: new Array(buckets).fill(0), unknown: new Array(buckets).fill(0) };
  for (const o of clientOps(d)) {
    const b = Math.min(buckets - 1, Math.max(0, Math.floor((o.endTime - f.t0) / 1000)));
    series[o.outcome]![b]!++;
  }
  let max = 1;
  for (const s of Object.values(series)) for (const v of s) max = Math.max(max, v);
  const yOf = (v: number) => bottom - (v / max) * (bottom - top);
  let out = `<svg xmlns="http://www.w3.org/2000/svg" width="${f.width}" height="${h}" font-family="sans-serif">`;
  out += faultBands(f, d.faults, top, bottom - top, false);
  for (const v of [0, max / 2, max]) {
    const y = yOf(v).toFixed(1);
    out += `<line x1="${f.left}" y1="${y}" x2="${f.width - f.right}" y2="${y}" stroke="#eee"/><text x="${f.left - 6}" y="${y}" font-size="10" text-anchor="end" dominant-baseline="middle">${Math.round(v)}/s</text>`;
  }
  for (const [outcome, s] of Object.entries(series)) {
    const pts = s.map((v, i) => `${xOf(f, f.t0 + i * 1000 + 500).toFixed(1)},${yOf(v).toFixed(1)}`).join(' ');
    out += `<polyline points="${pts}" fill="none" stroke="${OUTCOME_COLOR[outcome]}" stroke-width="1.5"/>`;
  }
  out += timeAxis(f, bottom);
  out += `<text x="${f.left}" y="${h - 2}" font-size="10">operations completed per second: ok (green), fail (red), unknown (orange)</text>`;
  return out + '</svg>';
}

/** The failing key's ops around the stuck point, one row per process, labelled. */
function failureSvg(d: RunData, width: number): string {
  const fail = d.check?.failure;
  if (!fail) return '';
  // By identity of fields, not of objects: a report may be rendered from a saved run.
  const id = (o: Operation) => `${String(o.process)}|${o.invokeTime}|${o.key}|${o.op}`;
  const involved = new Set([...fail.prefix.slice(-12), ...fail.pending, fail.blocked].map(id));
  const ops = d.ops.filter((o) => involved.has(id(o)));
  if (ops.length === 0) return '';
  let t0 = Infinity;
  let t1 = -Infinity;
  for (const o of ops) {
    t0 = Math.min(t0, o.invokeTime);
    t1 = Math.max(t1, o.endTime);
  }
  const pad = Math.max(1, (t1 - t0) * 0.05);
  const f: Frame = { width, left: 90, right: 20, t0: t0 - pad, t1: t1 + pad };
  const procs = [...new Set(ops.map((o) => String(o.process)))];
  const rowH = 22;
  const h = procs.length * rowH + 40;
  let out = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${h}" font-family="monospace">`;
  out += faultBands(f, d.faults.filter((w) => (w.end ?? Infinity) >= f.t0 && w.start <= f.t1), 0, procs.length * rowH, true);
  procs.forEach((p, i) => {
    out += `<text x="${f.left - 6}" y="${i * rowH + 14}" font-size="10" text-anchor="end">p${esc(p)}</text>`;
  });
  for (const o of ops) {
    const row = procs.indexOf(String(o.process));
    const x0 = xOf(f, o.invokeTime);
    const x1 = Math.max(x0 + 2, xOf(f, o.outcome === 'unknown' ? f.t1 : o.endTime));
    const isBlocked = id(o) === id(fail.blocked);
    out += `<rect x="${x0.toFixed(1)}" y="${row * rowH + 3}" width="${(x1 - x0).toFixed(1)}" height="15" fill="${OUTCOME_COLOR[o.outcome]}" fill-opacity="0.35" stroke="${isBlocked ? '#000' : 'none'}" stroke-width="2"/>`;
    const label = `${o.op} ${o.input !== undefined ? JSON.stringify(o.input) : ''}${o.op === 'read' || o.op === 'incr' || o.op === 'append' ? ' → ' + (o.outcome === 'ok' ? JSON.stringify(o.output ?? null) : '?') : ''}`;
    out += `<text x="${(x0 + 3).toFixed(1)}" y="${row * rowH + 14}" font-size="10">${esc(label)}</text>`;
  }
  out += timeAxis(f, procs.length * rowH + 4);
  return out + '</svg>';
}

export function renderHtml(d: RunData): string {
  const verdict = verdictOf(d);
  const width = 1200;
  const f: Frame = { width, left: 70, right: 20, t0: 0, t1: Math.max(1000, runSeconds(d) * 1000) };
  const badge = { PASS: '#2e9d4f', FAIL: '#d33b3b', UNKNOWN: '#f0a020' }[verdict];
  const keyRows = (d.check?.keys ?? [])
    .filter((k) => k.ok !== true)
    .map((k) => `<tr><td>${esc(k.key)}</td><td>${String(k.ok)}</td><td>${k.opCount}</td><td>${k.steps}</td><td>${esc(k.reason ?? '')}</td></tr>`)
    .join('');
  const recovered = new Map(recoveries(d).map((r) => [r.window, r.ms]));
  const faultRows = d.faults
    .map((w) => {
      const r = recovered.get(w);
      return `<tr><td style="color:${faultColor(w.kind)}">${esc(w.kind)}</td><td>${(w.start / 1000).toFixed(2)}s</td><td>${w.end === null ? '-' : (w.end / 1000).toFixed(2) + 's'}</td><td>${r === undefined || r === null ? '-' : ms(r)}</td><td>${esc(w.detail)}</td></tr>`;
    })
    .join('');
  const events = d.events.map((e) => `${(e.time / 1000).toFixed(2).padStart(8)}s  ${e.text}`).join('\n');
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>raftd jepsen: seed ${d.options.seed} ${esc(d.options.nemesis)} ${verdict}</title>
<style>
body { font-family: sans-serif; margin: 20px; color: #222; }
h1 .badge { background: ${badge}; color: #fff; padding: 2px 10px; border-radius: 4px; }
pre { background: #f6f6f6; padding: 10px; white-space: pre-wrap; font-size: 12px; }
table { border-collapse: collapse; font-size: 12px; } td, th { border: 1px solid #ddd; padding: 2px 6px; text-align: left; }
.legend span { display: inline-block; margin-right: 14px; font-size: 12px; }
.legend i { display: inline-block; width: 12px; height: 10px; margin-right: 4px; vertical-align: middle; }
</style></head><body>
<h1>raftd jepsen run <span class="badge">${verdict}</span></h1>
<pre>${esc(textSummary(d))}</pre>
<div class="legend">
<span><i style="background:${OUTCOME_COLOR.ok}"></i>ok</span><span><i style="background:${OUTCOME_COLOR.fail}"></i>fail</span><span><i style="background:${OUTCOME_COLOR.unknown}"></i>unknown</span>
<span><i style="background:${faultColor('kill')};opacity:.35"></i>kill</span><span><i style="background:${faultColor('pause')};opacity:.35"></i>pause</span>
<span><i style="background:${faultColor('partition')};opacity:.35"></i>partition</span><span><i style="background:${faultColor('links')};opacity:.35"></i>slow/lossy links</span>
</div>
<h2>Operations over time</h2>
<p style="font-size:12px">One row per client; upper bars are writes, appends, increments and deletes, lower bars reads. Hover for details.</p>
${timelineSvg(d, f)}
<h2>Latency</h2>
${latencySvg(d, f)}
<h2>Throughput</h2>
${throughputSvg(d, f)}
<h2>Checker</h2>
<pre>${esc(d.check?.report ?? 'not run')}</pre>
${d.check?.failure ? `<h3>The stretch that is not linearizable (key ${esc(d.check.failure.key)}; the offending op outlined)</h3>${failureSvg(d, width)}` : ''}
${keyRows ? `<h3>Keys not proven linearizable</h3><table><tr><th>key</th><th>verdict</th><th>ops</th><th>steps</th><th>reason</th></tr>${keyRows}</table>` : ''}
<h2>Other checks</h2>
${d.problems.length === 0 ? '<p>No lost acknowledged write, no divergent log entry, every node converged to the same log and state.</p>' : `<ul>${d.problems.map((p) => `<li><pre>${esc(p)}</pre></li>`).join('')}</ul>`}
<h2>Faults</h2>
<p style="font-size:12px">recovery: from the heal until the first write invoked after it was acknowledged.</p>
<table><tr><th>kind</th><th>start</th><th>end</th><th>recovery</th><th>detail</th></tr>${faultRows}</table>
<h2>Events</h2>
<pre>${esc(events)}</pre>
</body></html>
`;
}
