import type { DecisionRecord } from './effects';
import { IdempotencyTable } from './idempotency-table';
import type { BeginEntry, PreparingEntry } from './entries';
import { TimerQueue } from './timer-queue';
import type {
  CommitWait,
  Index,
  Outcome,
  ParticipantName,
  ParticipantSpec,
  ParticipantVote,
  RequestId,
  Term,
  TimelineEventKind,
  TxId,
  TxPhase,
} from './types';

// The engine's state in two parts, kept apart on purpose:
//
// - `ReplicatedState` changes only in `entryCommitted`, deterministically, from the entry alone.
//   Every node holds the same one at the same applied index; Raft snapshots carry exactly it.
// - `LeaderState` exists only while this node leads: votes, acknowledgements, attempts, timers,
//   requests waiting for a reply. It is rebuilt from the replicated state on `becameLeader` and
//   dropped on `lostLeadership`. Nothing in it is needed for safety, only for progress.
//
// The state is mutable and owned by `transition`: the hot path runs thousands of transactions a
// second, so a command touches one table entry instead of copying the table.

export interface EngineState {
  readonly replicated: ReplicatedState;
  /** Latest time the host reported (`tick`, `becameLeader`). Invariant: never decreases. */
  nowMs: number;
  /** Non-null exactly while this node leads. */
  leader: LeaderState | null;
  /** Highest term this node has led, to check `becameLeader` terms never go back. */
  lastLeaderTerm: Term;
}

export interface ReplicatedState {
  /** Live transactions, in BEGIN order. */
  readonly transactions: Map<TxId, TxRecord>;
  /** Idempotency-Key → the BEGIN that recorded it, in log order (the eviction order). */
  readonly idempotencyKeys: IdempotencyTable;
  /** Invariant: (appliedIndex, appliedPosition) strictly increases with every applied entry. */
  appliedIndex: Index;
  /** Position of the last applied TxLogEntry within its Raft entry; not part of snapshots. */
  appliedPosition: number;
  appliedTerm: Term;
}

export interface IdempotencyRecord {
  readonly fingerprint: string;
  readonly txId: TxId;
  readonly createdAtMs: number;
}

export interface TxRecord {
  readonly txId: TxId;
  /** Invariant: moves only forward, ACTIVE → PREPARING → DECIDED or ACTIVE → DECIDED. */
  phase: TxPhase;
  /** Grows by ENLIST while ACTIVE only. Invariant: names unique, length <= PARTICIPANTS_PER_TX_MAX. */
  readonly participants: ParticipantSpec[];
  readonly createdAtMs: number;
  readonly deadlineMs: number;
  readonly metadata: Readonly<Record<string, string>>;
  readonly idempotencyKey: string | null;
  /**
   * Where the BEGIN entry sits in the Raft log, for the timeline. Null only in records restored
   * from a v1 snapshot, which did not carry it.
   */
  readonly begun: { readonly index: Index; readonly term: Term } | null;
  /**
   * How each participant joined, for the timeline. Invariant: aligned with `participants` by
   * position (same length); those named at BEGIN share the BEGIN entry's index.
   */
  readonly enlistments: EnlistmentRecord[];
  /**
   * Set when PREPARING was applied while ACTIVE. Invariant: null while ACTIVE. PREPARE may leave
   * as soon as the leader proposes PREPARING (see LeaderTx.inherited), so `prepare` null does not
   * prove that no participant is prepared.
   */
  prepare: { readonly index: Index; readonly term: Term; readonly atMs: number } | null;
  /** Invariant: non-null exactly when phase is DECIDED; never changes once set. */
  decision: DecisionRecord | null;
}

export interface EnlistmentRecord {
  /** Null only in records restored from a v1 snapshot. */
  readonly index: Index | null;
  readonly term: Term | null;
  /** The proposing leader's clock; null for ENLIST entries written before they carried it. */
  readonly atMs: number | null;
}

export interface LeaderState {
  readonly term: Term;
  /** One entry per live transaction, plus none for BEGINs not yet applied (see pendingBegins). */
  readonly transactions: Map<TxId, LeaderTx>;
  /** BEGINs proposed by this leader and not applied yet: the requests waiting for them. */
  readonly pendingBegins: Map<TxId, PendingBegin>;
  /** Idempotency keys of `pendingBegins`, so a concurrent retry waits instead of beginning twice. */
  readonly pendingKeys: Map<string, TxId>;
  readonly timers: TimerQueue;
  /** Participants whose circuit breaker is open, with the host's reason. */
  readonly unavailable: Map<ParticipantName, string>;
  /** Archived transactions waiting to be ENDed; flushed by `tick` or when full. */
  readonly endBatch: TxId[];
  /** `nowMs` as ISO 8601, formatted once per distinct time for the messages' `sentAt`. */
  sentAt: { readonly ms: number; readonly iso: string };
}

export interface PendingBegin {
  readonly requestIds: RequestId[];
  readonly fingerprint: string | null;
  /** The requests among `requestIds` that asked to commit too, and how long they wait. */
  readonly commits: Map<RequestId, CommitWait>;
  /** Names of `participants` in the BEGIN, by position: where an early vote belongs. */
  readonly participants: readonly ParticipantName[];
  /**
   * Becomes the transaction's LeaderTx at apply: early PREPAREs and votes are already in it. Its
   * `preparingProposed` says whether a PREPARING entry goes right behind the BEGIN, and its `held`
   * whether both are still held back.
   */
  readonly leaderTx: LeaderTx;
}

export interface LeaderTx {
  /** Aligned with `TxRecord.participants` by position. */
  readonly progress: ParticipantProgress[];
  /**
   * A PREPARING entry is in the log and not yet applied, or held back (`held`); PREPARE went out
   * when it was proposed or held.
   */
  preparingProposed: boolean;
  /**
   * Entries not proposed yet although PREPARE went out: a commit-at-begin's BEGIN and PREPARING
   * (engine.ts, `holdBegin`), or a live transaction's PREPARING (`startCommit`). They go into the
   * log with the DECISION once the votes are in, one Raft round less, or alone when the first
   * re-send of PREPARE falls due first. Null once proposed, and whenever PREPARING was proposed at
   * once (an inherited transaction, an ENLIST in flight).
   */
  held: readonly [BeginEntry, PreparingEntry] | readonly [PreparingEntry] | null;
  /**
   * Taken over from an earlier leader, which may have sent PREPARE with a PREPARING entry that
   * never committed: any participant may be prepared even while the log says ACTIVE.
   */
  inherited: boolean;
  /** A DECISION entry is in the log, not yet applied: no other decision is proposed meanwhile. */
  decisionProposed: boolean;
  /**
   * ENLISTs proposed and not applied, per participant name, oldest first. Entries of one leader
   * apply in the order it proposed them, so the n-th ENLIST applied for a name answers the n-th.
   */
  readonly enlistWaiters: Map<ParticipantName, RequestId[]>;
  /** Requests answered when the decision is applied, with the outcome each one wants. */
  readonly decisionWaiters: DecisionWaiter[];
  /** `commitRequested` with wait=completion, answered when every participant acknowledged. */
  readonly completionWaiters: RequestId[];
  /** Re-sends so far in the current phase: the backoff exponent. */
  retryRound: number;
  nextRetryAtMs: number | null;
  /** The one timer that counts for this transaction; other queued ones are stale. */
  wakeAtMs: number | null;
  /** Set once every participant that needed phase two acknowledged. */
  finishedAtMs: number | null;
  /** `archived` was reported; END is batched or proposed. */
  endRequested: boolean;
  /** The deadline as ISO 8601 for PREPARE messages, formatted on first use. */
  deadlineIso: string | null;
  /** What this leader saw and did: sends, votes, acks, retries. See timeline.ts. */
  readonly timeline: LeaderTimeline;
}

/**
 * Leader-only events of one transaction. Invariant: `events.length` <=
 * TIMELINE_LEADER_EVENTS_PER_TX_MAX, because each (kind, participant) keeps at most
 * TIMELINE_EVENTS_KEPT_FIRST events plus one folded event.
 */
export interface LeaderTimeline {
  readonly events: LeaderTimelineEvent[];
  /** Per (kind, participant): how many happened, and the event later ones fold into. */
  readonly keys: Map<string, { count: number; folded: LeaderTimelineEvent | null }>;
  nextSequence: number;
  /**
   * Where among its own events this leader asked the participants to prepare: PREPARING shows
   * there, not at its Raft index, which it reaches only with the DECISION when held, and after
   * its PREPAREs left when proposed with them; a held BEGIN too, with the participants it names.
   * Null until the leader sends PREPARE.
   */
  prepareRequested: PrepareRequested | null;
}

export interface PrepareRequested {
  readonly afterIndex: Index;
  /** The sequence the next leader event got: the request sorts right before it. */
  readonly sequence: number;
}

export interface LeaderTimelineEvent {
  readonly kind: TimelineEventKind;
  readonly participant: ParticipantName | null;
  /** Like `atMs` and `detail`, the latest one's once later events fold into this one. */
  actor: string | null;
  atMs: number;
  /** Without the folding note; queries add it. */
  detail: string;
  /** How many events this one stands for: 1, or more once later ones fold into it. */
  folded: number;
  /**
   * `appliedIndex` when it happened: it sorts after the replicated entries applied by then and
   * before later ones, which is the order things happened in on this leader.
   */
  afterIndex: Index;
  /** Order among this transaction's leader events. */
  sequence: number;
}

export interface DecisionWaiter {
  readonly requestId: RequestId;
  /** null: any outcome answers the request (commit); else a different outcome is DECISION_EXISTS. */
  readonly wants: Outcome | null;
}

export interface ParticipantProgress {
  vote: ParticipantVote | null;
  voteReason: string | null;
  votedAtMs: number | null;
  /** Whether the decision must reach it: false for READ_ONLY and NO voters and when never prepared. */
  needsDecision: boolean;
  ackedAtMs: number | null;
  /** PREPAREs sent by this leader. */
  prepareAttempts: number;
  /** COMMIT/ABORT sent by this leader. */
  decisionAttempts: number;
  lastError: string | null;
}

export function createEngineState(): EngineState {
  return {
    replicated: {
      transactions: new Map(),
      idempotencyKeys: new IdempotencyTable(),
      appliedIndex: 0,
      appliedPosition: 0,
      appliedTerm: 0,
    },
    nowMs: 0,
    leader: null,
    lastLeaderTerm: 0,
  };
}

export function createLeaderState(term: Term): LeaderState {
  return {
    term,
    transactions: new Map(),
    pendingBegins: new Map(),
    pendingKeys: new Map(),
    timers: new TimerQueue(),
    unavailable: new Map(),
    endBatch: [],
    sentAt: { ms: -1, iso: '' },
  };
}

export function createLeaderTx(participantCount: number): LeaderTx {
  const progress: ParticipantProgress[] = [];
  for (let index = 0; index < participantCount; index += 1) progress.push(createProgress());
  return {
    progress,
    preparingProposed: false,
    held: null,
    inherited: false,
    decisionProposed: false,
    enlistWaiters: new Map(),
    decisionWaiters: [],
    completionWaiters: [],
    retryRound: 0,
    nextRetryAtMs: null,
    wakeAtMs: null,
    finishedAtMs: null,
    endRequested: false,
    deadlineIso: null,
    timeline: { events: [], keys: new Map(), nextSequence: 0, prepareRequested: null },
  };
}

export function createProgress(): ParticipantProgress {
  return {
    vote: null,
    voteReason: null,
    votedAtMs: null,
    needsDecision: false,
    ackedAtMs: null,
    prepareAttempts: 0,
    decisionAttempts: 0,
    lastError: null,
  };
}
