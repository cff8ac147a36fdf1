import { uuidv7 } from '@verdict/protocol';
import type { FinishedTimelineEvent, FinishedTransaction } from './finished-transaction';

/** A committed two-participant transaction, for tests; override what the test is about. */
export function finishedTransaction(
  overrides: Partial<FinishedTransaction> & { readonly createdAtMs?: number } = {},
): FinishedTransaction {
  const createdAtMs = overrides.createdAtMs ?? Date.UTC(2026, 10, 25, 10, 0, 0);
  return {
    txId: uuidv7(createdAtMs),
    state: 'COMMITTED',
    decision: {
      outcome: 'COMMIT',
      cause: 'VOTES',
      reason: 'every participant voted YES',
      resolvedBy: null,
      decidedAtMs: createdAtMs + 20,
      raftIndex: 42,
      raftTerm: 3,
    },
    participants: [
      {
        name: 'bank-a',
        vote: 'YES',
        voteReason: null,
        votedAtMs: createdAtMs + 10,
        ackedAtMs: createdAtMs + 30,
        attempts: 2,
        lastError: null,
      },
      {
        name: 'bank-b',
        vote: 'YES',
        voteReason: null,
        votedAtMs: createdAtMs + 12,
        ackedAtMs: createdAtMs + 45,
        attempts: 3,
        lastError: 'no ACK within 1000 ms',
      },
    ],
    deadlineMs: createdAtMs + 5_000,
    finishedAtMs: createdAtMs + 45,
    metadata: { order: 'o-17', channel: 'web' },
    idempotencyKey: null,
    timeline: [
      event(createdAtMs, 'BEGIN', null, 'began with 2 participants named', 40),
      event(createdAtMs, 'ENLIST', 'bank-a', 'enlisted at begin', 40),
      event(createdAtMs, 'ENLIST', 'bank-b', 'enlisted at begin', 40),
      event(createdAtMs + 5, 'PREPARING', null, 'commit requested: asking 2 participants to prepare', 41),
      event(createdAtMs + 5, 'PREPARE_SENT', 'bank-a', 'PREPARE sent, attempt 1'),
      event(createdAtMs + 5, 'PREPARE_SENT', 'bank-b', 'PREPARE sent, attempt 1'),
      event(createdAtMs + 10, 'VOTE', 'bank-a', 'voted YES'),
      event(createdAtMs + 12, 'VOTE', 'bank-b', 'voted YES'),
      event(createdAtMs + 20, 'DECISION', null, 'decided COMMIT: every participant voted YES', 42),
      event(createdAtMs + 20, 'DECISION_SENT', 'bank-a', 'COMMIT sent, attempt 1'),
      event(createdAtMs + 20, 'DECISION_SENT', 'bank-b', 'COMMIT sent, attempt 1'),
      event(createdAtMs + 30, 'ACK', 'bank-a', 'acknowledged COMMIT'),
      event(createdAtMs + 35, 'DECISION_SENT', 'bank-b', 'COMMIT sent, attempt 2'),
      event(createdAtMs + 45, 'ACK', 'bank-b', 'acknowledged COMMIT'),
    ],
    ...overrides,
    createdAtMs,
  };
}

/** An aborted variant: bank-b voted NO. */
export function abortedTransaction(createdAtMs: number): FinishedTransaction {
  const base = finishedTransaction({ createdAtMs });
  return {
    ...base,
    state: 'ABORTED',
    decision: {
      ...base.decision,
      outcome: 'ABORT',
      cause: 'VOTED_NO',
      reason: 'bank-b voted NO: insufficient funds',
    },
    participants: [
      {
        name: 'bank-a',
        vote: 'YES',
        voteReason: null,
        votedAtMs: createdAtMs + 10,
        ackedAtMs: base.finishedAtMs,
        attempts: 2,
        lastError: null,
      },
      {
        name: 'bank-b',
        vote: 'NO',
        voteReason: 'insufficient funds',
        votedAtMs: createdAtMs + 11,
        ackedAtMs: null,
        attempts: 1,
        lastError: null,
      },
    ],
  };
}

/** A timeline event; `raftIndex` for the replicated kinds (term 3, as the fixture's decision). */
function event(
  atMs: number,
  kind: FinishedTimelineEvent['kind'],
  participant: string | null,
  detail: string,
  raftIndex: number | null = null,
): FinishedTimelineEvent {
  return {
    atMs,
    kind,
    participant,
    detail,
    raftIndex,
    raftTerm: raftIndex === null ? null : 3,
    actor: null,
  };
}
