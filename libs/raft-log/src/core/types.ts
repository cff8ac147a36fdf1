// The shared vocabulary of libs/raft-log: what the pure core consumes and produces, and what
// storage and transport move around. Everything here is plain data (no classes, no I/O) so that
// the simulator, the codec and the durable log can all handle it.

/** A cluster member's stable name, e.g. `n1`. Never reused for another machine. */
export type NodeId = string;
/** A Raft term: increases monotonically; 0 before the first election. */
export type Term = number;
/** A log position: 1 is the first entry; 0 means "before the log". */
export type Index = number;

export type EntryKind = 'command' | 'noop' | 'config';

export interface Entry {
  readonly index: Index;
  readonly term: Term;
  /** `noop` is the entry a new leader appends to commit its term; `config` carries a Membership. */
  readonly kind: EntryKind;
  readonly data: Uint8Array;
}

/** Must reach stable storage before any message that depends on it leaves the node. */
export interface HardState {
  readonly term: Term;
  readonly votedFor: NodeId | null;
  readonly commitIndex: Index;
}

export interface Membership {
  /** Members that grant RequestVote ballots and count towards quorums. */
  readonly voters: readonly NodeId[];
  /** Members that receive the log but neither grant ballots nor count until promoted. */
  readonly learners: readonly NodeId[];
  /**
   * Where each member is reached, as the host writes it (opaque to Raft; Verdict keeps its Raft
   * and HTTP addresses there). Replicated in config entries and snapshots, so a new leader and a
   * restarted node know how to reach members added at run time. Keys are members only; absent in
   * logs written before addresses were recorded.
   */
  readonly addresses?: Readonly<Record<NodeId, string>>;
}

export interface SnapshotMetadata {
  /** Last log index the snapshot covers. */
  readonly index: Index;
  readonly term: Term;
  readonly membership: Membership;
}

export interface Snapshot {
  readonly metadata: SnapshotMetadata;
  readonly data: Uint8Array;
}

interface MessageBase {
  readonly from: NodeId;
  readonly to: NodeId;
  readonly term: Term;
}

export interface RequestVote extends MessageBase {
  readonly kind: 'requestVote';
  /** A PreVote asks "would you vote for me?" without anyone changing term. */
  readonly preVote: boolean;
  readonly lastLogIndex: Index;
  readonly lastLogTerm: Term;
  /** Set when the campaign follows TimeoutNow, so voters ignore their leader lease. */
  readonly leadershipTransfer: boolean;
}

export interface RequestVoteResponse extends MessageBase {
  readonly kind: 'requestVoteResponse';
  readonly preVote: boolean;
  readonly voteGranted: boolean;
}

export interface AppendEntries extends MessageBase {
  readonly kind: 'appendEntries';
  readonly prevLogIndex: Index;
  readonly prevLogTerm: Term;
  readonly entries: readonly Entry[];
  readonly leaderCommit: Index;
  /** ReadIndex round this heartbeat confirms leadership for; 0 when none. */
  readonly readRound: number;
}

export interface AppendEntriesResponse extends MessageBase {
  readonly kind: 'appendEntriesResponse';
  readonly success: boolean;
  /** On success: the follower's last index matching the leader. */
  readonly matchIndex: Index;
  /** On rejection: the prevLogIndex the follower could not match (lets the leader drop stale rejections). */
  readonly rejectedIndex: Index;
  /** On rejection: where the leader should retry from (conflict hint). */
  readonly rejectHintIndex: Index;
  readonly rejectHintTerm: Term;
  readonly readRound: number;
}

export interface InstallSnapshot extends MessageBase {
  readonly kind: 'installSnapshot';
  readonly metadata: SnapshotMetadata;
  /** Byte offset of `chunk` in the snapshot data. */
  readonly offset: number;
  readonly chunk: Uint8Array;
  readonly done: boolean;
}

export interface InstallSnapshotResponse extends MessageBase {
  readonly kind: 'installSnapshotResponse';
  readonly snapshotIndex: Index;
  /** Bytes received so far; the leader sends the next chunk from here. */
  readonly nextOffset: number;
  readonly done: boolean;
}

/** Leadership transfer: tells the target to campaign at once. */
export interface TimeoutNow extends MessageBase {
  readonly kind: 'timeoutNow';
}

export type RaftMessage =
  | RequestVote
  | RequestVoteResponse
  | AppendEntries
  | AppendEntriesResponse
  | InstallSnapshot
  | InstallSnapshotResponse
  | TimeoutNow;

export type Role = 'follower' | 'preCandidate' | 'candidate' | 'leader' | 'learner';
