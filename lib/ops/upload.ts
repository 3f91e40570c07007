// Copying the built project (and the hosts file) to nodes on other machines with tar
// through the exec template, so it works wherever the template gets a shell: ssh,
// docker exec -i, kubectl exec -i.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { OpsError } from './errors.js';
import { runOnNode } from './remote.js';
import { extractScript, writeFileScript } from './scripts.js';
import { lastLine, runShell, shq } from './shell.js';
import { describe, onNode, PROJECT_DIR, type NodeTarget } from './target.js';

/** What a node needs to run besides its dependencies: the entry points and the build. */
const SHIPPED = ['package.json', 'bin', 'build/lib', 'build/actors'];
const EXCLUDED = ['*.map', '*.tsbuildinfo'];
/** A bound on the dependency walk. */
const MODULES_MAX = 500;

/**
 * The top-level node_modules/<name> directories of every runtime dependency,
 * transitively (dependencies, and optional ones that are installed), resolved the way
 * Node does (nested node_modules first, then the parents'), so tap and typescript stay
 * behind. Nested copies travel inside their parent's directory.
 */
export function runtimeModules(projectDir: string): string[] {
  const depsOf = (pkgDir: string): string[] => {
    try {
      const p = JSON.parse(fs.readFileSync(path.join(pkgDir, 'package.json'), 'utf8')) as { dependencies?: Record<string, string>; optionalDependencies?: Record<string, string> };
      return [...Object.keys(p.dependencies ?? {}), ...Object.keys(p.optionalDependencies ?? {})];
    } catch {
      return [];
    }
  };
  const resolve = (fromDir: string, name: string): string | null => {
    for (let dir = fromDir; dir.startsWith(projectDir); dir = path.dirname(dir)) {
      const candidate = path.join(dir, 'node_modules', name);
      if (fs.existsSync(path.join(candidate, 'package.json'))) return candidate;
      if (dir === projectDir) break;
    }
    return null;
  };
  const topLevel = new Set<string>();
  const seen = new Set<string>();
  const queue: [string, string][] = depsOf(projectDir).map((n) => [projectDir, n]);
  while (queue.length > 0 && seen.size < MODULES_MAX) {
    const [from, name] = queue.shift()!;
    const dir = resolve(from, name);
    if (dir === null || seen.has(dir)) continue;
    seen.add(dir);
    const rel = path.relative(projectDir, dir).split(path.sep);
    // node_modules/a or node_modules/@scope/a: the directory to ship.
    topLevel.add(rel.slice(0, rel[1]!.startsWith('@') ? 3 : 2).join('/'));
    for (const d of depsOf(dir)) queue.push([dir, d]);
  }
  return [...topLevel].sort();
}

const UPLOAD_TIMEOUT_MS = 300_000;

/** Uploads once per machine and project directory, however many nodes live there. */
export async function uploadBuild(targets: readonly NodeTarget[]): Promise<void> {
  const seen = new Set<string>();
  const shipped = [...SHIPPED.filter((p) => fs.existsSync(path.join(PROJECT_DIR, p))), ...runtimeModules(PROJECT_DIR)];
  if (!shipped.includes('build/lib')) throw new OpsError('OPS_NO_BUILD', `no build in ${PROJECT_DIR}/build: run npm run build first`);
  for (const t of targets) {
    if (t.placement !== 'remote') continue;
    const key = `${t.prefix}\0${t.projectDir}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const pack = `tar -C ${shq(PROJECT_DIR)} ${EXCLUDED.map((e) => `--exclude=${shq(e)}`).join(' ')} -cf - ${shipped.map(shq).join(' ')}`;
    const r = await runShell(`${pack} | ${onNode(t, extractScript(t.projectDir))}`, { timeoutMs: UPLOAD_TIMEOUT_MS });
    if (r.code !== 0 || r.timedOut) throw new OpsError('OPS_UPLOAD_FAILED', `${describe(t)}: upload to ${t.projectDir} failed: ${r.timedOut ? 'timed out' : lastLine(r.stderr) || `exit code ${r.code}`}`);
  }
}

/** Nodes on other machines read the hosts file from their data root. */
export async function shipHostsFile(targets: readonly NodeTarget[], hostsFile: string): Promise<void> {
  const text = fs.readFileSync(hostsFile);
  await Promise.all(
    targets
      .filter((t) => t.placement === 'remote')
      .map(async (t) => {
        const r = await runOnNode(t, writeFileScript(t.hostsFile), { input: text });
        if (r.code !== 0) throw new OpsError('OPS_UPLOAD_FAILED', `${describe(t)}: cannot write ${t.hostsFile}: ${r.timedOut ? 'timed out' : lastLine(r.stderr) || `exit code ${r.code}`}`);
      }),
  );
}
