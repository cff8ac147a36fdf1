import { isParticipantName, PROTOCOL_VERSION, type ParticipantCommand } from '@verdict/protocol';
import { assert } from './assert';
import { isJsonValue, jsonEquals } from './canonical-json';
import type {
  AbortRequestedCommand,
  AckCommand,
  BecameLeaderCommand,
  BeginCommand,
  Command,
  CommitRequestedCommand,
  EnlistCommand,
  OperatorResolveCommand,
  OutcomeQueryCommand,
  ParticipantUnavailableCommand,
  ParticipantVoteCommand,
  RetryPhaseTwoCommand,
} from './commands';
import type {
  Effect,
  EngineError,
  FinishedTransactionRecord,
  NoticeCode,
  NoticeEffect,
  ProposeEffect,
  ReplyValue,
} from './effects';
import type { BeginEntry, DecisionEntry, EndEntry, EnlistEntry, PreparingEntry, TxLogEntry } from './entries';
import {
  END_BATCH_TX_MAX,
  FINGERPRINT_CHARS_MAX,
  IDEMPOTENCY_KEY_CHARS_MAX,
  IDEMPOTENCY_KEY_TTL_MS,
  IDEMPOTENCY_KEYS_MAX,
  LIVE_TRANSACTIONS_MAX,
  PARTICIPANTS_PER_TX_MAX,
  REASON_CHARS_MAX,
  RESOLVED_BY_CHARS_MAX,
  retryDelayMs,
  TX_TIMEOUT_MS_DEFAULT,
  TX_TIMEOUT_MS_MAX,
  TX_TIMEOUT_MS_MIN,
} from './limits';
import {
  createLeaderState,
  createLeaderTx,
  createProgress,
  type EngineState,
  type LeaderState,
  type LeaderTx,
  type ParticipantProgress,
  type PendingBegin,
  type TxRecord,
} from './state';
import { recordLeaderEvent, recordPrepareRequested, transactionTimeline } from './timeline';
import type {
  CommitWait,
  DecisionCause,
  Index,
  Outcome,
  ParticipantName,
  ParticipantSpec,
  RequestId,
  Term,
  TxId,
  TxState,
} from './types';

// The 2PC engine: `transition(state, command) → { state, effects }`. See README.md for the host
// loop, the commit point, and the choices made where DESIGN.md is silent.

export interface Transition {
  /** The same object that was passed in, updated: `transition` owns the state while it runs. */
  readonly state: EngineState;
  /** In order; the host carries them out in this order. */
  readonly effects: readonly Effect[];
}

export function transition(state: EngineState, command: Command): Transition {
  const out: Effect[] = [];
  switch (command.kind) {
    case 'entryCommitted':
      onEntryCommitted(state, command.entry, command.index, command.position, command.term, out);
      break;
    case 'tick':
      onTick(state, command.nowMs, out);
      break;
    case 'clock':
      advanceClock(state, command.nowMs, out);
      break;
    case 'becameLeader':
      becomeLeader(state, command, out);
      break;
    case 'lostLeadership':
      becomeFollower(state, out);
      break;
    case 'begin':
      onBegin(state, command, out);
      break;
    case 'enlist':
      onEnlist(state, command, out);
      break;
    case 'commitRequested':
      onCommitRequested(state, command, out);
      break;
    case 'abortRequested':
      onAbortRequested(state, command, out);
      break;
    case 'operatorResolve':
      onOperatorResolve(state, command, out);
      break;
    case 'retryPhaseTwo':
      onRetryPhaseTwo(state, command, out);
      break;
    case 'participantVote':
      onParticipantVote(state, command, out);
      break;
    case 'ack':
      onAck(state, command, out);
      break;
    case 'outcomeQuery':
      onOutcomeQuery(state, command, out);
      break;
    case 'participantUnavailable':
      onParticipantUnavailable(state, command, out);
      break;
    case 'participantAvailable':
      state.leader?.unavailable.delete(command.participant);
      break;
    case 'archived':
      onArchived(state, command.txId, out);
      break;
  }
  return { state, effects: out };
}

// ---------------------------------------------------------------------------------------------
// Applying committed entries: every node, in log order, deterministic. The replicated part of the
// state changes here and nowhere else. Leader-only follow-up (replies, sends) comes after.

function onEntryCommitted(
  state: EngineState,
  entry: TxLogEntry,
  index: Index,
  position: number,
  term: Term,
  out: Effect[],
): void {
  const replicated = state.replicated;
  assert(
    index > replicated.appliedIndex ||
      (index === replicated.appliedIndex && position > replicated.appliedPosition),
    `entry ${entry.kind} at index ${index} position ${position} applied after index ${replicated.appliedIndex} position ${replicated.appliedPosition}: entries apply once, in order`,
  );
  assert(
    term >= replicated.appliedTerm,
    `entry ${entry.kind} at index ${index} has term ${term} < term ${replicated.appliedTerm} of the previous entry`,
  );
  replicated.appliedIndex = index;
  replicated.appliedPosition = position;
  replicated.appliedTerm = term;
  switch (entry.kind) {
    case 'BEGIN':
      applyBegin(state, entry, index, term, out);
      break;
    case 'ENLIST':
      applyEnlist(state, entry, index, term, out);
      break;
    case 'PREPARING':
      applyPreparing(state, entry, index, term, out);
      break;
    case 'DECISION':
      onDecisionCommitted(state, entry, index, term, out);
      break;
    case 'END':
      applyEnd(state, entry, out);
      break;
  }
}

function applyBegin(state: EngineState, entry: BeginEntry, index: Index, term: Term, out: Effect[]): void {
  const { transactions, idempotencyKeys } = state.replicated;
  const leader = state.leader;
  const pending = leader?.pendingBegins.get(entry.txId);
  if (leader !== null && pending !== undefined) {
    leader.pendingBegins.delete(entry.txId);
    if (entry.idempotency !== null && leader.pendingKeys.get(entry.idempotency.key) === entry.txId) {
      leader.pendingKeys.delete(entry.idempotency.key);
    }
  }
  const requestIds = pending?.requestIds ?? [];
  const voidWithPrepares = (why: string): void => {
    if (pending?.leaderTx.preparingProposed !== true) return;
    out.push(
      notice(
        'warn',
        'ENTRY_VOID',
        entry.txId,
        null,
        `BEGIN for ${entry.txId} is void (${why}) after PREPARE went out with it: its participants learn ABORT when they ask (presumed abort)`,
      ),
    );
  };

  if (transactions.has(entry.txId)) {
    assert(requestIds.length === 0, `this leader proposed BEGIN for ${entry.txId}, which was already live`);
    out.push(
      notice('warn', 'ENTRY_VOID', entry.txId, null, `BEGIN for ${entry.txId}, which is already live`),
    );
    return;
  }
  if (entry.idempotency !== null) {
    const earlier = idempotencyKeys.get(entry.idempotency.key);
    if (earlier !== undefined) {
      // Two leaders each proposed a BEGIN for the same key: the first in the log wins.
      voidWithPrepares(`Idempotency-Key ${entry.idempotency.key} belongs to ${earlier.txId}`);
      for (const requestId of requestIds) {
        if (earlier.fingerprint === entry.idempotency.fingerprint) {
          succeed(out, requestId, { kind: 'begun', txId: earlier.txId, replayed: true });
        } else {
          fail(out, requestId, idempotencyMismatch(entry.idempotency.key, earlier.txId));
        }
      }
      return;
    }
  }
  if (transactions.size >= LIVE_TRANSACTIONS_MAX) {
    voidWithPrepares('too many live transactions');
    for (const requestId of requestIds) fail(out, requestId, transactionLimitReached());
    return;
  }

  const tx: TxRecord = {
    txId: entry.txId,
    phase: 'ACTIVE',
    participants: entry.participants.slice(),
    createdAtMs: entry.createdAtMs,
    deadlineMs: entry.deadlineMs,
    metadata: entry.metadata,
    idempotencyKey: entry.idempotency?.key ?? null,
    begun: { index, term },
    enlistments: entry.participants.map(() => ({ index, term, atMs: entry.createdAtMs })),
    prepare: null,
    decision: null,
  };
  transactions.set(tx.txId, tx);
  if (entry.idempotency !== null) {
    idempotencyKeys.add(entry.idempotency.key, {
      fingerprint: entry.idempotency.fingerprint,
      txId: tx.txId,
      createdAtMs: entry.createdAtMs,
    });
    // Oldest keys first (log order), by count and by age measured on the entry's own clock.
    idempotencyKeys.evict(IDEMPOTENCY_KEYS_MAX, entry.createdAtMs - IDEMPOTENCY_KEY_TTL_MS);
  }

  if (leader === null) return;
  let leaderTx = pending?.leaderTx;
  if (leaderTx === undefined) {
    // Proposed before this leader's memory began (a reset within the term): whoever proposed it
    // may have sent PREPARE with a PREPARING behind it.
    leaderTx = createLeaderTx(tx.participants.length);
    leaderTx.inherited = true;
  }
  leader.transactions.set(tx.txId, leaderTx);
  schedule(leader, tx, leaderTx);
  requestIds.forEach((requestId, position) => {
    const commit = pending?.commits.get(requestId);
    if (commit !== undefined) {
      waitForCommit(leaderTx, requestId, commit);
      return;
    }
    // The first request proposed this BEGIN; later ones joined it with the same key and body.
    succeed(out, requestId, { kind: 'begun', txId: tx.txId, replayed: position > 0 });
  });
  if ((pending?.commits.size ?? 0) > 0) startCommit(state, leader, tx, leaderTx, out);
}

function applyEnlist(state: EngineState, entry: EnlistEntry, index: Index, term: Term, out: Effect[]): void {
  const tx = state.replicated.transactions.get(entry.txId);
  const leaderTx = state.leader?.transactions.get(entry.txId);
  const name = entry.participant.name;
  const requestId = takeEnlistWaiter(leaderTx, name);
  if (tx === undefined) {
    out.push(notice('info', 'ENTRY_VOID', entry.txId, name, `ENLIST for ${entry.txId}, which is not live`));
    return;
  }
  const result = enlistRule(tx, entry.participant, leaderTx ?? null);
  if (result === null) {
    tx.participants.push(entry.participant);
    tx.enlistments.push({ index, term, atMs: entry.atMs });
    leaderTx?.progress.push(createProgress());
  }
  if (requestId === null) return;
  if (result === null || result === 'already') {
    succeed(out, requestId, { kind: 'enlisted', txId: tx.txId, participant: name });
  } else {
    fail(out, requestId, result);
  }
}

function takeEnlistWaiter(leaderTx: LeaderTx | undefined, name: ParticipantName): RequestId | null {
  const waiters = leaderTx?.enlistWaiters.get(name);
  if (leaderTx === undefined || waiters === undefined) return null;
  const requestId = waiters.shift() ?? null;
  if (waiters.length === 0) leaderTx.enlistWaiters.delete(name);
  return requestId;
}

/**
 * Whether `participant` may join `tx`: null (yes), 'already' (it is enlisted with the same work:
 * an idempotent repeat), or the error. The same rule runs at request time on the leader and at
 * apply time on every node; only the apply-time answer changes state.
 */
function enlistRule(
  tx: TxRecord,
  participant: ParticipantSpec,
  leaderTx: LeaderTx | null,
): EngineError | 'already' | null {
  const position = participantPosition(tx, participant.name);
  if (position >= 0) {
    const enlisted = tx.participants[position] as ParticipantSpec;
    if (jsonEquals(enlisted.work, participant.work)) return 'already';
    return {
      code: 'PARTICIPANT_ALREADY_ENLISTED',
      txId: tx.txId,
      participant: participant.name,
      message: `${participant.name} is already enlisted in transaction ${tx.txId} with other work; a participant takes part once`,
    };
  }
  if (tx.phase !== 'ACTIVE') return notActive(tx, leaderTx, 'participants can be enlisted only while ACTIVE');
  if (tx.participants.length >= PARTICIPANTS_PER_TX_MAX) {
    return {
      code: 'PARTICIPANT_LIMIT_REACHED',
      txId: tx.txId,
      participantsMax: PARTICIPANTS_PER_TX_MAX,
      message: `transaction ${tx.txId} already has ${tx.participants.length} participants, the most one transaction may have`,
    };
  }
  return null;
}

function applyPreparing(
  state: EngineState,
  entry: PreparingEntry,
  index: Index,
  term: Term,
  out: Effect[],
): void {
  const tx = state.replicated.transactions.get(entry.txId);
  const leader = state.leader;
  const leaderTx = leader?.transactions.get(entry.txId);
  if (leaderTx !== undefined) leaderTx.preparingProposed = false;
  if (tx === undefined || tx.phase !== 'ACTIVE') {
    // A DECISION (client abort, deadline) got into the log first: nobody will ever send PREPARE.
    const phase = tx === undefined ? 'not live' : tx.phase;
    out.push(
      notice('info', 'ENTRY_VOID', entry.txId, null, `PREPARING for ${entry.txId}, which is ${phase}`),
    );
    return;
  }
  tx.phase = 'PREPARING';
  tx.prepare = { index, term, atMs: entry.atMs };
  if (leader === null || leaderTx === undefined) return;
  startPrepareRound(state, leader, tx, leaderTx, out);
}

/**
 * COMMIT POINT. A decision exists once its DECISION entry is committed in the Raft log. Before
 * this function runs, no participant may hear COMMIT or ABORT; after it, the outcome never changes
 * and is re-sent until every participant acknowledges. Phase-two messages are built only by
 * `sendRecordedDecision`, from `tx.decision`, which is set here and nowhere else.
 */
function onDecisionCommitted(
  state: EngineState,
  entry: DecisionEntry,
  index: Index,
  term: Term,
  out: Effect[],
): void {
  const tx = state.replicated.transactions.get(entry.txId);
  if (tx === undefined) {
    out.push(
      notice(
        'info',
        'ENTRY_VOID',
        entry.txId,
        null,
        `DECISION ${entry.outcome} for ${entry.txId}, which is not live`,
      ),
    );
    return;
  }
  if (tx.decision !== null) {
    // First DECISION in log order wins; a later one is void, identically on every node. This engine
    // does not produce one (a leader proposes one decision at a time and a new leader has applied
    // every earlier entry), but the rule belongs to the log and holds whoever proposed.
    const level = tx.decision.outcome === entry.outcome ? 'info' : 'warn';
    out.push(
      notice(
        level,
        'ENTRY_VOID',
        tx.txId,
        null,
        `DECISION ${entry.outcome} (${entry.reason}) at index ${index} is void: ${tx.txId} was decided ` +
          `${tx.decision.outcome} at index ${tx.decision.raftIndex}`,
      ),
    );
    return;
  }
  assert(tx.phase !== 'DECIDED', `transaction ${tx.txId} is DECIDED without a decision`);
  tx.phase = 'DECIDED';
  tx.decision = {
    outcome: entry.outcome,
    cause: entry.cause,
    reason: entry.reason,
    resolvedBy: entry.resolvedBy,
    decidedAtMs: entry.atMs,
    raftIndex: index,
    raftTerm: term,
  };

  const leader = state.leader;
  const leaderTx = leader?.transactions.get(tx.txId);
  if (leader === null || leaderTx === undefined) return;
  leaderTx.decisionProposed = false;
  leaderTx.preparingProposed = false;
  for (const waiter of leaderTx.decisionWaiters.splice(0)) {
    if (waiter.wants === null || waiter.wants === tx.decision.outcome) {
      succeed(out, waiter.requestId, { kind: 'decided', txId: tx.txId, decision: tx.decision });
    } else {
      fail(out, waiter.requestId, decisionExists(tx));
    }
  }
  startPhaseTwo(state, leader, tx, leaderTx, out);
}

function applyEnd(state: EngineState, entry: EndEntry, out: Effect[]): void {
  const transactions = state.replicated.transactions;
  for (const txId of entry.txIds) {
    const tx = transactions.get(txId);
    if (tx === undefined) {
      out.push(notice('info', 'ENTRY_VOID', txId, null, `END for ${txId}, which is not live`));
      continue;
    }
    assert(
      tx.decision !== null,
      `END for ${txId} in phase ${tx.phase}: END is proposed only after the decision`,
    );
    transactions.delete(txId);
    const leaderTx = state.leader?.transactions.get(txId);
    if (leaderTx === undefined) continue;
    assert(
      leaderTx.decisionWaiters.length === 0 && leaderTx.completionWaiters.length === 0,
      `END for ${txId} with ${leaderTx.decisionWaiters.length + leaderTx.completionWaiters.length} requests unanswered`,
    );
    state.leader?.transactions.delete(txId);
  }
}

// ---------------------------------------------------------------------------------------------
// Deciding and phase two.

/**
 * Proposes a decision, behind the BEGIN and PREPARING the leader held back for the votes
 * (`holdBegin`) if any: in one turn, so in one Raft entry and in that order. Only ever returns
 * `propose` effects: nothing is sent to any participant until the entry comes back committed
 * (`onDecisionCommitted`). Marks the proposal so the leader does not propose a second one
 * meanwhile.
 */
function decide(
  state: EngineState,
  tx: VoteTarget,
  leaderTx: LeaderTx,
  outcome: Outcome,
  cause: DecisionCause,
  reason: string,
  resolvedBy: string | null,
): ProposeEffect[] {
  assert(tx.decision === null, `decide(${outcome}) for ${tx.txId}, already decided ${tx.decision?.outcome}`);
  assert(
    !leaderTx.decisionProposed,
    `decide(${outcome}) for ${tx.txId} while a decision is already proposed`,
  );
  // A held PREPARING applies right before this DECISION, so nothing can have joined the
  // transaction in between: no ENLIST was in flight when it was held, and none is taken meanwhile
  // (a held BEGIN's transaction is not live; onEnlist refuses while PREPARING is held).
  assert(
    outcome === 'ABORT' || preparing(tx, leaderTx),
    `decide(COMMIT) for ${tx.txId} in phase ${tx.phase}: COMMIT needs a prepare round`,
  );
  const proposals: ProposeEffect[] = [];
  releaseHeld(leaderTx, proposals);
  leaderTx.decisionProposed = true;
  leaderTx.nextRetryAtMs = null;
  proposals.push({
    kind: 'propose',
    entry: {
      kind: 'DECISION',
      txId: tx.txId,
      outcome,
      cause,
      reason: truncate(reason, REASON_CHARS_MAX),
      resolvedBy,
      atMs: state.nowMs,
    },
  });
  return proposals;
}

/** Works out who must hear the decision, sends it, and finishes at once when nobody must. */
function startPhaseTwo(
  state: EngineState,
  leader: LeaderState,
  tx: TxRecord,
  leaderTx: LeaderTx,
  out: Effect[],
): void {
  const decision = tx.decision;
  assert(decision !== null, `phase two for ${tx.txId} without a decision`);
  tx.participants.forEach((_participant, position) => {
    const progress = leaderTx.progress[position];
    assert(progress !== undefined, `no progress for participant ${position} of ${tx.txId}`);
    // Decided while ACTIVE, by a leader that began or resumed the transaction and never sent this
    // participant PREPARE: nothing to undo. A READ_ONLY voter holds nothing. A NO voter already
    // rolled back (presumed abort). A leader that did not see a vote (it took over) must assume
    // the participant is prepared.
    const mayBePrepared = tx.prepare !== null || leaderTx.inherited || progress.prepareAttempts > 0;
    progress.needsDecision =
      mayBePrepared &&
      progress.vote !== 'READ_ONLY' &&
      !(decision.outcome === 'ABORT' && progress.vote === 'NO');
  });
  leaderTx.retryRound = 0;
  tx.participants.forEach((_participant, position) => {
    if (leaderTx.progress[position]?.needsDecision === true)
      sendRecordedDecision(state, leader, tx, leaderTx, position, out);
  });
  leaderTx.nextRetryAtMs = state.nowMs + retryDelayMs(0);
  finishIfComplete(state, tx, leaderTx, out);
  schedule(leader, tx, leaderTx);
}

/**
 * The only place a COMMIT or ABORT message is built. The outcome comes from `tx.decision`, the
 * recorded (committed) decision; there is no other input it could come from.
 */
function sendRecordedDecision(
  state: EngineState,
  leader: LeaderState,
  tx: TxRecord,
  leaderTx: LeaderTx,
  position: number,
  out: Effect[],
): void {
  const decision = tx.decision;
  assert(decision !== null, `COMMIT/ABORT for ${tx.txId} before its DECISION entry was applied`);
  const participant = tx.participants[position];
  const progress = leaderTx.progress[position];
  assert(participant !== undefined && progress !== undefined, `no participant ${position} in ${tx.txId}`);
  progress.decisionAttempts += 1;
  recordLeaderEvent(
    state,
    leaderTx,
    'DECISION_SENT',
    participant.name,
    `${decision.outcome} sent, attempt ${progress.decisionAttempts}`,
  );
  const envelope = {
    v: PROTOCOL_VERSION,
    txId: tx.txId,
    participant: participant.name,
    term: leader.term,
    attempt: progress.decisionAttempts,
    sentAt: sentAtNow(state, leader),
  } as const;
  const message: ParticipantCommand =
    decision.outcome === 'COMMIT'
      ? { ...envelope, type: 'COMMIT', payload: {} }
      : { ...envelope, type: 'ABORT', payload: { reason: decision.reason } };
  out.push({ kind: 'send', participant: participant.name, message });
}

/** What a PREPARE needs: a live transaction, or a BEGIN this leader proposed with PREPARING. */
interface PrepareTarget extends Pick<TxRecord, 'txId' | 'phase' | 'deadlineMs'> {
  readonly participants: readonly ParticipantSpec[];
}

function sendPrepare(
  state: EngineState,
  leader: LeaderState,
  tx: PrepareTarget,
  leaderTx: LeaderTx,
  position: number,
  out: Effect[],
): void {
  assert(
    tx.phase === 'PREPARING' || (tx.phase === 'ACTIVE' && leaderTx.preparingProposed),
    `PREPARE for ${tx.txId} in phase ${tx.phase} without a PREPARING entry proposed`,
  );
  const participant = tx.participants[position];
  const progress = leaderTx.progress[position];
  assert(participant !== undefined && progress !== undefined, `no participant ${position} in ${tx.txId}`);
  progress.prepareAttempts += 1;
  recordLeaderEvent(
    state,
    leaderTx,
    'PREPARE_SENT',
    participant.name,
    `PREPARE sent, attempt ${progress.prepareAttempts}`,
  );
  out.push({
    kind: 'send',
    participant: participant.name,
    message: {
      v: PROTOCOL_VERSION,
      type: 'PREPARE',
      txId: tx.txId,
      participant: participant.name,
      term: leader.term,
      attempt: progress.prepareAttempts,
      sentAt: sentAtNow(state, leader),
      payload: {
        work: participant.work,
        deadline: (leaderTx.deadlineIso ??= isoTime(tx.deadlineMs)),
        participants: tx.participants.map((each) => each.name),
      },
    },
  });
}

/**
 * Once PREPARING is applied: PREPARE to every participant that has neither voted nor been sent
 * one with the proposal (an ENLIST applied in between, a leader that took over), and COMMIT when
 * the votes that came before the apply are all in. Nothing when a decision is on its way.
 */
function startPrepareRound(
  state: EngineState,
  leader: LeaderState,
  tx: TxRecord,
  leaderTx: LeaderTx,
  out: Effect[],
): void {
  assert(tx.phase === 'PREPARING', `prepare round for ${tx.txId} in phase ${tx.phase}`);
  if (leaderTx.decisionProposed) return;
  const unavailable = firstUnavailableWithoutVote(leader, tx, leaderTx);
  if (unavailable !== null) {
    out.push(...decide(state, tx, leaderTx, 'ABORT', 'PARTICIPANT_UNAVAILABLE', unavailable, null));
  } else if (state.nowMs >= tx.deadlineMs) {
    out.push(...decide(state, tx, leaderTx, 'ABORT', 'DEADLINE', deadlineReason(tx, leaderTx), null));
  } else if (allVotedToCommit(leaderTx)) {
    out.push(...decide(state, tx, leaderTx, 'COMMIT', 'VOTES', votesReason(leaderTx), null));
  } else {
    sendFirstPrepares(state, leader, tx, leaderTx, out);
  }
  schedule(leader, tx, leaderTx);
}

/**
 * PREPARE to every participant without a vote that this leader has not asked yet; the backoff
 * restarts only when someone was asked, so PREPAREs sent with the proposal keep their schedule.
 */
function sendFirstPrepares(
  state: EngineState,
  leader: LeaderState,
  tx: PrepareTarget,
  leaderTx: LeaderTx,
  out: Effect[],
): void {
  let asked = false;
  tx.participants.forEach((_participant, position) => {
    const progress = leaderTx.progress[position];
    if (progress?.vote !== null || progress.prepareAttempts > 0) return;
    sendPrepare(state, leader, tx, leaderTx, position, out);
    asked = true;
  });
  if (asked || leaderTx.nextRetryAtMs === null) {
    leaderTx.retryRound = 0;
    leaderTx.nextRetryAtMs = state.nowMs + retryDelayMs(0);
  }
}

function finishIfComplete(state: EngineState, tx: TxRecord, leaderTx: LeaderTx, out: Effect[]): void {
  if (tx.decision === null || leaderTx.finishedAtMs !== null) return;
  const waiting = leaderTx.progress.some((progress) => progress.needsDecision && progress.ackedAtMs === null);
  if (waiting) return;
  leaderTx.finishedAtMs = state.nowMs;
  leaderTx.nextRetryAtMs = null;
  for (const requestId of leaderTx.completionWaiters.splice(0)) {
    succeed(out, requestId, {
      kind: 'completed',
      txId: tx.txId,
      decision: tx.decision,
      finishedAtMs: leaderTx.finishedAtMs,
    });
  }
  out.push({ kind: 'archive', record: finishedRecord(tx, leaderTx) });
}

function finishedRecord(tx: TxRecord, leaderTx: LeaderTx): FinishedTransactionRecord {
  const decision = tx.decision;
  assert(decision !== null && leaderTx.finishedAtMs !== null, `archive record for unfinished ${tx.txId}`);
  return {
    txId: tx.txId,
    state: decision.outcome === 'COMMIT' ? 'COMMITTED' : 'ABORTED',
    decision,
    participants: tx.participants.map((participant, position) => {
      const progress = leaderTx.progress[position];
      assert(progress !== undefined, `no progress for ${participant.name} in ${tx.txId}`);
      return {
        name: participant.name,
        vote: progress.vote,
        voteReason: progress.voteReason,
        votedAtMs: progress.votedAtMs,
        ackedAtMs: progress.ackedAtMs,
        attempts: progress.prepareAttempts + progress.decisionAttempts,
        lastError: progress.lastError,
      };
    }),
    createdAtMs: tx.createdAtMs,
    deadlineMs: tx.deadlineMs,
    finishedAtMs: leaderTx.finishedAtMs,
    metadata: tx.metadata,
    idempotencyKey: tx.idempotencyKey,
    timeline: transactionTimeline(tx, leaderTx),
  };
}

// ---------------------------------------------------------------------------------------------
// Time: deadlines and re-sends, driven by the host's `tick`.

function onTick(state: EngineState, nowMs: number, out: Effect[]): void {
  advanceClock(state, nowMs, out);
  const leader = state.leader;
  if (leader === null) return;
  // Terminates: every wake-up either stops the transaction's timer or pushes one later than now.
  for (let due = leader.timers.pollDue(state.nowMs); due !== null; due = leader.timers.pollDue(state.nowMs)) {
    const tx = state.replicated.transactions.get(due.txId);
    const leaderTx =
      tx === undefined ? leader.pendingBegins.get(due.txId)?.leaderTx : leader.transactions.get(due.txId);
    if (leaderTx === undefined || leaderTx.wakeAtMs !== due.atMs) continue;
    if (tx === undefined) {
      releaseLate(state, leader, due.txId, leaderTx, out);
      continue;
    }
    onWake(state, leader, tx, leaderTx, out);
  }
  flushEndBatch(leader, out);
}

function advanceClock(state: EngineState, nowMs: number, out: Effect[]): void {
  assert(Number.isFinite(nowMs) && nowMs >= 0, `clock reading ${nowMs} is not epoch milliseconds`);
  if (nowMs < state.nowMs) {
    out.push(
      notice(
        'warn',
        'CLOCK_WENT_BACKWARDS',
        null,
        null,
        `clock went back ${state.nowMs - nowMs} ms; keeping ${state.nowMs}`,
      ),
    );
    return;
  }
  state.nowMs = nowMs;
}

function onWake(
  state: EngineState,
  leader: LeaderState,
  tx: TxRecord,
  leaderTx: LeaderTx,
  out: Effect[],
): void {
  leaderTx.wakeAtMs = null;
  const nowMs = state.nowMs;
  const retryDue = leaderTx.nextRetryAtMs !== null && nowMs >= leaderTx.nextRetryAtMs;
  if (tx.decision === null) {
    if (leaderTx.decisionProposed) return;
    if (nowMs >= tx.deadlineMs) {
      out.push(...decide(state, tx, leaderTx, 'ABORT', 'DEADLINE', deadlineReason(tx, leaderTx), null));
    } else if (preparing(tx, leaderTx) && retryDue) {
      // Votes slower than the first re-send: a held PREPARING goes into the log now.
      releaseHeld(leaderTx, out);
      resendPrepare(state, leader, tx, leaderTx, out);
    }
  } else if (leaderTx.finishedAtMs === null && retryDue) {
    resendDecision(state, leader, tx, leaderTx, out);
  }
  schedule(leader, tx, leaderTx);
}

/** Returns the participants that were sent PREPARE again. Advances the backoff. */
function resendPrepare(
  state: EngineState,
  leader: LeaderState,
  tx: PrepareTarget,
  leaderTx: LeaderTx,
  out: Effect[],
): ParticipantName[] {
  const targets: ParticipantName[] = [];
  tx.participants.forEach((participant, position) => {
    if (leaderTx.progress[position]?.vote !== null) return;
    sendPrepare(state, leader, tx, leaderTx, position, out);
    targets.push(participant.name);
  });
  leaderTx.retryRound += 1;
  leaderTx.nextRetryAtMs = state.nowMs + retryDelayMs(leaderTx.retryRound);
  return targets;
}

/** Re-sends the recorded decision to every participant still owing an ACK. Advances the backoff. */
function resendDecision(
  state: EngineState,
  leader: LeaderState,
  tx: TxRecord,
  leaderTx: LeaderTx,
  out: Effect[],
): ParticipantName[] {
  const targets: ParticipantName[] = [];
  tx.participants.forEach((participant, position) => {
    const progress = leaderTx.progress[position];
    if (progress === undefined || !progress.needsDecision || progress.ackedAtMs !== null) return;
    sendRecordedDecision(state, leader, tx, leaderTx, position, out);
    targets.push(participant.name);
  });
  leaderTx.retryRound += 1;
  leaderTx.nextRetryAtMs = state.nowMs + retryDelayMs(leaderTx.retryRound);
  return targets;
}

/**
 * Queues the transaction's next wake-up: the deadline while undecided, the next re-send while
 * preparing or while acknowledgements are missing. Older queued timers become stale.
 */
function schedule(leader: LeaderState, tx: TxRecord, leaderTx: LeaderTx): void {
  let wakeAtMs: number | null = null;
  if (tx.decision === null) {
    if (!leaderTx.decisionProposed) {
      wakeAtMs = tx.deadlineMs;
      if (preparing(tx, leaderTx) && leaderTx.nextRetryAtMs !== null) {
        wakeAtMs = Math.min(wakeAtMs, leaderTx.nextRetryAtMs);
      }
    }
  } else if (leaderTx.finishedAtMs === null) {
    wakeAtMs = leaderTx.nextRetryAtMs;
  }
  if (wakeAtMs === leaderTx.wakeAtMs) return;
  leaderTx.wakeAtMs = wakeAtMs;
  if (wakeAtMs !== null) leader.timers.push(wakeAtMs, tx.txId);
}

function flushEndBatch(leader: LeaderState, out: Effect[]): void {
  if (leader.endBatch.length === 0) return;
  assert(
    leader.endBatch.length <= END_BATCH_TX_MAX,
    `END batch of ${leader.endBatch.length} > ${END_BATCH_TX_MAX}`,
  );
  out.push({ kind: 'propose', entry: { kind: 'END', txIds: leader.endBatch.splice(0) } });
}

// ---------------------------------------------------------------------------------------------
// Leadership.

function becomeLeader(state: EngineState, command: BecameLeaderCommand, out: Effect[]): void {
  assert(state.leader === null, `becameLeader(${command.term}) while leading term ${state.leader?.term}`);
  // The same term again is legitimate: a host whose proposal Raft refused (a transfer under way,
  // an overloaded core) while it still leads resets its leader memory and leads on. Entries it
  // proposed before the reset may still apply; the first DECISION in log order wins either way.
  assert(
    command.term >= state.lastLeaderTerm,
    `becameLeader(${command.term}) after leading term ${state.lastLeaderTerm}: terms never go back`,
  );
  assert(
    command.term >= state.replicated.appliedTerm,
    `becameLeader(${command.term}) below the term ${state.replicated.appliedTerm} of an applied entry`,
  );
  advanceClock(state, command.nowMs, out);
  const leader = createLeaderState(command.term);
  state.leader = leader;
  state.lastLeaderTerm = command.term;
  // Votes and acknowledgements died with the previous leader. Resume every live transaction from
  // what the log says: re-ask for votes (participants answer idempotently), or re-send the decision.
  for (const tx of state.replicated.transactions.values()) {
    const leaderTx = createLeaderTx(tx.participants.length);
    leaderTx.inherited = true;
    leader.transactions.set(tx.txId, leaderTx);
    recordLeaderEvent(state, leaderTx, 'RESUMED', null, resumedDetail(tx, command.term));
    switch (tx.phase) {
      case 'ACTIVE':
        if (state.nowMs >= tx.deadlineMs) {
          out.push(...decide(state, tx, leaderTx, 'ABORT', 'DEADLINE', deadlineReason(tx, leaderTx), null));
        }
        schedule(leader, tx, leaderTx);
        break;
      case 'PREPARING':
        startPrepareRound(state, leader, tx, leaderTx, out);
        break;
      case 'DECIDED':
        startPhaseTwo(state, leader, tx, leaderTx, out);
        break;
    }
  }
}

/**
 * Every waiting request is answered LEADERSHIP_LOST: its entry may still commit under the next
 * leader, or may be lost; this node can no longer tell. Then the leader's memory goes.
 */
function becomeFollower(state: EngineState, out: Effect[]): void {
  const leader = state.leader;
  assert(leader !== null, 'lostLeadership while not leading');
  const lost: EngineError = {
    code: 'LEADERSHIP_LOST',
    message:
      'this coordinator stopped leading before the request took effect; it may still take effect ' +
      'under the new leader: read the transaction, or retry begin with the same Idempotency-Key',
  };
  for (const pending of leader.pendingBegins.values()) {
    for (const requestId of pending.requestIds) fail(out, requestId, lost);
  }
  for (const leaderTx of leader.transactions.values()) {
    for (const waiters of leaderTx.enlistWaiters.values()) {
      for (const requestId of waiters) fail(out, requestId, lost);
    }
    for (const waiter of leaderTx.decisionWaiters) fail(out, waiter.requestId, lost);
    for (const requestId of leaderTx.completionWaiters) fail(out, requestId, lost);
  }
  state.leader = null;
}

// ---------------------------------------------------------------------------------------------
// Requests from the API. Each gets exactly one reply, now or later.

function onBegin(state: EngineState, command: BeginCommand, out: Effect[]): void {
  const leader = leaderFor(state, command.requestId, out);
  if (leader === null) return;
  const invalid = validateBegin(command);
  if (invalid !== null) {
    fail(out, command.requestId, invalid);
    return;
  }
  const idempotency = command.idempotency;
  if (idempotency !== null) {
    const recorded = state.replicated.idempotencyKeys.get(idempotency.key);
    if (recorded !== undefined) {
      if (recorded.fingerprint === idempotency.fingerprint) {
        succeed(out, command.requestId, { kind: 'begun', txId: recorded.txId, replayed: true });
      } else {
        fail(out, command.requestId, idempotencyMismatch(idempotency.key, recorded.txId));
      }
      return;
    }
    const pendingTxId = leader.pendingKeys.get(idempotency.key);
    if (pendingTxId !== undefined) {
      const pending = leader.pendingBegins.get(pendingTxId);
      assert(
        pending !== undefined,
        `pending key ${idempotency.key} names ${pendingTxId}, which is not pending`,
      );
      if (pending.fingerprint === idempotency.fingerprint) {
        pending.requestIds.push(command.requestId);
        if (command.commit !== null) pending.commits.set(command.requestId, command.commit);
      } else {
        fail(out, command.requestId, idempotencyMismatch(idempotency.key, pendingTxId));
      }
      return;
    }
  }
  assert(
    !state.replicated.transactions.has(command.txId) && !leader.pendingBegins.has(command.txId),
    `begin with txId ${command.txId}, which is already in use: the host must make a new UUIDv7 per begin`,
  );
  if (state.replicated.transactions.size + leader.pendingBegins.size >= LIVE_TRANSACTIONS_MAX) {
    fail(out, command.requestId, transactionLimitReached());
    return;
  }
  const timeoutMs = command.timeoutMs ?? TX_TIMEOUT_MS_DEFAULT;
  // With a participant's breaker open, PREPARING waits for the BEGIN: the commit then aborts at
  // once with the reason, as a commit request would.
  const preparingProposed =
    command.commit !== null &&
    !command.participants.some((participant) => leader.unavailable.has(participant.name));
  const leaderTx = createLeaderTx(command.participants.length);
  leader.pendingBegins.set(command.txId, {
    requestIds: [command.requestId],
    fingerprint: idempotency?.fingerprint ?? null,
    commits: new Map(command.commit === null ? [] : [[command.requestId, command.commit]]),
    participants: command.participants.map((participant) => participant.name),
    leaderTx,
  });
  if (idempotency !== null) leader.pendingKeys.set(idempotency.key, command.txId);
  const deadlineMs = state.nowMs + timeoutMs;
  const begin: BeginEntry = {
    kind: 'BEGIN',
    txId: command.txId,
    participants: command.participants,
    createdAtMs: state.nowMs,
    deadlineMs,
    metadata: command.metadata,
    idempotency,
  };
  if (!preparingProposed) {
    out.push({ kind: 'propose', entry: begin });
    return;
  }
  leaderTx.preparingProposed = true;
  const target = {
    txId: command.txId,
    phase: 'ACTIVE',
    participants: command.participants,
    deadlineMs,
  } as const;
  recordPrepareRequested(state, leaderTx);
  sendFirstPrepares(state, leader, target, leaderTx, out);
  holdBegin(leader, leaderTx, begin, { kind: 'PREPARING', txId: command.txId, atMs: state.nowMs });
}

/**
 * Presumed abort lets a coordinator send PREPARE with nothing in its log: a participant that asks
 * about a transaction no log holds is told ABORT. So a commit-at-begin's BEGIN and PREPARING wait
 * here while the votes come in, and then enter the log in the one entry that also carries the
 * DECISION (`decide`): one Raft round per transaction instead of two. Should the votes be slower
 * than the first re-send of PREPARE (or the deadline), both are proposed then (`releaseLate`),
 * the transaction becomes live and re-sends and deadlines run as for any other. A leader that
 * loses its memory meanwhile loses them, and the client's retry with its Idempotency-Key begins
 * again.
 */
function holdBegin(
  leader: LeaderState,
  leaderTx: LeaderTx,
  begin: BeginEntry,
  preparing: PreparingEntry,
): void {
  assert(leaderTx.nextRetryAtMs !== null, `BEGIN for ${begin.txId} held before PREPARE left`);
  leaderTx.held = [begin, preparing];
  leaderTx.wakeAtMs = Math.min(leaderTx.nextRetryAtMs, begin.deadlineMs);
  leader.timers.push(leaderTx.wakeAtMs, begin.txId);
}

/**
 * The votes of a held BEGIN are not all in when PREPARE's first re-send falls due, or the
 * deadline passes: BEGIN and PREPARING go into the log, and PREPARE is re-sent on its schedule.
 * Past the deadline PREPARING's apply decides ABORT.
 */
function releaseLate(
  state: EngineState,
  leader: LeaderState,
  txId: TxId,
  leaderTx: LeaderTx,
  out: Effect[],
): void {
  leaderTx.wakeAtMs = null;
  const begin = leaderTx.held?.[0];
  if (begin?.kind !== 'BEGIN') return; // released by a decision; its entries are on their way
  releaseHeld(leaderTx, out);
  if (state.nowMs >= begin.deadlineMs) return;
  const target = {
    txId,
    phase: 'ACTIVE',
    participants: begin.participants,
    deadlineMs: begin.deadlineMs,
  } as const;
  resendPrepare(state, leader, target, leaderTx, out);
}

/** Proposes what `holdBegin` held back, in this turn: the entries join whatever else it proposes. */
function releaseHeld(leaderTx: LeaderTx, out: ProposeEffect[] | Effect[]): void {
  if (leaderTx.held === null) return;
  for (const entry of leaderTx.held) out.push({ kind: 'propose', entry });
  leaderTx.held = null;
}

function validateBegin(command: BeginCommand): EngineError | null {
  if (command.commit !== null && command.participants.length === 0) {
    return validation(
      'participants',
      'commit at begin needs the participants; name them, or begin without commit and enlist them',
    );
  }
  if (command.participants.length > PARTICIPANTS_PER_TX_MAX) {
    return validation(
      'participants',
      `${command.participants.length} participants given; a transaction has at most ${PARTICIPANTS_PER_TX_MAX}`,
    );
  }
  const seen = new Set<ParticipantName>();
  for (const [position, participant] of command.participants.entries()) {
    const invalid = validateParticipant(participant, `participants[${position}]`);
    if (invalid !== null) return invalid;
    if (seen.has(participant.name)) {
      return validation(
        `participants[${position}].name`,
        `${participant.name} is listed twice; list each participant once`,
      );
    }
    seen.add(participant.name);
  }
  const timeoutMs = command.timeoutMs;
  if (
    timeoutMs !== null &&
    !(Number.isInteger(timeoutMs) && timeoutMs >= TX_TIMEOUT_MS_MIN && timeoutMs <= TX_TIMEOUT_MS_MAX)
  ) {
    return validation(
      'timeoutMs',
      `timeoutMs is ${timeoutMs}; use an integer from ${TX_TIMEOUT_MS_MIN} to ${TX_TIMEOUT_MS_MAX}`,
    );
  }
  for (const [key, value] of Object.entries(command.metadata)) {
    if (typeof value !== 'string')
      return validation(`metadata.${key}`, `metadata values are strings; ${key} is not`);
  }
  const idempotency = command.idempotency;
  if (idempotency !== null) {
    if (idempotency.key.length === 0 || idempotency.key.length > IDEMPOTENCY_KEY_CHARS_MAX) {
      return validation(
        'Idempotency-Key',
        `the key has ${idempotency.key.length} characters; use 1 to ${IDEMPOTENCY_KEY_CHARS_MAX}`,
      );
    }
    assert(
      idempotency.fingerprint.length > 0 && idempotency.fingerprint.length <= FINGERPRINT_CHARS_MAX,
      `request fingerprint has ${idempotency.fingerprint.length} characters; the host makes 1 to ${FINGERPRINT_CHARS_MAX}`,
    );
  }
  return null;
}

function validateParticipant(participant: ParticipantSpec, field: string): EngineError | null {
  if (!isParticipantName(participant.name)) {
    return validation(
      `${field}.name`,
      `"${participant.name}" is not a participant name: lowercase letters, digits and dashes, at most 63 characters`,
    );
  }
  if (!isJsonValue(participant.work)) return validation(`${field}.payload`, 'the payload must be plain JSON');
  return null;
}

function onEnlist(state: EngineState, command: EnlistCommand, out: Effect[]): void {
  const found = liveTransaction(state, command.requestId, command.txId, out);
  if (found === null) return;
  const { tx, leaderTx } = found;
  const invalid = validateParticipant(command.participant, 'participant');
  if (invalid !== null) {
    fail(out, command.requestId, invalid);
    return;
  }
  const rule = enlistRule(tx, command.participant, leaderTx);
  if (rule === 'already') {
    succeed(out, command.requestId, {
      kind: 'enlisted',
      txId: tx.txId,
      participant: command.participant.name,
    });
    return;
  }
  if (rule !== null) {
    fail(out, command.requestId, rule);
    return;
  }
  if (leaderTx.held !== null) {
    // Commit was requested and PREPARE went out; the held PREPARING enters the log before any
    // ENLIST could, which apply would then refuse: say so now.
    fail(out, command.requestId, notActive(tx, leaderTx, 'participants can be enlisted only while ACTIVE'));
    return;
  }
  // Still ACTIVE here; if a PREPARING or DECISION gets into the log first, the ENLIST is refused
  // at apply time and the reply says so.
  const waiters = leaderTx.enlistWaiters.get(command.participant.name) ?? [];
  waiters.push(command.requestId);
  leaderTx.enlistWaiters.set(command.participant.name, waiters);
  out.push({
    kind: 'propose',
    entry: { kind: 'ENLIST', txId: tx.txId, participant: command.participant, atMs: state.nowMs },
  });
}

function onCommitRequested(state: EngineState, command: CommitRequestedCommand, out: Effect[]): void {
  const found = liveTransaction(state, command.requestId, command.txId, out);
  if (found === null) return;
  const { leader, tx, leaderTx } = found;
  if (tx.decision !== null) {
    // Asking again is answered with the recorded decision: commit is idempotent.
    if (command.wait === 'decision') {
      succeed(out, command.requestId, { kind: 'decided', txId: tx.txId, decision: tx.decision });
    } else if (leaderTx.finishedAtMs !== null) {
      succeed(out, command.requestId, {
        kind: 'completed',
        txId: tx.txId,
        decision: tx.decision,
        finishedAtMs: leaderTx.finishedAtMs,
      });
    } else {
      leaderTx.completionWaiters.push(command.requestId);
    }
    return;
  }
  if (tx.phase === 'ACTIVE' && tx.participants.length === 0 && !leaderTx.decisionProposed) {
    fail(
      out,
      command.requestId,
      validation(
        'participants',
        `transaction ${tx.txId} has no participants; enlist at least one, or abort it`,
      ),
    );
    return;
  }
  waitForCommit(leaderTx, command.requestId, command.wait);
  startCommit(state, leader, tx, leaderTx, out);
}

function waitForCommit(leaderTx: LeaderTx, requestId: RequestId, wait: CommitWait): void {
  if (wait === 'decision') {
    leaderTx.decisionWaiters.push({ requestId, wants: null });
  } else {
    leaderTx.completionWaiters.push(requestId);
  }
}

/**
 * Sends PREPARE and holds PREPARING back for the votes (see `mayHoldPreparing`) or proposes it at
 * once, or decides ABORT at once when it could only fail; nothing once under way.
 */
function startCommit(
  state: EngineState,
  leader: LeaderState,
  tx: TxRecord,
  leaderTx: LeaderTx,
  out: Effect[],
): void {
  if (tx.phase !== 'ACTIVE' || leaderTx.preparingProposed || leaderTx.decisionProposed) return;
  const unavailable = firstUnavailableWithoutVote(leader, tx, leaderTx);
  if (unavailable !== null) {
    // Fail fast: the breaker says PREPARE would only time out. Decided while ACTIVE, so no
    // participant has anything to undo.
    out.push(...decide(state, tx, leaderTx, 'ABORT', 'PARTICIPANT_UNAVAILABLE', unavailable, null));
  } else if (state.nowMs >= tx.deadlineMs) {
    out.push(...decide(state, tx, leaderTx, 'ABORT', 'DEADLINE', deadlineReason(tx, leaderTx), null));
  } else {
    leaderTx.preparingProposed = true;
    const entry: PreparingEntry = { kind: 'PREPARING', txId: tx.txId, atMs: state.nowMs };
    if (mayHoldPreparing(leaderTx)) {
      leaderTx.held = [entry];
    } else {
      out.push({ kind: 'propose', entry });
    }
    recordPrepareRequested(state, leaderTx);
    sendFirstPrepares(state, leader, tx, leaderTx, out);
  }
  schedule(leader, tx, leaderTx);
}

/**
 * Whether a live transaction's PREPARING may wait for the votes, to go into the log with the
 * DECISION (one Raft round instead of two), as a commit-at-begin's BEGIN and PREPARING do
 * (`holdBegin`; presumed abort makes PREPARE before PREPARING safe). Not while an ENLIST of this
 * leader is in flight: applied after PREPARE left, its participant would never be asked, so
 * PREPARING goes first and that ENLIST is refused behind it. Not for an inherited transaction,
 * whose earlier leader's ENLISTs this leader does not track.
 */
function mayHoldPreparing(leaderTx: LeaderTx): boolean {
  return !leaderTx.inherited && leaderTx.enlistWaiters.size === 0;
}

function onAbortRequested(state: EngineState, command: AbortRequestedCommand, out: Effect[]): void {
  const found = liveTransaction(state, command.requestId, command.txId, out);
  if (found === null) return;
  const { leader, tx, leaderTx } = found;
  if (tx.decision !== null) {
    if (tx.decision.outcome === 'ABORT') {
      succeed(out, command.requestId, { kind: 'decided', txId: tx.txId, decision: tx.decision });
    } else {
      fail(out, command.requestId, decisionExists(tx));
    }
    return;
  }
  leaderTx.decisionWaiters.push({ requestId: command.requestId, wants: 'ABORT' });
  if (leaderTx.decisionProposed) return;
  out.push(...decide(state, tx, leaderTx, 'ABORT', 'CLIENT_ABORT', 'abort requested by the client', null));
  schedule(leader, tx, leaderTx);
}

function onOperatorResolve(state: EngineState, command: OperatorResolveCommand, out: Effect[]): void {
  const found = liveTransaction(state, command.requestId, command.txId, out);
  if (found === null) return;
  const { leader, tx, leaderTx } = found;
  if (command.reason.length === 0 || command.reason.length > REASON_CHARS_MAX) {
    fail(out, command.requestId, validation('reason', `say why in 1 to ${REASON_CHARS_MAX} characters`));
    return;
  }
  if (command.resolvedBy.length === 0 || command.resolvedBy.length > RESOLVED_BY_CHARS_MAX) {
    fail(
      out,
      command.requestId,
      validation('resolvedBy', `name the operator in 1 to ${RESOLVED_BY_CHARS_MAX} characters`),
    );
    return;
  }
  if (tx.decision !== null) {
    fail(out, command.requestId, decisionExists(tx));
    return;
  }
  if (command.outcome === 'COMMIT') {
    const refusal = commitResolutionRefusal(tx, leaderTx);
    if (refusal !== null) {
      fail(out, command.requestId, {
        code: 'RESOLVE_NOT_ALLOWED',
        txId: tx.txId,
        state: txState(tx, leaderTx),
        message: refusal,
      });
      return;
    }
  }
  leaderTx.decisionWaiters.push({ requestId: command.requestId, wants: command.outcome });
  if (leaderTx.decisionProposed) return;
  out.push(...decide(state, tx, leaderTx, command.outcome, 'OPERATOR', command.reason, command.resolvedBy));
  schedule(leader, tx, leaderTx);
}

/** Why an operator may not resolve COMMIT now, or null when every participant's YES is known. */
function commitResolutionRefusal(tx: TxRecord, leaderTx: LeaderTx): string | null {
  if (!preparing(tx, leaderTx)) {
    return `transaction ${tx.txId} is ${tx.phase}: commit was never requested, so no participant voted; only ABORT can be resolved`;
  }
  const missing = tx.participants
    .filter((_participant, position) => {
      const vote = leaderTx.progress[position]?.vote ?? null;
      return vote !== 'YES' && vote !== 'READ_ONLY';
    })
    .map((participant) => participant.name);
  if (missing.length === 0) return null;
  return (
    `COMMIT needs a known YES vote from every participant; this leader has none from ${missing.join(', ')}. ` +
    'Votes live only in the leader’s memory (a leader change forgets them until participants answer the ' +
    're-sent PREPARE): wait and retry, or resolve ABORT'
  );
}

function onRetryPhaseTwo(state: EngineState, command: RetryPhaseTwoCommand, out: Effect[]): void {
  if (
    command.reason !== undefined &&
    (command.reason.length === 0 || command.reason.length > REASON_CHARS_MAX)
  ) {
    fail(
      out,
      command.requestId,
      validation('reason', `say why in 1 to ${REASON_CHARS_MAX} characters, or omit it`),
    );
    return;
  }
  const found = liveTransaction(state, command.requestId, command.txId, out);
  if (found === null) return;
  const because = command.reason === undefined ? '' : `; reason: ${command.reason}`;
  const { leader, tx, leaderTx } = found;
  if (tx.decision !== null) {
    if (leaderTx.finishedAtMs !== null) {
      fail(
        out,
        command.requestId,
        notActive(tx, leaderTx, 'every participant acknowledged; nothing to retry'),
      );
      return;
    }
    recordLeaderEvent(
      state,
      leaderTx,
      'RETRY',
      null,
      `retry requested: ${tx.decision.outcome} re-sent to every participant that has not acknowledged${because}`,
      command.requestedBy,
    );
    leaderTx.retryRound = 0;
    const participants = resendDecision(state, leader, tx, leaderTx, out);
    leaderTx.retryRound = 0;
    leaderTx.nextRetryAtMs = state.nowMs + retryDelayMs(0);
    schedule(leader, tx, leaderTx);
    succeed(out, command.requestId, { kind: 'retried', txId: tx.txId, phase: 'DECISION', participants });
    return;
  }
  if (!preparing(tx, leaderTx) || leaderTx.decisionProposed) {
    const why =
      tx.phase === 'ACTIVE'
        ? 'commit has not been requested, so there is nothing to retry'
        : 'its decision is being recorded; retry in a moment';
    fail(
      out,
      command.requestId,
      validation('txId', `transaction ${tx.txId} is ${txState(tx, leaderTx)}: ${why}`),
    );
    return;
  }
  recordLeaderEvent(
    state,
    leaderTx,
    'RETRY',
    null,
    `retry requested: PREPARE re-sent to every participant that has not voted${because}`,
    command.requestedBy,
  );
  // Votes are slow enough for an operator to notice: a held PREPARING goes into the log now.
  releaseHeld(leaderTx, out);
  const participants = resendPrepare(state, leader, tx, leaderTx, out);
  leaderTx.retryRound = 0;
  leaderTx.nextRetryAtMs = state.nowMs + retryDelayMs(0);
  schedule(leader, tx, leaderTx);
  succeed(out, command.requestId, { kind: 'retried', txId: tx.txId, phase: 'PREPARE', participants });
}

// ---------------------------------------------------------------------------------------------
// Messages from participants. Followers read them too and ignore them; only the leader acts.

function onParticipantVote(state: EngineState, command: ParticipantVoteCommand, out: Effect[]): void {
  const pending = state.leader?.pendingBegins.get(command.txId);
  const found: { tx: VoteTarget; leaderTx: LeaderTx; progress: ParticipantProgress } | null =
    pending?.leaderTx.preparingProposed === true
      ? earlyVoter(pending, command.txId, command.participant, out)
      : participantOf(state, command.txId, command.participant, 'VOTE', out);
  if (found === null) return;
  const { tx, leaderTx, progress } = found;
  // While ACTIVE only a PREPARE sent with a PREPARING proposal can have been answered.
  if (tx.phase === 'ACTIVE' && progress.prepareAttempts === 0) {
    out.push(
      notice(
        'warn',
        'OUT_OF_PHASE',
        tx.txId,
        command.participant,
        `VOTE ${command.vote} while ACTIVE: no PREPARE was sent`,
      ),
    );
    return;
  }
  if (progress.vote !== null) {
    if (progress.vote === command.vote) return; // a duplicate, or an answer to a re-sent PREPARE
    const message =
      `voted ${command.vote} (term ${command.term}) after voting ${progress.vote}: a participant's vote is ` +
      'durable and must not change; its state is suspect';
    progress.lastError = message;
    recordLeaderEvent(state, leaderTx, 'VOTE', command.participant, message);
    out.push(notice('error', 'VOTE_CONTRADICTS', tx.txId, command.participant, message));
    // Keep the first vote on record, but take the safe direction while undecided: any NO aborts.
    if (command.vote === 'NO' && tx.decision === null && !leaderTx.decisionProposed) {
      out.push(
        ...decide(state, tx, leaderTx, 'ABORT', 'VOTED_NO', `${command.participant} ${message}`, null),
      );
    }
    return;
  }
  // COMMIT is only ever decided with this participant's YES, heard by this leader or an earlier
  // one (a leader that took over knows the decision, not the votes). A NO now contradicts that YES:
  // reported, never recorded as the vote of a committed transaction.
  if (command.vote === 'NO' && tx.decision?.outcome === 'COMMIT') {
    const message =
      `voted NO (term ${command.term}) after COMMIT was decided on its YES: a participant's vote is ` +
      'durable and must not change; its state is suspect';
    progress.lastError = message;
    recordLeaderEvent(state, leaderTx, 'VOTE', command.participant, message);
    out.push(notice('error', 'VOTE_CONTRADICTS', tx.txId, command.participant, message));
    return;
  }
  progress.vote = command.vote;
  progress.voteReason = command.reason;
  progress.votedAtMs = state.nowMs;
  recordLeaderEvent(
    state,
    leaderTx,
    'VOTE',
    command.participant,
    command.reason === null ? `voted ${command.vote}` : `voted ${command.vote}: ${command.reason}`,
  );
  // Votes are facts about the participant, whichever leader asked: one answering an older term's
  // PREPARE counts. After the decision it is kept for the record only.
  if (tx.decision !== null || leaderTx.decisionProposed) return;
  if (command.vote === 'NO') {
    const reason =
      command.reason === null
        ? `${command.participant} voted NO`
        : `${command.participant} voted NO: ${command.reason}`;
    // Also before PREPARING (even BEGIN) is applied or proposed: the DECISION lands behind them.
    out.push(...decide(state, tx, leaderTx, 'ABORT', 'VOTED_NO', reason, null));
    return;
  }
  // Held entries (BEGIN and PREPARING, or PREPARING) go into the log with the DECISION. Once
  // PREPARING is proposed the votes wait instead: startPrepareRound counts them at its apply.
  if (preparing(tx, leaderTx) && allVotedToCommit(leaderTx)) {
    out.push(...decide(state, tx, leaderTx, 'COMMIT', 'VOTES', votesReason(leaderTx), null));
  }
}

function allVotedToCommit(leaderTx: LeaderTx): boolean {
  return (
    leaderTx.progress.length > 0 &&
    leaderTx.progress.every((each) => each.vote === 'YES' || each.vote === 'READ_ONLY')
  );
}

/**
 * Commit was requested and the votes count: PREPARING is applied, or held back with PREPARE out.
 * A PREPARING proposed and not applied yet does not count: votes wait for its apply.
 */
function preparing(tx: Pick<TxRecord, 'phase'>, leaderTx: LeaderTx | null | undefined): boolean {
  return tx.phase === 'PREPARING' || (leaderTx?.held ?? null) !== null;
}

/** What deciding and counting a vote read of a transaction: live, or still a pending BEGIN. */
type VoteTarget = Pick<TxRecord, 'txId' | 'phase' | 'decision'>;

/**
 * The voter of a BEGIN this leader proposed with PREPARING and has not applied yet: PREPARE left
 * with the proposal, so the answer can come first. Its vote goes into the LeaderTx the
 * transaction gets at apply.
 */
function earlyVoter(
  pending: PendingBegin,
  txId: TxId,
  participant: ParticipantName,
  out: Effect[],
): { tx: VoteTarget; leaderTx: LeaderTx; progress: ParticipantProgress } | null {
  const progress = pending.leaderTx.progress[pending.participants.indexOf(participant)];
  if (progress === undefined) {
    out.push(
      notice('warn', 'PARTICIPANT_NOT_ENLISTED', txId, participant, 'VOTE from a participant not enlisted'),
    );
    return null;
  }
  return { tx: { txId, phase: 'ACTIVE', decision: null }, leaderTx: pending.leaderTx, progress };
}

function onAck(state: EngineState, command: AckCommand, out: Effect[]): void {
  const found = participantOf(state, command.txId, command.participant, 'ACK', out);
  if (found === null) return;
  const { leader, tx, leaderTx, progress } = found;
  if (tx.decision === null) {
    out.push(
      notice(
        'warn',
        'OUT_OF_PHASE',
        tx.txId,
        command.participant,
        `ACK ${command.outcome} before any decision was recorded`,
      ),
    );
    return;
  }
  if (command.outcome !== tx.decision.outcome) {
    const message =
      `acknowledged ${command.outcome} but the decision is ${tx.decision.outcome} ` +
      `(index ${tx.decision.raftIndex}): an operator must repair this participant`;
    progress.lastError = message;
    recordLeaderEvent(state, leaderTx, 'ACK', command.participant, message);
    out.push(notice('error', 'ACK_OUTCOME_MISMATCH', tx.txId, command.participant, message));
    return;
  }
  if (progress.ackedAtMs !== null) return; // duplicate
  progress.ackedAtMs = state.nowMs;
  recordLeaderEvent(state, leaderTx, 'ACK', command.participant, `acknowledged ${command.outcome}`);
  finishIfComplete(state, tx, leaderTx, out);
  schedule(leader, tx, leaderTx);
}

function onOutcomeQuery(state: EngineState, command: OutcomeQueryCommand, out: Effect[]): void {
  const leader = state.leader;
  if (leader === null) {
    if (command.requestId !== null) fail(out, command.requestId, notLeader());
    return;
  }
  const tx = state.replicated.transactions.get(command.txId);
  if (tx === undefined) {
    if (leader.pendingBegins.has(command.txId)) {
      if (command.requestId !== null) {
        succeed(out, command.requestId, { kind: 'outcome', txId: command.txId, outcome: 'UNDECIDED' });
      }
      return;
    }
    // Presumed abort, but only after history says it has no record: the host's job.
    out.push({
      kind: 'lookUpOutcome',
      txId: command.txId,
      participant: command.participant,
      requestId: command.requestId,
    });
    return;
  }
  if (command.requestId !== null) {
    const outcome = tx.decision === null ? 'UNDECIDED' : tx.decision.outcome;
    succeed(out, command.requestId, { kind: 'outcome', txId: tx.txId, outcome });
    return;
  }
  // OUTCOME_QUERY on Kafka: answer a decided one with the recorded decision on its topic. An
  // undecided one gets nothing: the participant asks again, and the deadline bounds the wait.
  if (tx.decision === null || command.participant === null) return;
  const position = participantPosition(tx, command.participant);
  const leaderTx = leader.transactions.get(tx.txId);
  assert(leaderTx !== undefined, `live transaction ${tx.txId} has no leader record`);
  if (position < 0) {
    out.push(
      notice(
        'warn',
        'PARTICIPANT_NOT_ENLISTED',
        tx.txId,
        command.participant,
        'OUTCOME_QUERY from a participant not enlisted',
      ),
    );
    return;
  }
  sendRecordedDecision(state, leader, tx, leaderTx, position, out);
}

function onParticipantUnavailable(
  state: EngineState,
  command: ParticipantUnavailableCommand,
  out: Effect[],
): void {
  const leader = state.leader;
  if (leader === null) return; // the host re-reports open breakers after becameLeader
  const reason = `participant ${command.participant} is unavailable (${command.reason})`;
  leader.unavailable.set(command.participant, reason);
  for (const [txId, leaderTx] of leader.transactions) {
    const tx = state.replicated.transactions.get(txId);
    assert(tx !== undefined, `leader record for ${txId}, which is not live`);
    if (!preparing(tx, leaderTx) || leaderTx.decisionProposed) continue;
    const position = participantPosition(tx, command.participant);
    const progress = leaderTx.progress[position];
    if (progress === undefined || progress.vote !== null) continue;
    progress.lastError = reason;
    out.push(...decide(state, tx, leaderTx, 'ABORT', 'PARTICIPANT_UNAVAILABLE', reason, null));
    schedule(leader, tx, leaderTx);
  }
  // Held BEGINs too, which would otherwise wait for their release to find out.
  for (const [txId, { leaderTx, participants }] of leader.pendingBegins) {
    if (leaderTx.held === null || leaderTx.decisionProposed) continue;
    const progress = leaderTx.progress[participants.indexOf(command.participant)];
    if (progress === undefined || progress.vote !== null) continue;
    progress.lastError = reason;
    const held = { txId, phase: 'ACTIVE', decision: null } as const;
    out.push(...decide(state, held, leaderTx, 'ABORT', 'PARTICIPANT_UNAVAILABLE', reason, null));
  }
}

function onArchived(state: EngineState, txId: TxId, out: Effect[]): void {
  const leader = state.leader;
  const leaderTx = leader?.transactions.get(txId);
  if (leader === null || leaderTx === undefined || leaderTx.finishedAtMs === null) {
    // A report from an earlier term of leadership: the new leader re-archives (idempotent) anyway.
    out.push(
      notice(
        'info',
        'OUT_OF_PHASE',
        txId,
        null,
        'archived reported for a transaction this leader has not finished',
      ),
    );
    return;
  }
  if (leaderTx.endRequested) return;
  leaderTx.endRequested = true;
  recordLeaderEvent(state, leaderTx, 'ARCHIVED', null, 'archived to history');
  leader.endBatch.push(txId);
  if (leader.endBatch.length >= END_BATCH_TX_MAX) flushEndBatch(leader, out);
}

// ---------------------------------------------------------------------------------------------
// Small helpers.

function leaderFor(state: EngineState, requestId: RequestId, out: Effect[]): LeaderState | null {
  if (state.leader === null) fail(out, requestId, notLeader());
  return state.leader;
}

function liveTransaction(
  state: EngineState,
  requestId: RequestId,
  txId: TxId,
  out: Effect[],
): { leader: LeaderState; tx: TxRecord; leaderTx: LeaderTx } | null {
  const leader = leaderFor(state, requestId, out);
  if (leader === null) return null;
  const tx = state.replicated.transactions.get(txId);
  if (tx === undefined) {
    const message = leader.pendingBegins.has(txId)
      ? `transaction ${txId} is still being begun; retry once begin has answered`
      : `no live transaction ${txId}; finished ones are in history (GET /v1/transactions/${txId})`;
    fail(out, requestId, { code: 'TX_NOT_FOUND', txId, message });
    return null;
  }
  const leaderTx = leader.transactions.get(txId);
  assert(leaderTx !== undefined, `live transaction ${txId} has no leader record`);
  return { leader, tx, leaderTx };
}

function participantOf(
  state: EngineState,
  txId: TxId,
  participant: ParticipantName,
  what: string,
  out: Effect[],
): {
  leader: LeaderState;
  tx: TxRecord;
  leaderTx: LeaderTx;
  progress: LeaderTx['progress'][number];
} | null {
  const leader = state.leader;
  if (leader === null) return null;
  const tx = state.replicated.transactions.get(txId);
  if (tx === undefined) {
    out.push(
      notice('info', 'TRANSACTION_NOT_LIVE', txId, participant, `${what} for a transaction that is not live`),
    );
    return null;
  }
  const leaderTx = leader.transactions.get(txId);
  assert(leaderTx !== undefined, `live transaction ${txId} has no leader record`);
  const progress = leaderTx.progress[participantPosition(tx, participant)];
  if (progress === undefined) {
    out.push(
      notice(
        'warn',
        'PARTICIPANT_NOT_ENLISTED',
        txId,
        participant,
        `${what} from a participant not enlisted`,
      ),
    );
    return null;
  }
  return { leader, tx, leaderTx, progress };
}

function participantPosition(tx: TxRecord, name: ParticipantName): number {
  return tx.participants.findIndex((participant) => participant.name === name);
}

function firstUnavailableWithoutVote(leader: LeaderState, tx: TxRecord, leaderTx: LeaderTx): string | null {
  for (const [position, participant] of tx.participants.entries()) {
    const reason = leader.unavailable.get(participant.name);
    if (reason !== undefined && leaderTx.progress[position]?.vote === null) return reason;
  }
  return null;
}

function deadlineReason(tx: TxRecord, leaderTx: LeaderTx): string {
  if (tx.phase === 'ACTIVE' && !leaderTx.preparingProposed) {
    return `deadline ${isoTime(tx.deadlineMs)} passed before commit was requested`;
  }
  const missing = tx.participants
    .filter((_participant, position) => leaderTx.progress[position]?.vote === null)
    .map((participant) => participant.name);
  return `prepare deadline ${isoTime(tx.deadlineMs)} passed with no vote from ${missing.join(', ')}`;
}

function resumedDetail(tx: TxRecord, term: Term): string {
  const next =
    tx.decision !== null
      ? `re-sending ${tx.decision.outcome} to every participant that may be prepared`
      : tx.phase === 'PREPARING'
        ? 'asking every participant to prepare again'
        : 'waiting for commit or abort';
  return `a new leader (term ${term}) took over: ${next}; what earlier leaders sent and heard is not kept`;
}

function votesReason(leaderTx: LeaderTx): string {
  const readOnly = leaderTx.progress.filter((progress) => progress.vote === 'READ_ONLY').length;
  if (readOnly === 0) return 'all participants voted YES';
  if (readOnly === leaderTx.progress.length) return 'all participants voted READ_ONLY';
  return 'all participants voted YES or READ_ONLY';
}

/** The state a client sees; COMMITTED/ABORTED only where the leader knows every ACK is in. */
export function txState(tx: TxRecord, leaderTx: LeaderTx | null | undefined): TxState {
  if (tx.decision === null) return preparing(tx, leaderTx) ? 'PREPARING' : 'ACTIVE';
  const finished = leaderTx?.finishedAtMs !== null && leaderTx?.finishedAtMs !== undefined;
  if (tx.decision.outcome === 'COMMIT') return finished ? 'COMMITTED' : 'COMMITTING';
  return finished ? 'ABORTED' : 'ABORTING';
}

function notActive(tx: TxRecord, leaderTx: LeaderTx | null, rule: string): EngineError {
  const state = txState(tx, leaderTx);
  return {
    code: 'TX_NOT_ACTIVE',
    txId: tx.txId,
    state,
    message: `transaction ${tx.txId} is ${state}; ${rule}`,
  };
}

function decisionExists(tx: TxRecord): EngineError {
  const decision = tx.decision;
  assert(decision !== null, `DECISION_EXISTS for undecided ${tx.txId}`);
  return {
    code: 'DECISION_EXISTS',
    txId: tx.txId,
    decision,
    message:
      `transaction ${tx.txId} was decided ${decision.outcome} (${decision.reason}) at Raft index ` +
      `${decision.raftIndex}, term ${decision.raftTerm}; a decision never changes`,
  };
}

function idempotencyMismatch(key: string, txId: TxId): EngineError {
  return {
    code: 'IDEMPOTENCY_MISMATCH',
    idempotencyKey: key,
    txId,
    message: `Idempotency-Key "${key}" was used for transaction ${txId} with another request body; use a new key`,
  };
}

function transactionLimitReached(): EngineError {
  return {
    code: 'TRANSACTION_LIMIT_REACHED',
    liveTransactionsMax: LIVE_TRANSACTIONS_MAX,
    message: `${LIVE_TRANSACTIONS_MAX} transactions are live, the most the coordinator holds; retry shortly`,
  };
}

function notLeader(): EngineError {
  return {
    code: 'NOT_LEADER',
    message: 'this coordinator is not the leader; send the request to the leader',
  };
}

function validation(field: string, message: string): EngineError {
  return { code: 'VALIDATION_FAILED', field, message };
}

function succeed(out: Effect[], requestId: RequestId, value: ReplyValue): void {
  out.push({ kind: 'reply', requestId, result: { ok: true, value } });
}

function fail(out: Effect[], requestId: RequestId, error: EngineError): void {
  out.push({ kind: 'reply', requestId, result: { ok: false, error } });
}

function notice(
  level: NoticeEffect['level'],
  code: NoticeCode,
  txId: TxId | null,
  participant: ParticipantName | null,
  message: string,
): NoticeEffect {
  return { kind: 'notice', level, code, txId, participant, message };
}

/** `sentAt` of messages: formatting a Date is a measurable share of a send, so once per time value. */
function sentAtNow(state: EngineState, leader: LeaderState): string {
  if (leader.sentAt.ms !== state.nowMs) leader.sentAt = { ms: state.nowMs, iso: isoTime(state.nowMs) };
  return leader.sentAt.iso;
}

/** The last whole second isoTime formatted, and its text up to the milliseconds. */
let isoSecond = { second: Number.NaN, prefix: '' };

/**
 * Epoch milliseconds as ISO 8601 UTC (`new Date(epochMs).toISOString()`); a conversion, not a
 * clock read. The text up to the second is kept from the last call: the times of a transaction's
 * timeline mostly share their second, and Date's formatting was ~2% of the leader's CPU at 1,000
 * transactions/s.
 */
export function isoTime(epochMs: number): string {
  if (!Number.isSafeInteger(epochMs)) return new Date(epochMs).toISOString();
  const second = Math.floor(epochMs / 1000);
  if (second !== isoSecond.second) {
    const text = new Date(second * 1000).toISOString();
    isoSecond = { second, prefix: text.slice(0, text.length - 4) };
  }
  const millisecond = epochMs - second * 1000;
  return `${isoSecond.prefix}${millisecond < 10 ? '00' : millisecond < 100 ? '0' : ''}${millisecond}Z`;
}

function truncate(text: string, charsMax: number): string {
  return text.length <= charsMax ? text : `${text.slice(0, charsMax - 1)}…`;
}
