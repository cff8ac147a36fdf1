import { assert } from './assert';
import { PENDING_READS_MAX, validateConfig, type RaftConfig, type RaftConfigInput } from './config';
import { RaftLog } from './log';
import {
  applyMembershipChange,
  decodeMembership,
  encodeMembership,
  isVoter,
  members,
  type MembershipChange,
} from './membership';
import { Progress, type ReplicationState } from './progress';
import { electionResult, majorityMatchIndex, quorumActive } from './quorum';
import type { ReadState, Ready, RoleState } from './ready';
import type {
  AppendEntries,
  AppendEntriesResponse,
  Entry,
  EntryKind,
  HardState,
  Index,
  InstallSnapshot,
  InstallSnapshotResponse,
  Membership,
  NodeId,
  RaftMessage,
  RequestVote,
  RequestVoteResponse,
  Role,
  Snapshot,
  Term,
} from './types';

/** What the host loaded from durable storage at start. */
export interface RestoreState {
  readonly hardState: HardState;
  /**
   * The latest snapshot, with its data (the leader streams it to followers that fell behind).
   * A fresh cluster starts from `{ metadata: { index: 0, term: 0, membership }, data: empty }`;
   * a node that will join later starts with an empty membership.
   */
  readonly snapshot: Snapshot;
  /** Stored entries in index order; entries at or below the snapshot index are ignored. */
  readonly entries: readonly Entry[];
}

export type ProposeRejection =
  | 'notLeader'
  | 'transferringLeadership'
  | 'membershipChangePending'
  | 'invalidMembershipChange'
  | 'overloaded';

export type ProposeResult =
  | { readonly ok: true; readonly index: Index; readonly term: Term }
  | {
      readonly ok: false;
      readonly reason: ProposeRejection;
      readonly leaderId: NodeId | null;
      readonly detail: string;
    };

export type RequestResult =
  | { readonly ok: true }
  | {
      readonly ok: false;
      readonly reason: ProposeRejection;
      readonly leaderId: NodeId | null;
      readonly detail: string;
    };

export interface ProgressStatus {
  readonly matchIndex: Index;
  readonly nextIndex: Index;
  readonly state: ReplicationState;
  readonly inflight: number;
}

export interface RaftStatus {
  readonly nodeId: NodeId;
  readonly role: Role;
  readonly term: Term;
  readonly votedFor: NodeId | null;
  readonly leaderId: NodeId | null;
  readonly commitIndex: Index;
  readonly appliedIndex: Index;
  readonly stableIndex: Index;
  readonly lastIndex: Index;
  readonly snapshotIndex: Index;
  readonly membership: Membership;
  readonly leadTransferee: NodeId | null;
  /** Only on the leader: how each follower is being replicated to. */
  readonly progress: ReadonlyMap<NodeId, ProgressStatus>;
}

type InternalRole = Exclude<Role, 'learner'>;
type CampaignKind = 'preVote' | 'election' | 'transfer';

interface PendingRead {
  readonly requestId: string;
  readonly index: Index;
  /** The ReadIndex round whose acknowledgement by a quorum confirms this read. */
  readonly round: number;
}

interface IncomingSnapshot {
  readonly metadata: Snapshot['metadata'];
  readonly chunks: Uint8Array[];
  bytes: number;
}

const EMPTY = new Uint8Array(0);

/**
 * A pure Raft node in the style of etcd-io/raft's RawNode: inputs are step(), tick(), propose(),
 * readIndex(), transferLeadership() and proposeMembership(); every effect leaves through ready()
 * and is acknowledged with advance(). No clock, no I/O, no randomness but the configured Rng.
 *
 * Membership changes take effect when their config entry is appended to a log (Raft thesis §4.1),
 * not when committed. That is safe because a leader has at most one config entry uncommitted
 * (two consecutive single-node configurations always share a majority) and, before its first,
 * commits an entry of its own term (the noop), which rules out the bug Ongaro described in 2015
 * where a change from a deposed leader's term overlaps a new one. Truncating a config entry
 * reverts to the previous membership.
 */
export class RaftCore {
  private readonly config: RaftConfig;
  private readonly nodeId: NodeId;
  private restored = false;

  private term: Term = 0;
  private votedFor: NodeId | null = null;
  private leaderId: NodeId | null = null;
  private role: InternalRole = 'follower';
  private log: RaftLog = new RaftLog({ index: 0, term: 0, membership: { voters: [], learners: [] } }, [], 0);
  private membership: Membership = { voters: [], learners: [] };
  /** The latest snapshot with its data, streamed to followers that need compacted entries. */
  private localSnapshot: Snapshot = { metadata: this.log.snapshotMetadata(), data: EMPTY };

  private stepRole: (message: RaftMessage) => void = (message) => this.stepFollower(message);
  private tickRole: () => void = () => this.tickElection();

  /** Ticks since the last valid leader contact (follower), or since the last quorum check (leader). */
  private electionElapsed = 0;
  private heartbeatElapsed = 0;
  /** Invariant: electionTicks <= randomizedElectionTicks < 2 * electionTicks. */
  private randomizedElectionTicks = 0;
  private readonly voteGranted = new Map<NodeId, boolean>();

  // Leader state.
  private readonly progress = new Map<NodeId, Progress>();
  /** Index of the last config entry this leader appended; no new change until it commits. */
  private pendingConfigIndex: Index = 0;
  private leadTransferee: NodeId | null = null;
  /** Invariant: pending reads have ascending rounds, each <= readRound + 1. */
  private readRound = 0;
  private readsAwaitingCommit: string[] = [];
  private readsPending: PendingRead[] = [];

  // Follower state.
  private incomingSnapshot: IncomingSnapshot | null = null;

  // Output accumulated for the next Ready.
  private messages: RaftMessage[] = [];
  private readStates: ReadState[] = [];
  private readsAborted: string[] = [];
  private snapshotToPersist: Snapshot | null = null;
  private persistedHardState: HardState = { term: 0, votedFor: null, commitIndex: 0 };
  private reportedRoleState: RoleState | null = null;
  private outstanding: Ready | null = null;

  constructor(config: RaftConfigInput) {
    this.config = validateConfig(config);
    this.nodeId = this.config.nodeId;
  }

  /** Loads durable state. Called exactly once, before any other input. */
  restore(state: RestoreState): void {
    assert(!this.restored, `node ${this.nodeId} restored twice`);
    const { hardState, snapshot } = state;
    assert(hardState.commitIndex >= 0, `restored commitIndex ${hardState.commitIndex} is negative`);
    this.restored = true;
    this.term = hardState.term;
    this.votedFor = hardState.votedFor;
    this.log = new RaftLog(snapshot.metadata, state.entries, hardState.commitIndex);
    this.localSnapshot = snapshot;
    this.persistedHardState = {
      term: hardState.term,
      votedFor: hardState.votedFor,
      commitIndex: this.log.commitIndex,
    };
    this.recomputeMembership();
    this.becomeFollower(this.term, null);
  }

  // ---------------------------------------------------------------------------------------------
  // Inputs.

  tick(): void {
    this.assertRestored();
    this.tickRole();
  }

  step(message: RaftMessage): void {
    this.assertRestored();
    assert(message.to === this.nodeId, `message for ${message.to} stepped into ${this.nodeId}`);
    assert(message.from !== this.nodeId, `node ${this.nodeId} received its own ${message.kind}`);
    if (message.term > this.term) {
      if (message.kind === 'requestVote' && !message.leadershipTransfer && this.inLeaderLease()) {
        // CheckQuorum's lease: we heard from a live leader less than an election timeout ago, so
        // this candidate is disruptive (e.g. a node rejoining after a partition). Ignore it
        // without adopting its term.
        return;
      }
      const keepsTerm =
        (message.kind === 'requestVote' && message.preVote) ||
        (message.kind === 'requestVoteResponse' && message.preVote && message.voteGranted);
      // A PreVote and a granted answer to one carry the term the candidate would use, which is
      // not a term anyone has entered yet; every other message proves a newer term exists.
      if (!keepsTerm) {
        const fromLeader = message.kind === 'appendEntries' || message.kind === 'installSnapshot';
        this.becomeFollower(message.term, fromLeader ? message.from : null);
      }
    } else if (message.term < this.term) {
      this.onStaleTerm(message);
      return;
    }
    if (message.kind === 'requestVote') {
      this.onRequestVote(message);
      return;
    }
    this.stepRole(message);
  }

  /**
   * Starts an election now instead of waiting for the election timeout (operator tooling and
   * tests; etcd's RawNode.Campaign). Uses PreVote when configured. Ignored by a leader and by
   * nodes that are not voters.
   */
  campaign(): void {
    this.assertRestored();
    if (this.role === 'leader') return;
    this.startCampaign(this.config.preVote ? 'preVote' : 'election');
  }

  /** Appends a command entry if this node leads. The index and term identify it once committed. */
  propose(data: Uint8Array): ProposeResult {
    this.assertRestored();
    const refusal = this.proposalRefusal();
    if (refusal !== null) return refusal;
    const entry = this.appendAsLeader('command', data);
    return { ok: true, index: entry.index, term: entry.term };
  }

  /** Proposes one membership change; refused while another is uncommitted. */
  proposeMembership(change: MembershipChange): ProposeResult {
    this.assertRestored();
    const refusal = this.proposalRefusal();
    if (refusal !== null) return refusal;
    if (this.pendingConfigIndex > this.log.commitIndex) {
      return this.refuse(
        'membershipChangePending',
        `config entry ${this.pendingConfigIndex} is not committed yet (commitIndex ${this.log.commitIndex}); retry after it commits`,
      );
    }
    const next = applyMembershipChange(this.membership, change);
    if (typeof next === 'string') return this.refuse('invalidMembershipChange', `${change.kind}: ${next}`);
    const entry = this.appendAsLeader('config', encodeMembership(next));
    this.pendingConfigIndex = entry.index;
    this.setMembership(next);
    return { ok: true, index: entry.index, term: entry.term };
  }

  /**
   * Starts a linearizable read. The answer comes in a later Ready's readStates once a quorum has
   * confirmed this node still leads; followers refuse and the host forwards to `leaderId`.
   */
  readIndex(requestId: string): RequestResult {
    this.assertRestored();
    if (this.role !== 'leader') return this.refuse('notLeader', `node ${this.nodeId} is not the leader`);
    if (this.readsAwaitingCommit.length + this.readsPending.length >= PENDING_READS_MAX) {
      return this.refuse('overloaded', `${PENDING_READS_MAX} reads already pending; retry later`);
    }
    if (this.log.term(this.log.commitIndex) === this.term) {
      this.readsPending.push({ requestId, index: this.log.commitIndex, round: this.readRound + 1 });
    } else {
      // Until an entry of this term commits, our commitIndex may lag what an earlier leader
      // committed; answering now could miss a write (Raft thesis §6.4).
      this.readsAwaitingCommit.push(requestId);
    }
    return { ok: true };
  }

  /** Hands leadership to `to` once it has caught up; aborted after an election timeout. */
  transferLeadership(to: NodeId): RequestResult {
    this.assertRestored();
    if (this.role !== 'leader') return this.refuse('notLeader', `node ${this.nodeId} is not the leader`);
    if (to === this.nodeId) return { ok: true };
    if (!isVoter(this.membership, to)) {
      return this.refuse('invalidMembershipChange', `transfer target ${to} is not a voter`);
    }
    if (this.leadTransferee === to) return { ok: true };
    this.leadTransferee = to;
    // The abort timer is the leader's election clock: restart it so the target gets a full timeout.
    this.electionElapsed = 0;
    const progress = this.progress.get(to);
    assert(progress !== undefined, `leader ${this.nodeId} has no progress for voter ${to}`);
    if (progress.matchIndex === this.log.lastIndex()) this.sendTimeoutNow(to);
    return { ok: true };
  }

  /**
   * The host persisted a snapshot of its state machine at `snapshot.metadata.index` (at most its
   * applied index). The core forgets the entries it covers; the host then compacts its store.
   */
  snapshotTaken(snapshot: Snapshot): void {
    this.assertRestored();
    const { index, membership } = snapshot.metadata;
    // A snapshot from the leader, stepped in while the host was writing this one, already covers
    // it: the log has nothing left to compact, and the leader's snapshot is the one to serve.
    if (index <= this.log.snapshotMetadata().index) return;
    const expected = this.membershipAt(index);
    // The snapshot's membership replaces the config entries it covers: it must be theirs.
    assert(
      sameMembers(membership, expected),
      `snapshot at ${index} has membership ${JSON.stringify(membership)}, but the log says ${JSON.stringify(expected)}`,
    );
    this.log.compact(snapshot.metadata);
    this.localSnapshot = snapshot;
  }

  // ---------------------------------------------------------------------------------------------
  // Output.

  ready(): Ready | null {
    this.assertRestored();
    if (this.outstanding !== null) return null;
    if (this.role === 'leader') {
      this.sendReadRound();
      this.sendAppends();
      this.confirmReads();
    }
    const hardState: HardState = {
      term: this.term,
      votedFor: this.votedFor,
      commitIndex: this.log.commitIndex,
    };
    const hardStateChanged =
      hardState.term !== this.persistedHardState.term ||
      hardState.votedFor !== this.persistedHardState.votedFor ||
      hardState.commitIndex !== this.persistedHardState.commitIndex;
    const roleState: RoleState = { role: this.reportedRole(), term: this.term, leaderId: this.leaderId };
    const roleChanged =
      this.reportedRoleState === null ||
      this.reportedRoleState.role !== roleState.role ||
      this.reportedRoleState.term !== roleState.term ||
      this.reportedRoleState.leaderId !== roleState.leaderId;
    const { entries, truncateFromIndex } = this.log.unstable();
    const entriesToApply = this.log.toApply();
    const empty =
      !hardStateChanged &&
      !roleChanged &&
      entries.length === 0 &&
      entriesToApply.length === 0 &&
      this.snapshotToPersist === null &&
      this.messages.length === 0 &&
      this.readStates.length === 0 &&
      this.readsAborted.length === 0;
    if (empty) return null;
    const ready: Ready = {
      roleState: roleChanged ? roleState : null,
      hardState: hardStateChanged ? hardState : null,
      snapshot: this.snapshotToPersist,
      truncateFromIndex,
      entriesToPersist: entries,
      entriesToApply,
      messages: this.messages,
      readStates: this.readStates,
      readsAborted: this.readsAborted,
      mustSync:
        hardState.term !== this.persistedHardState.term ||
        hardState.votedFor !== this.persistedHardState.votedFor ||
        entries.length > 0 ||
        this.snapshotToPersist !== null,
    };
    this.log.emitted(entries.at(-1));
    this.persistedHardState = hardState;
    this.reportedRoleState = roleState;
    this.snapshotToPersist = null;
    this.messages = [];
    this.readStates = [];
    this.readsAborted = [];
    this.outstanding = ready;
    return ready;
  }

  /** The host finished handling `ready` in the documented order. */
  advance(ready: Ready): void {
    assert(this.outstanding === ready, `node ${this.nodeId} advanced a Ready it did not hand out last`);
    this.outstanding = null;
    const lastPersisted = ready.entriesToPersist.at(-1);
    if (lastPersisted !== undefined) this.log.stableTo(lastPersisted);
    const lastApplied = ready.entriesToApply.at(-1);
    if (lastApplied !== undefined) this.log.appliedTo(lastApplied.index);
    // Our own entries count towards a quorum only once durable: a crash must not lose a replica
    // that helped commit something.
    if (this.role === 'leader') this.maybeCommit();
    this.log.checkInvariants();
  }

  status(): RaftStatus {
    const progress = new Map<NodeId, ProgressStatus>();
    for (const [nodeId, entry] of this.progress) {
      progress.set(nodeId, {
        matchIndex: entry.matchIndex,
        nextIndex: entry.nextIndex,
        state: entry.state,
        inflight: entry.inflight.length,
      });
    }
    return {
      nodeId: this.nodeId,
      role: this.reportedRole(),
      term: this.term,
      votedFor: this.votedFor,
      leaderId: this.leaderId,
      commitIndex: this.log.commitIndex,
      appliedIndex: this.log.appliedIndex,
      stableIndex: this.log.stableIndex,
      lastIndex: this.log.lastIndex(),
      snapshotIndex: this.log.snapshotMetadata().index,
      membership: this.membership,
      leadTransferee: this.leadTransferee,
      progress,
    };
  }

  /** The in-memory entry at `index`, for hosts and checkers (undefined when compacted or absent). */
  entryAt(index: Index): Entry | undefined {
    return this.log.entry(index);
  }

  /** Whether this node may commit `candidate`: overridden only by the simulator's self-test. */
  protected commitCandidate(quorumIndex: Index): Index {
    return quorumIndex;
  }

  // ---------------------------------------------------------------------------------------------
  // Role transitions: each installs the role's step and tick handlers.

  private becomeFollower(term: Term, leaderId: NodeId | null): void {
    assert(term >= this.term, `becomeFollower at term ${term} below current term ${this.term}`);
    if (this.role === 'leader') this.abortReads();
    this.reset(term);
    this.role = 'follower';
    this.leaderId = leaderId;
    this.stepRole = (message) => this.stepFollower(message);
    this.tickRole = () => this.tickElection();
  }

  private becomePreCandidate(): void {
    assert(this.role !== 'leader', `leader ${this.nodeId} cannot become pre-candidate at term ${this.term}`);
    // A pre-candidate keeps its term and votedFor: a PreVote changes nothing durable.
    this.role = 'preCandidate';
    this.leaderId = null;
    this.voteGranted.clear();
    this.electionElapsed = 0;
    this.randomizeElectionTimeout();
    this.stepRole = (message) => this.stepCandidate(message);
    this.tickRole = () => this.tickElection();
  }

  private becomeCandidate(): void {
    assert(this.role !== 'leader', `leader ${this.nodeId} cannot become candidate at term ${this.term}`);
    this.reset(this.term + 1);
    this.role = 'candidate';
    this.votedFor = this.nodeId;
    this.stepRole = (message) => this.stepCandidate(message);
    this.tickRole = () => this.tickElection();
  }

  private becomeLeader(): void {
    assert(
      this.role === 'candidate',
      `${this.role} ${this.nodeId} cannot become leader at term ${this.term}`,
    );
    this.role = 'leader';
    this.leaderId = this.nodeId;
    this.stepRole = (message) => this.stepLeader(message);
    this.tickRole = () => this.tickHeartbeat();
    this.progress.clear();
    for (const member of members(this.membership)) {
      if (member === this.nodeId) continue;
      const progress = new Progress(this.log.lastIndex() + 1);
      // Give every follower one check-quorum period before counting it as unreachable.
      progress.recentActive = true;
      this.progress.set(member, progress);
    }
    // The noop commits an entry of our term, which lets us commit earlier terms' entries (Raft
    // §5.4.2), answer ReadIndex, and accept a membership change.
    const noop = this.appendAsLeader('noop', EMPTY);
    this.pendingConfigIndex = noop.index;
  }

  private reset(term: Term): void {
    if (term !== this.term) {
      this.term = term;
      this.votedFor = null;
    }
    this.leaderId = null;
    this.electionElapsed = 0;
    this.heartbeatElapsed = 0;
    this.randomizeElectionTimeout();
    this.voteGranted.clear();
    this.progress.clear();
    this.leadTransferee = null;
    this.pendingConfigIndex = 0;
    this.readRound = 0;
  }

  private randomizeElectionTimeout(): void {
    this.randomizedElectionTicks =
      this.config.electionTicks + this.config.rng.nextInt(this.config.electionTicks);
  }

  private startCampaign(kind: CampaignKind): void {
    if (!isVoter(this.membership, this.nodeId)) return;
    let campaignTerm: Term;
    if (kind === 'preVote') {
      this.becomePreCandidate();
      campaignTerm = this.term + 1;
    } else {
      this.becomeCandidate();
      campaignTerm = this.term;
    }
    this.voteGranted.set(this.nodeId, true);
    if (this.tallyElection()) return;
    for (const voter of this.membership.voters) {
      if (voter === this.nodeId) continue;
      this.send<RequestVote>({
        kind: 'requestVote',
        from: this.nodeId,
        to: voter,
        term: campaignTerm,
        preVote: kind === 'preVote',
        lastLogIndex: this.log.lastIndex(),
        lastLogTerm: this.log.lastTerm(),
        leadershipTransfer: kind === 'transfer',
      });
    }
  }

  /** Acts on the voteGranted answers so far; returns true when the election was decided. */
  private tallyElection(): boolean {
    const result = electionResult(this.membership.voters, this.voteGranted);
    if (result === 'won') {
      if (this.role === 'preCandidate') this.startCampaign('election');
      else this.becomeLeader();
      return true;
    }
    if (result === 'lost') {
      this.becomeFollower(this.term, null);
      return true;
    }
    return false;
  }

  // ---------------------------------------------------------------------------------------------
  // Ticks.

  private tickElection(): void {
    this.electionElapsed += 1;
    if (this.electionElapsed >= this.randomizedElectionTicks && isVoter(this.membership, this.nodeId)) {
      this.electionElapsed = 0;
      this.startCampaign(this.config.preVote ? 'preVote' : 'election');
    }
  }

  private tickHeartbeat(): void {
    this.heartbeatElapsed += 1;
    this.electionElapsed += 1;
    if (this.electionElapsed >= this.config.electionTicks) {
      this.electionElapsed = 0;
      if (this.config.checkQuorum) {
        const active = (nodeId: NodeId): boolean =>
          nodeId === this.nodeId || this.progress.get(nodeId)?.recentActive === true;
        if (!quorumActive(this.membership.voters, active)) {
          // A leader cut off from a quorum must stop serving: another leader may already exist.
          this.becomeFollower(this.term, null);
          return;
        }
        for (const progress of this.progress.values()) progress.recentActive = false;
      }
      // The transfer target did not take over within an election timeout: accept proposals again.
      this.leadTransferee = null;
    }
    if (this.heartbeatElapsed >= this.config.heartbeatTicks) {
      this.heartbeatElapsed = 0;
      this.sendHeartbeats();
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Step handlers per role.

  private stepFollower(message: RaftMessage): void {
    switch (message.kind) {
      case 'appendEntries':
        this.electionElapsed = 0;
        this.leaderId = message.from;
        this.onAppendEntries(message);
        return;
      case 'installSnapshot':
        this.electionElapsed = 0;
        this.leaderId = message.from;
        this.onInstallSnapshot(message);
        return;
      case 'timeoutNow':
        this.startCampaign('transfer');
        return;
      default:
        // Answers to a campaign or leadership we no longer have.
        return;
    }
  }

  private stepCandidate(message: RaftMessage): void {
    switch (message.kind) {
      case 'appendEntries':
      case 'installSnapshot':
        // A leader exists at our term (or, for a pre-candidate, at least our term).
        this.becomeFollower(message.term, message.from);
        this.stepFollower(message);
        return;
      case 'requestVoteResponse':
        this.onRequestVoteResponse(message);
        return;
      default:
        return;
    }
  }

  private stepLeader(message: RaftMessage): void {
    switch (message.kind) {
      case 'appendEntries':
      case 'installSnapshot':
        assert(false, `two leaders at term ${this.term}: ${this.nodeId} and ${message.from}`);
        return;
      case 'appendEntriesResponse':
        this.onAppendEntriesResponse(message);
        return;
      case 'installSnapshotResponse':
        this.onInstallSnapshotResponse(message);
        return;
      default:
        return;
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Message handlers.

  private onStaleTerm(message: RaftMessage): void {
    if (message.kind === 'appendEntries' || message.kind === 'installSnapshot') {
      // A deposed leader (e.g. behind a healed partition) learns our term from this rejection
      // and steps down. Without it, with PreVote and CheckQuorum, it could keep its followers'
      // leases alive while they ignore the rest of the cluster.
      this.send<AppendEntriesResponse>({
        kind: 'appendEntriesResponse',
        from: this.nodeId,
        to: message.from,
        term: this.term,
        success: false,
        matchIndex: 0,
        rejectedIndex: 0,
        rejectHintIndex: 0,
        rejectHintTerm: 0,
        readRound: 0,
      });
    } else if (message.kind === 'requestVote' && message.preVote) {
      // Tell a pre-candidate about our term so it can catch up instead of retrying forever.
      this.send<RequestVoteResponse>({
        kind: 'requestVoteResponse',
        from: this.nodeId,
        to: message.from,
        term: this.term,
        preVote: true,
        voteGranted: false,
      });
    }
  }

  private onRequestVote(message: RequestVote): void {
    const canGrant =
      this.votedFor === message.from ||
      (this.votedFor === null && this.leaderId === null) ||
      (message.preVote && message.term > this.term);
    const voteGranted = canGrant && this.log.isUpToDate(message.lastLogIndex, message.lastLogTerm);
    this.send<RequestVoteResponse>({
      kind: 'requestVoteResponse',
      from: this.nodeId,
      to: message.from,
      // A granted PreVote answers at the candidate's future term, so the candidate counts it.
      term: voteGranted ? message.term : this.term,
      preVote: message.preVote,
      voteGranted,
    });
    if (voteGranted && !message.preVote) {
      this.electionElapsed = 0;
      this.votedFor = message.from;
    }
  }

  private onRequestVoteResponse(message: RequestVoteResponse): void {
    if (message.preVote !== (this.role === 'preCandidate')) return;
    this.voteGranted.set(message.from, message.voteGranted);
    this.tallyElection();
  }

  private onAppendEntries(message: AppendEntries): void {
    let prevLogIndex = message.prevLogIndex;
    let prevLogTerm = message.prevLogTerm;
    let entries = message.entries;
    const commitIndex = this.log.commitIndex;
    if (prevLogIndex < commitIndex) {
      // Everything through commitIndex is committed, so it matches the leader: skip that part.
      const skipped = commitIndex - prevLogIndex;
      const atCommit = entries[skipped - 1];
      if (atCommit === undefined) {
        this.replyAppend(message, true, commitIndex, 0, 0);
        return;
      }
      prevLogIndex = commitIndex;
      prevLogTerm = atCommit.term;
      entries = entries.slice(skipped);
    }
    if (this.log.term(prevLogIndex) !== prevLogTerm) {
      const hintIndex = this.log.findConflictByTerm(prevLogIndex, prevLogTerm);
      this.replyAppend(message, false, 0, hintIndex, this.log.term(hintIndex) ?? 0);
      return;
    }
    let membershipTouched = false;
    for (const entry of entries) {
      const existing = this.log.term(entry.index);
      if (existing === entry.term) continue;
      if (existing !== undefined) {
        this.log.truncateFrom(entry.index);
        membershipTouched = true;
      }
      this.log.append(entry);
      if (entry.kind === 'config') membershipTouched = true;
    }
    if (membershipTouched) this.recomputeMembership();
    const lastNewIndex = prevLogIndex + entries.length;
    this.log.commitTo(Math.max(commitIndex, Math.min(message.leaderCommit, lastNewIndex)));
    this.replyAppend(message, true, lastNewIndex, 0, 0);
  }

  private replyAppend(
    message: AppendEntries,
    success: boolean,
    matchIndex: Index,
    rejectHintIndex: Index,
    rejectHintTerm: Term,
  ): void {
    this.send<AppendEntriesResponse>({
      kind: 'appendEntriesResponse',
      from: this.nodeId,
      to: message.from,
      term: this.term,
      success,
      matchIndex,
      rejectedIndex: success ? 0 : message.prevLogIndex,
      rejectHintIndex,
      rejectHintTerm,
      readRound: message.readRound,
    });
  }

  private onInstallSnapshot(message: InstallSnapshot): void {
    const { metadata } = message;
    const reply = (nextOffset: number, done: boolean): void =>
      this.send<InstallSnapshotResponse>({
        kind: 'installSnapshotResponse',
        from: this.nodeId,
        to: message.from,
        term: this.term,
        snapshotIndex: metadata.index,
        nextOffset,
        done,
      });
    if (metadata.index <= this.log.commitIndex) {
      // We already hold everything it covers.
      this.incomingSnapshot = null;
      reply(message.offset + message.chunk.byteLength, true);
      return;
    }
    let incoming = this.incomingSnapshot;
    if (
      incoming === null ||
      incoming.metadata.index !== metadata.index ||
      incoming.metadata.term !== metadata.term
    ) {
      if (message.offset !== 0) {
        reply(0, false);
        return;
      }
      incoming = { metadata, chunks: [], bytes: 0 };
      this.incomingSnapshot = incoming;
    }
    if (message.offset !== incoming.bytes) {
      // A duplicate or reordered chunk: ask for the bytes we need next.
      reply(incoming.bytes, false);
      return;
    }
    incoming.chunks.push(message.chunk);
    incoming.bytes += message.chunk.byteLength;
    if (!message.done) {
      reply(incoming.bytes, false);
      return;
    }
    this.incomingSnapshot = null;
    if (this.log.term(metadata.index) === metadata.term) {
      // Our log already contains the snapshot's last entry, hence everything before it.
      this.log.commitTo(metadata.index);
    } else {
      const data = new Uint8Array(incoming.bytes);
      let offset = 0;
      for (const chunk of incoming.chunks) {
        data.set(chunk, offset);
        offset += chunk.byteLength;
      }
      const snapshot: Snapshot = { metadata, data };
      this.log.restoreSnapshot(metadata);
      this.localSnapshot = snapshot;
      this.snapshotToPersist = snapshot;
      this.recomputeMembership();
    }
    reply(incoming.bytes, true);
  }

  private onAppendEntriesResponse(message: AppendEntriesResponse): void {
    const progress = this.progress.get(message.from);
    if (progress === undefined) return; // Removed from the membership meanwhile.
    progress.recentActive = true;
    if (message.readRound > progress.readRoundAcked) {
      progress.readRoundAcked = message.readRound;
      this.confirmReads();
    }
    if (!message.success) {
      const probeFrom =
        message.rejectHintTerm > 0
          ? this.log.findConflictByTerm(message.rejectHintIndex, message.rejectHintTerm)
          : message.rejectHintIndex;
      if (progress.maybeDecreaseTo(message.rejectedIndex, probeFrom) && progress.state === 'replicate') {
        progress.becomeProbe();
      }
      return;
    }
    const wasProbe = progress.state === 'probe';
    const updated = progress.maybeUpdate(message.matchIndex);
    if (wasProbe) {
      // A successful probe tells us exactly where the follower is: start pipelining.
      progress.becomeReplicate();
    } else if (progress.state === 'snapshot' && progress.matchIndex >= progress.snapshotIndex) {
      progress.becomeProbe();
    }
    if (updated) this.maybeCommit();
    if (message.from === this.leadTransferee && progress.matchIndex === this.log.lastIndex()) {
      this.sendTimeoutNow(message.from);
    }
  }

  private onInstallSnapshotResponse(message: InstallSnapshotResponse): void {
    const progress = this.progress.get(message.from);
    if (progress === undefined) return;
    progress.recentActive = true;
    if (progress.state !== 'snapshot') return;
    if (message.done && message.snapshotIndex > progress.matchIndex) {
      // The follower holds this snapshot durably, even when it is an older one than we send now
      // (a newer one replaced it in a resend): resume from it instead of starting over.
      progress.maybeUpdate(message.snapshotIndex);
      progress.becomeProbe();
      return;
    }
    if (message.snapshotIndex !== progress.snapshotIndex) return;
    // The same offset again answers a duplicate chunk while the one asked for is in flight.
    if (message.nextOffset === progress.snapshotOffset) return;
    progress.snapshotOffset = message.nextOffset;
    this.sendSnapshotChunk(message.from, progress);
  }

  // ---------------------------------------------------------------------------------------------
  // Replication (leader).

  private appendAsLeader(kind: EntryKind, data: Uint8Array): Entry {
    const entry: Entry = { index: this.log.lastIndex() + 1, term: this.term, kind, data };
    this.log.append(entry);
    return entry;
  }

  /**
   * Sends what each follower's flow control allows; called when building a Ready, so proposals
   * batch. A new commitIndex alone sends nothing: it rides on the next append or heartbeat. Told
   * at once, a follower cost a message and its answer per commit, twice the traffic at low load,
   * to apply at most a heartbeat interval sooner.
   */
  private sendAppends(): void {
    for (const [nodeId, progress] of this.progress) {
      // Bounded: each round either sends and fills the window, or stops.
      for (let round = 0; round <= this.config.inflightMessagesMax; round += 1) {
        if (!progress.canSend(this.config.inflightMessagesMax)) break;
        if (!this.sendAppend(nodeId, progress)) break;
      }
    }
  }

  /** An empty appendEntries at prevLogIndex = matchIndex: always matches, carries commitIndex and the ReadIndex round. */
  private sendEmptyAppend(to: NodeId, progress: Progress): boolean {
    const prevLogTerm = this.log.term(progress.matchIndex);
    if (prevLogTerm === undefined) return false;
    this.sendAppendEntries(to, progress.matchIndex, prevLogTerm, []);
    return true;
  }

  /** Sends one appendEntries (or starts a snapshot); returns whether another may follow at once. */
  private sendAppend(to: NodeId, progress: Progress): boolean {
    const prevLogIndex = progress.nextIndex - 1;
    const prevLogTerm = this.log.term(prevLogIndex);
    if (prevLogTerm === undefined) {
      // The entries this follower needs are compacted away: it gets the snapshot instead.
      progress.becomeSnapshot(this.localSnapshot.metadata.index);
      this.sendSnapshotChunk(to, progress);
      return false;
    }
    const lastIndex = this.log.lastIndex();
    if (progress.state === 'replicate' && progress.nextIndex > lastIndex) return false;
    const entries =
      progress.nextIndex <= lastIndex
        ? this.log.slice(
            progress.nextIndex,
            lastIndex,
            this.config.appendEntriesMax,
            this.config.appendBytesMax,
          )
        : [];
    this.sendAppendEntries(to, prevLogIndex, prevLogTerm, entries);
    progress.sent(prevLogIndex + entries.length, entries.length);
    return progress.state === 'replicate';
  }

  private sendAppendEntries(
    to: NodeId,
    prevLogIndex: Index,
    prevLogTerm: Term,
    entries: readonly Entry[],
  ): void {
    this.send<AppendEntries>({
      kind: 'appendEntries',
      from: this.nodeId,
      to,
      term: this.term,
      prevLogIndex,
      prevLogTerm,
      entries,
      leaderCommit: this.log.commitIndex,
      readRound: this.readRound,
    });
  }

  private sendHeartbeats(): void {
    for (const [nodeId, progress] of this.progress) {
      switch (progress.state) {
        case 'probe':
          // The probe itself is the heartbeat; it goes out with the next Ready.
          progress.paused = false;
          break;
        case 'replicate': {
          if (progress.inflight.length > 0 && progress.matchIndex === progress.matchIndexAtHeartbeat) {
            // No acknowledgement for a whole heartbeat interval with appends in flight: assume
            // they were lost and probe from matchIndex.
            progress.becomeProbe();
            break;
          }
          progress.matchIndexAtHeartbeat = progress.matchIndex;
          // The heartbeat never disturbs the pipeline; if matchIndex was compacted away meanwhile,
          // probing leads to the snapshot.
          if (!this.sendEmptyAppend(nodeId, progress)) progress.becomeProbe();
          break;
        }
        case 'snapshot':
          // No answer for a whole heartbeat interval: the chunk in flight (or its answer) was
          // lost, so send it again. Re-sending every heartbeat would flood a slow link with
          // megabyte chunks.
          if (progress.snapshotOffset === progress.snapshotOffsetAtHeartbeat)
            this.sendSnapshotChunk(nodeId, progress);
          progress.snapshotOffsetAtHeartbeat = progress.snapshotOffset;
          break;
      }
    }
  }

  private sendSnapshotChunk(to: NodeId, progress: Progress): void {
    const snapshot = this.localSnapshot;
    if (snapshot.metadata.index !== progress.snapshotIndex) progress.becomeSnapshot(snapshot.metadata.index);
    const offset = Math.min(progress.snapshotOffset, snapshot.data.byteLength);
    const chunk = snapshot.data.subarray(offset, offset + this.config.snapshotChunkBytes);
    this.send<InstallSnapshot>({
      kind: 'installSnapshot',
      from: this.nodeId,
      to,
      term: this.term,
      metadata: snapshot.metadata,
      offset,
      chunk,
      done: offset + chunk.byteLength >= snapshot.data.byteLength,
    });
  }

  private sendTimeoutNow(to: NodeId): void {
    this.send({ kind: 'timeoutNow', from: this.nodeId, to, term: this.term });
  }

  private maybeCommit(): void {
    const quorumIndex = majorityMatchIndex(this.membership.voters, (nodeId) =>
      nodeId === this.nodeId ? this.log.stableIndex : (this.progress.get(nodeId)?.matchIndex ?? 0),
    );
    const candidate = this.commitCandidate(quorumIndex);
    // Only an entry of the current term commits by counting replicas (Raft §5.4.2, figure 8);
    // earlier terms' entries commit with it.
    if (candidate <= this.log.commitIndex || this.log.term(candidate) !== this.term) return;
    this.log.commitTo(candidate);
    if (this.readsAwaitingCommit.length > 0) {
      for (const requestId of this.readsAwaitingCommit) {
        this.readsPending.push({ requestId, index: this.log.commitIndex, round: this.readRound + 1 });
      }
      this.readsAwaitingCommit = [];
    }
    if (!isVoter(this.membership, this.nodeId) && this.log.commitIndex >= this.pendingConfigIndex) {
      // We led the change that removed us; now that it is committed the others go on alone. Hand
      // over to the most up-to-date voter at once: otherwise they would sit out their leader
      // lease before anyone may campaign.
      const successor = this.mostUpToDateVoter();
      if (successor !== null) this.sendTimeoutNow(successor);
      this.becomeFollower(this.term, null);
    }
  }

  private mostUpToDateVoter(): NodeId | null {
    let best: NodeId | null = null;
    let bestMatchIndex = -1;
    for (const voter of this.membership.voters) {
      const matchIndex = this.progress.get(voter)?.matchIndex ?? -1;
      if (matchIndex > bestMatchIndex) {
        best = voter;
        bestMatchIndex = matchIndex;
      }
    }
    return best;
  }

  // ---------------------------------------------------------------------------------------------
  // ReadIndex (leader).

  /** Starts a new round when reads wait for one; the heartbeats carry it to every follower. */
  private sendReadRound(): void {
    const newest = this.readsPending.at(-1);
    if (newest === undefined || newest.round <= this.readRound) return;
    this.readRound = newest.round;
    for (const [nodeId, progress] of this.progress) this.sendEmptyAppend(nodeId, progress);
  }

  private confirmReads(): void {
    if (this.readsPending.length === 0) return;
    const confirmedRound = majorityMatchIndex(this.membership.voters, (nodeId) =>
      nodeId === this.nodeId ? this.readRound : (this.progress.get(nodeId)?.readRoundAcked ?? 0),
    );
    while (this.readsPending.length > 0) {
      const read = this.readsPending[0];
      if (read === undefined || read.round > confirmedRound) break;
      this.readsPending.shift();
      this.readStates.push({ requestId: read.requestId, index: read.index });
    }
  }

  private abortReads(): void {
    for (const requestId of this.readsAwaitingCommit) this.readsAborted.push(requestId);
    for (const read of this.readsPending) this.readsAborted.push(read.requestId);
    this.readsAwaitingCommit = [];
    this.readsPending = [];
  }

  // ---------------------------------------------------------------------------------------------
  // Helpers.

  private inLeaderLease(): boolean {
    return (
      this.config.checkQuorum && this.leaderId !== null && this.electionElapsed < this.config.electionTicks
    );
  }

  private proposalRefusal(): (ProposeResult & { ok: false }) | null {
    if (this.role !== 'leader') {
      return this.refuse(
        'notLeader',
        `node ${this.nodeId} is not the leader; leader is ${this.leaderId ?? 'unknown'}`,
      );
    }
    if (this.leadTransferee !== null) {
      return this.refuse(
        'transferringLeadership',
        `leadership is moving to ${this.leadTransferee}; retry there`,
      );
    }
    const uncommitted = this.log.lastIndex() - this.log.commitIndex;
    if (uncommitted >= this.config.uncommittedEntriesMax) {
      return this.refuse(
        'overloaded',
        `${uncommitted} entries uncommitted (max ${this.config.uncommittedEntriesMax}); retry later`,
      );
    }
    return null;
  }

  private refuse(reason: ProposeRejection, detail: string): ProposeResult & { ok: false } {
    return { ok: false, reason, leaderId: this.leaderId, detail };
  }

  /** Effective on append: the membership of the last config entry in the log, else the snapshot's. */
  private recomputeMembership(): void {
    this.setMembership(this.membershipAt(this.log.lastIndex()));
  }

  /** The membership in force at `index`: the last config entry at or before it, else the snapshot's. */
  private membershipAt(index: Index): Membership {
    for (
      let position = Math.min(index, this.log.lastIndex());
      position >= this.log.firstIndex();
      position -= 1
    ) {
      const entry = this.log.entry(position);
      if (entry?.kind === 'config') return decodeMembership(entry.data);
    }
    return this.log.snapshotMetadata().membership;
  }

  private setMembership(membership: Membership): void {
    this.membership = membership;
    if (this.role !== 'leader') return;
    for (const member of members(membership)) {
      if (member === this.nodeId || this.progress.has(member)) continue;
      const progress = new Progress(this.log.lastIndex());
      progress.recentActive = true;
      this.progress.set(member, progress);
    }
    for (const nodeId of [...this.progress.keys()]) {
      if (!members(membership).includes(nodeId)) this.progress.delete(nodeId);
    }
    if (this.leadTransferee !== null && !isVoter(membership, this.leadTransferee)) this.leadTransferee = null;
  }

  private reportedRole(): Role {
    if (this.role === 'follower' && this.membership.learners.includes(this.nodeId)) return 'learner';
    return this.role;
  }

  private send<M extends RaftMessage>(message: M): void {
    this.messages.push(message);
  }

  private assertRestored(): void {
    assert(this.restored, `node ${this.nodeId} used before restore()`);
  }
}

function sameMembers(a: Membership, b: Membership): boolean {
  const key = (membership: Membership): string =>
    `${[...membership.voters].sort().join(',')}|${[...membership.learners].sort().join(',')}`;
  return key(a) === key(b);
}
