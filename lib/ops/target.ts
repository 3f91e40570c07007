// Where each node of the cluster runs and how to reach its machine: here directly,
// through an exec template onto this machine's filesystem (`ip netns exec raftd-{id}`),
// or through a template onto another machine (`ssh {host}`, the default for hosts
// that are not this machine).
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { isLocalHost, type HostEntry } from '../config/hosts.js';
import { OpsError } from './errors.js';
import { shq } from './shell.js';

/** The project this tool belongs to: build/lib/ops/target.js is three levels down. */
export const PROJECT_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

export const DEFAULT_EXEC = 'ssh {host}';

/**
 * Templates whose program runs the command on this machine (same filesystem, same
 * build), so nothing has to be uploaded and local paths hold there.
 */
const SAME_MACHINE_PROGRAMS = new Set(['ip', 'nsenter', 'sudo', 'doas', 'env', 'nice', 'taskset', 'runuser', 'setpriv', 'chrt']);

/** Templates whose program joins its arguments into one string for a remote shell. */
const STRING_COMMAND_PROGRAMS = new Set(['ssh']);

export interface ClusterConfig {
  /** Absolute path of hosts.txt here. */
  hostsFile: string;
  hosts: HostEntry[];
  /** --exec: when set, every node is reached through it, local or not. */
  exec: string | null;
  /** --ns-map id=ns: the {ns} of each node. */
  nsMap: ReadonlyMap<string, string>;
  /** --remote-dir: the project on the node's machine (default: the same path as here). */
  remoteDir: string | null;
  /** --data-root: node X keeps its data in <data-root>/X. */
  dataRoot: string;
  /** False with --no-upload. */
  upload: boolean;
  /** Flags passed on to every raftd. */
  raftdArgs: string[];
  /** Files named by raftd's security flags, absolute; `up` ships them to remote machines (lib/ops/secrets.ts). */
  secretFiles?: string[];
  /** --node: the node binary on other machines (default `node`). */
  nodeBin: string | null;
}

/** local: run here directly; shared: through a template onto this machine; remote: onto another machine. */
export type Placement = 'local' | 'shared' | 'remote';

export interface NodeTarget {
  entry: HostEntry;
  placement: Placement;
  /** The exec template expanded for this node ('' for local nodes). */
  prefix: string;
  /** Where bin/raftd.js is, on the node's machine. */
  projectDir: string;
  nodeBin: string;
  dataDir: string;
  hostsFile: string;
  pidFile: string;
  outFile: string;
  logsDir: string;
}

export function parseNsMap(text: string | undefined): Map<string, string> {
  const out = new Map<string, string>();
  if (!text) return out;
  for (const part of text.split(',')) {
    const m = /^\s*([A-Za-z0-9_.-]+)=([A-Za-z0-9_.-]+)\s*$/.exec(part);
    if (!m) throw new OpsError('OPS_CONFIG', `--ns-map: expected id=namespace[,id=namespace...], got "${part}"`);
    out.set(m[1]!, m[2]!);
  }
  return out;
}

/** The template with {host}, {id} and {ns} of one node filled in (each quoted for the shell). */
export function expandTemplate(template: string, entry: HostEntry, nsMap: ReadonlyMap<string, string>): string {
  return template.replace(/\{([^{}]*)\}/g, (_, key: string) => {
    switch (key) {
      case 'host':
        return shq(entry.host);
      case 'id':
        return shq(entry.id);
      case 'ns': {
        const ns = nsMap.get(entry.id);
        if (ns === undefined) throw new OpsError('OPS_CONFIG', `--exec uses {ns} but --ns-map has no namespace for ${entry.id}`);
        return shq(ns);
      }
      default:
        throw new OpsError('OPS_CONFIG', `--exec: unknown placeholder {${key}} (known: {host}, {id}, {ns})`);
    }
  });
}

function program(template: string): string {
  const first = template.trim().split(/\s+/)[0] ?? '';
  return path.basename(first);
}

export function templateStaysOnMachine(template: string): boolean {
  return SAME_MACHINE_PROGRAMS.has(program(template));
}

export function targetFor(c: ClusterConfig, entry: HostEntry): NodeTarget {
  let placement: Placement;
  let prefix = '';
  if (c.exec === null && isLocalHost(entry.host)) {
    placement = 'local';
  } else {
    const template = c.exec ?? DEFAULT_EXEC;
    if (template.trim() === '') throw new OpsError('OPS_CONFIG', '--exec is empty');
    prefix = expandTemplate(template, entry, c.nsMap);
    placement = templateStaysOnMachine(template) ? 'shared' : 'remote';
  }
  const projectDir = placement === 'local' ? PROJECT_DIR : (c.remoteDir ?? PROJECT_DIR);
  // Here (and on this machine through a template) a relative data root is relative to
  // the working directory; on another machine, to the project there.
  const dataRoot = placement === 'remote' ? path.posix.resolve(projectDir, c.dataRoot) : path.resolve(c.dataRoot);
  const join = placement === 'remote' ? path.posix.join : path.join;
  const dataDir = join(dataRoot, entry.id);
  return {
    entry,
    placement,
    prefix,
    projectDir,
    nodeBin: placement === 'remote' ? (c.nodeBin ?? 'node') : process.execPath,
    dataDir,
    hostsFile: placement === 'remote' ? join(dataRoot, 'hosts.txt') : c.hostsFile,
    pidFile: join(dataDir, 'raftd.pid'),
    outFile: join(dataDir, 'raftd.out'),
    logsDir: join(dataDir, 'logs'),
  };
}

export function targetsFor(c: ClusterConfig, ids?: readonly string[]): NodeTarget[] {
  const known = c.hosts.map((h) => h.id);
  for (const id of ids ?? []) if (!known.includes(id)) throw new OpsError('OPS_CONFIG', `no node "${id}" in ${c.hostsFile} (known: ${known.join(', ')})`);
  return c.hosts.filter((h) => !ids || ids.length === 0 || ids.includes(h.id)).map((h) => targetFor(c, h));
}

/** The command line that runs `script` with sh on the node's machine. */
export function onNode(t: NodeTarget, script: string): string {
  const sh = `sh -c ${shq(script)}`;
  if (t.placement === 'local') return sh;
  if (STRING_COMMAND_PROGRAMS.has(program(t.prefix))) return `${t.prefix} ${shq(sh)}`;
  return `${t.prefix} ${sh}`;
}

/** How a node is named in messages: `n2 (10.0.0.2 via ssh 10.0.0.2)`. */
export function describe(t: NodeTarget): string {
  return t.placement === 'local' ? `${t.entry.id} (${t.entry.host})` : `${t.entry.id} (${t.entry.host} via ${t.prefix})`;
}
