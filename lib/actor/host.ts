import { parentPort, workerData } from 'node:worker_threads';
import { assert } from '../util/assert.js';
import { toWire } from '../util/errors.js';
import { ACTOR_IDLE_GC, startIdleCollector } from './idle-gc.js';

/**
 * The worker side of an actor: typed inbound messages from the supervisor and a
 * typed `send` back. An exception escaping a handler is fatal for the node
 * (reported as `fatal`, and the supervisor stops the process).
 */
export interface ActorContext<Out, Data> {
  data: Data;
  send(msg: Out, transfer?: readonly ArrayBuffer[]): void;
  ready(): void;
  fatal(err: unknown): never;
}

export function runActor<In, Out, Data>(
  setup: (ctx: ActorContext<Out, Data>) => ((msg: In) => void) | Promise<(msg: In) => void>,
): void {
  const port = parentPort;
  assert(port, 'actor module must run in a worker thread');
  startIdleCollector(ACTOR_IDLE_GC);
  const ctx: ActorContext<Out, Data> = {
    data: workerData as Data,
    send: (msg, transfer) => port.postMessage(msg, transfer as ArrayBuffer[] | undefined),
    ready: () => port.postMessage({ type: 'ready' }),
    fatal(err: unknown): never {
      port.postMessage({ type: 'fatal', ...toWire(err) });
      // Give the message a moment to leave, then stop this thread hard.
      setTimeout(() => process.exit(1), 50);
      throw err instanceof Error ? err : new Error(String(err));
    },
  };
  const queue: In[] = [];
  let handler: ((msg: In) => void) | null = null;
  const dispatch = (msg: In) => {
    try {
      handler!(msg);
    } catch (err) {
      try {
        ctx.fatal(err);
      } catch {
        // fatal() rethrows; the process exits shortly.
      }
    }
  };
  port.on('message', (msg: In) => {
    if (handler) dispatch(msg);
    else queue.push(msg);
  });
  Promise.resolve()
    .then(() => setup(ctx))
    .then((h) => {
      handler = h;
      for (const m of queue.splice(0)) dispatch(m);
    })
    .catch((err) => {
      try {
        ctx.fatal(err);
      } catch {
        // exits shortly
      }
    });
}
