import { assert } from './assert';
import type { DecisionRecord } from './effects';
import { txState } from './engine';
import { LIST_LIMIT_DEFAULT, LIST_LIMIT_MAX, STUCK_AFTER_MS_DEFAULT } from './limits';
import type { EngineState, LeaderTx, TxRecord } from './state';
import { transactionTimeline } from './timeline';
import type { ParticipantName, ParticipantVote, TimelineEvent, TxId, TxState } from './types';

// Read-only views of the engine state for the API: pure functions of the state and a time.
// Votes, acknowledgements and attempts live in the leader's memory: on a follower (or a leader
// that took over and has not heard back yet) they read null/0 and `progressKnown` says so.

export interface TransactionView {
  readonly txId: TxId;
  readonly state: TxState;
  readonly decision: DecisionRecord | null;
  readonly participants: readonly ParticipantView[];
  readonly createdAtMs: number;
  readonly deadlineMs: number;
  readonly metadata: Readonly<Record<string, string>>;
  readonly idempotencyKey: string | null;
  /** Set once the leader has every acknowledgement (state COMMITTED or ABORTED). */
  readonly finishedAtMs: number | null;
  readonly stuck: StuckView | null;
  /** Whether the per-participant progress below is this node's (leader) knowledge. */
  readonly progressKnown: boolean;
  /**
   * Oldest first. On a follower only the replicated events (BEGIN, ENLIST, PREPARING, DECISION);
   * on the leader also what it saw and did since it took over.
   */
  readonly timeline: readonly TimelineEvent[];
}

export interface ParticipantView {
  readonly name: ParticipantName;
  readonly vote: ParticipantVote | null;
  readonly voteReason: string | null;
  readonly votedAtMs: number | null;
  /** Whether the decision must still reach it; false for READ_ONLY/NO voters and when never prepared. */
  readonly needsDecision: boolean;
  readonly ack: boolean;
  readonly ackedAtMs: number | null;
  /** Sends of the current phase's command (PREPARE while undecided, then COMMIT/ABORT). */
  readonly attempts: number;
  readonly lastError: string | null;
  /** The leader's view of its circuit breaker; null on a follower. */
  readonly unavailable: boolean | null;
}

export interface StuckView {
  readonly sinceMs: number;
  /** In words: "waiting for ACK from bank-b for 2m 10s, 14 attempts". */
  readonly reason: string;
}

export interface ListFilter {
  readonly state?: TxState;
  readonly participant?: ParticipantName;
  /** Only transactions created at least this long before `nowMs`. */
  readonly olderThanMs?: number;
  /** true: only stuck ones; false: only those not stuck. */
  readonly stuck?: boolean;
  /** 1..LIST_LIMIT_MAX; LIST_LIMIT_DEFAULT when absent. */
  readonly limit?: number;
  /** The `nextCursor` of the previous page: a txId, exclusive. */
  readonly cursor?: TxId;
  /** By txId, i.e. by age (UUIDv7). Default newest first, as in history. */
  readonly order?: 'newestFirst' | 'oldestFirst';
  readonly stuckAfterMs?: number;
}

export interface TransactionPage {
  readonly items: readonly TransactionView[];
  /** null on the last page. */
  readonly nextCursor: TxId | null;
}

export function viewTransaction(
  state: EngineState,
  txId: TxId,
  nowMs: number,
  stuckAfterMs: number = STUCK_AFTER_MS_DEFAULT,
): TransactionView | null {
  const tx = state.replicated.transactions.get(txId);
  return tx === undefined ? null : view(state, tx, nowMs, stuckAfterMs);
}

/**
 * Live transactions matching `filter`, in txId order, one page at a time. Scans the live table
 * (bounded by LIVE_TRANSACTIONS_MAX) and builds views for the page only.
 */
export function listTransactions(state: EngineState, filter: ListFilter, nowMs: number): TransactionPage {
  const limit = filter.limit ?? LIST_LIMIT_DEFAULT;
  assert(
    Number.isInteger(limit) && limit >= 1 && limit <= LIST_LIMIT_MAX,
    `list limit ${limit} outside [1, ${LIST_LIMIT_MAX}]`,
  );
  const stuckAfterMs = filter.stuckAfterMs ?? STUCK_AFTER_MS_DEFAULT;
  const newestFirst = (filter.order ?? 'newestFirst') === 'newestFirst';
  const leader = state.leader;
  const matching: TxRecord[] = [];
  for (const tx of state.replicated.transactions.values()) {
    const cursor = filter.cursor;
    if (cursor !== undefined && (newestFirst ? tx.txId >= cursor : tx.txId <= cursor)) continue;
    const leaderTx = leader?.transactions.get(tx.txId);
    if (filter.state !== undefined && txState(tx, leaderTx) !== filter.state) continue;
    if (filter.participant !== undefined && !tx.participants.some((each) => each.name === filter.participant))
      continue;
    if (filter.olderThanMs !== undefined && nowMs - tx.createdAtMs < filter.olderThanMs) continue;
    if (filter.stuck !== undefined && (stuck(tx, leaderTx, nowMs, stuckAfterMs) !== null) !== filter.stuck)
      continue;
    matching.push(tx);
  }
  matching.sort((left, right) => (left.txId < right.txId ? -1 : left.txId > right.txId ? 1 : 0));
  if (newestFirst) matching.reverse();
  const page = matching.slice(0, limit);
  const last = page[page.length - 1];
  return {
    items: page.map((tx) => view(state, tx, nowMs, stuckAfterMs)),
    nextCursor: matching.length > limit && last !== undefined ? last.txId : null,
  };
}

function view(state: EngineState, tx: TxRecord, nowMs: number, stuckAfterMs: number): TransactionView {
  const leader = state.leader;
  const leaderTx = leader?.transactions.get(tx.txId);
  return {
    txId: tx.txId,
    state: txState(tx, leaderTx),
    decision: tx.decision,
    participants: tx.participants.map((participant, position): ParticipantView => {
      const progress = leaderTx?.progress[position];
      return {
        name: participant.name,
        vote: progress?.vote ?? null,
        voteReason: progress?.voteReason ?? null,
        votedAtMs: progress?.votedAtMs ?? null,
        needsDecision: progress?.needsDecision ?? (tx.decision !== null && tx.prepare !== null),
        ack: (progress?.ackedAtMs ?? null) !== null,
        ackedAtMs: progress?.ackedAtMs ?? null,
        attempts: (tx.decision === null ? progress?.prepareAttempts : progress?.decisionAttempts) ?? 0,
        lastError: progress?.lastError ?? null,
        unavailable: leader === null ? null : leader.unavailable.has(participant.name),
      };
    }),
    createdAtMs: tx.createdAtMs,
    deadlineMs: tx.deadlineMs,
    metadata: tx.metadata,
    idempotencyKey: tx.idempotencyKey,
    finishedAtMs: leaderTx?.finishedAtMs ?? null,
    stuck: stuck(tx, leaderTx, nowMs, stuckAfterMs),
    progressKnown: leaderTx !== undefined,
    timeline: transactionTimeline(tx, leaderTx),
  };
}

/**
 * Stuck: in PREPARING, COMMITTING or ABORTING for longer than `stuckAfterMs` (or finished and
 * still waiting for the history archive that long). The reason names who is being waited for.
 */
export function stuck(
  tx: TxRecord,
  leaderTx: LeaderTx | undefined,
  nowMs: number,
  stuckAfterMs: number,
): StuckView | null {
  let sinceMs: number;
  if (tx.decision !== null) {
    sinceMs = leaderTx?.finishedAtMs ?? tx.decision.decidedAtMs;
  } else if (tx.prepare !== null) {
    sinceMs = tx.prepare.atMs;
  } else {
    return null; // ACTIVE: the client holds it open, bounded by its deadline.
  }
  const forMs = nowMs - sinceMs;
  if (forMs <= stuckAfterMs) return null;
  const duration = formatDuration(forMs);
  if (leaderTx === undefined) {
    const what = tx.decision === null ? 'votes' : 'acknowledgements';
    return {
      sinceMs,
      reason: `${txState(tx, leaderTx)} for ${duration}; ${what} are known only to the leader`,
    };
  }
  if (leaderTx.finishedAtMs !== null) {
    return {
      sinceMs,
      reason: `every participant acknowledged; waiting for the history archive for ${duration}`,
    };
  }
  if (tx.decision === null && leaderTx.decisionProposed) {
    return { sinceMs, reason: `decision proposed, waiting for the Raft log to commit it for ${duration}` };
  }
  const waitingFor = tx.participants.flatMap((participant, position) => {
    const progress = leaderTx.progress[position];
    if (progress === undefined) return [];
    if (tx.decision === null) {
      return progress.vote === null
        ? [{ name: participant.name, attempts: progress.prepareAttempts, progress }]
        : [];
    }
    return progress.needsDecision && progress.ackedAtMs === null
      ? [{ name: participant.name, attempts: progress.decisionAttempts, progress }]
      : [];
  });
  const what = tx.decision === null ? 'vote' : 'ACK';
  const parts = waitingFor.map(({ name, progress }) => {
    const error = progress.lastError === null ? '' : ` (last error: ${progress.lastError})`;
    return `${name}${error}`;
  });
  const attempts = Math.max(0, ...waitingFor.map((each) => each.attempts));
  const plural = attempts === 1 ? 'attempt' : 'attempts';
  return {
    sinceMs,
    reason: `waiting for ${what} from ${parts.join(', ')} for ${duration}, ${attempts} ${plural}`,
  };
}

/** "850ms", "45s", "2m 10s", "3h 5m", "2d 4h". */
export function formatDuration(durationMs: number): string {
  const ms = Math.max(0, Math.floor(durationMs));
  if (ms < 1000) return `${ms}ms`;
  const seconds = Math.floor(ms / 1000);
  if (seconds < 60) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes}m ${seconds % 60}s`;
  const hours = Math.floor(minutes / 60);
  if (hours < 24) return `${hours}h ${minutes % 60}m`;
  return `${Math.floor(hours / 24)}d ${hours % 24}h`;
}
