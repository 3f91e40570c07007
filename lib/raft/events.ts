// Every event name the node's `raft` actor log can carry: the core's (through
// Ready.events) and the supervisor's own. raft-logs --summary switches on these, so a
// renamed event is a type error there rather than a silently empty summary.

/** Events the pure core emits. */
export const CORE_EVENTS = [
  'termChanged',
  'roleChanged',
  'leaderChanged',
  'steppedDown',
  'electionStarted',
  'electionWon',
  'electionLost',
  'voteGranted',
  'voteRejected',
  'voteIgnored',
  'logTruncated',
  'appendRejected',
  'peerUnreachable',
  'peerReachable',
  'messageFromUnknownPeer',
  'eventsDropped',
  'conflictingLeader',
  'transferStarted',
  'leaderUnreachable',
  'transferAborted',
  'timeoutNowSent',
  'timeoutNowReceived',
  'snapshotNeeded',
  'snapshotRestored',
  'logCompacted',
  'configChanged',
  'configProposed',
  'removedSteppingDown',
  'removedNoticed',
  'joinCaughtUp',
] as const;
export type CoreEventName = (typeof CORE_EVENTS)[number];

/** Events the supervisor (lib/node/raft-node.ts) logs itself. */
export const NODE_EVENTS = [
  'starting',
  'restored',
  'started',
  'status',
  'stopping',
  // An actor did not end within its bound after the stop message and was terminated.
  'actor-terminated',
  'stopped',
  'fatal',
  'log-tail-repaired',
  'peer-connected',
  'peer-disconnected',
  'peer-dropped',
  'peer-inbound-up',
  'peer-inbound-down',
  'log-writer-snapshot',
  'metrics-listening',
  // The node's thread stalled longer than the tick clock counts at once (lib/actor/tick-clock.ts).
  'timer-late',
  'snapshot-loaded',
  'handing-over',
  'handed-over',
  // Membership in the node shell (lib/node/membership-shell.ts, lib/node/join.ts).
  'membership',
  'membership-differs-from-hosts',
  'removed-from-config',
  'peer-added',
  'peer-removed',
  'joining',
  'joined',
] as const;
export type NodeEventName = (typeof NODE_EVENTS)[number];

/** Anything the `raft` actor's log holds. */
export type RaftActorEvent = CoreEventName | NodeEventName;
