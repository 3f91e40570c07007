// The POSIX sh scripts run on a node's machine (here, in a namespace, or over ssh) to
// start, signal and stop raftd. They need only sh, kill, cat, sleep, awk and, where
// there is /proc, sed, cut and tr; setsid when there is one. Each prints one status word
// first (STARTED, RUNNING, ...) and exits with one of SCRIPT_EXIT.
import { shq } from './shell.js';
import type { NodeTarget } from './target.js';
import { MAIN_SEMI_SPACE_MB, MALLOC_ENV } from '../actor/heap-tuning.js';

export const SCRIPT_EXIT = {
  ok: 0,
  alreadyRunning: 3,
  noBuild: 4,
  noNode: 5,
  noDataDir: 6,
  died: 7,
  notRunning: 8,
} as const;

/** Polling step of the scripts' wait loops. */
const POLL_S = 0.05;
/** How long `start` watches a new process before calling it started. */
const START_SETTLE_S = 0.3;
/** How long to wait for a pid file or for a SIGKILLed process to vanish. */
const WAIT_TICKS_MAX = 60;

/** Written to raftd.out before each start, so a diagnosis reads only the latest run. */
const START_MARK = '== raft-cluster: starting raftd';
/** Lines of raftd.out a diagnosis looks at. */
const TAIL_LINES = 20;

/** The end of raftd.out since the last start mark. */
function lastRunTail(t: NodeTarget): string {
  return `awk -v m=${shq(START_MARK)} 'index($0, m) == 1 { n = 0; next } { b[n++] = $0 } END { for (i = (n > ${TAIL_LINES} ? n - ${TAIL_LINES} : 0); i < n; i++) print b[i] }' ${shq(t.outFile)} 2>/dev/null`;
}

export type Signal = 'TERM' | 'KILL' | 'STOP' | 'CONT';

/**
 * `alive PID`: the process exists, is not a zombie and (where /proc exists) is the raftd
 * of this node, so a pid file left by a crash never makes us signal an unrelated process.
 * `readpid`: $p from the pid file, or empty.
 */
function prelude(t: NodeTarget): string {
  return [
    `PIDF=${shq(t.pidFile)}`,
    `alive() { kill -0 "$1" 2>/dev/null || return 1; if [ -r "/proc/$1/stat" ]; then [ "$(sed 's/.*) //' "/proc/$1/stat" | cut -c1)" != Z ] || return 1; c=$(tr '\\000' ' ' <"/proc/$1/cmdline"); case "$c" in *raftd*${shq(` --id ${t.entry.id} `)}*) ;; *) return 1 ;; esac; fi; return 0; }`,
    `readpid() { p=$(cat "$PIDF" 2>/dev/null); case "$p" in ''|*[!0-9]*) p='' ;; esac; }`,
    `waitgone() { i=0; while alive "$1" && [ $i -lt ${WAIT_TICKS_MAX} ]; do sleep ${POLL_S}; i=$((i+1)); done; ! alive "$1"; }`,
  ].join('\n');
}

/**
 * Starts raftd unless its pid file names a live one. The raftd flags are saved in
 * <data>/raftd.args; with `reuseSaved` and no flags given, the saved ones are used
 * (so `restart` keeps the flags of `up`).
 */
export function startScript(t: NodeTarget, raftdArgs: readonly string[], reuseSaved = false): string {
  const argsFile = shq(`${t.dataDir}/raftd.args`);
  // The main thread's young-generation bound (heap-tuning.ts), which local starts pass in NODE_OPTIONS.
  const cmd = [t.nodeBin, `--max-semi-space-size=${MAIN_SEMI_SPACE_MB}`, `${t.projectDir}/bin/raftd.js`, '--id', t.entry.id, '--hosts', t.hostsFile, '--data', t.dataDir].map(shq).join(' ');
  const setArgs =
    reuseSaved && raftdArgs.length === 0
      ? `set --; if [ -f ${argsFile} ]; then while IFS= read -r a; do set -- "$@" "$a"; done < ${argsFile}; fi`
      : `set -- ${raftdArgs.map(shq).join(' ')}`;
  return [
    prelude(t),
    `readpid`,
    `if [ -n "$p" ] && alive "$p"; then echo "RUNNING $p"; exit ${SCRIPT_EXIT.alreadyRunning}; fi`,
    `[ -f ${shq(`${t.projectDir}/build/lib/cli/raftd.bundle.js`)} ] || { echo "NOBUILD"; exit ${SCRIPT_EXIT.noBuild}; }`,
    `command -v ${shq(t.nodeBin)} >/dev/null 2>&1 || { echo "NONODE"; exit ${SCRIPT_EXIT.noNode}; }`,
    `mkdir -p ${shq(t.dataDir)} || { echo "NODATADIR"; exit ${SCRIPT_EXIT.noDataDir}; }`,
    setArgs,
    `: > ${argsFile} && for a in "$@"; do printf '%s\\n' "$a" >> ${argsFile}; done`,
    `rm -f "$PIDF"`,
    `cd ${shq(t.projectDir)} || exit ${SCRIPT_EXIT.noBuild}`,
    // glibc's malloc settings (heap-tuning.ts), as a local start gets them; a value the remote environment already has wins.
    ...Object.entries(MALLOC_ENV).map(([k, v]) => `: "\${${k}:=${v}}"; export ${k}`),
    `S=; command -v setsid >/dev/null 2>&1 && S=setsid`,
    `echo "${START_MARK} $(date 2>/dev/null)" >> ${shq(t.outFile)}`,
    // The new session's shell writes its own pid, then becomes raftd (same pid).
    `$S sh -c 'echo $$ > "$0"; exec "$@"' "$PIDF" ${cmd} "$@" </dev/null >>${shq(t.outFile)} 2>&1 &`,
    `i=0; while [ ! -s "$PIDF" ] && [ $i -lt ${WAIT_TICKS_MAX} ]; do sleep ${POLL_S}; i=$((i+1)); done`,
    `sleep ${START_SETTLE_S}`,
    `readpid`,
    `if [ -n "$p" ] && alive "$p"; then echo "STARTED $p"; exit 0; fi`,
    `echo "DIED"; ${lastRunTail(t)}; exit ${SCRIPT_EXIT.died}`,
  ].join('\n');
}

/**
 * SIGTERM (and SIGCONT, so a paused node can act on it), then SIGKILL after graceMs.
 * `infoPid` is the pid the node reported in INFO: used when the pid file is gone (data
 * directory wiped, started by hand); the answer then ends in ` info`.
 */
export function stopScript(t: NodeTarget, graceMs: number, infoPid: number | null = null): string {
  const ticks = Math.max(1, Math.ceil(graceMs / 1000 / POLL_S));
  return [
    prelude(t),
    `readpid`,
    `VIA=`,
    infoPid !== null ? `if [ -z "$p" ] || ! alive "$p"; then p=${Math.trunc(infoPid)}; VIA=' info'; fi` : ':',
    `if [ -z "$p" ] || ! alive "$p"; then rm -f "$PIDF"; echo "NOTRUNNING"; exit 0; fi`,
    `kill -TERM "$p"; kill -CONT "$p" 2>/dev/null`,
    `i=0; while alive "$p"; do`,
    `  if [ $i -ge ${ticks} ]; then kill -KILL "$p"; waitgone "$p"; rm -f "$PIDF"; echo "KILLED $p$VIA"; exit 0; fi`,
    `  sleep ${POLL_S}; i=$((i+1))`,
    `done`,
    `rm -f "$PIDF"; echo "STOPPED $p$VIA"`,
  ].join('\n');
}

/** One signal; after SIGKILL waits until the process is gone and drops the pid file. */
export function signalScript(t: NodeTarget, sig: Signal): string {
  return [
    prelude(t),
    `readpid`,
    `if [ -z "$p" ] || ! alive "$p"; then echo "NOTRUNNING"; exit ${SCRIPT_EXIT.notRunning}; fi`,
    `kill -${sig} "$p" || exit 1`,
    sig === 'KILL' ? `waitgone "$p"; rm -f "$PIDF"` : ':',
    `echo "SIGNALLED $p"`,
  ].join('\n');
}

/** RUNNING pid or NOTRUNNING, then the tail of raftd.out. */
export function probeScript(t: NodeTarget): string {
  return [
    prelude(t),
    `readpid`,
    `if [ -n "$p" ] && alive "$p"; then echo "RUNNING $p"; else echo "NOTRUNNING"; fi`,
    lastRunTail(t),
    `exit 0`,
  ].join('\n');
}

/** Writes stdin to `file` (used to ship hosts.txt). */
export function writeFileScript(file: string): string {
  const dir = file.replace(/\/[^/]*$/, '') || '/';
  return `mkdir -p ${shq(dir)} && cat > ${shq(file)}`;
}

/** A tar stream of the node's per-actor logs on stdout. */
export function tarLogsScript(t: NodeTarget): string {
  return `cd ${shq(t.logsDir)} && tar -cf - .`;
}

/** Unpacks a tar stream from stdin into `dir`. */
export function extractScript(dir: string): string {
  return `mkdir -p ${shq(dir)} && tar -C ${shq(dir)} -xf -`;
}
