import type { Outcome, ParticipantVote } from '@verdict/protocol';

/**
 * The one door from the HTTP edge into the coordinator. The cluster host implements it on top
 * of the 2PC engine and the Raft node; the API never sees either. Every method either resolves
 * with a view (plain data, ISO 8601 UTC timestamps, nothing live) or rejects with a
 * `CoordinatorError` whose `code` the API maps to a problem response. Any other rejection is a
 * bug and becomes a 500.
 *
 * "Durable" below always means: the entry is committed in the Raft log (a majority has it on
 * disk), so no later leader can lose or change it.
 *
 * Methods that change state, and `get`/`list`/`outcome`, run on the leader only. A follower
 * rejects them with `NOT_LEADER` (carrying the leader's HTTP URL, and the API forwards the
 * request there) or `NO_LEADER` (nobody to forward to; the client retries).
 */
export interface CoordinatorPort {
  /**
   * Starts a transaction. Resolves once its BEGIN entry is durable; the view is ACTIVE.
   * With an idempotency key: the same key and the same input resolve with the transaction the
   * first call created (whatever its state is now); the same key with another input rejects
   * with IDEMPOTENCY_MISMATCH.
   */
  begin(input: BeginInput, idempotencyKey?: string): Promise<TransactionView>;

  /**
   * Adds a participant to an ACTIVE transaction. Resolves once the enlistment is durable.
   * Rejects: TX_NOT_FOUND, TX_NOT_ACTIVE, PARTICIPANT_ALREADY_ENLISTED, PARTICIPANT_LIMIT_REACHED.
   */
  enlist(txId: string, participant: ParticipantInput): Promise<TransactionView>;

  /**
   * Runs two-phase commit. `wait: 'decision'` resolves once the DECISION entry is durable (the
   * commit point, before any participant hears it); `'completion'` resolves once every
   * participant has acknowledged it. The decision may be ABORT (a NO vote, a missed prepare
   * deadline): that is a successful call, read `decision.outcome`. Calling it again on a
   * decided transaction resolves with the recorded decision.
   * Rejects: TX_NOT_FOUND, TX_NOT_ACTIVE (already aborting), PARTICIPANT_UNAVAILABLE.
   */
  commit(txId: string, wait: CommitWait): Promise<TransactionView>;

  /**
   * Rolls back an ACTIVE or PREPARING transaction. Resolves once the ABORT decision is durable;
   * on a transaction already decided ABORT it resolves with that decision.
   * Rejects: TX_NOT_FOUND, DECISION_EXISTS (it was decided COMMIT).
   */
  abort(txId: string): Promise<TransactionView>;

  /**
   * Linearizable read (ReadIndex on the leader) of a live transaction, or of a finished one from
   * history. Rejects: TX_NOT_FOUND.
   */
  get(txId: string): Promise<TransactionView>;

  /**
   * What a prepared participant must do. Presumed abort: an id the cluster has no record of
   * (neither live nor in history) resolves ABORT with `presumed: true`. An undecided live
   * transaction resolves `UNDECIDED`: the participant keeps waiting and must not decide alone.
   */
  outcome(txId: string): Promise<OutcomeView>;

  /**
   * Live and finished transactions, newest first (UUIDv7 order), filtered. Rejects with
   * VALIDATION_FAILED for a cursor it did not issue.
   */
  list(filter: ListFilter): Promise<TransactionPage>;

  /**
   * Operator override for a stuck transaction: records `outcome` as its decision (durable before
   * it resolves) with `reason` and `actor` in the decision. COMMIT is allowed only when every
   * participant's YES vote is known. Rejects: TX_NOT_FOUND, DECISION_EXISTS (another outcome is
   * already recorded), RESOLVE_NOT_ALLOWED.
   */
  resolve(txId: string, resolution: Resolution, actor: Actor): Promise<TransactionView>;

  /**
   * Operator nudge: re-sends the pending phase (PREPARE, or the recorded decision) to every
   * participant that has not answered now, instead of at the next backoff, and half-opens their
   * breakers. Resolves once the messages are handed to the transport. `reason` (null when the
   * operator gave none) ends the RETRY event's detail.
   * Rejects: TX_NOT_FOUND, TX_NOT_ACTIVE (finished: nothing to retry).
   */
  retry(txId: string, reason: string | null, actor: Actor): Promise<TransactionView>;

  /**
   * This node's own view of the cluster; answered locally, never rejects with NOT_LEADER. Member
   * progress (`matchIndex`, `lag`, `lastContactMs`) is known only on the leader, null elsewhere.
   */
  clusterStatus(): Promise<ClusterStatusView>;

  /**
   * Hands leadership to `to` (or to the most caught-up follower). Resolves once the target has
   * won the election. Rejects: CLUSTER_CHANGE_REJECTED (unknown or lagging target, a change
   * already running).
   */
  transferLeadership(to?: string): Promise<ClusterStatusView>;

  /**
   * Adds one voting member. Resolves once the new configuration is durable.
   * Rejects: CLUSTER_CHANGE_REJECTED (already a member, another change pending).
   */
  addMember(member: MemberInput): Promise<ClusterStatusView>;

  /**
   * Removes one member. Resolves once the new configuration is durable.
   * Rejects: MEMBER_NOT_FOUND, CLUSTER_CHANGE_REJECTED (would lose quorum, change pending).
   */
  removeMember(nodeId: string): Promise<ClusterStatusView>;
}

/** Nest injection token for the `CoordinatorPort` implementation. */
export const COORDINATOR = Symbol('verdict:CoordinatorPort');

export const TX_STATES = ['ACTIVE', 'PREPARING', 'COMMITTING', 'ABORTING', 'COMMITTED', 'ABORTED'] as const;
export type TxState = (typeof TX_STATES)[number];

export const COMMIT_WAITS = ['decision', 'completion'] as const;
export type CommitWait = (typeof COMMIT_WAITS)[number];

export const BREAKER_STATES = ['CLOSED', 'HALF_OPEN', 'OPEN'] as const;
export type BreakerState = (typeof BREAKER_STATES)[number];

export const ROLES = ['service', 'operator'] as const;
export type Role = (typeof ROLES)[number];

export const RAFT_ROLES = ['LEADER', 'FOLLOWER', 'CANDIDATE', 'PRE_CANDIDATE', 'LEARNER'] as const;
export type RaftRole = (typeof RAFT_ROLES)[number];

/** Who called: recorded with operator actions so the log says who resolved what. */
export interface Actor {
  /** Stable and safe to log: the role and a fingerprint of the key, never the key. */
  readonly name: string;
  readonly role: Role;
}

export interface ParticipantInput {
  readonly name: string;
  /** Opaque work for the participant, sent with PREPARE exactly as given. */
  readonly payload?: unknown;
}

export interface BeginInput {
  /** Prepare deadline from BEGIN; the coordinator's default when absent. */
  readonly timeoutMs?: number;
  readonly participants: readonly ParticipantInput[];
  readonly metadata: Readonly<Record<string, string>>;
  /**
   * Run two-phase commit too: begin then resolves like `commit(txId, wait)`. PREPARING goes into
   * the Raft log with the BEGIN and the PREPAREs leave with it: one request instead of two.
   */
  readonly commit?: CommitWait;
}

export interface Resolution {
  readonly outcome: Outcome;
  readonly reason: string;
}

export interface MemberInput {
  readonly nodeId: string;
  /** host:port of the member's Raft listener. */
  readonly raftAddress: string;
  /** Base URL of the member's HTTP API, used to forward requests to it when it leads. */
  readonly httpUrl: string;
}

export interface ListFilter {
  readonly state?: TxState;
  readonly participant?: string;
  /** Only transactions created at least this long ago. */
  readonly olderThanMs?: number;
  /** true: only stuck ones; false: only those not stuck; absent: both. */
  readonly stuck?: boolean;
  /** 1..500. */
  readonly limit: number;
  /** `nextCursor` of the previous page. */
  readonly cursor?: string;
}

export interface DecisionView {
  readonly outcome: Outcome;
  /** Where the DECISION entry sits in the Raft log: the commit point. */
  readonly raftIndex: number;
  readonly raftTerm: number;
  /** Why, in words: "all participants voted YES", "bank-b voted NO: insufficient funds", … */
  readonly reason: string;
  /** The operator actor for a manual resolution; null when the coordinator decided. */
  readonly resolvedBy: string | null;
  readonly decidedAt: string;
}

export interface ParticipantView {
  readonly name: string;
  /** null until the participant has voted (votes live in the leader's memory only). */
  readonly vote: ParticipantVote | null;
  readonly voteReason: string | null;
  /** Whether it acknowledged the decision. */
  readonly ack: boolean;
  readonly ackedAt: string | null;
  /** Sends of the current phase's command so far. */
  readonly attempts: number;
  readonly lastError: string | null;
  readonly breaker: BreakerState;
}

export interface StuckView {
  readonly since: string;
  /** In words: "prepared, waiting for bank-b's ACK for 12 minutes; its breaker is OPEN". */
  readonly reason: string;
}

export interface TransactionView {
  readonly id: string;
  readonly state: TxState;
  readonly decision: DecisionView | null;
  readonly participants: readonly ParticipantView[];
  readonly createdAt: string;
  /** Prepare deadline: no decision by then means ABORT. */
  readonly deadline: string;
  readonly metadata: Readonly<Record<string, string>>;
  readonly stuck: StuckView | null;
  /** Set once every participant acknowledged (COMMITTED or ABORTED). */
  readonly finishedAt: string | null;
  /**
   * What happened to it, oldest first. Filled by `get` (and by the calls that change a
   * transaction); `list` returns it empty. Events only the leader sees (PREPARE_SENT, VOTE,
   * DECISION_SENT, ACK, RETRY) are kept in the leader's memory, bounded: a new leader starts
   * from the replicated events and adds RESUMED. A finished transaction's timeline is archived
   * with it and ends with ARCHIVED.
   */
  readonly timeline: readonly TimelineEventView[];
}

export const TIMELINE_EVENT_KINDS = [
  'BEGIN',
  'ENLIST',
  'PREPARING',
  'PREPARE_SENT',
  'VOTE',
  'DECISION',
  'DECISION_SENT',
  'ACK',
  'RESUMED',
  'RETRY',
  'ARCHIVED',
] as const;
export type TimelineEventKind = (typeof TIMELINE_EVENT_KINDS)[number];

/** One thing that happened to a transaction, as the console and the CLI show it. */
export interface TimelineEventView {
  readonly at: string;
  readonly kind: TimelineEventKind;
  /** The participant it concerns; null for events of the whole transaction. */
  readonly participant: string | null;
  /** Plain words: "voted NO: insufficient funds", "COMMIT sent, attempt 3". */
  readonly detail: string;
  /** Where the replicated entry behind it sits in the Raft log; null for leader-only events. */
  readonly raftIndex: number | null;
  readonly raftTerm: number | null;
  /** The operator, for a RESOLVE (a DECISION with an actor) or a RETRY; null otherwise. */
  readonly actor: string | null;
}

export interface TransactionPage {
  readonly items: readonly TransactionView[];
  /** null on the last page. */
  readonly nextCursor: string | null;
}

export interface OutcomeView {
  readonly txId: string;
  readonly outcome: Outcome | 'UNDECIDED';
  /** true when the cluster has no record of the transaction and answers ABORT by presumption. */
  readonly presumed: boolean;
}

export interface MemberView {
  readonly nodeId: string;
  readonly role: RaftRole;
  /** Leader only: the highest log index known replicated on this member. */
  readonly matchIndex: number | null;
  /** Leader only: entries behind the leader's last index. */
  readonly lag: number | null;
  /** Leader only: milliseconds since the member last answered. */
  readonly lastContactMs: number | null;
  /** Base URL of the member's HTTP API as the replicated configuration records it; null if unknown. */
  readonly httpUrl: string | null;
}

export interface BreakerView {
  readonly participant: string;
  readonly state: BreakerState;
  /** When it last changed state. */
  readonly since: string;
}

/** A participant this node knows of: it keeps a breaker for it, or heard from it. */
export interface ClusterParticipantView {
  readonly name: string;
  /** When this node last read a reply (vote, ack, outcome query) from it; null if never since it started. */
  readonly lastSeenAt: string | null;
  /** null when this node keeps no breaker for it (it never sent it a command: a follower). */
  readonly breaker: BreakerState | null;
}

export interface ClusterStatusView {
  readonly nodeId: string;
  readonly role: RaftRole;
  readonly term: number;
  readonly leaderId: string | null;
  readonly commitIndex: number;
  readonly appliedIndex: number;
  readonly members: readonly MemberView[];
  readonly breakers: readonly BreakerView[];
  /** By name. */
  readonly participants: readonly ClusterParticipantView[];
  readonly stats: ClusterStatsView;
}

/** Counters for dashboards. A console differences the counters over time for a rate. */
export interface ClusterStatsView {
  /** COMMIT decisions applied on this node since it started (any node counts the same log). */
  readonly committed: number;
  /** ABORT decisions applied on this node since it started. */
  readonly aborted: number;
  /** Live transactions in PREPARING, COMMITTING or ABORTING now, as this node sees them. */
  readonly inDoubt: number;
  /** Age of the oldest of those (since it began), in milliseconds; null when there is none. */
  readonly oldestInDoubtMs: number | null;
}
