// `raft-cluster up` ships the files the security flags name (cluster secret, client
// password, ACL, TLS certificates and keys) to every remote machine, at the same
// absolute path, readable by their owner only (umask 077), so the raftd flags are the
// same everywhere. The files travel on the exec template's stdin, never on a command
// line.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { OpsError } from './errors.js';
import { runOnNode } from './remote.js';
import { lastLine, shq } from './shell.js';
import { describe, type NodeTarget } from './target.js';

/** raftd flags whose value is a file the node must have. */
export const FILE_FLAGS = [
  '--cluster-secret-file',
  '--requirepass-file',
  '--acl-file',
  '--tls-cert-file',
  '--tls-key-file',
  '--tls-ca-file',
  '--peer-tls-cert-file',
  '--peer-tls-key-file',
  '--peer-tls-ca-file',
] as const;

/** The args with every file flag's value made absolute (against `cwd`), and those files. */
export function fileFlagArgs(args: readonly string[], cwd: string): { args: string[]; files: string[] } {
  const out: string[] = [];
  const files: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const eq = a.indexOf('=');
    const flag = eq > 0 ? a.slice(0, eq) : a;
    if (!(FILE_FLAGS as readonly string[]).includes(flag)) {
      out.push(a);
      continue;
    }
    const value = eq > 0 ? a.slice(eq + 1) : args[++i];
    if (value === undefined) throw new OpsError('OPS_CONFIG', `${flag} needs a file`);
    const abs = path.resolve(cwd, value);
    files.push(abs);
    out.push(`${flag}=${abs}`);
  }
  return { args: out, files: [...new Set(files)] };
}

/** The value of `--flag=value` in args made by fileFlagArgs (the last one wins), or undefined. */
export function fileFlagValue(args: readonly string[], flag: (typeof FILE_FLAGS)[number]): string | undefined {
  let v: string | undefined;
  for (const a of args) if (a.startsWith(`${flag}=`)) v = a.slice(flag.length + 1);
  return v;
}

/** Writes each file to the same path on every remote node's machine, mode 0600. */
export async function shipSecretFiles(targets: readonly NodeTarget[], files: readonly string[]): Promise<void> {
  if (files.length === 0) return;
  const contents = files.map((f) => {
    try {
      return fs.readFileSync(f);
    } catch (err) {
      throw new OpsError('OPS_CONFIG', `cannot read ${f}: ${(err as Error).message}`);
    }
  });
  const remote = targets.filter((t) => t.placement === 'remote');
  await Promise.all(
    remote.flatMap((t) =>
      files.map(async (f, i) => {
        const dir = path.dirname(f);
        const script = `umask 077 && mkdir -p ${shq(dir)} && cat > ${shq(f)}.tmp && mv ${shq(f)}.tmp ${shq(f)}`;
        const r = await runOnNode(t, script, { input: contents[i]! });
        if (r.code !== 0) throw new OpsError('OPS_UPLOAD_FAILED', `${describe(t)}: cannot write ${f}: ${r.timedOut ? 'timed out' : lastLine(r.stderr) || `exit code ${r.code}`}`);
      }),
    ),
  );
}
