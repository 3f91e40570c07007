// A self-contained HTML page (inline CSS, JS and SVG; no network) with the timeline of
// timeline.ts: one lane per node with role bands and terms, event markers with hover
// titles, and the table of events below. The page draws itself from embedded JSON; the
// root gets data-rendered="1" once the lanes are drawn.
import type { Story } from './summary.js';
import { storyText } from './story-text.js';
import type { Timeline } from './timeline.js';

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** JSON that is safe inside <script>: no `<` that could close it. */
function scriptJson(v: unknown): string {
  return JSON.stringify(v).replace(/</g, '\\u003c').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}

const CSS = `
:root { --follower:#a9c4e0; --precandidate:#f7dd9c; --candidate:#f2a65a; --leader:#3fa34d; --down:#d9d9d9; --gone:#efefef; }
* { box-sizing: border-box; }
body { font: 13px/1.4 system-ui, sans-serif; margin: 16px; color: #222; background: #fff; }
h1 { font-size: 18px; margin: 0 0 4px; }
.sub { color: #666; margin-bottom: 10px; }
#chart { border: 1px solid #ccc; border-radius: 4px; overflow: hidden; user-select: none; }
#chart svg { display: block; width: 100%; }
.legend { margin: 8px 0; display: flex; flex-wrap: wrap; gap: 14px; align-items: center; }
.legend span { display: inline-flex; align-items: center; gap: 4px; }
.sw { width: 14px; height: 10px; display: inline-block; border: 1px solid #0002; }
.lane-label { font: 600 13px system-ui, sans-serif; }
.term { font: 10px monospace; fill: #0009; pointer-events: none; }
.axis text { font: 10px monospace; fill: #555; }
.axis line { stroke: #0001; }
.marker { cursor: pointer; }
.marker:hover { stroke: #000; stroke-width: 1.5; }
table { border-collapse: collapse; width: 100%; margin-top: 12px; font: 12px monospace; }
th, td { text-align: left; padding: 2px 6px; border-bottom: 1px solid #eee; vertical-align: top; white-space: nowrap; }
td.f { white-space: normal; word-break: break-all; }
tr.warn td { background: #fff8e1; } tr.error td { background: #fdecea; } tr.hl td { background: #d7ecff; }
#filter { margin-top: 12px; width: 320px; padding: 3px 6px; }
pre.story { background: #f7f7f7; padding: 8px; border-radius: 4px; overflow-x: auto; font-size: 12px; }
.hint { color: #888; font-size: 12px; }
`;

const SCRIPT = String.raw`
(function () {
  var data = JSON.parse(document.getElementById('timeline-data').textContent);
  var root = document.getElementById('timeline');
  var NS = 'http://www.w3.org/2000/svg';
  var ROLE_FILL = { follower: 'var(--follower)', precandidate: 'var(--precandidate)', candidate: 'var(--candidate)', leader: 'var(--leader)', down: 'var(--down)', gone: 'var(--gone)' };
  var MARK = {
    election: { fill: '#e07b00', shape: 'diamond' }, won: { fill: '#1b7f2a', shape: 'up' }, lost: { fill: '#b3261e', shape: 'down' },
    leader: { fill: '#0b5d18', shape: 'star' }, stepdown: { fill: '#7b3fa0', shape: 'down' }, drop: { fill: '#d32f2f', shape: 'bar' },
    reconnect: { fill: '#1565c0', shape: 'circle' }, warn: { fill: '#f9a825', shape: 'up' }, error: { fill: '#c62828', shape: 'square' },
    start: { fill: '#333', shape: 'bar' }, stop: { fill: '#333', shape: 'bar' }
  };
  var LABEL_W = 70, LANE_H = 46, TOP = 24, W = 1200;
  var view = { t0: data.start, t1: data.end };

  function el(name, attrs, parent) {
    var e = document.createElementNS(NS, name);
    for (var k in attrs) e.setAttribute(k, attrs[k]);
    if (parent) parent.appendChild(e);
    return e;
  }
  function titled(e, text) { var t = el('title', {}, e); t.textContent = text; return e; }
  function clock(ms) { return new Date(ms).toISOString().slice(11, 23); }
  function x(t) { return LABEL_W + (t - view.t0) / Math.max(1, view.t1 - view.t0) * (W - LABEL_W - 10); }
  function dur(ms) { return ms < 1000 ? Math.round(ms) + ' ms' : (ms / 1000).toFixed(2) + ' s'; }

  function shape(g, kind, cx, cy, title, row) {
    var m = MARK[kind] || MARK.warn, s = 6, e;
    if (m.shape === 'circle') e = el('circle', { cx: cx, cy: cy, r: 4.5 }, g);
    else if (m.shape === 'square') e = el('rect', { x: cx - 4.5, y: cy - 4.5, width: 9, height: 9 }, g);
    else if (m.shape === 'bar') e = el('rect', { x: cx - 1.5, y: cy - 10, width: 3, height: 20 }, g);
    else {
      var pts = m.shape === 'diamond' ? [[0, -s], [s, 0], [0, s], [-s, 0]]
        : m.shape === 'up' ? [[0, -s], [s, s * 0.8], [-s, s * 0.8]]
        : m.shape === 'down' ? [[0, s], [s, -s * 0.8], [-s, -s * 0.8]]
        : [[0, -7], [2, -2], [7, -2], [3, 1.5], [4.5, 7], [0, 3.5], [-4.5, 7], [-3, 1.5], [-7, -2], [-2, -2]];
      e = el('polygon', { points: pts.map(function (p) { return (cx + p[0]) + ',' + (cy + p[1]); }).join(' ') }, g);
    }
    e.setAttribute('fill', m.fill);
    e.setAttribute('class', 'marker ' + kind);
    titled(e, title);
    if (row !== null) e.addEventListener('click', function () { showRow(row); });
  }

  function render() {
    root.textContent = '';
    var H = TOP + data.nodes.length * LANE_H + 8;
    var svg = el('svg', { viewBox: '0 0 ' + W + ' ' + H, width: W, height: H, 'font-family': 'system-ui, sans-serif' }, root);
    var axis = el('g', { 'class': 'axis' }, svg);
    var ticks = 8;
    for (var i = 0; i <= ticks; i++) {
      var t = view.t0 + (view.t1 - view.t0) * i / ticks, xx = x(t);
      el('line', { x1: xx, x2: xx, y1: TOP - 4, y2: H }, axis);
      var label = el('text', { x: xx, y: 14, 'text-anchor': i === 0 ? 'start' : i === ticks ? 'end' : 'middle' }, axis);
      label.textContent = clock(t);
    }
    var clip = el('clipPath', { id: 'plot' }, el('defs', {}, svg));
    el('rect', { x: LABEL_W, y: 0, width: W - LABEL_W, height: H }, clip);
    data.nodes.forEach(function (node, li) {
      var y = TOP + li * LANE_H;
      var lane = el('g', { 'class': 'lane', 'data-node': node }, svg);
      el('rect', { x: 0, y: y, width: W, height: LANE_H - 4, fill: li % 2 ? '#fafafa' : '#f3f3f3' }, lane);
      var name = el('text', { x: 8, y: y + LANE_H / 2 + 2, 'class': 'lane-label' }, lane);
      name.textContent = node;
      var plot = el('g', { 'clip-path': 'url(#plot)' }, lane);
      data.bands.forEach(function (b) {
        if (b.node !== node || b.to < view.t0 || b.from > view.t1) return;
        var x0 = Math.max(LABEL_W, x(b.from)), x1 = Math.min(W, x(b.to));
        var r = el('rect', { x: x0, y: y + 6, width: Math.max(0.5, x1 - x0), height: LANE_H - 16, fill: ROLE_FILL[b.role] || '#ccc', 'class': 'band ' + b.role }, plot);
        titled(r, node + ' ' + b.role + ' in term ' + b.term + (b.leader ? ', leader ' + b.leader : '') + '\n' + clock(b.from) + ' → ' + clock(b.to) + ' (' + dur(b.to - b.from) + ')');
        if (x1 - x0 > 26 && b.role !== 'down' && b.role !== 'gone') {
          var tt = el('text', { x: x0 + 3, y: y + LANE_H - 13, 'class': 'term' }, plot);
          tt.textContent = 't' + b.term;
        }
      });
      data.markers.forEach(function (m) {
        if (m.node !== node || m.t < view.t0 || m.t > view.t1) return;
        shape(plot, m.kind, x(m.t), y + 14, m.title, m.row);
      });
    });
    root.setAttribute('data-rendered', '1');
    root.setAttribute('data-lanes', String(data.nodes.length));
  }

  // Wheel zooms around the pointer, drag pans, double-click resets.
  root.addEventListener('wheel', function (ev) {
    ev.preventDefault();
    var r = root.getBoundingClientRect(), px = (ev.clientX - r.left) / r.width * W;
    var at = view.t0 + (px - LABEL_W) / (W - LABEL_W - 10) * (view.t1 - view.t0);
    var k = ev.deltaY > 0 ? 1.25 : 0.8;
    view = { t0: at - (at - view.t0) * k, t1: at + (view.t1 - at) * k };
    render();
  }, { passive: false });
  var drag = null;
  root.addEventListener('mousedown', function (ev) { drag = { x: ev.clientX, v: { t0: view.t0, t1: view.t1 } }; });
  window.addEventListener('mouseup', function () { drag = null; });
  window.addEventListener('mousemove', function (ev) {
    if (!drag) return;
    var r = root.getBoundingClientRect();
    var dt = (ev.clientX - drag.x) / r.width * W / (W - LABEL_W - 10) * (drag.v.t1 - drag.v.t0);
    view = { t0: drag.v.t0 - dt, t1: drag.v.t1 - dt };
    render();
  });
  root.addEventListener('dblclick', function () { view = { t0: data.start, t1: data.end }; render(); });

  // The table of events.
  var tbody = document.getElementById('rows');
  data.rows.forEach(function (r, i) {
    var tr = document.createElement('tr');
    tr.id = 'row-' + i;
    tr.className = r.level;
    [new Date(r.t).toISOString(), r.node, r.actor, r.level, 't' + r.term, r.event, r.text].forEach(function (v, j) {
      var td = document.createElement('td');
      td.textContent = v;
      if (j === 6) td.className = 'f';
      tr.appendChild(td);
    });
    tbody.appendChild(tr);
  });
  function showRow(i) {
    var prev = document.querySelector('tr.hl');
    if (prev) prev.classList.remove('hl');
    var tr = document.getElementById('row-' + i);
    if (tr) { tr.style.display = ''; tr.classList.add('hl'); tr.scrollIntoView({ block: 'center' }); }
  }
  document.getElementById('filter').addEventListener('input', function (ev) {
    var q = ev.target.value.toLowerCase();
    for (var tr = tbody.firstChild; tr; tr = tr.nextSibling) tr.style.display = !q || tr.textContent.toLowerCase().indexOf(q) >= 0 ? '' : 'none';
  });
  render();
})();
`;

export interface HtmlOptions {
  title: string;
  /** Where the logs came from, shown under the title. */
  source: string;
}

export function renderHtml(tl: Timeline, story: Story, opts: HtmlOptions): string {
  const legend = (['follower', 'precandidate', 'candidate', 'leader', 'down', 'gone'] as const)
    .map((r) => `<span><i class="sw" style="background:var(--${r})"></i>${r}</span>`)
    .join('');
  const omitted = tl.rowsOmitted > 0 ? `<p class="hint">${tl.rowsOmitted} more events not in the table (narrow with --since/--until/--node).</p>` : '';
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(opts.title)}</title>
<style>${CSS}</style>
</head>
<body>
<h1>${escapeHtml(opts.title)}</h1>
<div class="sub">${escapeHtml(opts.source)} · ${tl.nodes.length} nodes · ${story.elections.length} elections · ${story.leaders.length} leaders · ${tl.start ? escapeHtml(new Date(tl.start).toISOString()) : ''} → ${tl.end ? escapeHtml(new Date(tl.end).toISOString().slice(11, 23)) : ''}</div>
<div class="legend">${legend}<span class="hint">markers: ◆ election start, ▲ won / warning, ▼ lost / step-down, ★ leader, | connection drop or (re)start, ● reconnect, ■ error · wheel to zoom, drag to pan, double-click to reset, click a marker for its row</span></div>
<div id="chart"><div id="timeline" data-rendered="0"><noscript>The timeline needs JavaScript; the story and the table below do not.</noscript></div></div>
<pre class="story">${escapeHtml(storyText(story).join('\n'))}</pre>
<input id="filter" type="search" placeholder="filter events…">
<table><thead><tr><th>time</th><th>node</th><th>actor</th><th>level</th><th>term</th><th>event</th><th>fields</th></tr></thead><tbody id="rows"></tbody></table>
${omitted}
<script type="application/json" id="timeline-data">${scriptJson(tl)}</script>
<script>${SCRIPT}</script>
</body>
</html>
`;
}
