import { Worker, type TransferListItem } from 'node:worker_threads';
import { RaftdError } from '../util/errors.js';
import { actorExecArgv, actorResourceLimits } from './heap-tuning.js';

/** Every actor announces itself with `ready` once it has set up (opened files, bound ports). */
export type ActorStartup = { type: 'ready' } | { type: 'fatal'; code: string; message: string };

export interface ActorHandle<In> {
  readonly name: string;
  post(msg: In, transfer?: readonly TransferListItem[]): void;
  /** Resolves once the actor said `ready`. */
  readonly ready: Promise<void>;
  /**
   * Posts `stopMsg` and waits (bounded) for the thread to end; terminates it past the bound.
   * Resolves to how it ended ('already' when it was stopping or had died before).
   */
  stop(stopMsg: In, timeoutMs: number): Promise<'exited' | 'terminated' | 'already'>;
  terminate(): Promise<void>;
}

/** Every actor's module (actors/<name>.ts); lib/bundle/threads.ts bundles each. */
export const ACTOR_NAMES = ['log-writer', 'election-timer', 'peer-server', 'replicator', 'client-gateway'] as const;
export type ActorName = (typeof ACTOR_NAMES)[number];

/**
 * An actor's compiled module, found from `base`, the import.meta.url of a module in
 * build/lib/<dir>/: its bundle (CommonJS) when the caller runs from a bundle itself
 * (bin/raftd.js runs lib/cli/raftd.bundle.js; lib/bundle/threads.ts), else the module
 * tsc wrote.
 */
export function actorFile(name: ActorName, base: string): URL {
  return new URL(`../../actors/${name}${base.endsWith('.bundle.js') ? '.bundle.cjs' : '.js'}`, base);
}

export interface SpawnOptions<Out> {
  name: string;
  /** Compiled actor module: actorFile(name, import.meta.url). */
  file: URL;
  workerData: unknown;
  onMessage(msg: Out): void;
  /** The actor died or reported a fatal error: the node is fail-stop. */
  onFatal(err: RaftdError): void;
}

/**
 * Starts an actor on its own worker thread. The worker's port is private to the
 * two ends; messages to one actor are processed in the order they were posted.
 */
export function spawnActor<In, Out>(opts: SpawnOptions<Out>): ActorHandle<In> {
  const worker = new Worker(opts.file, { workerData: opts.workerData, name: opts.name, execArgv: actorExecArgv(process.execArgv), resourceLimits: actorResourceLimits() });
  let stopping = false;
  let resolveReady!: () => void;
  let rejectReady!: (e: Error) => void;
  const ready = new Promise<void>((res, rej) => {
    resolveReady = res;
    rejectReady = rej;
  });
  ready.catch(() => undefined);
  const fatal = (err: RaftdError) => {
    if (stopping) return;
    stopping = true;
    rejectReady(err);
    opts.onFatal(err);
  };
  worker.on('message', (msg: Out | ActorStartup) => {
    const m = msg as { type?: unknown };
    if (m.type === 'ready') return resolveReady();
    if (m.type === 'fatal') {
      const f = msg as { code: string; message: string };
      return fatal(new RaftdError(f.code as RaftdError['code'], `${opts.name}: ${f.message}`));
    }
    opts.onMessage(msg as Out);
  });
  worker.on('error', (err) => fatal(new RaftdError('RAFTD_ACTOR_DIED', `${opts.name}: ${err.stack ?? err.message}`)));
  worker.on('exit', (code) => fatal(new RaftdError('RAFTD_ACTOR_DIED', `${opts.name} exited with code ${code}`)));
  return {
    name: opts.name,
    ready,
    post(msg: In, transfer?: readonly TransferListItem[]) {
      worker.postMessage(msg, transfer as TransferListItem[] | undefined);
    },
    async stop(stopMsg: In, timeoutMs: number) {
      if (stopping) return 'already';
      stopping = true;
      const exited = new Promise<'exited'>((res) => worker.once('exit', () => res('exited')));
      worker.postMessage(stopMsg);
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<'late'>((res) => (timer = setTimeout(() => res('late'), timeoutMs)));
      const how = await Promise.race([exited, late]);
      clearTimeout(timer);
      if (how === 'exited') return how;
      await worker.terminate();
      return 'terminated';
    },
    async terminate() {
      stopping = true;
      await worker.terminate();
    },
  };
}
