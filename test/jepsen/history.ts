// What a run records: every client operation (invoke, then ok / fail / unknown), the
// nemesis's fault windows, and a log of notable events, all timed in ms since the
// run's origin.
import type { Operation } from '../../lib/check/index.js';

/** An operation as the checker sees it, plus what the report shows. */
export type OpRecord = Operation & {
  /** The client (worker) that ran it: the report's row. */
  readonly worker: number;
  /** The node that answered, when one did. */
  readonly node?: string;
  /** Why it is not ok. */
  readonly error?: string;
  readonly attempts: number;
  /** The request id of a write. */
  readonly requestId?: string;
  /** When the client stopped waiting (for the report; the checker takes an unknown op as never completing). */
  readonly endTime: number;
};

export interface FaultWindow {
  /** e.g. 'kill-leader', 'partition-ring'. */
  readonly kind: string;
  /** What exactly: which nodes, which shape. */
  readonly detail: string;
  readonly start: number;
  /** When it healed; null while active. */
  end: number | null;
}

export interface RunEvent {
  readonly time: number;
  readonly text: string;
}

export class Recorder {
  readonly origin = performance.now();
  readonly ops: OpRecord[] = [];
  readonly faults: FaultWindow[] = [];
  readonly events: RunEvent[] = [];

  constructor(private readonly echo?: (line: string) => void) {}

  now(): number {
    return performance.now() - this.origin;
  }

  op(o: OpRecord): void {
    this.ops.push(o);
  }

  event(text: string): void {
    const time = this.now();
    this.events.push({ time, text });
    this.echo?.(`[${(time / 1000).toFixed(1).padStart(6)}s] ${text}`);
  }

  faultStart(kind: string, detail: string): FaultWindow {
    const w: FaultWindow = { kind, detail, start: this.now(), end: null };
    this.faults.push(w);
    this.event(`nemesis: ${kind} ${detail}`);
    return w;
  }

  faultEnd(w: FaultWindow, note = ''): void {
    if (w.end !== null) return;
    w.end = this.now();
    this.event(`nemesis: healed ${w.kind}${note ? ` (${note})` : ''}`);
  }
}
