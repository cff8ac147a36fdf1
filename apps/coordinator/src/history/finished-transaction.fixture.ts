import { uuidv7 } from '@verdict/protocol';
import type { FinishedTransaction } from './finished-transaction';

/** A committed two-participant transaction, for tests; override what the test is about. */
export function finishedTransaction(
  overrides: Partial<FinishedTransaction> & { readonly createdAtMs?: number } = {},
): FinishedTransaction {
  const { createdAtMs = Date.UTC(2026, 10, 25, 10, 0, 0), ...fields } = overrides;
  const at = (offsetMs: number): string => new Date(createdAtMs + offsetMs).toISOString();
  return {
    id: uuidv7(createdAtMs),
    state: 'COMMITTED',
    decision: {
      outcome: 'COMMIT',
      raftIndex: 42,
      raftTerm: 3,
      reason: null,
      resolvedBy: 'coordinator',
      decidedAt: at(20),
    },
    participants: [
      {
        name: 'bank-a',
        vote: 'YES',
        voteReason: null,
        votedAt: at(10),
        ackedAt: at(30),
        attempts: 2,
        lastError: null,
      },
      {
        name: 'bank-b',
        vote: 'YES',
        voteReason: null,
        votedAt: at(12),
        ackedAt: at(45),
        attempts: 3,
        lastError: 'no ACK within 1000 ms',
      },
    ],
    createdAt: at(0),
    deadline: at(5_000),
    finishedAt: at(45),
    metadata: { order: 'o-17', amounts: [500, 500] },
    idempotencyKey: null,
    ...fields,
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
      reason: 'bank-b voted NO: insufficient funds',
      resolvedBy: 'coordinator',
    },
    participants: [
      {
        name: 'bank-a',
        vote: 'YES',
        voteReason: null,
        votedAt: base.createdAt,
        ackedAt: base.finishedAt,
        attempts: 2,
        lastError: null,
      },
      {
        name: 'bank-b',
        vote: 'NO',
        voteReason: 'insufficient funds',
        votedAt: base.createdAt,
        ackedAt: null,
        attempts: 1,
        lastError: null,
      },
    ],
  };
}
