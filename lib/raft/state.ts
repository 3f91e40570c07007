// The core's state, shared by the files that act on it (roles.ts, election.ts,
// replication.ts, read-index.ts) the way etcd-io/raft's functions share one `raft`
// struct. Only core.ts is the public face; nothing outside lib/raft touches this.
import type { Membership } from '../replica/membership-types.js';
import { assert } from './assert.js';
import { configFromSnapshot } from './config-entry.js';
import { ConfigHistory } from './config-history.js';
import type { CoreEventName } from './events.js';
import { RaftLog } from './log.js';
import { Progress } from './progress.js';
import { quorumSize } from './quorum.js';
import { ForwardedReads, LeaderReads } from './reads.js';
import type { CoreConfig, HardState, Message, NodeId, RaftEvent, Restored, Role } from './types.js';

/** Bound on pending ReadIndex requests (leader) and forwarded reads (follower). */
export const READS_MAX = 4096;
/** Bound on events buffered between two ready() calls; the excess is counted, not kept. */
export const EVENTS_MAX = 4096;

export class CoreState {
  readonly cfg: CoreConfig;
  readonly id: NodeId;
  /** The configurations the log holds; `members` is the one in effect (set when appended, not when committed). */
  readonly configs: ConfigHistory;
  members: Membership;
  /** Every member except this node, voters and learners: whom a leader replicates to. */
  others: NodeId[] = [];
  /** Every voter except this node: whom a candidate asks for votes. */
  otherVoters: NodeId[] = [];
  voterSet = new Set<NodeId>();
  memberSet = new Set<NodeId>();
  /** Votes that make a majority of the voters (1 with none, so nothing is ever won or committed by nobody). */
  quorum = 1;
  /**
   * A node that joined with an empty disk replays the log from a leader, configurations of
   * the past included: one may name it a voter (the same id before it was removed and
   * wiped), even the only one. It must not campaign on such a view, so it does not until
   * its durable log reaches the highest commit index a leader told it (joinCommitSeen):
   * past every configuration committed by then. The driver passes `join` on every start
   * until it has seen `joining` false once.
   */
  joining: boolean;
  joinCommitSeen = 0;
  /**
   * The leader that told this node it is not in its committed configuration (a removed node
   * restarted from a disk that predates its removal still thinks it votes), or null. Such a
   * node does not campaign until a leader replicates to it again (it was added back).
   */
  removedNotice: NodeId | null = null;
  /** The last non-voter whose vote request was logged as ignored ("id/term"): logged once, not every resend. */
  ignoredVoteKey = '';
  /** The pre-vote term in which this node last stepped back for a pre-candidate that comes first (election.ts yieldTo). */
  preVoteYieldTerm = 0;
  readonly random: () => number;
  readonly readTimeoutTicks: number;

  // Persistent state (mirrored by storage through Ready.hardState / Ready.entries).
  term: number;
  vote: NodeId | null;
  readonly log: RaftLog;

  // Volatile state.
  role: Role = 'follower';
  leader: NodeId | null = null;
  /** Invariant: appliedIndex <= commitIndex <= log.lastIndex; commitIndex never decreases. */
  commitIndex = 0;
  appliedIndex = 0;
  electionElapsed = 0;
  heartbeatElapsed = 0;
  /** Leader: the commit index the last heartbeat round carried to every follower when it went out quiet (roles.ts: leaderQuiet), else -1. */
  quietCommitAtHeartbeat = -1;
  randomizedElectionTicks = 0;
  ticks = 0;
  readonly votes = new Map<NodeId, boolean>();
  /** Leader only: one entry per other voter. */
  readonly progress = new Map<NodeId, Progress>();
  /** Leader: the follower leadership is being handed to (null: none), and ticks since the handover began. */
  leadTransferee: NodeId | null = null;
  transferElapsed = 0;
  /** Leader's ReadIndex round counter; monotonic for the life of this core. */
  readRound = 0;
  readonly leaderReads = new LeaderReads(READS_MAX);
  readonly forwardedReads = new ForwardedReads(READS_MAX);

  /** Role behaviour, swapped in by the become* functions (roles.ts). */
  stepRole: (s: CoreState, m: Message) => void;
  tickRole: (s: CoreState) => void;

  // Output accumulated until the next ready().
  prevHard: HardState;
  /** Messages that depend on nothing unpersisted. */
  msgsNow: Message[] = [];
  /** Messages that may leave only once this Ready's hard state and entries are durable. */
  msgs: Message[] = [];
  reads: { ctx: number; index: number }[] = [];
  readsFailed: number[] = [];
  sendSnapshot: NodeId[] = [];
  events: RaftEvent[] = [];
  eventsDropped = 0;

  constructor(config: CoreConfig, restored: Restored, random: () => number, step: CoreState['stepRole'], tick: CoreState['tickRole']) {
    validateConfig(config);
    this.cfg = { ...config, peers: [...config.peers] };
    this.id = config.id;
    this.random = random;
    this.joining = config.join === true;
    this.readTimeoutTicks = 2 * config.electionTicks;

    const hs = restored.hardState;
    assert(Number.isInteger(hs.term) && hs.term >= 0, `restored term ${hs.term}`);
    const snap = restored.snapshot ?? null;
    this.log = new RaftLog(restored.entries, snap);
    // On restart: the log's last config entry, else the snapshot's, else the bootstrap list.
    const snapConfig = snap === null ? null : configFromSnapshot(restored.snapshotConfig, snap.index);
    this.configs = new ConfigHistory(snapConfig ?? bootstrapMembership(config));
    this.configs.appended(restored.entries);
    this.members = this.configs.current();
    this.deriveMembership();
    // What a snapshot covers was committed and is already in the state machine.
    this.commitIndex = this.appliedIndex = snap?.index ?? 0;
    // A leader's snapshot is durable as soon as it is installed, before the term this node
    // adopted from that leader is (snapshotAck raises it after the install): the snapshot's
    // term may then be above the hard state's. Committed entries carry it, so it is adopted
    // (without a vote: none was sent in it, votes leave only once durable) and saved at the
    // first Ready. The log's own entries are always written after their term.
    const term = Math.max(hs.term, snap?.term ?? 0);
    assert(this.log.lastTerm <= term, `restored log term ${this.log.lastTerm} > hard state term ${hs.term}`);
    this.term = term;
    this.vote = term === hs.term ? hs.vote : null;
    this.prevHard = { term: hs.term, vote: hs.vote };
    this.stepRole = step;
    this.tickRole = tick;
  }

  /** Recomputes what follows from `members`; a leader starts or stops replicating to who joined or left. */
  deriveMembership(): void {
    const m = this.members;
    this.memberSet = new Set(m.members.map((x) => x.id));
    this.voterSet = new Set(m.members.filter((x) => x.voter).map((x) => x.id));
    this.others = m.members.filter((x) => x.id !== this.id).map((x) => x.id);
    this.otherVoters = this.others.filter((p) => this.voterSet.has(p));
    this.quorum = this.voterSet.size === 0 ? 1 : quorumSize(this.voterSet.size);
    if (this.role !== 'leader') return;
    for (const p of this.others) if (!this.progress.has(p)) this.progress.set(p, new Progress(this.log.lastIndex + 1, this.cfg.inflightMax, this.cfg.inflightBytesMax ?? 0));
    for (const p of [...this.progress.keys()]) if (!this.memberSet.has(p)) this.progress.delete(p);
  }

  /** The configuration in effect may have changed (config history updated): adopt it. */
  adoptConfig(reason: string): boolean {
    const next = this.configs.current();
    if (next === this.members) return false;
    this.emit('info', 'configChanged', { from: this.members.index, to: next.index, reason, voters: next.members.filter((x) => x.voter).map((x) => x.id), learners: next.members.filter((x) => !x.voter).map((x) => x.id) });
    this.members = next;
    this.deriveMembership();
    return true;
  }

  get isVoter(): boolean {
    return this.voterSet.has(this.id);
  }

  /**
   * Is `id` a voter this node listens to in elections: of its latest configuration, or, while
   * that is not known committed, of the one before it (committed)? Logs may differ in uncommitted config entries (one will be
   * cut), so refusing voters of the committed configuration could leave each candidate
   * waiting for a node that ignores it. A node removed by a committed change is in neither.
   */
  isKnownVoter(id: NodeId): boolean {
    if (this.voterSet.has(id)) return true;
    if (this.members.index <= this.commitIndex) return false;
    return this.previousConfig().members.some((m) => m.id === id && m.voter);
  }

  /**
   * May this node campaign? A voter may. So may a node whose removal is appended but not
   * known committed, if it votes in the configuration before (hashicorp/raft's rule, with
   * the configuration before the latest for the committed one): a leader that appended its
   * own removal and crashed before replicating it may hold the only copy of the longest
   * log, and the others would wait for its vote forever. Its votes are counted in its
   * latest configuration (where it does not count itself); as leader it commits its
   * removal, then steps down.
   */
  get canCampaign(): boolean {
    if (this.joining || this.removedNotice !== null) return false;
    if (this.isVoter) return true;
    if (this.members.index <= this.commitIndex) return false;
    return this.previousConfig().members.some((m) => m.id === this.id && m.voter);
  }

  /**
   * The configuration before the latest: committed, since a leader appends a change only
   * once the one before it committed. (The commit index does not say so after a restart:
   * it starts at the snapshot's index.)
   */
  previousConfig(): Membership {
    return this.configs.at(this.members.index - 1);
  }

  /** A joining node heard a leader's commit index, or made more of its log durable: is it past the configurations of the past? */
  maybeEndJoin(leaderCommit: number): void {
    if (!this.joining) return;
    if (leaderCommit > this.joinCommitSeen) this.joinCommitSeen = leaderCommit;
    if (this.joinCommitSeen === 0 || this.log.stableIndex < this.joinCommitSeen) return;
    this.joining = false;
    this.emit('info', 'joinCaughtUp', { stableIndex: this.log.stableIndex, leaderCommit: this.joinCommitSeen, config: this.members.index });
  }

  progressOf(peer: NodeId): Progress {
    const pr = this.progress.get(peer);
    assert(pr !== undefined, `no progress for ${peer}`);
    return pr;
  }

  hardStateChanged(): boolean {
    return this.term !== this.prevHard.term || this.vote !== this.prevHard.vote;
  }

  emit(level: RaftEvent['level'], event: CoreEventName, fields: Record<string, unknown>): void {
    if (level === 'debug') return; // per-message detail: kept cheap by not building it at all
    if (this.events.length >= EVENTS_MAX) {
      this.eventsDropped++;
      return;
    }
    this.events.push({ ...fields, level, event, term: this.term, node: this.id });
  }
}

/** The bootstrap list (index 0): hosts.txt's members, or none for a node that joins. */
function bootstrapMembership(c: CoreConfig): Membership {
  if (c.join === true) return { index: 0, members: [] };
  if (c.members !== undefined) return { index: 0, members: c.members.map((m) => ({ ...m })) };
  return { index: 0, members: c.peers.map((id) => ({ id, host: '', peerPort: 0, clientPort: 0, voter: true })) };
}

function validateConfig(c: CoreConfig): void {
  assert(typeof c.id === 'string' && c.id.length > 0, 'config.id must be a non-empty string');
  assert(new Set(c.peers).size === c.peers.length, 'config.peers has duplicates');
  if (c.join !== true && c.members === undefined) assert(c.peers.includes(c.id), `config.peers must include ${c.id}`);
  if (c.members !== undefined) assert(new Set(c.members.map((m) => m.id)).size === c.members.length, 'config.members has duplicates');
  const posInt = (n: number): boolean => Number.isInteger(n) && n >= 1;
  assert(posInt(c.heartbeatTicks), `heartbeatTicks ${c.heartbeatTicks}`);
  assert(posInt(c.electionTicks) && c.electionTicks > c.heartbeatTicks, 'electionTicks must exceed heartbeatTicks');
  assert(posInt(c.inflightMax), `inflightMax ${c.inflightMax}`);
  assert(c.inflightBytesMax === undefined || (Number.isInteger(c.inflightBytesMax) && c.inflightBytesMax >= 0), `inflightBytesMax ${c.inflightBytesMax}`);
  assert(posInt(c.appendBytesMax), `appendBytesMax ${c.appendBytesMax}`);
  assert(posInt(c.uncommittedEntriesMax), `uncommittedEntriesMax ${c.uncommittedEntriesMax}`);
}
