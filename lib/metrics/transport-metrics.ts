// Per-peer transport metrics: the replicator counts what it sends to its peer, the
// peer server what it receives from each peer. Both label by peer id.
import { ActorMetrics, type CounterCell } from './actor-metrics.js';

/** The replicator of one peer: frames and bytes out, reconnects, drops, queue depth. */
export class SendMetrics {
  readonly registry: ActorMetrics;
  readonly frames: CounterCell;
  readonly bytes: CounterCell;
  readonly connects: CounterCell;
  readonly disconnects: CounterCell;
  readonly dropped: CounterCell;

  constructor(peer: string, queueDepth: () => number, connected: () => boolean) {
    const r = (this.registry = new ActorMetrics(`replicator-${peer}`));
    const l = { peer };
    this.frames = r.counter('raftd_transport_frames_sent_total', 'Frames written to the peer connection')(l);
    this.bytes = r.counter('raftd_transport_bytes_sent_total', 'Bytes written to the peer connection')(l);
    this.connects = r.counter('raftd_transport_connects_total', 'Outbound connections established to the peer (reconnects are this minus one)')(l);
    this.disconnects = r.counter('raftd_transport_disconnects_total', 'Outbound connections to the peer lost after they were up')(l);
    this.dropped = r.counter('raftd_transport_messages_dropped_total', 'Messages for the peer dropped: queue full, connection down, or too large')(l);
    r.gauge('raftd_transport_queue_messages', 'Messages waiting in the queue for the peer', () => [{ labels: l, value: queueDepth() }]);
    r.gauge('raftd_transport_connected', '1 while the outbound connection to the peer is up', () => [{ labels: l, value: connected() ? 1 : 0 }]);
  }
}

/** The peer server: frames and bytes in, per peer once its hello named it. */
export class ReceiveMetrics {
  readonly registry = new ActorMetrics('peer-server');
  private readonly framesOf = this.registry.counter('raftd_transport_frames_received_total', 'Frames received from the peer');
  private readonly bytesOf = this.registry.counter('raftd_transport_bytes_received_total', 'Bytes received from the peer (before its hello: peer="unknown")');
  private readonly refusedOf = this.registry.counter('raftd_transport_connections_refused_total', 'Inbound connections closed for breaking the handshake or framing rules');
  private readonly cells = new Map<string, { frames: CounterCell; bytes: CounterCell }>();

  private cell(peer: string): { frames: CounterCell; bytes: CounterCell } {
    let c = this.cells.get(peer);
    if (!c) this.cells.set(peer, (c = { frames: this.framesOf({ peer }), bytes: this.bytesOf({ peer }) }));
    return c;
  }

  onBytes(peer: string | null, n: number): void {
    this.cell(peer ?? 'unknown').bytes.inc(n);
  }

  onFrame(peer: string): void {
    this.cell(peer).frames.inc();
  }

  onRefused(): void {
    this.refusedOf().inc();
  }
}
