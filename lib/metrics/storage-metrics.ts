// The log writer's metrics: how long each group sync takes (the number that bounds
// commit latency), what it wrote, and how many segment files hold the log.
import { ActorMetrics } from './actor-metrics.js';

const FSYNC_BUCKETS_S = [0.0001, 0.00025, 0.0005, 0.001, 0.002, 0.004, 0.008, 0.016, 0.032, 0.064, 0.128, 0.256, 0.512, 1.024, 4];

export class StorageMetrics {
  readonly registry = new ActorMetrics('log-writer');
  private readonly syncSeconds = this.registry.histogram('raftd_storage_fsync_duration_seconds', 'Duration of one group sync of the log (fdatasync, plus a directory fsync after a new segment)', FSYNC_BUCKETS_S)();
  private readonly entries = this.registry.counter('raftd_storage_entries_written_total', 'Log entries written')();
  private readonly bytes = this.registry.counter('raftd_storage_bytes_written_total', 'Bytes of log records written')();
  private readonly writes = this.registry.counter('raftd_storage_writes_total', 'Appends of entries to the log (one group sync covers one or more)')();
  private readonly truncated = this.registry.counter('raftd_storage_entries_truncated_total', 'Stored entries dropped because a new leader overwrote them')();

  constructor(segmentCount: () => number) {
    this.registry.gauge('raftd_storage_segments', 'Segment files of the log', () => [{ labels: {}, value: segmentCount() }]);
  }

  onWrite(entries: number, bytes: number, truncated: number): void {
    this.writes.inc();
    this.entries.inc(entries);
    this.bytes.inc(bytes);
    this.truncated.inc(truncated);
  }

  onSync(seconds: number): void {
    this.syncSeconds.observe(seconds);
  }
}
