// raft-logs --html: the page is self-contained, and headless Chromium runs its script
// (data-rendered="1", one <g class="lane"> per node) and screenshots it.
import t from 'tap';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { ROOT } from './helpers/cluster.js';

const RAFT_LOGS = path.join(ROOT, 'bin/raft-logs.js');
const FIXTURE = path.join(ROOT, 'test/fixtures/logs');
const CHROMIUM = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => fs.existsSync(p));
const execFileP = promisify(execFile);

function chromiumArgs(profile: string): string[] {
  return [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--disable-dev-shm-usage',
    `--user-data-dir=${profile}`,
    '--window-size=1400,1000',
  ];
}

t.test('the HTML timeline of the fixture', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'raft-logs-html-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'timeline.html');
  await execFileP(process.execPath, [RAFT_LOGS, '--dir', FIXTURE, '--html', file], { timeout: 30_000 });
  const html = fs.readFileSync(file, 'utf8');
  t.notMatch(html, /(?:src|href)=["']?(?:https?:)?\/\//i, 'no network references');
  t.notMatch(html, /<g class="lane"/, 'the lanes are not in the HTML: the script draws them');
  t.match(html, /id="timeline-data"/);

  t.test('rendered by headless Chromium', { skip: CHROMIUM ? false : 'chromium not installed (/usr/bin/chromium); apt-get install -y chromium' }, async (t) => {
    const url = 'file://' + file;
    const { stdout: dom } = await execFileP(CHROMIUM!, [...chromiumArgs(path.join(dir, 'profile-dom')), '--dump-dom', url], { timeout: 60_000, maxBuffer: 64 << 20 });
    t.match(dom, /id="timeline"[^>]*data-rendered="1"/, 'the script ran to the end');
    const lanes = [...dom.matchAll(/<g class="lane" data-node="([^"]+)"/g)].map((m) => m[1]);
    t.same(lanes, ['n1', 'n2', 'n3'], 'one lane per node');
    t.match(dom, /class="band leader"/, 'leader bands');
    t.match(dom, /class="marker election"/, 'election markers');
    t.match(dom, /class="marker drop"/, 'connection drop markers');
    t.match(dom, /class="marker error"/, 'error markers');
    t.match(dom, /<title>[^<]*n1 stepped down: check-quorum<\/title>/, 'markers carry hover titles');
    t.ok((dom.match(/<tr id="row-/g) ?? []).length >= 80, 'the table of events');

    const png = path.join(dir, 'timeline.png');
    await execFileP(CHROMIUM!, [...chromiumArgs(path.join(dir, 'profile-shot')), `--screenshot=${png}`, url], { timeout: 60_000 });
    const buf = fs.readFileSync(png);
    t.ok(buf.length > 10_000, `a PNG of ${buf.length} bytes`);
    t.same([...buf.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], 'PNG signature');
    t.same([buf.readUInt32BE(16), buf.readUInt32BE(20)], [1400, 1000], 'at the window size');
  });
});
