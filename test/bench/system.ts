// What the benchmark needs of a system under test (raftd or etcd): a cluster it
// started itself, the processes to measure, where the leader is, and clients.

export type SystemName = 'raftd' | 'etcd';

/** One closed-loop client's connection. A rejected promise means the connection failed. */
export interface KvClient {
  /** Requests on this connection are independent streams (gRPC); false: answered in order (RESP). */
  readonly concurrent: boolean;
  /** Resolves true when the write was acknowledged, false when the system answered with an error. */
  write(key: string, value: Buffer): Promise<boolean>;
  /** A linearizable read; resolves true when answered without error. */
  read(key: string): Promise<boolean>;
  close(): void;
}

export interface BenchSystem {
  readonly name: SystemName;
  readonly size: number;
  /** The loopback address of each member, in member order. */
  readonly hosts: string[];
  /** Process ids of the running members, in member order (a stopped member is skipped). */
  pids(): number[];
  /** Waits until one member leads and every running member agrees; returns its index. */
  waitForLeader(timeoutMs: number): Promise<number>;
  /** The current term as the members report it (the highest), for counting elections. */
  term(): Promise<number>;
  connect(member: number): Promise<KvClient>;
  /** kill -9 of one member. */
  kill(member: number): Promise<void>;
  restart(member: number): Promise<void>;
  isRunning(member: number): boolean;
  /** Stops every member and removes the data. */
  stop(): Promise<void>;
}
