// The client gateway's metrics: connections, commands by name and outcome, error
// replies by code, and request latency split by stage (the stages main measures,
// proposed -> committed and committed -> applied, land in the same histogram).
import { ActorMetrics, type CounterCell, type HistogramCell } from './actor-metrics.js';
import { STAGE_HISTOGRAM } from './snapshot.js';

/** Error codes with a series of their own; any other code counts as "other". */
const ERROR_CODES = new Set(['ERR', 'BUSY', 'TIMEOUT', 'TRYAGAIN', 'NOTLEADER', 'WRONGTYPE', 'NOAUTH', 'NOPERM', 'EXECABORT', 'OOM']);
const DASH = 0x2d;

/** Where a client request spends its time, in order. */
export type GatewayStage = 'gateway_queued' | 'node' | 'reply_written';

export class GatewayMetrics {
  readonly registry = new ActorMetrics('client-gateway');
  private readonly accepted: CounterCell = this.registry.counter('raftd_client_connections_accepted_total', 'Client connections accepted')();
  private readonly commandsOf = this.registry.counter('raftd_client_commands_total', 'Client commands by name and outcome (ok, or error: the reply is a RESP error)');
  private readonly errorsOf = this.registry.counter('raftd_client_errors_total', 'Error replies to clients by code (BUSY, TIMEOUT, TRYAGAIN, ...)');
  private readonly stageOf = this.registry.histogram(STAGE_HISTOGRAM.name, STAGE_HISTOGRAM.help);
  private readonly durationOf = this.registry.histogram('raftd_client_request_duration_seconds', 'Client writes and reads from parsed to reply written, by kind');
  private readonly commands = new Map<string, { ok: CounterCell; error: CounterCell }>();
  private readonly errors = new Map<string, CounterCell>();
  private readonly stages = new Map<string, HistogramCell>();
  private readonly durations = new Map<string, HistogramCell>();

  constructor(
    /** Whether a lower-case command name is in the command table (others count as "unknown"). */
    private readonly known: (name: string) => boolean,
    connections: () => number,
    pending: () => number,
  ) {
    this.registry.gauge('raftd_client_connections', 'Open client connections', () => [{ labels: {}, value: connections() }]);
    this.registry.gauge('raftd_client_pending_requests', 'Client writes and reads waiting for a leader or for consensus', () => [{ labels: {}, value: pending() }]);
  }

  onAccept(): void {
    this.accepted.inc();
  }

  /** A command's reply is known: counts it by name and outcome, and an error by code. */
  onReply(command: string, reply: Buffer): void {
    const isError = reply.length > 0 && reply[0] === DASH;
    const name = this.known(command) ? command : 'unknown';
    let c = this.commands.get(name);
    if (!c) this.commands.set(name, (c = { ok: this.commandsOf({ command: name, outcome: 'ok' }), error: this.commandsOf({ command: name, outcome: 'error' }) }));
    (isError ? c.error : c.ok).inc();
    if (!isError) return;
    const end = reply.indexOf(0x20) > 0 ? reply.indexOf(0x20) : reply.indexOf(0x0d);
    const word = reply.toString('latin1', 1, end > 1 ? end : reply.length).toUpperCase();
    const code = ERROR_CODES.has(word) ? word : 'other';
    let e = this.errors.get(code);
    if (!e) this.errors.set(code, (e = this.errorsOf({ code })));
    e.inc();
  }

  onStage(stage: GatewayStage, ms: number): void {
    let h = this.stages.get(stage);
    if (!h) this.stages.set(stage, (h = this.stageOf({ stage })));
    h.observe(ms / 1000);
  }

  onDone(kind: 'write' | 'read', ms: number): void {
    let h = this.durations.get(kind);
    if (!h) this.durations.set(kind, (h = this.durationOf({ kind })));
    h.observe(ms / 1000);
  }
}
